//! TCP reassembly on segments the input describes: after a handshake with
//! an input-chosen ISN pair, each 6-byte record is one segment:
//!
//! ```text
//! byte 0: bit 0 direction (set: server to client), bit 1 SYN, bit 2 FIN,
//!         bit 3 RST, bit 4 no ACK, bit 5 an idle-timeout jump before it
//! byte 1-2: sequence offset from the sender's ISN + 1 (big endian)
//! byte 3:   payload length
//! byte 4-5: acknowledgement offset from the peer's ISN + 1
//! ```
//!
//! Payload byte k of a direction's stream is `pattern(dir, k)`, so whatever
//! order the segments come in, the bytes the sink receives for the
//! handshake's connection must be the pattern at their stream offset (gaps
//! count as offsets). Checked when no record sets SYN (a new SYN may begin
//! a new connection with another ISN).
#![no_main]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use etherparse::PacketBuilder;
use libfuzzer_sys::fuzz_target;
use smtpscope::capture::{LinkType, Packet, Timestamp};
use smtpscope::net::{
    Chunk, CloseReason, ConnId, ConnMeta, Dir, FlowConfig, FlowTable, Interest, StreamSink,
};

const MAX_SEGMENTS: usize = 512;
const MS: i64 = 1_000_000;
const ELEVEN_MINUTES: i64 = 11 * 60 * 1_000_000_000;

fn pattern(dir: usize, k: u64) -> u8 {
    ((k ^ (k >> 8) ^ (k >> 16)) as u8)
        .wrapping_mul(131)
        .wrapping_add(dir as u8 * 0x55)
}

#[derive(Default)]
struct Conn {
    first_frame: u64,
    /// Next stream offset per direction (data and gaps both advance it).
    pos: [u64; 2],
    /// Offsets whose byte was not the pattern: (dir, offset, got).
    wrong: Vec<(usize, u64, u8)>,
    opens: u32,
    closes: u32,
}

#[derive(Default)]
struct Checker {
    conns: BTreeMap<ConnId, Conn>,
}

impl StreamSink for Checker {
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

fuzz_target!(|data: &[u8]| {
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
    let mut sink = Checker::default();
    let mut ts = Timestamp::from_nanos(1_700_000_000_000_000_000);
    let mut frame = 0u64;
    let mut send = |table: &mut FlowTable, sink: &mut Checker, ts: Timestamp, bytes: Vec<u8>| {
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
});
