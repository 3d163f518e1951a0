//! The flow table: packets in, per-connection stream events out.
//!
//! Invariants:
//! - at most `max_flows` connections are tracked; when full, the least
//!   recently active eighth is evicted (counted, reported as closed with
//!   [`CloseReason::Evicted`]) before a new one is added;
//! - a connection idle for longer than `idle_timeout` of capture time is
//!   closed with [`CloseReason::IdleTimeout`];
//! - every connection reported open is reported closed exactly once, and
//!   events are emitted in a deterministic order for a given capture (no
//!   hash-order iteration decides what is reported first).

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::ip::{Decoded, IpConfig, IpDecoder, Segment};
use super::link::{self, Network};
use super::reassembly::{Delivery, HalfStream, ReassemblyConfig};
use super::stats::NetStats;
use super::{Chunk, CloseReason, ConnId, ConnMeta, Dir, Interest, RoleSource, StreamSink};
use crate::capture::{LinkType, Packet, Timestamp};

pub const DEFAULT_MAX_FLOWS: usize = 65_536;
/// Ten minutes: RFC 5321 §4.5.3.2.7 lets an SMTP server wait five minutes
/// for a command and ten for the end of DATA.
pub const DEFAULT_IDLE_TIMEOUT_NANOS: i64 = 600_000_000_000;

#[derive(Clone, Debug)]
pub struct FlowConfig {
    pub max_flows: usize,
    pub idle_timeout_nanos: i64,
    /// Ports that identify the server side of a connection whose handshake
    /// was not captured (besides ports below 1024).
    pub server_ports: Vec<u16>,
    pub reassembly: ReassemblyConfig,
    pub ip: IpConfig,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: DEFAULT_MAX_FLOWS,
            idle_timeout_nanos: DEFAULT_IDLE_TIMEOUT_NANOS,
            server_ports: Vec::new(),
            reassembly: ReassemblyConfig::default(),
            ip: IpConfig::default(),
        }
    }
}

/// Both endpoints, lower one first, so either direction finds the flow.
type FlowKey = (SocketAddr, SocketAddr);

#[derive(PartialEq, Eq)]
enum State {
    /// Only segments without payload or SYN seen (a capture that starts
    /// with ACKs): counted as a connection, not yet reported to the sink.
    Dormant,
    Open,
    /// Close was reported; the entry absorbs late packets (final ACKs,
    /// retransmitted FINs) until a new SYN or the idle timeout.
    Closed,
}

struct Flow {
    meta: ConnMeta,
    /// Indexed by [`Dir::index`].
    halves: [HalfStream; 2],
    /// Initial sequence numbers of SYNs seen, to tell a retransmitted SYN
    /// from a new connection on the same 4-tuple.
    isn: [Option<u32>; 2],
    last_seen: Timestamp,
    state: State,
    ignored: bool,
    rst: bool,
}

/// Link types counted by a scan rather than a map lookup.
const LINK_SCAN: usize = 4;

