//! The fuzz targets' bodies, one `pub fn <target>(data: &[u8])` each.
//!
//! Each `fuzz_targets/<target>.rs` is one line calling its function here,
//! and the main crate's `tests/fuzz_corpus.rs` includes this file as a
//! module (`#[path = "../fuzz/src/lib.rs"] mod harness;`) to replay the
//! committed corpus under `cargo test`. So this file must compile both as
//! the `smtpscope_fuzz` library and as a module of that test: it names the
//! main crate only as `smtpscope::`, never itself as `crate::`, uses no
//! `libfuzzer_sys`, and depends only on crates the main crate also has
//! (clap, etherparse, serde_json).
//!
//! Every function panics when an input breaks a check; otherwise the input
//! is fine, whatever it was. Input formats are documented on each function.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use etherparse::PacketBuilder;
use smtpscope::capture::file::FileSource;
use smtpscope::capture::{LinkType, Packet, Timestamp};
use smtpscope::cli::{Args, Format};
use smtpscope::model::{Session, SessionBuilder};
use smtpscope::net::{
    Chunk, CloseReason, ConnId, ConnMeta, Dir, FlowConfig, FlowTable, Interest, RoleSource,
    StreamSink,
};
use smtpscope::output::eml::Exporter;
use smtpscope::output::json::JsonWriter;
use smtpscope::output::{OutputOptions, SessionWriter};
use smtpscope::pipeline::SmtpPipeline;
use smtpscope::run::{flow_config, pipeline_config, pump, SessionOutput};
use smtpscope::smtp::data::DataDecoder;
use smtpscope::smtp::message::MessageSummary;
use smtpscope::smtp::mime::MimeSummarizer;
use smtpscope::smtp::{DecoderConfig, SessionDecoder};

const MS: i64 = 1_000_000;

/// Characters the text output must never contain raw: every control but
/// `'\n'`, and the bidi and invisible format controls (the contract of
/// `src/output/escape.rs`).
pub fn forbidden(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c as u32,
            0x061c | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069
            | 0xfeff | 0xfff9..=0xfffb)
}

/// Panics naming the first [`forbidden`] character of `text`.
fn assert_escaped(what: &str, text: &str) {
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| forbidden(c)) {
        panic!(
            "raw control U+{:04X} at byte {i} of {what}:\n{text:?}",
            c as u32
        );
    }
}

/// Any bytes as a capture file (pcap, pcapng, gzip of either): reading
/// packets until the end or the first error must not panic.
pub fn pcap_file(data: &[u8]) {
    let Ok(mut src) =
        FileSource::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())), None)
    else {
        return;
    };
    while let Ok(Some(_pkt)) = src.next_packet() {}
    let _ = src.stats();
}

const LINKS: [LinkType; 10] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW_12,
    LinkType::RAW_14,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
];

/// A sink that keeps every connection and ignores what it is told.
struct NullSink;

impl StreamSink for NullSink {
    fn open(&mut self, _: &ConnMeta) -> Interest {
        Interest::Keep
    }
    fn data(&mut self, _: &ConnMeta, _: Dir, _: Chunk<'_>) -> Interest {
        Interest::Keep
    }
    fn gap(&mut self, _: &ConnMeta, _: Dir, _: Timestamp, _: u64, _: u64) {}
    fn close(&mut self, _: &ConnMeta, _: CloseReason, _: Timestamp) {}
}

/// One packet of any bytes through link, IP and TCP decoding and the flow
/// table, under the link type `data[0]` picks (modulo the list's length).
/// Bit 7 of `data[0]` marks the packet as cut short by the snap length.
pub fn packet(data: &[u8]) {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let link = LINKS[pick as usize % LINKS.len()];
    let mut table = FlowTable::new(FlowConfig::default());
    let mut sink = NullSink;
    let pkt = Packet {
        frame: 1,
        ts: Timestamp::from_nanos(1_700_000_000_000_000_000),
        link,
        data: bytes,
        orig_len: bytes.len() as u32 + (pick >> 7) as u32 * 100,
    };
    table.process(&pkt, &mut sink);
    table.finish(&mut sink);
    let _ = table.stats();
}

