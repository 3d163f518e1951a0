//! IPv4 and IPv6 decode down to the TCP segment, with IPv4/IPv6 fragment
//! reassembly. etherparse does the header work (IPv4 options, IPv6
//! extension headers, TCP header) and its defragmentation pool rebuilds
//! fragmented datagrams.
//!
//! Caps: at most `max_pending_datagrams` datagrams are held in reassembly,
//! each for at most `fragment_timeout` of capture time; what is dropped to
//! stay inside is counted in [`IpStats`].

use std::cell::Cell;
use std::net::{IpAddr, SocketAddr};

use etherparse::defrag::IpDefragPool;
use etherparse::{IpNumber, LaxNetSlice, LaxSlicedPacket, SlicedPacket, TcpSlice, TransportSlice};

use super::seq::Seq;
use crate::capture::Timestamp;

/// Datagrams awaiting missing fragments, at most.
pub const DEFAULT_MAX_PENDING_DATAGRAMS: usize = 1024;
/// How long a datagram may wait for its missing fragments (capture time).
pub const DEFAULT_FRAGMENT_TIMEOUT_NANOS: i64 = 30_000_000_000;
/// Fragments processed between two clean-ups of the reassembly pool.
const SWEEP_EVERY: u64 = 64;

/// TCP control flags we act on.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// A decoded TCP segment, borrowing the packet (or the reassembled datagram).
#[derive(Copy, Clone, Debug)]
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: Seq,
    pub ack: Seq,
    pub flags: TcpFlags,
    pub payload: &'a [u8],
    /// The capture cut the payload short (snap length).
    pub payload_truncated: bool,
}

/// What one IP packet turned out to be.
#[derive(Debug)]
pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    Udp,
    /// Another IP protocol (ICMP, ESP, ...).
    OtherProtocol,
    /// A fragment, held until its datagram is complete.
    FragmentHeld,
    /// Headers that do not parse, or a TCP header cut by the snap length.
    Malformed,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpStats {
    pub ipv4: u64,
    pub ipv6: u64,
    pub fragments: u64,
    pub datagrams_reassembled: u64,
    /// Fragments that could not be used (inconsistent, or their datagram
    /// was dropped by the timeout or the pending cap).
    pub fragments_dropped: u64,
    pub datagrams_expired: u64,
}

#[derive(Clone, Debug)]
pub struct IpConfig {
    pub max_pending_datagrams: usize,
    pub fragment_timeout_nanos: i64,
}

impl Default for IpConfig {
    fn default() -> Self {
        IpConfig {
            max_pending_datagrams: DEFAULT_MAX_PENDING_DATAGRAMS,
            fragment_timeout_nanos: DEFAULT_FRAGMENT_TIMEOUT_NANOS,
        }
    }
}

/// Pool timestamps: capture time plus an arrival counter, so the pending
/// cap can drop the datagrams that have waited longest.
type Stamp = (Timestamp, u64);

pub struct IpDecoder {
    cfg: IpConfig,
    pool: IpDefragPool<Stamp, ()>,
    /// The last reassembled datagram; a returned segment borrows it.
    datagram: Vec<u8>,
    arrivals: u64,
    pub stats: IpStats,
}

impl IpDecoder {
    pub fn new(cfg: IpConfig) -> Self {
        IpDecoder {
            cfg,
            pool: IpDefragPool::new(),
            datagram: Vec::new(),
            arrivals: 0,
            stats: IpStats::default(),
        }
    }

