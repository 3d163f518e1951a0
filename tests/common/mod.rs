//! Helpers shared by the integration tests: building packets and capture
//! files, recording what the packet layer delivers, decoding captures.
#![allow(dead_code)]

pub mod gen;
#[cfg(feature = "live")]
pub mod loopback;
pub mod tmux;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use etherparse::PacketBuilder;
use smtpscope::capture::writer::PcapWriter;
use smtpscope::capture::{LinkType, Timestamp};
use smtpscope::model::Session;
use smtpscope::net::{Chunk, CloseReason, ConnId, ConnMeta, Dir, Interest, StreamSink};
use smtpscope::pipeline::{PipelineConfig, SmtpPipeline};
use smtpscope::run::{read_files, ReadOutcome};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn capture(name: &str) -> String {
    repo().join("captures").join(name).display().to_string()
}

/// `../shared/captures`, or `None` with a printed reason. CI sets
/// SMTPSCOPE_REQUIRE_SHARED=1, which turns its absence into a failure.
pub fn shared_captures() -> Option<PathBuf> {
    let dir = repo().join("../shared/captures");
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    if std::env::var_os("SMTPSCOPE_REQUIRE_SHARED").is_some_and(|v| v == "1") {
        panic!("../shared/captures is missing but SMTPSCOPE_REQUIRE_SHARED=1");
    }
    eprintln!("skipped: ../shared/captures is not present beside this checkout (public test captures; only developers and CI have it)");
    None
}

/// What one connection delivered: per direction, data runs and gaps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub meta: Option<(SocketAddr, SocketAddr)>,
    pub streams: [Vec<Piece>; 2],
    pub close: Option<CloseReason>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Data(Vec<u8>),
    Gap(u64),
}

impl Recorded {
    /// All delivered bytes of a direction, gaps left out.
    pub fn bytes(&self, dir: Dir) -> Vec<u8> {
        let mut v = Vec::new();
        for p in &self.streams[dir.index()] {
            if let Piece::Data(d) = p {
                v.extend_from_slice(d);
            }
        }
        v
    }
}

/// A sink that records everything, keyed by connection id.
#[derive(Default)]
pub struct Recorder {
    pub conns: BTreeMap<ConnId, Recorded>,
    pub opens: u64,
    pub closes: u64,
}

impl StreamSink for Recorder {
    fn open(&mut self, conn: &ConnMeta) -> Interest {
        self.opens += 1;
        self.conns.entry(conn.id).or_default().meta = Some((conn.client, conn.server));
        Interest::Keep
    }

    fn data(&mut self, conn: &ConnMeta, dir: Dir, chunk: Chunk<'_>) -> Interest {
        let s = &mut self.conns.entry(conn.id).or_default().streams[dir.index()];
        match s.last_mut() {
            Some(Piece::Data(d)) => d.extend_from_slice(chunk.bytes),
            _ => s.push(Piece::Data(chunk.bytes.to_vec())),
        }
        Interest::Keep
    }

    fn gap(&mut self, conn: &ConnMeta, dir: Dir, _ts: Timestamp, _frame: u64, len: u64) {
        let s = &mut self.conns.entry(conn.id).or_default().streams[dir.index()];
        match s.last_mut() {
            Some(Piece::Gap(g)) => *g += len,
            _ => s.push(Piece::Gap(len)),
        }
    }

    fn close(&mut self, conn: &ConnMeta, reason: CloseReason, _ts: Timestamp) {
        self.closes += 1;
        let r = self.conns.entry(conn.id).or_default();
        assert!(r.close.is_none(), "connection {} closed twice", conn.id);
        r.close = Some(reason);
    }
}

/// Read capture files through the packet layer into a [`Recorder`].
pub fn record(files: &[String]) -> (Recorder, ReadOutcome) {
    let mut rec = Recorder::default();
    let outcome = read_files(files, Default::default(), &mut rec);
    (rec, outcome)
}

/// Decode capture files into finished SMTP sessions.
pub fn decode(files: &[String]) -> (Vec<Session>, ReadOutcome) {
    decode_with(files, PipelineConfig::default())
}

/// [`decode`] with message bytes kept in each transaction's `raw_message`.
pub fn decode_keeping_raw(files: &[String]) -> (Vec<Session>, ReadOutcome) {
    let mut cfg = PipelineConfig::default();
    cfg.decoder.keep_raw = true;
    decode_with(files, cfg)
}