const MAX_SEGMENTS: usize = 512;
const ELEVEN_MINUTES: i64 = 11 * 60 * 1_000_000_000;

/// Payload byte `k` of direction `dir`'s stream in [`reassembly`].
fn pattern(dir: usize, k: u64) -> u8 {
    ((k ^ (k >> 8) ^ (k >> 16)) as u8)
        .wrapping_mul(131)
        .wrapping_add(dir as u8 * 0x55)
}

#[derive(Default)]
struct ConnCheck {
    first_frame: u64,
    /// Next stream offset per direction (data and gaps both advance it).
    pos: [u64; 2],
    /// Offsets whose byte was not the pattern: (dir, offset, got).
    wrong: Vec<(usize, u64, u8)>,
    opens: u32,
    closes: u32,
}

/// Checks every delivered byte against [`pattern`] at its stream offset.
#[derive(Default)]
struct OffsetChecker {
    conns: BTreeMap<ConnId, ConnCheck>,
}

impl StreamSink for OffsetChecker {
    fn open(&mut self, conn: &ConnMeta) -> Interest {
        let c = self.conns.entry(conn.id).or_default();
        c.opens += 1;
        c.first_frame = conn.first_frame;
        Interest::Keep
    }

    fn data(&mut self, conn: &ConnMeta, dir: Dir, chunk: Chunk<'_>) -> Interest {
        let c = self.conns.entry(conn.id).or_default();
        let d = dir.index();
        for &b in chunk.bytes {
            if b != pattern(d, c.pos[d]) && c.wrong.len() < 4 {
                c.wrong.push((d, c.pos[d], b));
            }
            c.pos[d] += 1;
        }
        Interest::Keep
    }

    fn gap(&mut self, conn: &ConnMeta, dir: Dir, _: Timestamp, _: u64, len: u64) {
        let c = self.conns.entry(conn.id).or_default();
        c.pos[dir.index()] += len;
    }

    fn close(&mut self, conn: &ConnMeta, _: CloseReason, _: Timestamp) {
        self.conns.entry(conn.id).or_default().closes += 1;
    }
}

struct Flags {
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
}

fn ip_packet(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    f: &Flags,
    payload: &[u8],
) -> Vec<u8> {
    let b = match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            PacketBuilder::ipv4(s.ip().octets(), d.ip().octets(), 64)
        }
        (SocketAddr::V6(s), SocketAddr::V6(d)) => {
            PacketBuilder::ipv6(s.ip().octets(), d.ip().octets(), 64)
        }
        _ => unreachable!("one address family per run"),
    };
    let mut b = b.tcp(src.port(), dst.port(), seq, 65535);
    if f.syn {
        b = b.syn();
    }
    if f.ack {
        b = b.ack(ack);
    }
    if f.fin {
        b = b.fin();
    }
    if f.rst {
        b = b.rst();
    }
    let mut out = Vec::with_capacity(payload.len() + 60);
    b.write(&mut out, payload).expect("build packet");
    out
}