pub struct FlowTable {
    cfg: FlowConfig,
    ip: IpDecoder,
    /// Boxed: a map sized for the flow cap then costs a pointer per empty
    /// slot instead of a whole flow.
    flows: FxHashMap<FlowKey, Box<Flow>>,
    next_id: u64,
    now: Timestamp,
    last_sweep: Timestamp,
    stats: NetStats,
    /// Packets per link type for the first [`LINK_SCAN`] types seen, folded
    /// into `stats.link_types` by `stats()`: a capture has one or two, so a
    /// scan beats a map lookup per packet. Further types (a hostile pcapng
    /// can name thousands) are counted in the map directly.
    link_packets: Vec<(LinkType, u64)>,
}

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            ip: IpDecoder::new(cfg.ip.clone()),
            cfg,
            flows: FxHashMap::default(),
            next_id: 0,
            now: Timestamp::ZERO,
            last_sweep: Timestamp::ZERO,
            stats: NetStats::default(),
            link_packets: Vec::new(),
        }
    }

    /// Counters so far; the stream counters include open connections.
    pub fn stats(&self) -> NetStats {
        let mut s = self.stats.clone();
        s.ip = self.ip.stats.clone();
        for &(link, n) in &self.link_packets {
            *s.link_types.entry(link).or_insert(0) += n;
        }
        for flow in self.flows.values() {
            for d in 0..2 {
                add_counters(&mut s.streams[d], &flow.halves[d].counters);
            }
        }
        s
    }

    /// Connections currently tracked (open or recently closed).
    pub fn tracked(&self) -> usize {
        self.flows.len()
    }

    /// Decode one packet and feed its payload, if any, to the sink.
    pub fn process(&mut self, pkt: &Packet<'_>, sink: &mut dyn StreamSink) {
        self.stats.packets += 1;
        self.stats.bytes += pkt.data.len() as u64;
        let scanned = self.link_packets.len();
        match self.link_packets.iter_mut().find(|(l, _)| *l == pkt.link) {
            Some((_, n)) => *n += 1,
            None if scanned < LINK_SCAN => self.link_packets.push((pkt.link, 1)),
            None => *self.stats.link_types.entry(pkt.link).or_insert(0) += 1,
        }
        if pkt.is_truncated() {
            self.stats.truncated_packets += 1;
        }
        if pkt.ts > self.now {
            self.now = pkt.ts;
        }
        self.maybe_sweep(sink);
        let link = link::decode(pkt.link, pkt.data);
        if link.vlan_tags > 0 {
            self.stats.vlan_tagged += 1;
        }
        let (v6, bytes) = match link.network {
            Network::Ipv4(b) => (false, b),
            Network::Ipv6(b) => (true, b),
            Network::NotIp => {
                self.stats.not_ip += 1;
                return;
            }
            Network::Unsupported => {
                *self.stats.unsupported_link.entry(pkt.link).or_insert(0) += 1;
                return;
            }
            Network::Malformed => {
                self.stats.malformed += 1;
                return;
            }
        };
        // Split borrows: the IP decoder's output may borrow its own buffer.
        let FlowTable {
            ip,
            flows,
            cfg,
            next_id,
            stats,
            ..
        } = self;
        match ip.decode(v6, bytes, pkt.ts) {
            Decoded::Tcp(seg) => {
                stats.tcp_segments += 1;
                let mut ctx = Ctx {
                    cfg,
                    flows,
                    next_id,
                    stats,
                    sink,
                };
                ctx.segment(&seg, pkt.ts, pkt.frame);
            }
            Decoded::Udp => stats.udp_datagrams += 1,
            Decoded::OtherProtocol => stats.other_ip_protocol += 1,
            Decoded::FragmentHeld => {}
            Decoded::Malformed => stats.malformed += 1,
        }
    }

    /// The capture is over: deliver what is held (holes become gaps) and
    /// close every open connection, in the order they were first seen.
    pub fn finish(&mut self, sink: &mut dyn StreamSink) {
        let mut keys: Vec<(ConnId, FlowKey)> =
            self.flows.iter().map(|(k, f)| (f.meta.id, *k)).collect();
        keys.sort_unstable();
        let now = self.now;
        for (_, key) in keys {
            if let Some(flow) = self.flows.remove(&key) {
                retire(flow, CloseReason::EndOfCapture, now, sink, &mut self.stats);
            }
        }
    }

    /// Close connections idle for longer than the timeout. Runs every tenth
    /// of the timeout in capture time, so its cost stays proportional.
    fn maybe_sweep(&mut self, sink: &mut dyn StreamSink) {
        let every = (self.cfg.idle_timeout_nanos / 10).max(1);
        if self.now.since(self.last_sweep) < every {
            return;
        }
        self.last_sweep = self.now;
        let cutoff = self.now.add_nanos(-self.cfg.idle_timeout_nanos);
        let mut idle: Vec<(ConnId, FlowKey)> = self
            .flows
            .iter()
            .filter(|(_, f)| f.last_seen < cutoff)
            .map(|(k, f)| (f.meta.id, *k))
            .collect();
        idle.sort_unstable();
        let now = self.now;
        for (_, key) in idle {
            if let Some(flow) = self.flows.remove(&key) {
                if flow.state == State::Open {
                    self.stats.idle_timeouts += 1;
                }
                retire(flow, CloseReason::IdleTimeout, now, sink, &mut self.stats);
            }
        }
    }
}

/// The borrowed pieces of the table a segment needs.
struct Ctx<'a> {
    cfg: &'a FlowConfig,
    flows: &'a mut FxHashMap<FlowKey, Box<Flow>>,
    next_id: &'a mut u64,
    stats: &'a mut NetStats,
    sink: &'a mut dyn StreamSink,
}

