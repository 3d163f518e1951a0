//! Captures written packet by packet as a test goes (to a file or a pipe),
//! for sizes too large to build in memory.

use std::io::Write;
use std::net::SocketAddr;

use smtpscope::capture::writer::PcapWriter;
use smtpscope::capture::{LinkType, Timestamp};
use smtpscope::net::Dir;

use super::{addr, tcp_packet, ACK, FINACK, SYN, SYNACK};

/// Largest TCP payload in one IPv4 packet.
pub const MAX_PAYLOAD: usize = 65_535 - 40;

pub type Out = Box<dyn Write + Send>;

/// Writes a capture packet by packet to the binary's standard input.
pub struct Gen {
    w: PcapWriter<std::io::BufWriter<Out>>,
    now: i64,
}

impl Gen {
    pub fn new(out: Out) -> Gen {
        let w = PcapWriter::new(
            std::io::BufWriter::with_capacity(1 << 20, out),
            LinkType::RAW,
        )
        .expect("pcap header");
        Gen {
            w,
            now: 1_700_000_000_000_000_000,
        }
    }

    pub fn packet(&mut self, p: &[u8]) {
        self.now += 1_000;
        self.w
            .write_packet(Timestamp::from_nanos(self.now), p, p.len() as u32)
            .expect("write to smtpscope");
    }

    /// Raw bytes in place of the next record (damage tests).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.w.flush().expect("flush");
        self.w.get_mut().get_mut().write_all(bytes).expect("write");
    }

    /// Everything written so far reaches the output.
    pub fn flush(&mut self) {
        self.w.flush().expect("flush");
    }

    pub fn finish(mut self) {
        self.w.flush().expect("flush");
    }
}

/// One TCP connection written as it goes: payloads are cut into segments
/// of at most `MAX_PAYLOAD` bytes, each acknowledged.
pub struct Conn {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Next sequence number of each side.
    pub c: u32,
    pub s: u32,
}

impl Conn {
    pub fn open(g: &mut Gen, client: SocketAddr, server: SocketAddr) -> Conn {
        let (c, s) = (1000u32, 5000u32);
        g.packet(&tcp_packet(client, server, c, 0, SYN, b""));
        g.packet(&tcp_packet(server, client, s, c + 1, SYNACK, b""));
        g.packet(&tcp_packet(client, server, c + 1, s + 1, ACK, b""));
        Conn {
            client,
            server,
            c: c + 1,
            s: s + 1,
        }
    }

    /// One segment from `dir`'s sender, acknowledging all the peer sent.
    fn segment(&mut self, g: &mut Gen, dir: Dir, payload: &[u8]) {
        let (src, dst, seq, ack) = match dir {
            Dir::ClientToServer => (self.client, self.server, self.c, self.s),
            Dir::ServerToClient => (self.server, self.client, self.s, self.c),
        };
        g.packet(&tcp_packet(src, dst, seq, ack, ACK, payload));
        let next = match dir {
            Dir::ClientToServer => &mut self.c,
            Dir::ServerToClient => &mut self.s,
        };
        *next = next.wrapping_add(payload.len() as u32);
    }

    /// `data` in full-size segments, then the peer's ACK.
    pub fn send(&mut self, g: &mut Gen, dir: Dir, data: &[u8]) {
        for seg in data.chunks(MAX_PAYLOAD) {
            self.segment(g, dir, seg);
        }
        self.segment(g, dir.reverse(), b"");
    }

    pub fn client(&mut self, g: &mut Gen, data: &[u8]) {
        self.send(g, Dir::ClientToServer, data);
    }

    pub fn server(&mut self, g: &mut Gen, data: &[u8]) {
        self.send(g, Dir::ServerToClient, data);
    }

    /// Client bytes produced in pieces (for streams too large to build).
    pub fn client_stream(&mut self, g: &mut Gen, total: u64, mut fill: impl FnMut(&mut Vec<u8>)) {
        let mut buf = Vec::with_capacity(MAX_PAYLOAD * 2);
        let mut sent = 0u64;
        while sent < total {
            fill(&mut buf);
            let take = buf.len().min(MAX_PAYLOAD).min((total - sent) as usize);
            self.segment(g, Dir::ClientToServer, &buf[..take]);
            sent += take as u64;
            buf.drain(..take);
        }
        self.segment(g, Dir::ServerToClient, b"");
    }

    /// `n` client bytes that the capture never saw (the server's next ACK
    /// covers them, so the packet layer reports a gap).
    pub fn client_lost(&mut self, n: u32) {
        self.c = self.c.wrapping_add(n);
    }

    pub fn close(self, g: &mut Gen) {
        let (c, s) = (self.c, self.s);
        g.packet(&tcp_packet(self.client, self.server, c, s, FINACK, b""));
        g.packet(&tcp_packet(self.server, self.client, s, c + 1, FINACK, b""));
        g.packet(&tcp_packet(
            self.client,
            self.server,
            c + 1,
            s + 1,
            ACK,
            b"",
        ));
    }
}

pub fn smtp_conn(g: &mut Gen) -> Conn {
    smtp_conn_from(g, addr("192.0.2.10:40000"))
}

/// Greeting and EHLO from `client` to the server on port 25.
pub fn smtp_conn_from(g: &mut Gen, client: SocketAddr) -> Conn {
    let mut c = Conn::open(g, client, addr("198.51.100.25:25"));
    c.server(g, b"220 mx.example.test ESMTP\r\n");
    c.client(g, b"EHLO client.test\r\n");
    c.server(
        g,
        b"250-mx.example.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n",
    );
    c
}
