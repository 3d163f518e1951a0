//! Link-layer decode, dispatched on the capture's link type (never guessed):
//! strips the link header and says which network protocol follows.

use crate::capture::LinkType;

/// EtherType values we act on.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// VLAN tags we walk through before giving up on a frame.
pub const MAX_VLAN_TAGS: usize = 4;

/// What follows the link header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Network<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// A known link type carrying something other than IP (ARP, LLDP...).
    NotIp,
    /// A link type we do not decode.
    Unsupported,
    /// Too short for its own link header.
    Malformed,
}

/// Decoded link header: the network payload and how many VLAN tags it had.
#[derive(Copy, Clone, Debug)]
pub struct Link<'a> {
    pub network: Network<'a>,
    pub vlan_tags: u8,
}

pub fn decode(link: LinkType, data: &[u8]) -> Link<'_> {
    let plain = |network| Link {
        network,
        vlan_tags: 0,
    };
    match link {
        LinkType::ETHERNET => ethernet(data),
        LinkType::LINUX_SLL => match data.get(14..16) {
            Some(p) => plain(by_ethertype(u16::from_be_bytes([p[0], p[1]]), &data[16..])),
            None => plain(Network::Malformed),
        },
        LinkType::LINUX_SLL2 => match data.get(0..2) {
            Some(p) if data.len() >= 20 => {
                plain(by_ethertype(u16::from_be_bytes([p[0], p[1]]), &data[20..]))
            }
            _ => plain(Network::Malformed),
        },
        LinkType::NULL | LinkType::LOOP => match data.get(0..4) {
            Some(f) => {
                // NULL stores the address family in the capturing host's byte
                // order, LOOP in network order; accept either for both.
                let le = u32::from_le_bytes([f[0], f[1], f[2], f[3]]);
                let be = u32::from_be_bytes([f[0], f[1], f[2], f[3]]);
                let family = if le < 256 { le } else { be };
                plain(match family {
                    2 => Network::Ipv4(&data[4..]),
                    // AF_INET6 differs per BSD: 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS.
                    10 | 24 | 28 | 30 => Network::Ipv6(&data[4..]),
                    _ => Network::NotIp,
                })
            }
            None => plain(Network::Malformed),
        },
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => plain(by_version(data)),
        LinkType::IPV4 => plain(Network::Ipv4(data)),
        LinkType::IPV6 => plain(Network::Ipv6(data)),
        _ => plain(Network::Unsupported),
    }
}

fn ethernet(data: &[u8]) -> Link<'_> {
    let Some(t) = data.get(12..14) else {
        return Link {
            network: Network::Malformed,
            vlan_tags: 0,
        };
    };
    let mut ethertype = u16::from_be_bytes([t[0], t[1]]);
    let mut rest = &data[14..];
    let mut tags = 0u8;
    while matches!(
        ethertype,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
    ) {
        if usize::from(tags) == MAX_VLAN_TAGS {
            return Link {
                network: Network::Malformed,
                vlan_tags: tags,
            };
        }
        let Some(tag) = rest.get(0..4) else {
            return Link {
                network: Network::Malformed,
                vlan_tags: tags,
            };
        };
        ethertype = u16::from_be_bytes([tag[2], tag[3]]);
        rest = &rest[4..];
        tags += 1;
    }
    Link {
        network: by_ethertype(ethertype, rest),
        vlan_tags: tags,
    }
}

fn by_ethertype(ethertype: u16, rest: &[u8]) -> Network<'_> {
    match ethertype {
        ETHERTYPE_IPV4 => Network::Ipv4(rest),
        ETHERTYPE_IPV6 => Network::Ipv6(rest),
        _ => Network::NotIp,
    }
}

fn by_version(data: &[u8]) -> Network<'_> {
    match data.first().map(|b| b >> 4) {
        Some(4) => Network::Ipv4(data),
        Some(6) => Network::Ipv6(data),
        Some(_) => Network::NotIp,
        None => Network::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(ethertype: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(ethertype);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn test_ethernet_with_two_vlan_tags() {
        let f = eth(
            &[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00],
            &[0x45, 1],
        );
        let l = decode(LinkType::ETHERNET, &f);
        assert_eq!(l.network, Network::Ipv4(&[0x45, 1]));
        assert_eq!(l.vlan_tags, 2);
    }

    #[test]
    fn test_too_many_vlan_tags_is_malformed_not_a_loop() {
        let mut tags = Vec::new();
        for _ in 0..10 {
            tags.extend_from_slice(&[0, 1, 0x81, 0x00]);
        }
        let f = eth(&[0x81, 0x00], &tags);
        assert_eq!(decode(LinkType::ETHERNET, &f).network, Network::Malformed);
    }

    #[test]
    fn test_null_loopback_both_byte_orders() {
        assert_eq!(
            decode(LinkType::NULL, &[2, 0, 0, 0, 0x45]).network,
            Network::Ipv4(&[0x45])
        );
        assert_eq!(
            decode(LinkType::LOOP, &[0, 0, 0, 30, 0x60]).network,
            Network::Ipv6(&[0x60])
        );
    }

    #[test]
    fn test_sll_and_sll2_protocol_fields() {
        let mut sll = vec![0u8; 16];
        sll[14..16].copy_from_slice(&[0x86, 0xdd]);
        sll.push(0x60);
        assert_eq!(
            decode(LinkType::LINUX_SLL, &sll).network,
            Network::Ipv6(&[0x60])
        );
        let mut sll2 = vec![0u8; 20];
        sll2[0..2].copy_from_slice(&[0x08, 0x00]);
        sll2.push(0x45);
        assert_eq!(
            decode(LinkType::LINUX_SLL2, &sll2).network,
            Network::Ipv4(&[0x45])
        );
    }

    #[test]
    fn test_short_frames_and_unknown_link_types() {
        assert_eq!(
            decode(LinkType::ETHERNET, &[0; 5]).network,
            Network::Malformed
        );
        assert_eq!(
            decode(LinkType::LINUX_SLL2, &[8, 0]).network,
            Network::Malformed
        );
        assert_eq!(
            decode(LinkType(147), &[1, 2, 3]).network,
            Network::Unsupported
        );
        assert_eq!(decode(LinkType::RAW, &[]).network, Network::Malformed);
    }
}