impl Ctx<'_> {
    fn segment(&mut self, seg: &Segment<'_>, ts: Timestamp, frame: u64) {
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let f = seg.flags;
        let mut reuse = false;
        if let Some(flow) = self.flows.get_mut(&key) {
            let dir = if seg.src == flow.meta.client {
                Dir::ClientToServer
            } else {
                Dir::ServerToClient
            };
            // A SYN with a new initial sequence number, or any SYN on a
            // closed connection, starts a new connection on the same
            // 4-tuple (port reuse); a retransmitted SYN does not.
            reuse = f.syn
                && !f.ack
                && (flow.state == State::Closed || flow.isn[dir.index()] != Some(seg.seq.0));
            if !reuse {
                if flow.state == State::Closed {
                    flow.last_seen = ts;
                    return;
                }
                if flow.state == State::Dormant {
                    if !f.syn && seg.payload.is_empty() {
                        flow.last_seen = ts;
                        return;
                    }
                    flow.state = State::Open;
                    if self.sink.open(&flow.meta) == Interest::Ignore {
                        ignore(flow, self.stats);
                    }
                }
                update(flow, dir, seg, ts, frame, self.cfg, self.sink, self.stats);
                if flow.rst || (flow.halves[0].finished() && flow.halves[1].finished()) {
                    let reason = if flow.rst {
                        CloseReason::Rst
                    } else {
                        CloseReason::Fin
                    };
                    close(flow, reason, ts, self.sink, self.stats);
                }
                return;
            }
        }
        if reuse {
            if let Some(old) = self.flows.remove(&key) {
                if old.state == State::Open {
                    self.stats.port_reuse += 1;
                }
                retire(old, CloseReason::Fin, ts, self.sink, self.stats);
            }
        }
        // No connection yet. Only a SYN or a segment with payload is worth
        // reporting; a lone ACK/FIN/RST leaves a dormant entry that wakes
        // up if data follows (a capture that starts mid-connection).
        let dormant = !f.syn && seg.payload.is_empty();
        if dormant {
            self.stats.stray_segments += 1;
        }
        if self.flows.len() >= self.cfg.max_flows {
            self.evict(ts);
        }
        let (client, server, roles) = if f.syn && !f.ack {
            (seg.src, seg.dst, RoleSource::Handshake)
        } else if f.syn && f.ack {
            (seg.dst, seg.src, RoleSource::Handshake)
        } else if self.is_server_port(seg.dst.port()) && !self.is_server_port(seg.src.port()) {
            (seg.src, seg.dst, RoleSource::Port)
        } else if self.is_server_port(seg.src.port()) && !self.is_server_port(seg.dst.port()) {
            (seg.dst, seg.src, RoleSource::Port)
        } else if self.is_server_port(seg.dst.port()) && seg.dst.port() < seg.src.port() {
            (seg.src, seg.dst, RoleSource::Port)
        } else {
            (seg.src, seg.dst, RoleSource::FirstSender)
        };
        let id = ConnId(*self.next_id);
        *self.next_id += 1;
        self.stats.connections += 1;
        if roles == RoleSource::Handshake {
            self.stats.connections_with_handshake += 1;
        }
        let meta = ConnMeta {
            id,
            client,
            server,
            start: ts,
            first_frame: frame,
            roles,
        };
        let mut flow = Box::new(Flow {
            meta,
            halves: [HalfStream::new(), HalfStream::new()],
            isn: [None, None],
            last_seen: ts,
            state: if dormant { State::Dormant } else { State::Open },
            ignored: false,
            rst: false,
        });
        if dormant {
            self.flows.insert(key, flow);
            return;
        }
        if self.sink.open(&flow.meta) == Interest::Ignore {
            ignore(&mut flow, self.stats);
        }
        let dir = if seg.src == client {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        };
        update(
            &mut flow, dir, seg, ts, frame, self.cfg, self.sink, self.stats,
        );
        if flow.rst {
            close(&mut flow, CloseReason::Rst, ts, self.sink, self.stats);
        }
        self.flows.insert(key, flow);
    }

    fn is_server_port(&self, port: u16) -> bool {
        port < 1024 || self.cfg.server_ports.contains(&port)
    }

    /// Make room: retire the least recently active eighth of the table,
    /// oldest first (ties broken by connection id, so the choice does not
    /// depend on hash order).
    fn evict(&mut self, now: Timestamp) {
        let mut all: Vec<(Timestamp, ConnId, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (f.last_seen, f.meta.id, *k))
            .collect();
        let n = (all.len() / 8).max(1);
        if n < all.len() {
            all.select_nth_unstable(n);
            all.truncate(n);
        }
        all.sort_unstable();
        for (_, _, key) in all {
            if let Some(flow) = self.flows.remove(&key) {
                if flow.state == State::Open {
                    self.stats.evicted += 1;
                }
                retire(flow, CloseReason::Evicted, now, self.sink, self.stats);
            }
        }
    }
}

