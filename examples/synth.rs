//! Synthetic mixed capture for benchmarks and end-to-end checks.
//!
//! ```text
//! cargo run --release --example synth -- --bytes 1G [--seed N] [--truth FILE] out.pcap
//! ```
//!
//! Writes an Ethernet pcap of about `--bytes` (K/M/G are powers of 1024):
//! many concurrent SMTP sessions on ports 25, 587 and 2525 over IPv4 and
//! IPv6, interleaved with HTTP-like bulk TCP flows on 80/443 and DNS over UDP.
//! A ground-truth JSON next to it says what a correct decoder must find.
//!
//! Invariants that make the ground truth exact:
//! - every byte of every stream is captured at least once: out-of-order
//!   segments are adjacent swaps and retransmissions are extra copies, never
//!   a replacement, so reassembly never sees a gap;
//! - each flow is completed once started, and the truth is counted while the
//!   dialogue is generated, so counts and packets agree;
//! - the output depends only on the arguments (one seeded PRNG, no clock).
//!
//! Memory stays constant: flows generate their packets lazily, a message body
//! is produced a chunk at a time, and packet buffers are recycled.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use clap::Parser;
use etherparse::{IpHeaders, Ipv4Header, PacketBuilder, TcpOptionElement};
use rustc_hash::FxHashSet;
use serde::Serialize;
use smtpscope::capture::writer::PcapWriter;
use smtpscope::capture::{LinkType, Timestamp};

#[derive(Parser)]
#[command(about = "Write a large, realistic, deterministic SMTP + background capture")]
struct Args {
    /// Approximate size of the capture file: a number with an optional K, M or G suffix (powers of 1024).
    #[arg(long, value_parser = parse_size)]
    bytes: u64,
    /// Seed of the generator: the same seed and arguments give the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the ground truth [default: OUT.truth.json].
    #[arg(long)]
    truth: Option<PathBuf>,
    /// SMTP sessions open at the same time.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Output pcap file.
    out: PathBuf,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 20M or 1G"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("{s:?} must be a positive size"));
    }
    Ok((n * mult as f64) as u64)
}

// ---------------------------------------------------------------------------
// Tunables. Probabilities are per segment or per session as named.

/// 2024-05-01T12:00:00Z, a Wednesday (the Date: headers rely on it).
const EPOCH_SECS: i64 = 1_714_564_800;
/// Share of bytes (planned payload) that goes to HTTP-like flows.
const HTTP_SHARE: f64 = 0.30;
/// Out-of-order (adjacent swap) and spurious retransmission, per SMTP segment.
const OOO_P: f64 = 0.01;
const RETX_P: f64 = 0.01;
/// Body bytes produced per refill while streaming DATA or HTTP responses.
const BULK_CHUNK: usize = 24 * 1024;
const WINDOW: u16 = 64_240;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

const MS: u64 = 1_000_000;
const US: u64 = 1_000;

// ---------------------------------------------------------------------------
// PRNG: SplitMix64, good enough for traffic shapes and fast.

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fork(&mut self) -> Rng {
        Rng(self.next_u64())
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-uniform in `lo..=hi`: many small values, a long tail of large ones.
    fn log_range(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        ((a + self.unit() * (b - a)).exp() as u64).clamp(lo, hi)
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    fn fill(&mut self, out: &mut Vec<u8>, n: usize) {
        out.reserve(n);
        for _ in 0..n / 8 {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.extend_from_slice(&self.next_u64().to_le_bytes()[..n % 8]);
    }
}

// ---------------------------------------------------------------------------
// Addresses and the pcap writer.

#[derive(Copy, Clone, PartialEq, Eq, Hash)]
enum Ip {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl std::fmt::Display for Ip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Ip::V4(a) => std::net::Ipv4Addr::from(a).fmt(f),
            Ip::V6(a) => write!(f, "IPv6:{}", std::net::Ipv6Addr::from(a)),
        }
    }
}

#[derive(Copy, Clone)]
struct Endpoint {
    ip: Ip,
    port: u16,
    mac: [u8; 6],
    ttl: u8,
    mss: u16,
}

/// Far side of the capture point: every remote host is behind one router.
const ROUTER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x01, 0x01];

fn host_mac(ip: Ip) -> [u8; 6] {
    let b = match ip {
        Ip::V4(a) => [a[2], a[3]],
        Ip::V6(a) => [a[14], a[15]],
    };
    [0x52, 0x54, 0x00, 0x12, b[0], b[1]]
}

fn server(ip: Ip, port: u16) -> Endpoint {
    let mss = if matches!(ip, Ip::V6(_)) { 1440 } else { 1460 };
    Endpoint {
        ip,
        port,
        mac: host_mac(ip),
        ttl: 64,
        mss,
    }
}

fn remote_client(rng: &mut Rng, v6: bool, net: u8) -> Endpoint {
    let ip = if v6 {
        let mut a = [0u8; 16];
        a[..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x00, net]);
        a[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
        Ip::V6(a)
    } else {
        // 198.18.0.0/15, the benchmarking range: room for 131072 clients.
        let r = rng.next_u64();
        Ip::V4([
            198,
            18 + (r & 1) as u8,
            (r >> 8) as u8,
            ((r >> 16) as u8).max(1),
        ])
    };
    Endpoint {
        ip,
        port: rng.range(32_768, 60_999) as u16,
        mac: ROUTER_MAC,
        ttl: *rng.pick(&[46, 50, 52, 55, 57, 116, 118]),
        mss: if v6 { 1440 } else { 1460 },
    }
}

struct Wire {
    out: PcapWriter<BufWriter<File>>,
    buf: Vec<u8>,
    ip_id: u16,
    packets: u64,
    /// Bytes of the file so far, including its header.
    bytes: u64,
}

impl Wire {
    fn ip(&mut self, src: &Endpoint, dst: &Endpoint) -> IpHeaders {
        self.ip_id = self.ip_id.wrapping_add(1);
        match (src.ip, dst.ip) {
            (Ip::V4(s), Ip::V4(d)) => IpHeaders::Ipv4(
                Ipv4Header {
                    identification: self.ip_id,
                    dont_fragment: true,
                    time_to_live: src.ttl,
                    source: s,
                    destination: d,
                    ..Default::default()
                },
                Default::default(),
            ),
            (Ip::V6(s), Ip::V6(d)) => IpHeaders::Ipv6(
                etherparse::Ipv6Header {
                    hop_limit: src.ttl,
                    source: s,
                    destination: d,
                    ..Default::default()
                },
                Default::default(),
            ),
            _ => unreachable!("a flow never mixes address families"),
        }
    }