/// TCP reassembly on segments the input describes: after a handshake with
/// an input-chosen ISN pair, each 6-byte record is one segment:
///
/// ```text
/// byte 0:   bit 0 IPv6 (else IPv4)
/// byte 1-8: client and server ISN (big endian)
/// then records of 6 bytes:
///   byte 0: bit 0 direction (set: server to client), bit 1 SYN, bit 2 FIN,
///           bit 3 RST, bit 4 no ACK, bit 5 an idle-timeout jump before it
///   byte 1-2: sequence offset from the sender's ISN + 1 (big endian)
///   byte 3:   payload length
///   byte 4-5: acknowledgement offset from the peer's ISN + 1
/// ```
///
/// Checks: each connection opened and closed exactly once. Payload byte k
/// of a direction's stream is `pattern(dir, k)`, so whatever order the
/// segments come in, the bytes the sink receives for the handshake's
/// connection must be the pattern at their stream offset (gaps count as
/// offsets). Checked when no record sets SYN or jumps past the idle
/// timeout (either may begin a new connection with another ISN).
pub fn reassembly(data: &[u8]) {
    if data.len() < 9 {
        return;
    }
    let v6 = data[0] & 1 == 1;
    let isn = [
        u32::from_be_bytes([data[1], data[2], data[3], data[4]]),
        u32::from_be_bytes([data[5], data[6], data[7], data[8]]),
    ];
    let (client, server): (SocketAddr, SocketAddr) = if v6 {
        (
            "[2001:db8::10]:40000".parse().unwrap(),
            "[2001:db8::25]:25".parse().unwrap(),
        )
    } else {
        (
            "192.0.2.10:40000".parse().unwrap(),
            "198.51.100.25:25".parse().unwrap(),
        )
    };
    let ends = [(client, server), (server, client)];

    let mut table = FlowTable::new(FlowConfig::default());
    let mut sink = OffsetChecker::default();
    let mut ts = Timestamp::from_nanos(1_700_000_000_000_000_000);
    let mut frame = 0u64;
    let mut send =
        |table: &mut FlowTable, sink: &mut OffsetChecker, ts: Timestamp, bytes: Vec<u8>| {
            frame += 1;
            let pkt = Packet {
                frame,
                ts,
                link: LinkType::RAW,
                data: &bytes,
                orig_len: bytes.len() as u32,
            };
            table.process(&pkt, sink);
        };

    let hs = |syn, ack| Flags {
        syn,
        ack,
        fin: false,
        rst: false,
    };
    send(
        &mut table,
        &mut sink,
        ts,
        ip_packet(client, server, isn[0], 0, &hs(true, false), b""),
    );
    ts = ts.add_nanos(MS);
    send(
        &mut table,
        &mut sink,
        ts,
        ip_packet(
            server,
            client,
            isn[1],
            isn[0].wrapping_add(1),
            &hs(true, true),
            b"",
        ),
    );
    ts = ts.add_nanos(MS);
    send(
        &mut table,
        &mut sink,
        ts,
        ip_packet(
            client,
            server,
            isn[0].wrapping_add(1),
            isn[1].wrapping_add(1),
            &hs(false, true),
            b"",
        ),
    );

    let mut any_syn = false;
    let mut any_jump = false;
    let mut payload = Vec::with_capacity(255);
    for rec in data[9..].chunks_exact(6).take(MAX_SEGMENTS) {
        let d = (rec[0] & 1) as usize;
        let f = Flags {
            syn: rec[0] & 2 != 0,
            fin: rec[0] & 4 != 0,
            rst: rec[0] & 8 != 0,
            ack: rec[0] & 16 == 0,
        };
        any_syn |= f.syn;
        if rec[0] & 32 != 0 {
            any_jump = true;
            ts = ts.add_nanos(ELEVEN_MINUTES);
        }
        ts = ts.add_nanos(MS);
        let off = u16::from_be_bytes([rec[1], rec[2]]) as u64;
        let len = rec[3] as u64;
        let ack_off = u16::from_be_bytes([rec[4], rec[5]]) as u32;
        payload.clear();
        payload.extend((off..off + len).map(|k| pattern(d, k)));
        let seq = isn[d].wrapping_add(1).wrapping_add(off as u32);
        let ack = isn[1 - d].wrapping_add(1).wrapping_add(ack_off);
        let (src, dst) = ends[d];
        send(
            &mut table,
            &mut sink,
            ts,
            ip_packet(src, dst, seq, ack, &f, &payload),
        );
    }
    table.finish(&mut sink);

    for (id, c) in &sink.conns {
        assert_eq!(c.opens, 1, "connection {id} opened {} times", c.opens);
        assert_eq!(c.closes, 1, "connection {id} closed {} times", c.closes);
        // The handshake's connection, while its ISNs stay the reference.
        if c.first_frame == 1 && !any_syn && !any_jump {
            assert!(
                c.wrong.is_empty(),
                "connection {id}: bytes off their stream offset (dir, offset, got): {:?}",
                c.wrong
            );
        }
    }
}