    pub fn decode<'a>(&'a mut self, v6: bool, data: &'a [u8], ts: Timestamp) -> Decoded<'a> {
        if v6 {
            self.stats.ipv6 += 1;
        } else {
            self.stats.ipv4 += 1;
        }
        let Ok(packet) = LaxSlicedPacket::from_ip(data) else {
            return Decoded::Malformed;
        };
        let (src, dst) = match &packet.net {
            Some(LaxNetSlice::Ipv4(ip)) => {
                let h = ip.header();
                (
                    IpAddr::V4(h.source_addr()),
                    IpAddr::V4(h.destination_addr()),
                )
            }
            Some(LaxNetSlice::Ipv6(ip)) => {
                let h = ip.header();
                (
                    IpAddr::V6(h.source_addr()),
                    IpAddr::V6(h.destination_addr()),
                )
            }
            _ => return Decoded::Malformed,
        };
        let Some(payload) = packet.ip_payload() else {
            return Decoded::Malformed;
        };
        if payload.fragmented {
            return self.fragment(data, src, dst, ts);
        }
        let truncated = payload.incomplete;
        match &packet.transport {
            Some(TransportSlice::Tcp(tcp)) => Decoded::Tcp(segment(tcp, src, dst, truncated)),
            Some(TransportSlice::Udp(_)) => Decoded::Udp,
            _ if payload.ip_number == IpNumber::TCP => Decoded::Malformed,
            _ if payload.ip_number == IpNumber::UDP => Decoded::Udp,
            _ => Decoded::OtherProtocol,
        }
    }

    fn fragment<'a>(
        &'a mut self,
        data: &[u8],
        src: IpAddr,
        dst: IpAddr,
        ts: Timestamp,
    ) -> Decoded<'a> {
        self.stats.fragments += 1;
        self.arrivals += 1;
        if self.arrivals.is_multiple_of(SWEEP_EVERY) {
            self.sweep(ts);
        }
        // The pool wants a strictly checked slice; a fragment cut by the
        // snap length cannot be used.
        let Ok(strict) = SlicedPacket::from_ip(data) else {
            self.stats.fragments_dropped += 1;
            return Decoded::Malformed;
        };
        match self
            .pool
            .process_sliced_packet(&strict, (ts, self.arrivals), ())
        {
            Ok(None) => Decoded::FragmentHeld,
            Ok(Some(done)) => {
                self.stats.datagrams_reassembled += 1;
                let ip_number = done.ip_number;
                self.datagram.clear();
                self.datagram.extend_from_slice(&done.payload);
                self.pool.return_buf(done);
                if ip_number == IpNumber::TCP {
                    match TcpSlice::from_slice(&self.datagram) {
                        Ok(tcp) => Decoded::Tcp(segment(&tcp, src, dst, false)),
                        Err(_) => Decoded::Malformed,
                    }
                } else if ip_number == IpNumber::UDP {
                    Decoded::Udp
                } else {
                    Decoded::OtherProtocol
                }
            }
            Err(_) => {
                self.stats.fragments_dropped += 1;
                Decoded::Malformed
            }
        }
    }

    /// Drop datagrams older than the timeout, then, if still over the cap,
    /// those that have had no fragment for the longest.
    fn sweep(&mut self, now: Timestamp) {
        let before = self.pending();
        let oldest_ok = now.add_nanos(-self.cfg.fragment_timeout_nanos);
        self.pool.retain(|(t, _)| *t >= oldest_ok);
        let after_timeout = self.pending();
        self.stats.datagrams_expired += (before - after_timeout) as u64;
        if after_timeout > self.cfg.max_pending_datagrams {
            let keep_from = self
                .arrivals
                .saturating_sub(self.cfg.max_pending_datagrams as u64 / 2);
            self.pool.retain(|(_, n)| *n >= keep_from);
            self.stats.datagrams_expired += (after_timeout - self.pending()) as u64;
        }
    }

    /// Datagrams currently held (counted through the pool's only iterator).
    pub fn pending(&mut self) -> usize {
        let n = Cell::new(0usize);
        self.pool.retain(|_| {
            n.set(n.get() + 1);
            true
        });
        n.get()
    }
}

fn segment<'a>(tcp: &TcpSlice<'a>, src: IpAddr, dst: IpAddr, truncated: bool) -> Segment<'a> {
    Segment {
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: Seq(tcp.sequence_number()),
        ack: Seq(tcp.acknowledgment_number()),
        flags: TcpFlags {
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
        },
        payload: tcp.payload(),
        payload_truncated: truncated,
    }
}