    fn packet(&mut self, t: u64, src: &Endpoint, dst: &Endpoint, p: &QPkt) -> io::Result<u64> {
        let ip = self.ip(src, dst);
        let step = PacketBuilder::ethernet2(src.mac, dst.mac).ip(ip);
        self.buf.clear();
        let built = match p.kind {
            Kind::Udp => step.udp(src.port, dst.port).write(&mut self.buf, &p.data),
            Kind::Tcp { flags, seq, ack } => {
                let mut tcp = step.tcp(src.port, dst.port, seq, WINDOW);
                if flags & ACK != 0 {
                    tcp = tcp.ack(ack);
                }
                if flags & SYN != 0 {
                    tcp = tcp
                        .syn()
                        .options(&[
                            TcpOptionElement::MaximumSegmentSize(src.mss),
                            TcpOptionElement::Noop,
                            TcpOptionElement::Noop,
                            TcpOptionElement::SelectiveAcknowledgementPermitted,
                        ])
                        .map_err(io::Error::other)?;
                }
                if flags & PSH != 0 {
                    tcp = tcp.psh();
                }
                if flags & FIN != 0 {
                    tcp = tcp.fin();
                }
                if flags & RST != 0 {
                    tcp = tcp.rst();
                }
                tcp.write(&mut self.buf, &p.data)
            }
        };
        built.map_err(io::Error::other)?;
        let ts = Timestamp::from_nanos(EPOCH_SECS * 1_000_000_000 + t as i64);
        self.out
            .write_packet(ts, &self.buf, self.buf.len() as u32)?;
        self.packets += 1;
        let n = 16 + self.buf.len() as u64;
        self.bytes += n;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Packets queued by a flow, and TCP sequencing.

#[derive(Copy, Clone)]
enum Kind {
    Tcp { flags: u8, seq: u32, ack: u32 },
    Udp,
}

/// One packet waiting in a flow's queue. `gap` is the time since the flow's
/// previous packet; `dir` 0 is client to server.
struct QPkt {
    gap: u64,
    dir: usize,
    kind: Kind,
    data: Vec<u8>,
}

#[derive(Default, Clone, Copy)]
struct NetCounts {
    out_of_order: u64,
    retransmitted: u64,
}

/// A TCP connection seen from a capture point next to the server: client
/// packets follow server packets by a round trip, server packets follow
/// client packets by the server's processing time.
struct Tcp {
    ep: [Endpoint; 2],
    isn: [u32; 2],
    /// Stream bytes sent per direction (SYN and FIN excluded).
    sent: [u64; 2],
    fin: [bool; 2],
    rtt: u64,
    /// Transmission time per byte at this flow's bottleneck rate.
    ns_per_byte: u64,
    q: VecDeque<QPkt>,
    spare: Vec<Vec<u8>>,
}

impl Tcp {
    /// `kbit` is the path's bottleneck rate; a 64 KB window caps it further
    /// on long round trips, as it would without window scaling.
    fn new(rng: &mut Rng, client: Endpoint, server: Endpoint, rtt: u64, kbit: u64) -> Tcp {
        Tcp {
            ep: [client, server],
            isn: [rng.next_u64() as u32, rng.next_u64() as u32],
            sent: [0; 2],
            fin: [false; 2],
            rtt,
            ns_per_byte: (8_000_000 / kbit.max(1))
                .max(rtt / u64::from(WINDOW))
                .max(1),
            q: VecDeque::with_capacity(64),
            spare: Vec::new(),
        }
    }

    fn seq(&self, dir: usize, off: u64) -> u32 {
        self.isn[dir].wrapping_add(1).wrapping_add(off as u32)
    }

    /// What `dir` acknowledges once it has everything the peer sent.
    fn ack_all(&self, dir: usize) -> u32 {
        let o = 1 - dir;
        self.seq(o, self.sent[o])
            .wrapping_add(u32::from(self.fin[o]))
    }

    fn push(&mut self, gap: u64, dir: usize, flags: u8, seq: u32, ack: u32, data: &[u8]) {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        self.q.push_back(QPkt {
            gap,
            dir,
            kind: Kind::Tcp { flags, seq, ack },
            data: buf,
        });
    }

    /// Time after a peer's packet before `dir` sends: a round trip plus a
    /// little think time for the client, processing time for the server.
    fn turn_gap(&self, rng: &mut Rng, dir: usize, server_work: u64) -> u64 {
        if dir == 0 {
            self.rtt + rng.range(50 * US, 2 * MS)
        } else {
            server_work
        }
    }

    fn handshake(&mut self, rng: &mut Rng, gap: u64) {
        self.push(gap, 0, SYN, self.isn[0], 0, &[]);
        let (c, s) = (self.isn[0].wrapping_add(1), self.isn[1]);
        self.push(rng.range(20 * US, 150 * US), 1, SYN | ACK, s, c, &[]);
        self.push(self.rtt, 0, ACK, c, s.wrapping_add(1), &[]);
    }

    fn pure_ack(&mut self, gap: u64, dir: usize, ack: u32) {
        let seq = self.seq(dir, self.sent[dir]);
        self.push(gap, dir, ACK, seq, ack, &[]);
    }

    /// Send `data` from `dir` in MSS-sized segments, with the receiver's
    /// delayed ACKs. With `disorder`, about OOO_P of segments swap with their
    /// successor and RETX_P are sent again later; no byte is ever missing.
    fn send(
        &mut self,
        rng: &mut Rng,
        dir: usize,
        data: &[u8],
        first_gap: u64,
        disorder: bool,
        nc: &mut NetCounts,
    ) {
        if data.is_empty() {
            return;
        }
        let mss = usize::from(self.ep[1 - dir].mss.min(self.ep[dir].mss));
        let nseg = data.len().div_ceil(mss);
        let mut rx = Receiver {
            contig: 0,
            held: None,
            since_ack: 0,
        };
        let mut gap = first_gap;
        let mut retx: Option<usize> = None;
        let mut i = 0;
        while i < nseg {
            let swap = disorder && i + 1 < nseg && rng.chance(OOO_P);
            let order = if swap { [i + 1, i] } else { [i, usize::MAX] };
            for idx in order.into_iter().filter(|&x| x != usize::MAX) {
                self.segment(rng, dir, data, mss, idx, gap, &mut rx);
                if let Some(r) = retx.take() {
                    self.segment(rng, dir, data, mss, r, 30 * US, &mut rx);
                    nc.retransmitted += 1;
                }
                if disorder && rng.chance(RETX_P) {
                    retx = Some(idx);
                }
                gap = self.ns_per_byte * mss.min(data.len()) as u64 + rng.below(20 * US);
            }
            if swap {
                nc.out_of_order += 1;
            }
            i += if swap { 2 } else { 1 };
        }
        if let Some(r) = retx {
            // Nothing followed it: the sender's RTO fires.
            self.segment(rng, dir, data, mss, r, 200 * MS + self.rtt, &mut rx);
            nc.retransmitted += 1;
        }
        self.sent[dir] += data.len() as u64;
    }

    #[allow(clippy::too_many_arguments)]
    fn segment(
        &mut self,
        rng: &mut Rng,
        dir: usize,
        data: &[u8],
        mss: usize,
        idx: usize,
        gap: u64,
        rx: &mut Receiver,
    ) {
        let a = idx * mss;
        let b = (a + mss).min(data.len());
        let base = self.sent[dir];
        let flags = if b == data.len() { ACK | PSH } else { ACK };
        self.push(
            gap,
            dir,
            flags,
            self.seq(dir, base + a as u64),
            self.ack_all(dir),
            &data[a..b],
        );
        let peer = 1 - dir;
        let ack_gap = rng.range(15 * US, 60 * US);
        let (a, b) = (a as u64, b as u64);
        let ack_now = if a == rx.contig {
            rx.contig = b;
            let filled = match rx.held {
                Some((ha, hb)) if ha == rx.contig => {
                    rx.contig = hb;
                    rx.held = None;
                    true
                }
                _ => false,
            };
            rx.since_ack += 1;
            filled || rx.since_ack >= 2
        } else {
            if a > rx.contig {
                rx.held = Some((a, b));
            }
            // Out of order or a duplicate: the receiver answers at once.
            true
        };
        if ack_now {
            rx.since_ack = 0;
            let ack = self.seq(dir, base + rx.contig);
            self.pure_ack(ack_gap, peer, ack);
        }
    }

    /// Close from `init`: FIN, FIN-ACK, ACK; or an abortive RST.
    fn close(&mut self, rng: &mut Rng, init: usize, rst: bool, gap: u64) {
        let seq = self.seq(init, self.sent[init]);
        let ack = self.ack_all(init);
        if rst {
            self.push(gap, init, RST | ACK, seq, ack, &[]);
            return;
        }
        self.push(gap, init, FIN | ACK, seq, ack, &[]);
        self.fin[init] = true;
        let peer = 1 - init;
        let work = rng.range(30 * US, 300 * US);
        let g = self.turn_gap(rng, peer, work);
        let (pseq, pack) = (self.seq(peer, self.sent[peer]), self.ack_all(peer));
        self.push(g, peer, FIN | ACK, pseq, pack, &[]);
        self.fin[peer] = true;
        let work = rng.range(20 * US, 100 * US);
        let g = self.turn_gap(rng, init, work);
        self.push(g, init, ACK, seq.wrapping_add(1), self.ack_all(init), &[]);
    }
}

/// The receiving side of one `Tcp::send`, in stream offsets of that send.
struct Receiver {
    contig: u64,
    held: Option<(u64, u64)>,
    since_ack: u32,
}

// ---------------------------------------------------------------------------
// Message bodies, produced a chunk at a time.

const WORDS: &[&str] = &[
    "the",
    "meeting",
    "invoice",
    "attached",
    "please",
    "review",
    "quarterly",
    "report",
    "thanks",
    "regards",
    "schedule",
    "project",
    "update",
    "deadline",
    "server",
    "mail",
    "delivery",
    "customer",
    "order",
    "shipment",
    "confirm",
    "budget",
    "draft",
    "contract",
    "team",
    "next",
    "week",
    "monday",
    "friday",
    "call",
    "agenda",
    "notes",
    "question",
    "answer",
    "release",
    "version",
    "security",
    "password",
    "policy",
    "network",
    "office",
    "travel",
    "hotel",
    "flight",
    "payment",
    "account",
    "summary",
    "minutes",
    "feedback",
    "proposal",
    "and",
    "of",
    "to",
    "for",
    "with",
    "on",
    "we",
    "you",
    "is",
    "are",
    "will",
    "be",
    "a",
    "in",
];
const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "oscar", "peggy", "trent", "victor", "walter",
];
const DOMAINS: &[&str] = &[
    "example.org",
    "example.com",
    "mail.example.net",
    "corp.example",
    "shop.example",
    "news.example.org",
    "bank.example",
    "university.example.edu",
];
const DOT_LINES: &[&str] = &[".", "..", "...", ".hidden", ". leading dot", ".signature"];
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[derive(Clone)]
struct MsgPlan {
    seed: u64,
    text_lines: u32,
    /// Raw size of the base64 attachment, if any.
    attach: Option<u64>,
}

impl MsgPlan {
    fn new(rng: &mut Rng) -> MsgPlan {
        MsgPlan {
            seed: rng.next_u64(),
            text_lines: rng.log_range(3, 400) as u32,
            attach: rng
                .chance(0.4)
                .then(|| rng.log_range(1024, 2 * 1024 * 1024)),
        }
    }