fn session_meta() -> ConnMeta {
    ConnMeta {
        id: ConnId(1),
        client: "192.0.2.10:40000".parse().unwrap(),
        server: "198.51.100.25:25".parse().unwrap(),
        start: Timestamp::from_nanos(1_700_000_000_000_000_000),
        first_frame: 1,
        roles: RoleSource::Handshake,
    }
}

/// Any bytes in both directions through the SMTP session decoder, the
/// session model and the text and JSON outputs.
///
/// Input format, repeated: a control byte, then its chunk. Bit 7 of the
/// control byte is the direction (set: server to client). Bits 0-6 are the
/// chunk length; 0 means a gap instead, of (the next byte + 1) bytes. A
/// short last chunk takes what is left. Bit 0 of the first byte also turns
/// on `keep_raw`.
///
/// Checks: neither the text output nor the JSON writer's line has a
/// [`forbidden`] character (JSON escapes them as `\uXXXX`), and the line
/// parses back to the value `session_json` built.
pub fn smtp_session(data: &[u8]) {
    let m = session_meta();
    // keep_raw exercises the copy of message bytes too; the summary is
    // built either way.
    let cfg = DecoderConfig {
        keep_raw: data.first().is_some_and(|b| b & 1 == 1),
        ..DecoderConfig::default()
    };
    let mut dec = SessionDecoder::new(&cfg, &m, false);
    let mut events = Vec::new();
    let mut ts = m.start;
    let mut frame = 1u64;
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        rest = tail;
        ts = ts.add_nanos(MS);
        frame += 1;
        let dir = if ctl & 0x80 != 0 {
            Dir::ServerToClient
        } else {
            Dir::ClientToServer
        };
        let len = (ctl & 0x7f) as usize;
        if len == 0 {
            let Some((&gap, tail)) = rest.split_first() else {
                break;
            };
            rest = tail;
            dec.gap(dir, ts, frame, gap as u64 + 1, &mut events);
            continue;
        }
        let (bytes, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        dec.feed(dir, Chunk { ts, frame, bytes }, &mut events);
    }
    dec.close(CloseReason::Fin, ts.add_nanos(MS), &mut events);

    let mut b = SessionBuilder::new(&m);
    b.apply_all(events);
    let session = b.finish();

    for opts in [
        OutputOptions::default(),
        OutputOptions {
            show_secrets: true,
            bodies: true,
            timeline: true,
            teach: true,
        },
    ] {
        let text = smtpscope::output::text::render(&session, &opts);
        assert_escaped("text output", &text);
        let json = smtpscope::output::json::session_json(&session, &opts);
        let mut writer = JsonWriter::new(Vec::new(), opts);
        writer.session(&session).expect("writing to memory");
        let out = String::from_utf8(writer.into_inner()).expect("JSON output is UTF-8");
        let line = out
            .strip_suffix('\n')
            .expect("a JSON line ends with a newline");
        assert_escaped("JSON output", line);
        let back: serde_json::Value = serde_json::from_str(line).expect("JSON parses back");
        assert_eq!(back, json, "JSON does not round-trip");
    }
}