fn ignore(flow: &mut Flow, stats: &mut NetStats) {
    if !flow.ignored {
        flow.ignored = true;
        stats.connections_ignored += 1;
        flow.halves[0].mute();
        flow.halves[1].mute();
    }
}

/// Apply one segment to a connection in the given direction.
#[allow(clippy::too_many_arguments)]
fn update(
    flow: &mut Flow,
    dir: Dir,
    seg: &Segment<'_>,
    ts: Timestamp,
    frame: u64,
    cfg: &FlowConfig,
    sink: &mut dyn StreamSink,
    stats: &mut NetStats,
) {
    flow.last_seen = ts;
    let f = seg.flags;
    let d = dir.index();
    let Flow {
        meta,
        halves,
        isn,
        ignored,
        ..
    } = flow;
    let mut lost_interest = false;
    let mut emit = |dir: Dir, delivery: Delivery<'_>| match delivery {
        Delivery::Data { bytes, ts, frame } => {
            if !lost_interest
                && sink.data(meta, dir, Chunk { ts, frame, bytes }) == Interest::Ignore
            {
                lost_interest = true;
            }
        }
        Delivery::Gap { len, ts, frame } => {
            if !lost_interest {
                sink.gap(meta, dir, ts, frame, len);
            }
        }
    };
    if f.syn {
        if isn[d].is_none() {
            isn[d] = Some(seg.seq.0);
        }
        halves[d].syn(seg.seq);
    }
    let data_seq = if f.syn { seg.seq + 1 } else { seg.seq };
    if !*ignored {
        let other = dir.reverse();
        // What this side acknowledges tells whether the other side's holes
        // were really sent (and lost by the capture).
        if f.ack {
            halves[other.index()].peer_ack(seg.ack, &mut |x| emit(other, x));
        }
        halves[d].segment(
            &cfg.reassembly,
            data_seq,
            seg.payload,
            f.fin,
            ts,
            frame,
            &mut |x| emit(dir, x),
        );
    } else {
        halves[d].segment(
            &cfg.reassembly,
            data_seq,
            seg.payload,
            f.fin,
            ts,
            frame,
            &mut |_| {},
        );
    }
    if f.rst {
        flow.rst = true;
    }
    if lost_interest {
        ignore(flow, stats);
    }
}

/// Report a connection closed (delivering what it still holds) and keep
/// its entry to absorb late packets.
fn close(
    flow: &mut Flow,
    reason: CloseReason,
    ts: Timestamp,
    sink: &mut dyn StreamSink,
    stats: &mut NetStats,
) {
    match flow.state {
        State::Closed => return,
        State::Dormant => {
            flow.state = State::Closed;
            return;
        }
        State::Open => {}
    }
    if !flow.ignored {
        let Flow { meta, halves, .. } = flow;
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            halves[dir.index()].flush(&mut |d| match d {
                Delivery::Data { bytes, ts, frame } => {
                    sink.data(meta, dir, Chunk { ts, frame, bytes });
                }
                Delivery::Gap { len, ts, frame } => sink.gap(meta, dir, ts, frame, len),
            });
        }
    }
    sink.close(&flow.meta, reason, ts);
    flow.state = State::Closed;
    // Counters of a closed flow move into the run totals now, so that the
    // entry can be dropped silently later.
    for d in 0..2 {
        add_counters(&mut stats.streams[d], &flow.halves[d].counters);
        flow.halves[d].counters = Default::default();
    }
    flow.halves[0].mute();
    flow.halves[1].mute();
}

/// Remove a connection from the table for good.
fn retire(
    mut flow: Box<Flow>,
    reason: CloseReason,
    ts: Timestamp,
    sink: &mut dyn StreamSink,
    stats: &mut NetStats,
) {
    close(&mut flow, reason, ts, sink, stats);
}

fn add_counters(
    total: &mut super::reassembly::StreamCounters,
    c: &super::reassembly::StreamCounters,
) {
    total.bytes_delivered += c.bytes_delivered;
    total.out_of_order += c.out_of_order;
    total.retransmitted += c.retransmitted;
    total.conflicting_overlaps += c.conflicting_overlaps;
    total.gaps += c.gaps;
    total.gap_bytes += c.gap_bytes;
    total.ooo_overflows += c.ooo_overflows;
    total.out_of_window += c.out_of_window;
}
