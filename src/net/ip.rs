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
use etherparse::{
    IpNumber, Ipv4HeaderSlice, Ipv6HeaderSlice, LaxNetSlice, LaxSlicedPacket, SlicedPacket,
    TcpSlice, TransportSlice,
};

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
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
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
        let plain = if v6 {
            plain_ipv6_tcp(data)
        } else {
            plain_ipv4_tcp(data)
        };
        match plain {
            Some(seg) => Decoded::Tcp(seg),
            None => self.walk(data, ts),
        }
    }

    /// Any IP packet, through etherparse's lax slicing (fragments into the
    /// reassembly pool).
    fn walk<'a>(&'a mut self, data: &'a [u8], ts: Timestamp) -> Decoded<'a> {
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

/// Most packets of a capture: IPv4 without options, not a fragment, whole
/// (not cut by the snap length), carrying TCP. They skip etherparse's
/// general walk over the packet, which costs about 300 to 500 instructions
/// each; anything else returns `None` and takes that walk.
fn plain_ipv4_tcp(data: &[u8]) -> Option<Segment<'_>> {
    let ip = Ipv4HeaderSlice::from_slice(data).ok()?;
    if ip.ihl() != 5 || ip.is_fragmenting_payload() || ip.protocol() != IpNumber::TCP {
        return None;
    }
    // A total length of 0 (segmentation offload) or past the captured
    // bytes is left to the general walk.
    let tcp = TcpSlice::from_slice(data.get(20..usize::from(ip.total_len()))?).ok()?;
    Some(segment(
        &tcp,
        IpAddr::V4(ip.source_addr()),
        IpAddr::V4(ip.destination_addr()),
        false,
    ))
}