pub fn decode_with(files: &[String], cfg: PipelineConfig) -> (Vec<Session>, ReadOutcome) {
    let mut sessions = Vec::new();
    let mut pipeline = SmtpPipeline::new(cfg, |s| sessions.push(s));
    let outcome = read_files(files, Default::default(), &mut pipeline);
    drop(pipeline);
    (sessions, outcome)
}

/// TCP flags for [`tcp_packet`].
#[derive(Copy, Clone, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

pub const SYN: Flags = Flags {
    syn: true,
    ack: false,
    fin: false,
    rst: false,
};
pub const SYNACK: Flags = Flags {
    syn: true,
    ack: true,
    fin: false,
    rst: false,
};
pub const ACK: Flags = Flags {
    syn: false,
    ack: true,
    fin: false,
    rst: false,
};
pub const FINACK: Flags = Flags {
    syn: false,
    ack: true,
    fin: true,
    rst: false,
};

/// An IP packet (no link header) carrying one TCP segment.
pub fn tcp_packet(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let b = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => panic!("mixed address families"),
    };
    let mut b = b.tcp(src.port(), dst.port(), seq, 65535);
    if flags.syn {
        b = b.syn();
    }
    if flags.ack {
        b = b.ack(ack);
    }
    if flags.fin {
        b = b.fin();
    }
    if flags.rst {
        b = b.rst();
    }
    let mut out = Vec::with_capacity(payload.len() + 60);
    b.write(&mut out, payload).expect("build packet");
    out
}

/// A whole TCP conversation as IP packets: handshake, the script's
/// segments (each acknowledged), and a FIN from each side.
pub fn conversation(
    client: SocketAddr,
    server: SocketAddr,
    isn: (u32, u32),
    script: &[(Dir, &[u8])],
) -> Vec<Vec<u8>> {
    let (mut c, mut s) = (isn.0, isn.1);
    let mut pkts = vec![
        tcp_packet(client, server, c, 0, SYN, b""),
        tcp_packet(server, client, s, c.wrapping_add(1), SYNACK, b""),
    ];
    c = c.wrapping_add(1);
    s = s.wrapping_add(1);
    pkts.push(tcp_packet(client, server, c, s, ACK, b""));
    for (dir, data) in script {
        match dir {
            Dir::ClientToServer => {
                pkts.push(tcp_packet(client, server, c, s, ACK, data));
                c = c.wrapping_add(data.len() as u32);
                pkts.push(tcp_packet(server, client, s, c, ACK, b""));
            }
            Dir::ServerToClient => {
                pkts.push(tcp_packet(server, client, s, c, ACK, data));
                s = s.wrapping_add(data.len() as u32);
                pkts.push(tcp_packet(client, server, c, s, ACK, b""));
            }
        }
    }
    pkts.push(tcp_packet(client, server, c, s, FINACK, b""));
    pkts.push(tcp_packet(
        server,
        client,
        s,
        c.wrapping_add(1),
        FINACK,
        b"",
    ));
    pkts.push(tcp_packet(
        client,
        server,
        c.wrapping_add(1),
        s.wrapping_add(1),
        ACK,
        b"",
    ));
    pkts
}

/// A short SMTP dialogue used by generated captures.
pub fn smtp_script() -> Vec<(Dir, &'static [u8])> {
    use Dir::*;
    vec![
        (ServerToClient, &b"220 mx.example.test ESMTP\r\n"[..]),
        (ClientToServer, b"EHLO client.test\r\n"),
        (ServerToClient, b"250-mx.example.test\r\n250 PIPELINING\r\n"),
        (ClientToServer, b"MAIL FROM:<a@client.test>\r\n"),
        (ServerToClient, b"250 2.1.0 Ok\r\n"),
        (ClientToServer, b"RCPT TO:<b@example.test>\r\n"),
        (ServerToClient, b"250 2.1.5 Ok\r\n"),
        (ClientToServer, b"DATA\r\n"),
        (ServerToClient, b"354 go ahead\r\n"),
        (
            ClientToServer,
            b"Subject: generated\r\n\r\nhello\r\n..dot\r\n.\r\n",
        ),
        (ServerToClient, b"250 2.0.0 Ok: queued\r\n"),
        (ClientToServer, b"QUIT\r\n"),
        (ServerToClient, b"221 2.0.0 Bye\r\n"),
    ]
}