/// Any bytes as a message after `data[0]`: the one-shot summary and the
/// streaming one fed in two chunks (split where `data[0]` says) must
/// agree, as the summarizer's module docs promise for any chunking.
pub fn mime(data: &[u8]) {
    let Some((&split, msg)) = data.split_first() else {
        return;
    };
    let whole = MessageSummary::parse(msg, false);
    let at = if msg.is_empty() {
        0
    } else {
        split as usize % (msg.len() + 1)
    };
    let mut m = MimeSummarizer::new();
    m.feed(&msg[..at]);
    m.feed(&msg[at..]);
    let streamed = m.finish(false);
    assert_eq!(whole, streamed, "summary depends on the split at {at}");
}

/// DATA content in any chunks: `data[0] % 8 + 1` bytes after it give chunk
/// sizes (`4 * b + 1` each, used in turn), the rest is what the client sent
/// after the 354. Fed in those chunks, and again one byte at a time with
/// the fast paths off (the automatons alone), the decoder must take the same
/// bytes and give the same counts, kept message and summary; and that
/// summary must be the summarizer's alone on the kept (unstuffed) message.
pub fn data(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let k = (usize::from(n) % 8 + 1).min(rest.len());
    let (sizes, content) = rest.split_at(k);
    let sizes: Vec<usize> = sizes.iter().map(|&b| 4 * usize::from(b) + 1).collect();
    const CAP: usize = 1 << 20;
    let mut chunked = DataDecoder::new(CAP);
    let mut used = 0;
    let mut left = content;
    for &size in sizes.iter().cycle() {
        if left.is_empty() || chunked.is_done() {
            break;
        }
        let (now, later) = left.split_at(size.min(left.len()));
        used += chunked.feed(now);
        left = later;
    }
    // The oracle: the automatons alone, a byte at a time.
    let mut single = DataDecoder::new(CAP).without_fast_paths();
    let mut used_single = 0;
    for b in content.chunks(1) {
        if single.is_done() {
            break;
        }
        used_single += single.feed(b);
    }
    assert_eq!(used, used_single, "bytes taken depend on the chunks");
    assert_eq!(chunked.stats, single.stats, "counts depend on the chunks");
    assert_eq!(chunked.size, single.size);
    assert_eq!(
        chunked.message, single.message,
        "kept message depends on the chunks"
    );
    let whole = !chunked.truncated();
    let message = chunked.message.clone();
    let summary = chunked.take_summary(false);
    assert_eq!(
        summary,
        single.take_summary(false),
        "summary depends on the chunks"
    );
    if whole {
        let mut alone = MimeSummarizer::new();
        alone.feed(&message);
        assert_eq!(
            summary,
            alone.finish(false),
            "DATA's summary differs from the summarizer's"
        );
    }
}

/// Any text as a `--explain` term.
pub fn explain(data: &[u8]) {
    let term = String::from_utf8_lossy(data);
    let e = smtpscope::teach::explain(&term);
    let _ = smtpscope::teach::render_text(&e);
}

