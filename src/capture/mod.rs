//! Packet sources: capture files (pcap, pcapng, gzip-compressed either way,
//! standard input) and, with the `live` feature, network interfaces.
//!
//! A source yields [`Packet`]s in capture order. It knows nothing of IP or
//! TCP: the link type travels with each packet so that the next stage can
//! dispatch on it instead of guessing.

pub mod file;
#[cfg(feature = "live")]
pub mod live;
pub mod time;
pub mod writer;

pub use time::Timestamp;

/// A link-layer header type as registered with tcpdump.org (`LINKTYPE_*`).
/// Open newtype: unknown values are carried, counted and named, never rejected.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// OpenBSD's DLT_RAW value, also seen in files from other systems.
    pub const RAW_12: LinkType = LinkType(12);
    pub const RAW_14: LinkType = LinkType(14);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    pub fn name(self) -> &'static str {
        match self {
            LinkType::NULL => "NULL",
            LinkType::ETHERNET => "EN10MB",
            LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => "RAW",
            LinkType::LOOP => "LOOP",
            LinkType::LINUX_SLL => "LINUX_SLL",
            LinkType::IPV4 => "IPV4",
            LinkType::IPV6 => "IPV6",
            LinkType::LINUX_SLL2 => "LINUX_SLL2",
            LinkType(105) => "IEEE802_11",
            LinkType(127) => "IEEE802_11_RADIOTAP",
            LinkType(147..=162) => "USER",
            LinkType(249) => "NETLINK",
            _ => "unknown",
        }
    }
}

impl std::fmt::Display for LinkType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

/// Anything that yields packets in capture order: a file, an interface.
pub trait PacketSource {
    /// The next packet; `None` when the source is exhausted (end of file,
    /// capture stopped). After an error the source yields nothing more.
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, file::CaptureError>;
}

/// One captured packet, borrowed from the source's buffer.
#[derive(Copy, Clone, Debug)]
pub struct Packet<'a> {
    /// 1-based frame number within its file (what Wireshark shows).
    pub frame: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    /// The captured bytes; shorter than `orig_len` when the snap length cut it.
    pub data: &'a [u8],
    pub orig_len: u32,
}

impl Packet<'_> {
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}