pub fn bytes_of(script: &[(Dir, &[u8])], dir: Dir) -> Vec<u8> {
    script
        .iter()
        .filter(|(d, _)| *d == dir)
        .flat_map(|(_, b)| b.iter().copied())
        .collect()
}

/// Prefix an IP packet with a link header of the given type.
pub fn with_link(link: LinkType, ip: &[u8], vlan_tags: usize) -> Vec<u8> {
    let v6 = ip[0] >> 4 == 6;
    let ethertype: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    let mut f = Vec::new();
    match link {
        LinkType::ETHERNET => {
            f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
            for i in 0..vlan_tags {
                let tpid: [u8; 2] = if i == 0 && vlan_tags > 1 {
                    [0x88, 0xa8]
                } else {
                    [0x81, 0x00]
                };
                f.extend_from_slice(&tpid);
                f.extend_from_slice(&[0, 10 + i as u8]);
            }
            f.extend_from_slice(&ethertype);
        }
        LinkType::LINUX_SLL => {
            f.extend_from_slice(&[0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
            f.extend_from_slice(&ethertype);
        }
        LinkType::LINUX_SLL2 => {
            f.extend_from_slice(&ethertype);
            f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
        }
        LinkType::NULL => f.extend_from_slice(&(if v6 { 30u32 } else { 2u32 }).to_le_bytes()),
        LinkType::LOOP => f.extend_from_slice(&(if v6 { 30u32 } else { 2u32 }).to_be_bytes()),
        _ => {}
    }
    f.extend_from_slice(ip);
    f
}

/// Write packets as a classic pcap file; timestamps 1 ms apart.
pub fn write_pcap(path: &Path, link: LinkType, packets: &[Vec<u8>]) {
    let f = std::fs::File::create(path).expect("create pcap");
    let mut w = PcapWriter::new(std::io::BufWriter::new(f), link).expect("header");
    for (i, p) in packets.iter().enumerate() {
        w.write_packet(ts(i), p, p.len() as u32).expect("write");
    }
    w.flush().expect("flush");
}

pub fn ts(i: usize) -> Timestamp {
    Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64 * 1_000_000)
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// A scratch directory unique to one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smtpscope-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Minimal pcapng writer: one section, the given interfaces (link type,
/// if_tsresol), Enhanced Packet Blocks naming their interface.
pub struct PcapNg {
    pub bytes: Vec<u8>,
    big_endian: bool,
}

impl PcapNg {
    pub fn new(big_endian: bool) -> Self {
        let mut s = PcapNg {
            bytes: Vec::new(),
            big_endian,
        };
        s.section();
        s
    }

    /// `v` in the section's byte order.
    pub fn u32(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Raw 32-bit words in the section's byte order (hand-made blocks).
    pub fn words(&mut self, words: &[u32]) {
        for &w in words {
            let b = self.u32(w);
            self.bytes.extend_from_slice(&b);
        }
    }

    fn u16(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn block(&mut self, kind: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let len = 12 + body.len() + pad;
        let (k, l) = (self.u32(kind), self.u32(len as u32));
        self.bytes.extend_from_slice(&k);
        self.bytes.extend_from_slice(&l);
        self.bytes.extend_from_slice(body);
        self.bytes.extend(std::iter::repeat_n(0u8, pad));
        self.bytes.extend_from_slice(&l);
    }

    pub fn section(&mut self) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(0x1a2b3c4d));
        body.extend_from_slice(&self.u16(1));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d0d0a, &body);
    }

    pub fn interface(&mut self, link: LinkType, tsresol: u8) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16(link.0 as u16));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&self.u32(262144));
        // if_tsresol option (code 9, length 1, padded), then opt_endofopt.
        body.extend_from_slice(&self.u16(9));
        body.extend_from_slice(&self.u16(1));
        body.extend_from_slice(&[tsresol, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]);
        self.block(1, &body);
    }

    /// `units` is the timestamp in the interface's resolution.
    pub fn packet(&mut self, iface: u32, units: u64, data: &[u8]) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(iface));
        body.extend_from_slice(&self.u32((units >> 32) as u32));
        body.extend_from_slice(&self.u32(units as u32));
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(data);
        body.extend(std::iter::repeat_n(0u8, (4 - data.len() % 4) % 4));
        self.block(6, &body);
    }

    pub fn simple_packet(&mut self, data: &[u8]) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(data);
        self.block(3, &body);
    }

    /// A block type nobody knows: readers must skip it.
    pub fn unknown_block(&mut self) {
        self.block(0x0bad_0bad, &[1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