/// Any bytes as a capture file through the whole file run: flow table,
/// [`SmtpPipeline`] (content detection on), then, as `run::run` does, a
/// [`SessionOutput`] per format with the analysis rules (local domains and
/// a trusted network set, so the relay rules judge too), once as text and
/// once as JSON Lines.
///
/// The last byte of the input, which is also part of the capture, picks
/// the output options: bit 0 `--show-secrets`, bit 1 `--bodies` (which
/// also keeps message bytes), bit 2 `--timeline`, bit 3 `--teach`.
///
/// Checks: the text output is UTF-8 with no [`forbidden`] character, the
/// findings summary included; the JSON output is one line per session,
/// with no [`forbidden`] character either, and every line parses as a
/// JSON object.
///
/// The sharded pipeline of `run::run` (decoder threads) is left out: it
/// hands the same sessions to the same [`SessionOutput`], and a thread
/// pool per input would cost more than the decoding.
pub fn pipeline(data: &[u8]) {
    let Ok(mut src) =
        FileSource::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())), None)
    else {
        return;
    };
    let pick = data.last().copied().unwrap_or(0);
    let mut argv = vec![
        "smtpscope",
        "--local-domain",
        "example.com",
        "--local-domain",
        "example.org",
        "--trusted-net",
        "192.0.2.0/24",
    ];
    for (bit, flag) in ["--show-secrets", "--bodies", "--timeline", "--teach"]
        .into_iter()
        .enumerate()
    {
        if pick & (1 << bit) != 0 {
            argv.push(flag);
        }
    }
    let args = Args::try_parse_from(argv).expect("the harness's arguments parse");

    let mut table = FlowTable::new(flow_config(&args));
    let mut smtp = SmtpPipeline::new(pipeline_config(&args), Vec::<Session>::new());
    // A damaged file ends the reading; what came before it is still output.
    let _ = pump(&mut src, &mut table, &mut smtp);
    table.finish(&mut smtp);
    let sessions = smtp.into_consumer();

    for format in [Format::Text, Format::Json] {
        let mut out = Vec::new();
        let mut writer = SessionOutput::new(&args, format, &mut out).expect("no --export given");
        for s in &sessions {
            writer.session(s.clone());
        }
        writer.finish().expect("writing to memory");
        let out = String::from_utf8(out).expect("output is UTF-8");
        match format {
            Format::Json => {
                let lines: Vec<&str> = out.lines().collect();
                assert_eq!(lines.len(), sessions.len(), "one JSON line per session");
                for line in lines {
                    assert_escaped("JSON output", line);
                    let v: serde_json::Value = serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("JSON line does not parse ({e}): {line:?}"));
                    assert!(v.is_object(), "JSON line is not an object: {line:?}");
                }
            }
            _ => assert_escaped("text output", &out),
        }
    }
}

/// A directory `export_in` for one [`eml_export`] input, inside a fresh
/// `jail` directory of its own under the system temp dir, so that anything
/// written beside the export directory shows up in the jail. Removed on
/// drop, also when a check fails.
struct ExportJail {
    jail: PathBuf,
}

impl ExportJail {
    fn new() -> ExportJail {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let jail =
            std::env::temp_dir().join(format!("smtpscope-fuzz-eml-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&jail);
        std::fs::create_dir_all(&jail).expect("create the jail directory");
        ExportJail {
            jail: jail.canonicalize().expect("resolve the jail directory"),
        }
    }

    fn export_in(&self) -> PathBuf {
        self.jail.join("export")
    }
}

impl Drop for ExportJail {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.jail);
    }
}

/// Every file and directory under `dir`, refusing symlinks.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read an export directory") {
        let path = entry.expect("read a directory entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("stat an exported path");
        assert!(
            !meta.file_type().is_symlink(),
            "export created a symlink {path:?}"
        );
        if meta.is_dir() {
            dirs.push(path.clone());
            walk(&path, files, dirs);
        } else {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode();
                assert_eq!(mode & 0o177, 0, "{path:?} has mode {mode:o}, not 0600");
            }
            files.push(path);
        }
    }
}