    fn estimate(&self) -> u64 {
        let b64 = self.attach.map_or(0, |n| n.div_ceil(3) * 4 * 78 / 76 + 400);
        900 + u64::from(self.text_lines) * 45 + b64
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Phase {
    Head,
    Text,
    Mid,
    B64,
    Tail,
    Done,
}

struct MsgGen {
    rng: Rng,
    /// DATA dot-stuffs lines that start with '.'; BDAT sends them as they are.
    stuff: bool,
    phase: Phase,
    head: Vec<u8>,
    mid: Vec<u8>,
    tail: Vec<u8>,
    lines_left: u32,
    b64_left: u64,
    pad: u64,
}

impl MsgGen {
    fn new(
        plan: &MsgPlan,
        from: &str,
        to: &[String],
        stuff: bool,
        t: u64,
        ids: (&str, &str),
    ) -> MsgGen {
        let mut rng = Rng(plan.seed);
        let secs = t / 1_000_000_000;
        let date = format!(
            "Wed, 1 May 2024 {:02}:{:02}:{:02} +0000",
            12 + secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        let mut subject = String::new();
        for _ in 0..rng.range(2, 7) {
            let word = *rng.pick(WORDS);
            subject.push_str(word);
            subject.push(' ');
        }
        let boundary = format!("----=_Part_{:016x}", rng.next_u64());
        let mut head = format!(
            "Received: from {client} ({client} [{cip}])\r\n\tby {server} with ESMTP id {qid}\r\n\tfor <{rcpt}>; {date}\r\n\
             From: \"{name}\" <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n\
             Message-ID: <{mid:016x}.{qid}@{dom}>\r\nMIME-Version: 1.0\r\n",
            client = ids.0,
            cip = ids.1,
            server = "mx.example.net",
            qid = rng.next_u64() % 1_000_000_007,
            rcpt = to[0],
            name = rng.pick(FIRST),
            to = to.join(",\r\n "),
            subject = subject.trim_end(),
            mid = rng.next_u64(),
            dom = from.rsplit('@').next().unwrap_or("example.org"),
        );
        let (mid, tail, lines_left, b64_left, pad) = match plan.attach {
            Some(n) => {
                head.push_str(&format!(
                    "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
                     This is a multi-part message in MIME format.\r\n\r\n--{boundary}\r\n\
                     Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                ));
                let file = format!("{}-{}.pdf", rng.pick(WORDS), rng.below(1000));
                let mid = format!(
                    "\r\n--{boundary}\r\nContent-Type: application/pdf; name=\"{file}\"\r\n\
                     Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"{file}\"\r\n\r\n"
                );
                let tail = format!("--{boundary}--\r\n");
                (
                    mid,
                    tail,
                    plan.text_lines.min(40),
                    n.div_ceil(3) * 4,
                    (3 - n % 3) % 3,
                )
            }
            None => {
                head.push_str("Content-Type: text/plain; charset=us-ascii\r\n\r\n");
                (String::new(), String::new(), plan.text_lines, 0, 0)
            }
        };
        MsgGen {
            rng,
            stuff,
            phase: Phase::Head,
            head: head.into_bytes(),
            mid: mid.into_bytes(),
            tail: tail.into_bytes(),
            lines_left,
            b64_left,
            pad,
        }
    }

    /// Append whole lines until `out` holds at least `want` bytes or the
    /// message ends; true once it has ended.
    fn fill(&mut self, out: &mut Vec<u8>, want: usize) -> bool {
        while out.len() < want && self.phase != Phase::Done {
            match self.phase {
                Phase::Head => {
                    out.extend_from_slice(&self.head);
                    self.phase = Phase::Text;
                }
                Phase::Text if self.lines_left == 0 => {
                    self.phase = if self.b64_left > 0 {
                        Phase::Mid
                    } else {
                        Phase::Done
                    };
                }
                Phase::Text => {
                    self.text_line(out);
                    self.lines_left -= 1;
                }
                Phase::Mid => {
                    out.extend_from_slice(&self.mid);
                    self.phase = Phase::B64;
                }
                Phase::B64 if self.b64_left == 0 => self.phase = Phase::Tail,
                Phase::B64 => self.b64_line(out),
                Phase::Tail => {
                    out.extend_from_slice(&self.tail);
                    self.phase = Phase::Done;
                }
                Phase::Done => {}
            }
        }
        self.phase == Phase::Done
    }

    fn text_line(&mut self, out: &mut Vec<u8>) {
        let r = self.rng.unit();
        if r < 0.03 {
            // RFC 5321 section 4.5.2: a leading '.' is doubled on the wire.
            if self.stuff {
                out.push(b'.');
            }
            out.extend_from_slice(self.rng.pick(DOT_LINES).as_bytes());
        } else if r > 0.1 {
            let target = self.rng.range(30, 76) as usize;
            let start = out.len();
            while out.len() - start < target {
                if out.len() > start {
                    out.push(b' ');
                }
                out.extend_from_slice(self.rng.pick(WORDS).as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    fn b64_line(&mut self, out: &mut Vec<u8>) {
        let n = self.b64_left.min(76) as usize;
        let last = self.b64_left <= 76;
        let data = if last { n - self.pad as usize } else { n };
        let mut bits = 0u64;
        for i in 0..data {
            if i % 10 == 0 {
                bits = self.rng.next_u64();
            }
            out.push(B64[(bits & 63) as usize]);
            bits >>= 6;
        }
        if last && self.pad > 0 {
            // The final data character carries only zero bits past the input.
            let ok: &[u8] = if self.pad == 2 {
                b"AQgw"
            } else {
                b"AEIMQUYcgkosw048"
            };
            *out.last_mut().expect("a quartet has data") = *self.rng.pick(ok);
            out.extend(std::iter::repeat_n(b'=', self.pad as usize));
        }
        out.extend_from_slice(b"\r\n");
        self.b64_left -= n as u64;
    }
}

// ---------------------------------------------------------------------------
// Ground truth.

#[derive(Serialize, Default)]
struct Truth {
    smtp_sessions: u64,
    transactions: u64,
    messages: u64,
    rcpt_total: u64,
    rcpt_rejected: u64,
    auth_sessions: u64,
    non_smtp_tcp_flows: u64,
    udp_datagrams: u64,
    packets: u64,
    bytes: u64,
    ipv6_sessions: u64,
    // Details beyond the headline counts.
    seed: u64,
    duration_seconds: f64,
    smtp_port_25: u64,
    smtp_port_587: u64,
    smtp_port_2525: u64,
    bdat_messages: u64,
    mail_rejected: u64,
    rset_commands: u64,
    quit_commands: u64,
    rst_closes: u64,
    out_of_order_segments: u64,
    retransmitted_segments: u64,
    smtp_wire_bytes: u64,
    non_smtp_tcp_wire_bytes: u64,
    udp_wire_bytes: u64,
}

// ---------------------------------------------------------------------------
// SMTP sessions.

struct TxPlan {
    mail_ok: bool,
    from: String,
    rcpts: Vec<(String, bool)>,
    rset_after: bool,
    msg: MsgPlan,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum SState {
    Connect,
    Ehlo,
    Auth,
    Mail,
    Rcpt,
    Data,
    Body,
    Bdat,
    AfterTx,
    Quit,
    Close,
    Done,
}

struct Smtp {
    tcp: Tcp,
    rng: Rng,
    auth: bool,
    bdat_chunk: Option<usize>,
    quit: bool,
    rst: bool,
    txs: Vec<TxPlan>,
    state: SState,
    tx: usize,
    rcpt: usize,
    force_rset: bool,
    msg: Option<MsgGen>,
    first_chunk: bool,
    start: u64,
    client_name: String,
    pending: Vec<u8>,
    cmd: Vec<u8>,
    reply: Vec<u8>,
    nc: NetCounts,
}

const SMTP_SERVERS: &[([u8; 4], u16)] = &[([192, 0, 2, 25], 0x25), ([192, 0, 2, 26], 0x26)];
const SUBMIT_SERVER: ([u8; 4], u16) = ([198, 51, 100, 10], 0x587);

fn v6_of(low: u16) -> Ip {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[14..].copy_from_slice(&low.to_be_bytes());
    Ip::V6(a)
}

fn address(rng: &mut Rng) -> String {
    format!(
        "{}.{}{}@{}",
        rng.pick(FIRST),
        rng.pick(FIRST),
        rng.below(100),
        rng.pick(DOMAINS)
    )
}

/// Load a command and the reply it gets.
fn set(cmd: &mut Vec<u8>, reply: &mut Vec<u8>, c: std::fmt::Arguments, r: std::fmt::Arguments) {
    cmd.clear();
    reply.clear();
    let _ = cmd.write_fmt(c);
    let _ = reply.write_fmt(r);
}

impl Smtp {
    fn new(rng: &mut Rng, start: u64) -> (Smtp, u64) {
        let mut rng = rng.fork();
        let port = *rng.pick(&[25, 25, 25, 25, 25, 25, 587, 587, 587, 2525]);
        let v6 = rng.chance(0.2);
        let (v4, low) = if port == 587 {
            SUBMIT_SERVER
        } else {
            *rng.pick(SMTP_SERVERS)
        };
        let srv = server(if v6 { v6_of(low) } else { Ip::V4(v4) }, port);
        let client = remote_client(&mut rng, v6, 0x0c);
        let rtt = rng.log_range(5 * MS, 300 * MS);
        let kbit = rng.log_range(128, 8_000);
        let tcp = Tcp::new(&mut rng, client, srv, rtt, kbit);
        let auth = rng.chance(match port {
            587 => 0.9,
            2525 => 0.5,
            _ => 0.05,
        });
        let from = address(&mut rng);
        let txs: Vec<TxPlan> = (0..rng.range(1, 3))
            .map(|_| TxPlan {
                mail_ok: !rng.chance(0.03),
                from: from.clone(),
                rcpts: (0..rng.range(1, 5))
                    .map(|_| (address(&mut rng), !rng.chance(0.12)))
                    .collect(),
                rset_after: rng.chance(0.15),
                msg: MsgPlan::new(&mut rng),
            })
            .collect();
        let estimate = 2500 + txs.iter().map(|t| 300 + t.msg.estimate()).sum::<u64>();
        let client_name = format!(
            "{}.{}",
            rng.pick(&["mail", "smtp", "mx", "out"]),
            rng.pick(DOMAINS)
        );
        let s = Smtp {
            tcp,
            bdat_chunk: rng
                .chance(0.15)
                .then(|| rng.range(8 * 1024, 128 * 1024) as usize),
            quit: !rng.chance(0.02),
            rst: rng.chance(0.03),
            auth,
            txs,
            state: SState::Connect,
            tx: 0,
            rcpt: 0,
            force_rset: false,
            msg: None,
            first_chunk: true,
            start,
            client_name,
            pending: Vec::new(),
            cmd: Vec::with_capacity(256),
            reply: Vec::with_capacity(512),
            nc: NetCounts::default(),
            rng,
        };
        (s, estimate)
    }

    /// A client command answered by the server after `work` nanoseconds.
    fn exchange(&mut self, work: u64) {
        let g = self.tcp.turn_gap(&mut self.rng, 0, 0);
        self.tcp
            .send(&mut self.rng, 0, &self.cmd, g, true, &mut self.nc);
        self.tcp
            .send(&mut self.rng, 1, &self.reply, work, true, &mut self.nc);
    }

    fn queue_id(&mut self) -> String {
        let r = self.rng.next_u64();
        format!("4V{:010X}", r & 0xff_ffff_ffff)
    }

    /// Queue the next step of the dialogue; false once the session is over.
    fn refill(&mut self, truth: &mut Truth) -> bool {
        let fast = self.rng.range(100 * US, 3 * MS);
        match self.state {
            SState::Connect => {
                self.tcp.handshake(&mut self.rng, 0);
                self.reply.clear();
                self.reply
                    .extend_from_slice(b"220 mx.example.net ESMTP Postfix\r\n");
                let g = self.rng.log_range(MS, 800 * MS);
                self.tcp
                    .send(&mut self.rng, 1, &self.reply, g, true, &mut self.nc);
                self.state = SState::Ehlo;
            }
            SState::Ehlo => {
                let peer = self.tcp.ep[0].ip;
                set(&mut self.cmd, &mut self.reply,
                    format_args!("EHLO {}\r\n", self.client_name),
                    format_args!(
                        "250-mx.example.net Hello {} [{}]\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n\
                         250-8BITMIME\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-CHUNKING\r\n\
                         250 ENHANCEDSTATUSCODES\r\n",
                        self.client_name, peer
                    ),
                );
                self.exchange(fast);
                self.state = if self.auth {
                    SState::Auth
                } else {
                    SState::Mail
                };
            }
            SState::Auth => {
                let who = &self.txs[0].from;
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("\0{who}\0hunter{}", self.rng.below(10_000)));
                set(
                    &mut self.cmd,
                    &mut self.reply,
                    format_args!("AUTH PLAIN {token}\r\n"),
                    format_args!("235 2.7.0 Authentication successful\r\n"),
                );
                let work = self.rng.range(MS, 60 * MS);
                self.exchange(work);
                truth.auth_sessions += 1;
                self.state = SState::Mail;
            }
            SState::Mail => {
                let tx = &self.txs[self.tx];
                let (from, ok) = (tx.from.clone(), tx.mail_ok);
                let body = if self.rng.chance(0.3) {
                    " BODY=8BITMIME"
                } else {
                    ""
                };
                if ok {
                    set(
                        &mut self.cmd,
                        &mut self.reply,
                        format_args!("MAIL FROM:<{from}>{body}\r\n"),
                        format_args!("250 2.1.0 Ok\r\n"),
                    );
                    truth.transactions += 1;
                    self.state = SState::Rcpt;
                    self.rcpt = 0;
                } else {
                    set(
                        &mut self.cmd,
                        &mut self.reply,
                        format_args!("MAIL FROM:<{from}>{body}\r\n"),
                        format_args!(
                            "553 5.7.1 <{from}>: Sender address rejected: not owned by user\r\n"
                        ),
                    );
                    truth.mail_rejected += 1;
                    self.state = SState::AfterTx;
                }
                self.exchange(fast);
            }
            SState::Rcpt => {
                let (to, ok) = self.txs[self.tx].rcpts[self.rcpt].clone();
                if ok {
                    set(
                        &mut self.cmd,
                        &mut self.reply,
                        format_args!("RCPT TO:<{to}>\r\n"),
                        format_args!("250 2.1.5 Ok\r\n"),
                    );
                } else {
                    set(&mut self.cmd, &mut self.reply,
                        format_args!("RCPT TO:<{to}>\r\n"),
                        format_args!(
                            "550 5.1.1 <{to}>: Recipient address rejected: User unknown in virtual mailbox table\r\n"
                        ),
                    );
                    truth.rcpt_rejected += 1;
                }
                truth.rcpt_total += 1;
                // DNSBL and policy lookups make RCPT the slow command.
                let work = self.rng.log_range(200 * US, 300 * MS);
                self.exchange(work);
                self.rcpt += 1;
                let tx = &self.txs[self.tx];
                if self.rcpt == tx.rcpts.len() {
                    if tx.rcpts.iter().any(|r| r.1) {
                        self.state = if self.bdat_chunk.is_some() {
                            SState::Bdat
                        } else {
                            SState::Data
                        };
                        self.start_message();
                    } else {
                        self.force_rset = true;
                        self.state = SState::AfterTx;
                    }
                }
            }
            SState::Data => {
                set(
                    &mut self.cmd,
                    &mut self.reply,
                    format_args!("DATA\r\n"),
                    format_args!("354 End data with <CR><LF>.<CR><LF>\r\n"),
                );
                self.exchange(fast);
                self.state = SState::Body;
            }
            SState::Body => {
                let msg = self.msg.as_mut().expect("Body follows start_message");
                let done = msg.fill(&mut self.pending, BULK_CHUNK);
                let g = if self.first_chunk {
                    self.tcp.turn_gap(&mut self.rng, 0, 0)
                } else {
                    // The stream goes on at the path's rate.
                    self.tcp.ns_per_byte * u64::from(self.tcp.ep[0].mss)
                };
                self.first_chunk = false;
                if done {
                    self.pending.extend_from_slice(b".\r\n");
                    self.tcp
                        .send(&mut self.rng, 0, &self.pending, g, true, &mut self.nc);
                    self.pending.clear();
                    let q = self.queue_id();
                    self.reply.clear();
                    let _ = write!(self.reply, "250 2.0.0 Ok: queued as {q}\r\n");
                    let work = self.rng.log_range(5 * MS, 1500 * MS);
                    self.tcp
                        .send(&mut self.rng, 1, &self.reply, work, true, &mut self.nc);
                    truth.messages += 1;
                    self.msg = None;
                    self.state = SState::AfterTx;
                } else {
                    let mss = usize::from(self.tcp.ep[0].mss);
                    let n = self.pending.len() / mss * mss;
                    self.tcp
                        .send(&mut self.rng, 0, &self.pending[..n], g, true, &mut self.nc);
                    self.pending.drain(..n);
                }
            }
            SState::Bdat => {
                let chunk = self.bdat_chunk.expect("Bdat only with a chunk size");
                let msg = self.msg.as_mut().expect("Bdat follows start_message");
                self.pending.clear();
                let last = msg.fill(&mut self.pending, chunk);
                self.cmd.clear();
                let _ = write!(
                    self.cmd,
                    "BDAT {}{}\r\n",
                    self.pending.len(),
                    if last { " LAST" } else { "" }
                );
                self.cmd.extend_from_slice(&self.pending);
                self.reply.clear();
                let work = if last {
                    let q = self.queue_id();
                    let _ = write!(self.reply, "250 2.0.0 Ok: queued as {q}\r\n");
                    truth.messages += 1;
                    truth.bdat_messages += 1;
                    self.msg = None;
                    self.state = SState::AfterTx;
                    self.rng.log_range(5 * MS, 1500 * MS)
                } else {
                    let _ = write!(
                        self.reply,
                        "250 2.0.0 {} octets received\r\n",
                        self.pending.len()
                    );
                    fast
                };
                self.exchange(work);
            }
            SState::AfterTx => {
                if self.force_rset || self.txs[self.tx].rset_after {
                    set(
                        &mut self.cmd,
                        &mut self.reply,
                        format_args!("RSET\r\n"),
                        format_args!("250 2.0.0 Ok\r\n"),
                    );
                    self.exchange(fast);
                    truth.rset_commands += 1;
                }
                self.force_rset = false;
                self.tx += 1;
                self.state = if self.tx < self.txs.len() {
                    SState::Mail
                } else if self.quit {
                    SState::Quit
                } else {
                    SState::Close
                };
            }
            SState::Quit => {
                set(
                    &mut self.cmd,
                    &mut self.reply,
                    format_args!("QUIT\r\n"),
                    format_args!("221 2.0.0 Bye\r\n"),
                );
                self.exchange(fast / 4);
                truth.quit_commands += 1;
                self.state = SState::Close;
            }
            SState::Close => {
                if !self.quit || self.rst {
                    // The client aborts (no QUIT) or resets instead of closing.
                    let g = self.tcp.turn_gap(&mut self.rng, 0, 0);
                    self.tcp.close(&mut self.rng, 0, true, g);
                    truth.rst_closes += 1;
                } else {
                    // Postfix closes first once it has sent 221.
                    let g = self.rng.range(30 * US, 200 * US);
                    self.tcp.close(&mut self.rng, 1, false, g);
                }
                truth.out_of_order_segments += self.nc.out_of_order;
                truth.retransmitted_segments += self.nc.retransmitted;
                self.state = SState::Done;
            }
            SState::Done => return false,
        }
        true
    }

    fn start_message(&mut self) {
        let tx = &self.txs[self.tx];
        let to: Vec<String> = tx
            .rcpts
            .iter()
            .filter(|r| r.1)
            .map(|r| r.0.clone())
            .collect();
        let cip = self.tcp.ep[0].ip.to_string();
        self.msg = Some(MsgGen::new(
            &tx.msg,
            &tx.from,
            &to,
            self.bdat_chunk.is_none(),
            self.start,
            (&self.client_name, &cip),
        ));
        self.first_chunk = true;
        self.pending.clear();
    }
}

// ---------------------------------------------------------------------------
// HTTP-like bulk flows on 80 (plain) and 443 (TLS application data records).

#[derive(PartialEq, Eq, Clone, Copy)]
enum HState {
    Connect,
    Request,
    Body,
    Close,
    Done,
}

struct Http {
    tcp: Tcp,
    rng: Rng,
    tls: bool,
    responses: Vec<u64>,
    next: usize,
    state: HState,
    left: u64,
    record_left: u64,
    first_chunk: bool,
    pending: Vec<u8>,
    nc: NetCounts,
}

impl Http {
    fn new(rng: &mut Rng) -> (Http, u64) {
        let mut rng = rng.fork();
        let tls = rng.chance(0.5);
        let v6 = rng.chance(0.2);
        let low = 0x80 + rng.below(8) as u16;
        let ip = if v6 {
            v6_of(low)
        } else {
            Ip::V4([203, 0, 113, low as u8])
        };
        let srv = server(ip, if tls { 443 } else { 80 });
        let client = remote_client(&mut rng, v6, 0x0d);
        let rtt = rng.log_range(MS, 120 * MS);
        let kbit = rng.log_range(2_000, 100_000);
        let tcp = Tcp::new(&mut rng, client, srv, rtt, kbit);
        let responses: Vec<u64> = (0..rng.range(1, 3))
            .map(|_| rng.log_range(20 * 1024, 8 * 1024 * 1024))
            .collect();
        let estimate = responses.iter().map(|r| r + 600).sum();
        let h = Http {
            tcp,
            rng,
            tls,
            responses,
            next: 0,
            state: HState::Connect,
            left: 0,
            record_left: 0,
            first_chunk: true,
            pending: Vec::new(),
            nc: NetCounts::default(),
        };
        (h, estimate)
    }

    fn refill(&mut self) -> bool {
        match self.state {
            HState::Connect => {
                self.tcp.handshake(&mut self.rng, 0);
                self.state = HState::Request;
            }
            HState::Request => {
                self.pending.clear();
                let size = self.responses[self.next];
                if self.tls {
                    let n = self.rng.range(200, 700) as usize;
                    self.pending
                        .extend_from_slice(&[0x17, 0x03, 0x03, (n >> 8) as u8, n as u8]);
                    self.rng.fill(&mut self.pending, n);
                } else {
                    let _ = write!(
                        self.pending,
                        "GET /files/{:x}.bin HTTP/1.1\r\nHost: cdn.example.com\r\nUser-Agent: synth/1.0\r\nAccept: */*\r\n\r\n",
                        self.rng.next_u64()
                    );
                }
                let g = self.tcp.turn_gap(&mut self.rng, 0, 0);
                self.tcp
                    .send(&mut self.rng, 0, &self.pending, g, false, &mut self.nc);
                self.pending.clear();
                if !self.tls {
                    let _ = write!(
                        self.pending,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
                    );
                }
                self.left = size;
                self.record_left = 0;
                self.first_chunk = true;
                self.state = HState::Body;
            }
            HState::Body => {
                while self.pending.len() < BULK_CHUNK && self.left > 0 {
                    if self.tls && self.record_left == 0 {
                        let n = self.left.min(16_408);
                        self.pending.extend_from_slice(&[
                            0x17,
                            0x03,
                            0x03,
                            (n >> 8) as u8,
                            n as u8,
                        ]);
                        self.record_left = n;
                    }
                    let room = (BULK_CHUNK - self.pending.len()) as u64;
                    let n = if self.tls {
                        self.record_left.min(room)
                    } else {
                        self.left.min(room)
                    };
                    self.rng.fill(&mut self.pending, n as usize);
                    self.left -= n;
                    if self.tls {
                        self.record_left -= n;
                    }
                }
                let g = if self.first_chunk {
                    self.rng.range(100 * US, 20 * MS)
                } else {
                    self.tcp.ns_per_byte * 1460
                };
                self.first_chunk = false;
                let n = if self.left == 0 {
                    self.pending.len()
                } else {
                    let mss = usize::from(self.tcp.ep[0].mss);
                    self.pending.len() / mss * mss
                };
                self.tcp
                    .send(&mut self.rng, 1, &self.pending[..n], g, false, &mut self.nc);
                self.pending.drain(..n);
                if self.left == 0 && self.pending.is_empty() {
                    self.next += 1;
                    self.state = if self.next < self.responses.len() {
                        HState::Request
                    } else {
                        HState::Close
                    };
                }
            }
            HState::Close => {
                let rst = self.rng.chance(0.05);
                let g = self.tcp.turn_gap(&mut self.rng, 0, 0);
                self.tcp.close(&mut self.rng, 0, rst, g);
                self.state = HState::Done;
            }
            HState::Done => return false,
        }
        true
    }
}

// ---------------------------------------------------------------------------
// DNS: the mail servers resolving MX, A, AAAA and TXT records.

struct Dns {
    rng: Rng,
    ep: [Endpoint; 2],
    q: VecDeque<QPkt>,
    spare: Vec<Vec<u8>>,
}

impl Dns {
    fn new(rng: &mut Rng) -> Dns {
        let rng = rng.fork();
        let ep = [
            server(Ip::V4([192, 0, 2, 25]), 0),
            server(Ip::V4([192, 0, 2, 53]), 53),
        ];
        Dns {
            rng,
            ep,
            q: VecDeque::new(),
            spare: Vec::new(),
        }
    }

    fn refill(&mut self, truth: &mut Truth) {
        let v6 = self.rng.chance(0.2);
        let (c, s) = if v6 {
            (v6_of(0x25), v6_of(0x53))
        } else {
            (Ip::V4([192, 0, 2, 25]), Ip::V4([192, 0, 2, 53]))
        };
        self.ep = [
            server(c, self.rng.range(1024, 65_535) as u16),
            server(s, 53),
        ];
        let id = self.rng.next_u64() as u16;
        let (qtype, rdata): (u16, Vec<u8>) = match self.rng.below(4) {
            0 => (1, self.rng.next_u64().to_be_bytes()[..4].to_vec()),
            1 => (
                28,
                [0x20, 0x01, 0x0d, 0xb8]
                    .iter()
                    .copied()
                    .chain(self.rng.next_u64().to_be_bytes())
                    .chain([0, 0, 0, 1])
                    .collect(),
            ),
            2 => (15, vec![0, 10, 3, b'm', b'x', b'1', 0xc0, 0x0c]),
            _ => (16, b"\x0bv=spf1 -all".to_vec()),
        };
        let mut query = self.spare.pop().unwrap_or_default();
        query.clear();
        query.extend_from_slice(&id.to_be_bytes());
        query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in self.rng.pick(DOMAINS).split('.') {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.push(0);
        query.extend_from_slice(&qtype.to_be_bytes());
        query.extend_from_slice(&[0, 1]);
        let mut resp = self.spare.pop().unwrap_or_default();
        resp.clear();
        resp.extend_from_slice(&query);
        resp[2..8].copy_from_slice(&[0x81, 0x80, 0, 1, 0, 1]);
        resp.extend_from_slice(&[0xc0, 0x0c]);
        resp.extend_from_slice(&qtype.to_be_bytes());
        resp.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
        resp.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        resp.extend_from_slice(&rdata);
        let gap = (-(1.0 - self.rng.unit()).ln() * 15e6) as u64;
        self.q.push_back(QPkt {
            gap,
            dir: 0,
            kind: Kind::Udp,
            data: query,
        });
        self.q.push_back(QPkt {
            gap: self.rng.log_range(200 * US, 80 * MS),
            dir: 1,
            kind: Kind::Udp,
            data: resp,
        });
        truth.udp_datagrams += 2;
    }
}

// ---------------------------------------------------------------------------
// Scheduling: one heap of flows keyed by the time of their next packet, so
// the file is in timestamp order and flows interleave as they would.

enum Flow {
    Smtp(Box<Smtp>),
    Http(Box<Http>),
    Dns(Box<Dns>),
}

impl Flow {
    fn parts(&mut self) -> (&mut VecDeque<QPkt>, &mut Vec<Vec<u8>>, &[Endpoint; 2]) {
        match self {
            Flow::Smtp(s) => (&mut s.tcp.q, &mut s.tcp.spare, &s.tcp.ep),
            Flow::Http(h) => (&mut h.tcp.q, &mut h.tcp.spare, &h.tcp.ep),
            Flow::Dns(d) => (&mut d.q, &mut d.spare, &d.ep),
        }
    }
}

struct Slot {
    flow: Flow,
    /// Planned wire bytes not yet written (an estimate, for the size budget).
    remaining: u64,
    tuple: Option<(Ip, u16)>,
}

struct Gen {
    rng: Rng,
    truth: Truth,
    wire: Wire,
    target: u64,
    concurrency: usize,
    http_concurrency: usize,
    stopping: bool,
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    order: u64,
    outstanding: u64,
    smtp_open: usize,
    http_open: usize,
    smtp_planned: u64,
    http_planned: u64,
    tuples: FxHashSet<(Ip, u16)>,
}

/// Packet, IP and pcap overhead on top of payload, as a rough multiplier.
fn wire_estimate(payload: u64) -> u64 {
    payload + payload / 1400 * 160 + 1500
}

impl Gen {
    fn schedule(&mut self, t: u64, slot: usize) {
        self.order += 1;
        self.heap.push(Reverse((t, self.order, slot)));
    }

    /// Make sure the flow has a packet queued; its gap, or None when over.
    fn ensure(&mut self, slot: usize) -> Option<u64> {
        let open_tcp = self.smtp_open + self.http_open;
        let s = self.slots[slot].as_mut().expect("scheduled slot is live");
        loop {
            let (q, _, _) = s.flow.parts();
            if let Some(p) = q.front() {
                return Some(p.gap);
            }
            let more = match &mut s.flow {
                Flow::Smtp(f) => f.refill(&mut self.truth),
                Flow::Http(f) => f.refill(),
                Flow::Dns(f) => {
                    // DNS keeps going while any TCP flow does.
                    let more = !(self.stopping && open_tcp == 0);
                    if more {
                        f.refill(&mut self.truth);
                    }
                    more
                }
            };
            if !more {
                return None;
            }
        }
    }

    fn add(&mut self, t: u64, flow: Flow, remaining: u64, tuple: Option<(Ip, u16)>) {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        self.outstanding += remaining;
        self.slots[slot] = Some(Slot {
            flow,
            remaining,
            tuple,
        });
        if let Some(tu) = tuple {
            self.tuples.insert(tu);
        }
        let gap = self.ensure(slot).expect("a new flow has packets");
        self.schedule(t + gap, slot);
    }

    /// Start SMTP and HTTP flows until the pools are full, keeping HTTP near
    /// its share of bytes, until the planned bytes reach the target.
    fn top_up(&mut self, now: u64, spread: u64) {
        while !self.stopping {
            let total = self.http_planned + self.smtp_planned;
            let want_http = self.http_open < self.http_concurrency
                && (self.http_planned as f64) < HTTP_SHARE * total as f64;
            if !want_http && self.smtp_open >= self.concurrency {
                return;
            }
            let (flow, payload, client) = if want_http {
                let (h, est) = Http::new(&mut self.rng);
                let c = h.tcp.ep[0];
                (Flow::Http(Box::new(h)), est, c)
            } else {
                let (s, est) = Smtp::new(&mut self.rng, now);
                let c = s.tcp.ep[0];
                (Flow::Smtp(Box::new(s)), est, c)
            };
            if self.tuples.contains(&(client.ip, client.port)) {
                continue;
            }
            let planned = wire_estimate(payload);
            let nothing_yet = self.wire.packets == 0 && self.smtp_open + self.http_open == 0;
            if self.wire.bytes + self.outstanding + planned > self.target && !nothing_yet {
                self.stopping = true;
                return;
            }
            match &flow {
                Flow::Smtp(s) => {
                    self.smtp_open += 1;
                    self.smtp_planned += payload;
                    self.truth.smtp_sessions += 1;
                    self.truth.ipv6_sessions += u64::from(matches!(client.ip, Ip::V6(_)));
                    match s.tcp.ep[1].port {
                        25 => self.truth.smtp_port_25 += 1,
                        587 => self.truth.smtp_port_587 += 1,
                        _ => self.truth.smtp_port_2525 += 1,
                    }
                }
                Flow::Http(_) => {
                    self.http_open += 1;
                    self.http_planned += payload;
                    self.truth.non_smtp_tcp_flows += 1;
                }
                Flow::Dns(_) => unreachable!(),
            }
            let start = now + self.rng.below(spread.max(1));
            self.add(start, flow, planned, Some((client.ip, client.port)));
        }
    }

    fn run(&mut self) -> io::Result<u64> {
        self.top_up(0, 3_000 * MS);
        let dns = Flow::Dns(Box::new(Dns::new(&mut self.rng)));
        self.add(0, dns, 0, None);
        let mut now = 0;
        while let Some(Reverse((t, _, slot))) = self.heap.pop() {
            now = t;
            let s = self.slots[slot].as_mut().expect("scheduled slot is live");
            let counter = match s.flow {
                Flow::Smtp(_) => &mut self.truth.smtp_wire_bytes,
                Flow::Http(_) => &mut self.truth.non_smtp_tcp_wire_bytes,
                Flow::Dns(_) => &mut self.truth.udp_wire_bytes,
            };
            let (q, spare, ep) = s.flow.parts();
            let p = q.pop_front().expect("scheduled flow has a packet");
            let (src, dst) = (ep[p.dir], ep[1 - p.dir]);
            let n = self.wire.packet(t, &src, &dst, &p)?;
            *counter += n;
            spare.push(p.data);
            let used = n.min(s.remaining);
            s.remaining -= used;
            self.outstanding -= used;
            if let Some(gap) = self.ensure(slot) {
                self.schedule(t + gap, slot);
                continue;
            }
            let s = self.slots[slot].take().expect("slot was live");
            self.free.push(slot);
            self.outstanding -= s.remaining;
            if let Some(tu) = s.tuple {
                self.tuples.remove(&tu);
            }
            match s.flow {
                Flow::Smtp(_) => self.smtp_open -= 1,
                Flow::Http(_) => self.http_open -= 1,
                Flow::Dns(_) => {}
            }
            self.top_up(t, 50 * MS);
        }
        Ok(now)
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let truth_path = args.truth.clone().unwrap_or_else(|| {
        let mut p = args.out.clone().into_os_string();
        p.push(".truth.json");
        p.into()
    });
    let file =
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let out = PcapWriter::new(BufWriter::with_capacity(4 << 20, file), LinkType::ETHERNET)?;
    let began = Instant::now();
    let mut rng = Rng(args.seed);
    // Decorrelate nearby seeds before anything is drawn.
    rng.next_u64();
    let mut g = Gen {
        rng,
        truth: Truth {
            seed: args.seed,
            ..Truth::default()
        },
        wire: Wire {
            out,
            buf: Vec::with_capacity(2048),
            ip_id: 0,
            packets: 0,
            bytes: 24,
        },
        target: args.bytes,
        concurrency: args.concurrency,
        http_concurrency: (args.concurrency / 8).max(2),
        stopping: false,
        heap: BinaryHeap::new(),
        slots: Vec::new(),
        free: Vec::new(),
        order: 0,
        outstanding: 0,
        smtp_open: 0,
        http_open: 0,
        smtp_planned: 0,
        http_planned: 0,
        tuples: FxHashSet::default(),
    };
    let end = g
        .run()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    g.wire.out.flush()?;
    let mut truth = g.truth;
    truth.packets = g.wire.packets;
    truth.bytes = g.wire.bytes;
    truth.duration_seconds = end as f64 / 1e9;
    let json = serde_json::to_string_pretty(&truth)?;
    std::fs::write(&truth_path, json + "\n")
        .with_context(|| format!("cannot write {}", truth_path.display()))?;
    let secs = began.elapsed().as_secs_f64();
    eprintln!(
        "synth: {} bytes, {} packets, {} SMTP sessions, {:.1} s of traffic, written in {:.1} s ({:.0} MB/s); truth in {}",
        truth.bytes,
        truth.packets,
        truth.smtp_sessions,
        truth.duration_seconds,
        secs,
        truth.bytes as f64 / 1e6 / secs,
        truth_path.display()
    );
    Ok(())
}
