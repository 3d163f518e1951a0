//! Counters for everything the packet layer saw, dropped or gave up on:
//! the `--stats` summary and the status bar read them.

use std::collections::BTreeMap;
use std::fmt;

use super::ip::IpStats;
use super::reassembly::StreamCounters;
use crate::capture::LinkType;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    pub packets: u64,
    /// Bytes as captured (record lengths).
    pub bytes: u64,
    pub link_types: BTreeMap<LinkType, u64>,
    /// Packets whose capture was cut by the snap length.
    pub truncated_packets: u64,
    /// Packets on link types we do not decode, per type.
    pub unsupported_link: BTreeMap<LinkType, u64>,
    pub vlan_tagged: u64,
    pub not_ip: u64,
    pub malformed: u64,
    pub ip: IpStats,
    pub tcp_segments: u64,
    pub udp_datagrams: u64,
    pub other_ip_protocol: u64,
    pub connections: u64,
    pub connections_with_handshake: u64,
    /// Connections the consumer declined (not SMTP): headers only.
    pub connections_ignored: u64,
    /// A new SYN on a 4-tuple still in use: the old connection was closed.
    pub port_reuse: u64,
    /// Segments without payload or SYN on a 4-tuple not yet seen carrying
    /// either (pure ACK, FIN or RST): the connection is counted, and is
    /// reported only if data follows.
    pub stray_segments: u64,
    pub evicted: u64,
    pub idle_timeouts: u64,
    /// Per direction: client->server [0], server->client [1].
    pub streams: [StreamCounters; 2],
    /// pcapng blocks skipped for damage inside intact framing, and packets
    /// naming an interface their section never described (dropped): the
    /// file reader counts them, the run adds them here.
    pub damaged_blocks: u64,
    pub bad_interface: u64,
    /// Kernel/interface drop counters (live capture only).
    pub kernel_dropped: Option<u64>,
    pub interface_dropped: Option<u64>,
}

impl NetStats {
    pub fn gaps(&self) -> u64 {
        self.streams[0].gaps + self.streams[1].gaps
    }
}

fn sum<F: Fn(&StreamCounters) -> u64>(s: &NetStats, f: F) -> u64 {
    f(&s.streams[0]) + f(&s.streams[1])
}

impl fmt::Display for NetStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let links: Vec<String> = self
            .link_types
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        writeln!(
            f,
            "packets:            {} ({} bytes)",
            self.packets, self.bytes
        )?;
        writeln!(
            f,
            "link types:         {}",
            if links.is_empty() {
                "-".into()
            } else {
                links.join(", ")
            }
        )?;
        if !self.unsupported_link.is_empty() {
            let u: Vec<String> = self
                .unsupported_link
                .iter()
                .map(|(l, n)| format!("{l} {n}"))
                .collect();
            writeln!(f, "unsupported links:  {} (skipped)", u.join(", "))?;
        }
        writeln!(
            f,
            "truncated packets:  {} (cut by the snap length; decoded as far as they go)",
            self.truncated_packets
        )?;
        writeln!(f, "IPv4 / IPv6:        {} / {}", self.ip.ipv4, self.ip.ipv6)?;
        writeln!(
            f,
            "IP fragments:       {} ({} datagrams reassembled, {} dropped, {} expired)",
            self.ip.fragments,
            self.ip.datagrams_reassembled,
            self.ip.fragments_dropped,
            self.ip.datagrams_expired
        )?;
        writeln!(
            f,
            "non-IP / malformed: {} / {}",
            self.not_ip, self.malformed
        )?;
        writeln!(
            f,
            "TCP / UDP / other:  {} / {} / {}",
            self.tcp_segments, self.udp_datagrams, self.other_ip_protocol
        )?;
        writeln!(
            f,
            "TCP connections:    {} ({} with handshake, {} without; {} not reassembled; {} port reuse)",
            self.connections,
            self.connections_with_handshake,
            self.connections - self.connections_with_handshake,
            self.connections_ignored,
            self.port_reuse
        )?;
        writeln!(
            f,
            "reassembled bytes:  {} client->server, {} server->client",
            self.streams[0].bytes_delivered, self.streams[1].bytes_delivered
        )?;
        writeln!(
            f,
            "out-of-order:       {}   retransmitted: {}   conflicting overlaps: {}",
            sum(self, |c| c.out_of_order),
            sum(self, |c| c.retransmitted),
            sum(self, |c| c.conflicting_overlaps)
        )?;
        writeln!(
            f,
            "gaps:               {} ({} bytes missing; {} from out-of-order overflow)",
            self.gaps(),
            sum(self, |c| c.gap_bytes),
            sum(self, |c| c.ooo_overflows)
        )?;
        writeln!(
            f,
            "flows evicted:      {} (flow cap)   idle timeouts: {}   stray segments: {}",
            self.evicted, self.idle_timeouts, self.stray_segments
        )?;
        if self.damaged_blocks > 0 || self.bad_interface > 0 {
            writeln!(
                f,
                "pcapng damage:      {} damaged blocks skipped, {} packets naming an undescribed interface (dropped)",
                self.damaged_blocks, self.bad_interface
            )?;
        }
        if self.kernel_dropped.is_some() || self.interface_dropped.is_some() {
            writeln!(
                f,
                "capture drops:      {} by the kernel, {} by the interface",
                self.kernel_dropped.unwrap_or(0),
                self.interface_dropped.unwrap_or(0)
            )?;
        }
        Ok(())
    }
}