/// Builds the [`eml_export`] message around an attachment name and content.
fn message_with_attachment(flags: u8, name: &[u8], content: &[u8]) -> Vec<u8> {
    let mut raw = b"From: a@example.org\r\nSubject: fuzz\r\n\
                    Content-Type: multipart/mixed; boundary=\"=_f\"\r\n\r\n\
                    --=_f\r\nContent-Type: text/plain\r\n\r\nbody\r\n\
                    --=_f\r\nContent-Type: application/octet-stream\r\n\
                    Content-Disposition: attachment; "
        .to_vec();
    if flags & 2 != 0 {
        raw.extend_from_slice(b"filename*=utf-8''");
        raw.extend_from_slice(name);
    } else {
        raw.extend_from_slice(b"filename=\"");
        raw.extend_from_slice(name);
        raw.push(b'"');
    }
    raw.extend_from_slice(b"\r\n");
    if flags & 4 != 0 {
        raw.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(content);
    raw.extend_from_slice(b"\r\n--=_f--\r\n");
    raw
}

/// A message through `.eml` export with attachments, twice under the same
/// session and transaction numbers (the second takes the `-1` names).
///
/// Input: `data[0]` bit 0 clear: the rest is the message as received.
/// Bit 0 set: the rest is an attachment name up to the first `\n`, then
/// its content, wrapped in a multipart message; bit 1 gives the name as
/// RFC 2231 `filename*=utf-8''...` instead of `filename="..."`, bit 2
/// declares the content base64.
///
/// Checks: every path `export_message` returns exists, is a plain file in
/// the export directory or in one attachment directory directly inside
/// it, and is owner-only; walking the export directory finds those files
/// and nothing else (no symlink); the jail around it holds only the
/// export directory.
pub fn eml_export(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let raw = if flags & 1 == 0 {
        rest.to_vec()
    } else {
        let (name, content) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b""[..]),
        };
        message_with_attachment(flags, name, content)
    };
    let summary = MessageSummary::parse(&raw, false);

    let jail = ExportJail::new();
    let mut exporter = Exporter::new(&jail.export_in(), true).expect("create the export directory");
    let dir = exporter.dir().to_path_buf();
    let mut expected = Vec::new();
    for _ in 0..2 {
        let files = exporter
            .export_message(1, 0, &raw, &summary)
            .expect("export to a fresh directory");
        assert_eq!(files.message.parent(), Some(dir.as_path()));
        expected.push(files.message.clone());
        assert!(
            files.attachments.len() <= summary.attachments().count(),
            "more attachment files than attachments"
        );
        for a in &files.attachments {
            let parent = a.parent().expect("an attachment has a directory");
            assert_eq!(
                parent.parent(),
                Some(dir.as_path()),
                "attachment {a:?} is not in an attachment directory of the export"
            );
            let name = a.file_name().and_then(|n| n.to_str()).expect("UTF-8 name");
            assert_escaped("an attachment file name", name);
            expected.push(a.clone());
        }
    }

    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    walk(&dir, &mut files, &mut dirs);
    files.sort();
    expected.sort();
    assert_eq!(files, expected, "files in the export directory");
    for d in &dirs {
        assert_eq!(d.parent(), Some(dir.as_path()), "nested directory {d:?}");
    }
    let beside: Vec<_> = std::fs::read_dir(&jail.jail)
        .expect("read the jail")
        .map(|e| e.expect("read a jail entry").file_name())
        .collect();
    assert_eq!(
        beside,
        ["export"],
        "files written beside the export directory"
    );
}

/// A proxy handshake (SOCKS or HTTP CONNECT): `data[0]` is where the client's bytes end (modulo
/// the rest's length), the client's bytes follow, then the server's. The
/// verdict fed all at once (client, then server) must be the one fed a
/// byte at a time (client and server alternating): the same tunnel, "no",
/// or still undecided; and a tunnel's handshake lengths must lie within
/// what each side sent.
pub fn proxy(data: &[u8]) {
    use smtpscope::net::proxy::{Handshake, Verdict};
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(split) % (rest.len() + 1);
    let (client, server) = rest.split_at(at);

    let mut whole = Handshake::new();
    let mut verdict = whole.feed(Dir::ClientToServer, client);
    if verdict == Verdict::Undecided {
        verdict = whole.feed(Dir::ServerToClient, server);
    }

    let mut bytewise = Handshake::new();
    let mut step = Verdict::Undecided;
    for i in 0..client.len().max(server.len()) {
        if step != Verdict::Undecided {
            break;
        }
        for (dir, side) in [(Dir::ClientToServer, client), (Dir::ServerToClient, server)] {
            if step == Verdict::Undecided {
                if let Some(b) = side.get(i) {
                    step = bytewise.feed(dir, std::slice::from_ref(b));
                }
            }
        }
    }
    if let Verdict::Tunnel(t) = &verdict {
        assert!(t.consumed[0] <= client.len() && t.consumed[1] <= server.len());
    }
    assert_eq!(verdict, step, "the verdict depends on the chunking");
}