/// The IPv6 counterpart of [`plain_ipv4_tcp`]: no extension header, a
/// payload length that is not 0 (a jumbogram) and was captured whole.
fn plain_ipv6_tcp(data: &[u8]) -> Option<Segment<'_>> {
    let ip = Ipv6HeaderSlice::from_slice(data).ok()?;
    if ip.next_header() != IpNumber::TCP || ip.payload_length() == 0 {
        return None;
    }
    let tcp = TcpSlice::from_slice(data.get(40..40 + usize::from(ip.payload_length()))?).ok()?;
    Some(segment(
        &tcp,
        IpAddr::V6(ip.source_addr()),
        IpAddr::V6(ip.destination_addr()),
        false,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What both IP versions carry: a TCP data offset (mostly 5), a
    /// payload, and how much the capture cuts (negative) or pads.
    fn tcp_part() -> impl Strategy<Value = (u8, Vec<u8>, i32)> {
        (
            prop_oneof![4 => Just(5u8), 1 => 0u8..16],
            proptest::collection::vec(any::<u8>(), 0..64),
            prop_oneof![4 => Just(0i32), 1 => -80i32..40],
        )
    }

    /// A length field: mostly the real one, sometimes 0 or anything.
    fn length_field() -> impl Strategy<Value = Option<u16>> {
        prop_oneof![4 => Just(None), 1 => Just(Some(0u16)), 1 => any::<u16>().prop_map(Some)]
    }

    /// Append the TCP header and payload, then cut or pad the packet.
    fn finish_packet(mut p: Vec<u8>, (tcp_off, payload, cut): (u8, Vec<u8>, i32)) -> Vec<u8> {
        p.extend_from_slice(&[0x9c, 0x40, 0, 25, 0, 0, 0, 1, 0, 0, 0, 2]);
        p.extend_from_slice(&[tcp_off << 4, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(&payload);
        let len = (p.len() as i32 + cut).max(0) as usize;
        p.resize(len, 0);
        p
    }

    /// An IPv4 packet carrying TCP, mostly plain, with every field the fast
    /// path looks at sometimes off: options, fragment flags and offset,
    /// protocol, total length (0, short, long), TCP data offset, and the
    /// capture cutting or padding it.
    fn packet() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![4 => Just(5u8), 1 => 0u8..16],
            prop_oneof![4 => Just(0u16), 1 => any::<u16>()],
            prop_oneof![4 => Just(6u8), 1 => any::<u8>()],
            length_field(),
            prop_oneof![3 => Just(0x40u8), 1 => any::<u8>().prop_map(|b| b & 0xf0)],
            tcp_part(),
        )
            .prop_map(|(ihl, frag, proto, total, version, tcp)| {
                let opts = usize::from(ihl.saturating_sub(5)) * 4;
                let real_total = (20 + opts + 20 + tcp.1.len()) as u16;
                let mut p = vec![version | ihl, 0];
                p.extend_from_slice(&total.unwrap_or(real_total).to_be_bytes());
                p.extend_from_slice(&[0x12, 0x34]);
                p.extend_from_slice(&frag.to_be_bytes());
                p.extend_from_slice(&[64, proto, 0, 0, 192, 0, 2, 1, 198, 51, 100, 25]);
                p.extend(std::iter::repeat_n(1u8, opts));
                finish_packet(p, tcp)
            })
    }

    /// An IPv6 packet carrying TCP, mostly plain, sometimes with another
    /// next header, a payload length of 0, short or long, a wrong version,
    /// or cut or padded by the capture.
    fn packet_v6() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![4 => Just(6u8), 1 => any::<u8>()],
            prop_oneof![4 => Just(0x60u8), 1 => any::<u8>()],
            length_field(),
            tcp_part(),
        )
            .prop_map(|(next, first, len, tcp)| {
                let real_len = (20 + tcp.1.len()) as u16;
                let mut p = vec![first, 0, 0, 0];
                p.extend_from_slice(&len.unwrap_or(real_len).to_be_bytes());
                p.extend_from_slice(&[next, 64]);
                p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
                p.extend_from_slice(&[
                    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25,
                ]);
                finish_packet(p, tcp)
            })
    }

    /// What a fast path made of `data`, if anything, is what the general
    /// walk makes of it.
    fn agrees_with_the_walk(fast: Option<Segment<'_>>, data: &[u8]) -> Result<(), TestCaseError> {
        if let Some(fast) = fast {
            let mut dec = IpDecoder::new(IpConfig::default());
            match dec.walk(data, Timestamp::ZERO) {
                Decoded::Tcp(general) => prop_assert_eq!(fast, general),
                other => prop_assert!(false, "fast path took a packet the walk calls {:?}", other),
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn test_plain_ipv6_fast_path_agrees_with_the_general_walk(data in packet_v6()) {
            agrees_with_the_walk(plain_ipv6_tcp(&data), &data)?;
        }

        #[test]
        fn test_plain_ipv4_fast_path_agrees_with_the_general_walk(data in packet()) {
            agrees_with_the_walk(plain_ipv4_tcp(&data), &data)?;
        }
    }

    #[test]
    fn test_plain_fast_paths_take_the_common_packet_and_leave_the_rest() {
        let mut p = vec![
            0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 25,
        ];
        p.extend_from_slice(&[
            0x9c, 0x40, 0, 25, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x18, 0xff, 0xff,
        ]);
        p.extend_from_slice(&[0, 0, 0, 0, b'E', b'H', b'L', b'O']);
        let seg = plain_ipv4_tcp(&p).expect("a plain packet");
        assert_eq!(seg.payload, b"EHLO");
        assert_eq!(seg.dst.port(), 25);
        // Ethernet padding after the IP packet is not payload.
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(plain_ipv4_tcp(&padded).unwrap().payload, b"EHLO");
        // Cut by the snap length, a fragment, options: the general walk.
        assert!(plain_ipv4_tcp(&p[..40]).is_none());
        let mut fragment = p.clone();
        fragment[6] = 0x20;
        assert!(plain_ipv4_tcp(&fragment).is_none());
        let mut options = p.clone();
        options[0] = 0x46;
        assert!(plain_ipv4_tcp(&options).is_none());

        let mut v6 = vec![0x60, 0, 0, 0, 0, 24, 6, 64];
        v6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v6.extend_from_slice(&[
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25,
        ]);
        v6.extend_from_slice(&p[20..]);
        assert_eq!(
            plain_ipv6_tcp(&v6).expect("a plain packet").payload,
            b"EHLO"
        );
        // A hop-by-hop options header first: the general walk.
        let mut hop = v6.clone();
        hop[6] = 0;
        assert!(plain_ipv6_tcp(&hop).is_none());
    }
}
