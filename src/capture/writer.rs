//! A classic pcap writer: `-w` output of live capture, the synthetic capture
//! generator and test fixtures all write through it.

use std::io::{self, Write};

use super::{LinkType, Timestamp};

/// Timestamp resolution of a written pcap file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Micro,
    Nano,
}

/// Writes a classic pcap stream in the machine's byte order unless told
/// otherwise (tests write big-endian files to prove the reader handles them).
pub struct PcapWriter<W: Write> {
    out: W,
    res: Resolution,
    big_endian: bool,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(out: W, link: LinkType) -> io::Result<Self> {
        Self::with_options(out, link, Resolution::Micro, false, 262_144)
    }

    pub fn with_options(
        mut out: W,
        link: LinkType,
        res: Resolution,
        big_endian: bool,
        snaplen: u32,
    ) -> io::Result<Self> {
        let magic: u32 = match res {
            Resolution::Micro => 0xa1b2_c3d4,
            Resolution::Nano => 0xa1b2_3c4d,
        };
        let mut hdr = Vec::with_capacity(24);
        let put32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        let put16 = |v: &mut Vec<u8>, x: u16| {
            v.extend_from_slice(&if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        put32(&mut hdr, magic);
        put16(&mut hdr, 2);
        put16(&mut hdr, 4);
        put32(&mut hdr, 0); // thiszone
        put32(&mut hdr, 0); // sigfigs
        put32(&mut hdr, snaplen);
        put32(&mut hdr, link.0);
        out.write_all(&hdr)?;
        Ok(PcapWriter {
            out,
            res,
            big_endian,
            snaplen,
        })
    }

    /// Write one record. Data longer than the snap length is cut, and the
    /// record keeps the original length, as a capturing kernel would.
    pub fn write_packet(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> io::Result<()> {
        let nanos = ts.as_nanos();
        let secs = nanos.div_euclid(1_000_000_000);
        let sub = nanos.rem_euclid(1_000_000_000);
        let frac = match self.res {
            Resolution::Micro => sub / 1_000,
            Resolution::Nano => sub,
        };
        let caplen = data.len().min(self.snaplen as usize);
        let mut rec = [0u8; 16];
        let fields = [
            secs as u32,
            frac as u32,
            caplen as u32,
            orig_len.max(caplen as u32),
        ];
        for (i, f) in fields.iter().enumerate() {
            let b = if self.big_endian {
                f.to_be_bytes()
            } else {
                f.to_le_bytes()
            };
            rec[i * 4..i * 4 + 4].copy_from_slice(&b);
        }
        self.out.write_all(&rec)?;
        self.out.write_all(&data[..caplen])
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer (for appending bytes that are not records).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