/// Connection events for four connections (to ports 25, 2626, 1080 and
/// 8080) fed both to a decoding [`SmtpPipeline`] and to its
/// [gate](SmtpPipeline::gate): they must answer alike at every step, as
/// the reader stops delivering where the gate declines, and count the
/// same connections as not SMTP.
///
/// `data[0]`: bit 0 `--only-ports`, bit 1 `--port 2626`, the rest a hold
/// budget (64 bytes per step, small enough to be reached). Then records:
/// a byte whose low 2 bits pick the connection and the next 2 the event
/// (payload from the client, from the server, a hole, the close), and for
/// a payload a length byte and up to that many bytes. A closed connection
/// opens again with a new id on its next event.
pub fn gate(data: &[u8]) {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let cfg = smtpscope::pipeline::PipelineConfig {
        only_ports: first & 1 != 0,
        extra_ports: if first & 2 != 0 {
            vec![2626]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    let budget = 64 * (usize::from(first >> 2) + 1);
    let mut decoder = SmtpPipeline::new(cfg.clone(), Vec::new()).with_hold_budget(budget);
    let mut gate = SmtpPipeline::gate(cfg).with_hold_budget(budget);
    const PORTS: [u16; 4] = [25, 2626, 1080, 8080];
    let start = Timestamp::from_nanos(1_700_000_000_000_000_000);
    let mut conns: [Option<(ConnMeta, bool)>; 4] = Default::default();
    let mut next_id = 1;
    let mut step = 0u64;
    while let Some((&op, after)) = rest.split_first() {
        rest = after;
        step += 1;
        let ts = start.add_nanos(step as i64 * 1000);
        let slot = &mut conns[usize::from(op & 3)];
        let (meta, declined) = slot.get_or_insert_with(|| {
            let meta = ConnMeta {
                id: ConnId(next_id),
                client: SocketAddr::from(([198, 51, 100, 1], 40000 + next_id as u16)),
                server: SocketAddr::from(([198, 51, 100, 2], PORTS[usize::from(op & 3)])),
                start: ts,
                first_frame: step,
                roles: RoleSource::Handshake,
            };
            next_id += 1;
            let answer = decoder.open(&meta);
            assert_eq!(gate.open(&meta), answer, "open answers differ");
            (meta, answer == Interest::Ignore)
        });
        match (op >> 2) & 3 {
            kind @ (0 | 1) => {
                let Some((&n, after)) = rest.split_first() else {
                    break;
                };
                let (bytes, after) = after.split_at(usize::from(n).min(after.len()));
                rest = after;
                if *declined || bytes.is_empty() {
                    continue;
                }
                let dir = if kind == 0 {
                    Dir::ClientToServer
                } else {
                    Dir::ServerToClient
                };
                let chunk = Chunk {
                    ts,
                    frame: step,
                    bytes,
                };
                let answer = decoder.data(meta, dir, chunk);
                assert_eq!(gate.data(meta, dir, chunk), answer, "data answers differ");
                *declined = answer == Interest::Ignore;
            }
            2 => {
                if !*declined {
                    decoder.gap(meta, Dir::ServerToClient, ts, step, 100);
                    gate.gap(meta, Dir::ServerToClient, ts, step, 100);
                }
            }
            _ => {
                decoder.close(meta, CloseReason::Fin, ts);
                gate.close(meta, CloseReason::Fin, ts);
                *slot = None;
            }
        }
    }
    for (meta, _) in conns.iter().flatten() {
        decoder.close(meta, CloseReason::EndOfCapture, start);
        gate.close(meta, CloseReason::EndOfCapture, start);
    }
    assert_eq!(
        gate.stats.not_smtp, decoder.stats.not_smtp,
        "not-SMTP counts differ"
    );
}
