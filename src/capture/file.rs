//! Capture files: classic pcap (all four magic numbers), pcapng (both byte
//! orders, several sections and interfaces), either one gzip-compressed, from
//! a path or standard input.
//!
//! The file is streamed through pcap-parser's buffered readers, never loaded
//! whole. The buffer starts at [`INITIAL_BUFFER`] and doubles for an
//! oversized record, up to twice [`MAX_RECORD`]; a record that does not fit
//! then is reported as damage at its byte offset. Every error names the
//! file and the offset, and everything read before it has already been
//! handed out.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use pcap_parser::pcapng::{Block, SHB_MAGIC};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::{LinkType, Packet, PacketSource, Timestamp};

/// Read buffer at start; enough for any Ethernet or loopback frame.
pub const INITIAL_BUFFER: usize = 256 * 1024;
/// Records this long are always accepted (the buffer grows to hold them,
/// then stays; it stops at twice this). pcapng allows larger blocks in
/// theory; no capture tool writes them.
pub const MAX_RECORD: usize = 16 * 1024 * 1024;
/// Interfaces per pcapng section we keep descriptions of.
pub const MAX_INTERFACES: usize = 4096;

/// What went wrong reading a capture. Each variant names the file and, where
/// it applies, the byte offset (in the decompressed stream) of the damage.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: cannot open: {source}")]
    Open { path: String, source: io::Error },
    #[error(
        "{path}: the file is empty; give a pcap or pcapng capture (e.g. written by tcpdump -w)"
    )]
    Empty { path: String },
    #[error("{path}: not a pcap or pcapng capture (starts with {magic}); give a file written by tcpdump, tshark or Wireshark")]
    NotACapture { path: String, magic: String },
    #[error("{path}: cut off at byte {offset}: {}; the capture was probably still being written or was truncated", cut_detail(*.offset, *.have, .want))]
    Truncated {
        path: String,
        offset: u64,
        /// Bytes of the incomplete record that are in the file.
        have: u64,
        /// The record's length, when its header was complete.
        want: Option<u64>,
    },
    #[error("{path}: damaged at byte {offset}: {what}")]
    Corrupt {
        path: String,
        offset: u64,
        what: String,
    },
    /// pcapng blocks whose contents were damaged but whose length fields,
    /// at both ends, agree: each was skipped and reading went on.
    #[error("{path}: damaged at byte {offset}: {what}; skipped, and reading went on after it ({} skipped in all)", plural(*.count, "damaged block"))]
    Skipped {
        path: String,
        /// The first damaged block's offset and what was wrong with it.
        offset: u64,
        what: String,
        count: u64,
    },
    #[error("{path}: read error at byte {offset}: {source}")]
    Io {
        path: String,
        offset: u64,
        source: io::Error,
    },
}

impl CaptureError {
    /// Whether packets may have been read before this error (the run should
    /// still report them): not when it struck before the first record.
    pub fn is_damage(&self) -> bool {
        match self {
            CaptureError::Truncated { offset, .. }
            | CaptureError::Corrupt { offset, .. }
            | CaptureError::Io { offset, .. } => *offset > 0,
            // Reading went on after the damage: nothing before it only.
            CaptureError::Skipped { .. }
            | CaptureError::Open { .. }
            | CaptureError::Empty { .. }
            | CaptureError::NotACapture { .. } => false,
        }
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Where the cut fell and how much of a cut record is there, for
/// [`CaptureError::Truncated`].
fn cut_detail(offset: u64, have: u64, want: &Option<u64>) -> String {
    match (have, want) {
        // Only a stream (gzip, a pipe) that failed to end cleanly stops
        // with nothing of a next record.
        (0, None) if offset == 0 => "the file header is incomplete".to_string(),
        (0, None) => "the input stopped between two records".to_string(),
        (_, Some(w)) => {
            format!("the last record is incomplete ({have} of its {w} bytes are there)")
        }
        (_, None) => format!("the last record is incomplete ({have} bytes of it are there)"),
    }
}

/// The container format of a capture file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap { nanos: bool, big_endian: bool },
    PcapNg,
}

/// Counters kept while reading one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub records: u64,
    /// Records whose captured length is shorter than the packet on the wire.
    pub truncated_records: u64,
    pub sections: u64,
    pub interfaces: u64,
    /// pcapng blocks that carry no packets (statistics, name resolution,
    /// custom, unknown): skipped.
    pub skipped_blocks: u64,
    /// Packets that named an interface the section never described.
    pub bad_interface: u64,
    /// pcapng blocks with damaged contents but intact framing: skipped.
    pub damaged_blocks: u64,
}

/// A byte counter around the raw (possibly compressed) input, for progress.
struct Counting<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// pcap-parser sizes its first parse on a single `read`; a pipe or gzip
/// stream may return less than the header. This wrapper fills the caller's
/// buffer on the first call only, so later reads stay as prompt as the pipe.
struct FillFirst<R> {
    inner: R,
    first: bool,
    /// An error met while filling the first buffer after some bytes came:
    /// those bytes are handed over first, the error on the next read, so
    /// that a gzip stream cut early still yields what it decoded.
    deferred: Option<io::Error>,
    /// Decompressed bytes handed to the parser; with `read_error` it lets
    /// an I/O failure be told apart from a truncated file.
    read_error: std::rc::Rc<std::cell::RefCell<Option<io::Error>>>,
}

impl<R: Read> Read for FillFirst<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = if let Some(e) = self.deferred.take() {
            Err(e)
        } else if self.first {
            self.first = false;
            let mut filled = 0;
            loop {
                match self.inner.read(&mut buf[filled..]) {
                    Ok(0) => break Ok(filled),
                    Ok(n) => {
                        filled += n;
                        if filled == buf.len() {
                            break Ok(filled);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if filled > 0 => {
                        // Seen by the header's parse too, if the bytes
                        // that came do not make a whole header.
                        *self.read_error.borrow_mut() =
                            Some(io::Error::new(e.kind(), e.to_string()));
                        self.deferred = Some(e);
                        break Ok(filled);
                    }
                    Err(e) => break Err(e),
                }
            }
        } else {
            loop {
                match self.inner.read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            }
        };
        // pcap-parser maps a read error to ReadError and drops it: keep it
        // so the message can say what the system said.
        if let Err(e) = &result {
            *self.read_error.borrow_mut() = Some(io::Error::new(e.kind(), e.to_string()));
        }
        result
    }
}

type Input = FillFirst<Box<dyn Read + Send>>;

/// Per-interface facts from a pcapng Interface Description Block.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second (`if_tsresol`), 0 when invalid.
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
    /// Its description block was damaged and skipped: it holds the place
    /// so that later interfaces keep their numbers, and its packets are
    /// dropped (counted as naming an undescribed interface).
    damaged: bool,
}

enum Reader {
    Legacy {
        reader: LegacyPcapReader<Input>,
        link: LinkType,
        nanos: bool,
    },
    Ng {
        reader: PcapNGReader<Input>,
        interfaces: Vec<Interface>,
        /// The current section's byte order (from its header block).
        big_endian: bool,
    },
}

/// A streaming reader over one capture file.
pub struct FileSource {
    path: String,
    format: Format,
    reader: Reader,
    /// Offset (decompressed) of the next unparsed byte.
    offset: u64,
    /// Bytes of the block returned last, consumed on the next call so the
    /// returned packet can borrow the reader's buffer.
    pending_consume: usize,
    frame: u64,
    last_ts: Timestamp,
    stats: ReadStats,
    raw_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    raw_len: Option<u64>,
    compressed: bool,
    read_error: std::rc::Rc<std::cell::RefCell<Option<io::Error>>>,
    /// The reader's buffer size (the parser does not tell it): the
    /// [`INITIAL_BUFFER`] the readers are made with, doubled by `grow`.
    capacity: usize,
    /// The first damaged block skipped (offset, what), for `take_skipped`.
    first_damage: Option<(u64, String)>,
    done: bool,
}

impl FileSource {
    /// Open a capture by path; `-` reads standard input.
    pub fn open(path: &str) -> Result<FileSource, CaptureError> {
        if path == "-" {
            return FileSource::from_reader("-", Box::new(io::stdin()), None);
        }
        let file = File::open(Path::new(path)).map_err(|source| CaptureError::Open {
            path: path.to_string(),
            source,
        })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(CaptureError::Open {
                path: path.to_string(),
                source: io::Error::other("is a directory"),
            });
        }
        let len = file.metadata().ok().map(|m| m.len());
        FileSource::from_reader(path, Box::new(file), len)
    }

    /// Read a capture from any byte stream (gzip is detected by its magic).
    pub fn from_reader(
        path: &str,
        raw: Box<dyn Read + Send>,
        raw_len: Option<u64>,
    ) -> Result<FileSource, CaptureError> {
        let raw_read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = Counting {
            inner: raw,
            count: raw_read.clone(),
        };
        let mut buffered = BufReader::with_capacity(64 * 1024, counted);
        // The file header is not there yet: a cut or a damaged gzip stream
        // is told apart from a failing read as it is later on.
        let header_cut = || CaptureError::Truncated {
            path: path.to_string(),
            offset: 0,
            have: 0,
            want: None,
        };
        let io_err = |source| read_failure(path, 0, source, header_cut);
        // Two bytes tell gzip apart; a pipe may hand them over one read at
        // a time, so they are read, not peeked, and given back.
        let mut first = [0u8; 2];
        let got = read_up_to(&mut buffered, &mut first).map_err(io_err)?;
        if got == 0 {
            return Err(CaptureError::Empty {
                path: path.to_string(),
            });
        }
        let compressed = first[..got] == [0x1f, 0x8b];
        let replay = io::Cursor::new(first[..got].to_vec()).chain(buffered);
        let mut input: Box<dyn Read + Send> = if compressed {
            Box::new(BufReader::with_capacity(
                64 * 1024,
                ReadsOf {
                    inner: GzMembers::new(ReadsOf {
                        inner: replay,
                        max: GZIP_READ,
                    }),
                    max: GZIP_READ,
                },
            ))
        } else {
            Box::new(replay)
        };
        // The magic, and for pcapng the section header's length and
        // byte-order magic, read the same way and given back below.
        let mut head = [0u8; 12];
        let got = read_up_to(&mut input, &mut head).map_err(io_err)?;
        if got == 0 {
            return Err(CaptureError::Empty {
                path: path.to_string(),
            });
        }
        let magic = [head[0], head[1], head[2], head[3]];
        let Some(format) = format_of_magic(magic).filter(|_| got >= 4) else {
            return Err(CaptureError::NotACapture {
                path: path.to_string(),
                magic: magic[..got.min(4)]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        };
        let prefix = io::Cursor::new(head[..got].to_vec());
        // The section header's own fields, when they are wrong, are damage,
        // not a file cut short. (A length beyond the end of the file is
        // what a cut looks like too, so it stays a cut.)
        let shb = (format == Format::PcapNg && got == 12).then(|| shb_length(&head));
        let shb_damage = shb.clone().and_then(Result::err);
        // A section header longer than the usual buffer (long comments)
        // gets a buffer it fits in from the start; other files the usual.
        let buffer = match shb {
            Some(Ok(len)) if len as usize > INITIAL_BUFFER => (len as usize).next_power_of_two(),
            _ => INITIAL_BUFFER,
        };
        let read_error = std::rc::Rc::new(std::cell::RefCell::new(None));
        let input: Input = FillFirst {
            inner: Box::new(prefix.chain(input)),
            first: true,
            deferred: None,
            read_error: read_error.clone(),
        };
        let header_err = |e: PcapError<&[u8]>| {
            // A read error kept back by `FillFirst` says why the header is
            // short.
            if let Some(source) = read_error.borrow_mut().take() {
                return read_failure(path, 0, source, header_cut);
            }
            let corrupt = |what| CaptureError::Corrupt {
                path: path.to_string(),
                offset: 0,
                what,
            };
            match (e, shb_damage.clone()) {
                (_, Some(what)) => corrupt(what),
                (PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof, None) => {
                    header_cut()
                }
                (other, None) => corrupt(match format {
                    Format::PcapNg => format!(
                        "the section header block is malformed ({}); its length or byte-order field is corrupt",
                        describe_kind(&other)
                    ),
                    Format::Pcap { .. } => format!("bad file header ({})", describe(&other)),
                }),
            }
        };
        let reader = match format {
            Format::Pcap { nanos, .. } => {
                let mut reader = LegacyPcapReader::new(buffer, input).map_err(header_err)?;
                // The first `next` hands back the file header.
                let link = match reader.next() {
                    Ok((_, PcapBlockOwned::LegacyHeader(h))) => LinkType(h.network.0 as u32),
                    Ok(_) => LinkType::ETHERNET,
                    Err(e) => return Err(header_err(e)),
                };
                Reader::Legacy {
                    reader,
                    link,
                    nanos,
                }
            }
            Format::PcapNg => Reader::Ng {
                reader: PcapNGReader::new(buffer, input).map_err(header_err)?,
                interfaces: Vec::new(),
                big_endian: false,
            },
        };
        Ok(FileSource {
            path: path.to_string(),
            format,
            reader,
            offset: 0,
            // The legacy header was handed back by `next` above; its bytes
            // are consumed (and counted in `offset`) on the first call.
            pending_consume: match format {
                Format::Pcap { .. } => 24,
                Format::PcapNg => 0,
            },
            frame: 0,
            last_ts: Timestamp::ZERO,
            stats: ReadStats::default(),
            raw_read,
            raw_len,
            compressed,
            read_error,
            capacity: buffer,
            first_damage: None,
            done: false,
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The damaged pcapng blocks skipped so far, as one error naming the
    /// first (`None` if there were none). Reading goes on past such a
    /// block, so this is asked for once reading has stopped, whether at
    /// the end or at an error.
    pub fn take_skipped(&mut self) -> Option<CaptureError> {
        let (offset, what) = self.first_damage.take()?;
        Some(CaptureError::Skipped {
            path: self.path.clone(),
            offset,
            what,
            count: self.stats.damaged_blocks,
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// Bytes of the raw file read so far and its size when known, for a
    /// progress gauge.
    pub fn progress(&self) -> (u64, Option<u64>) {
        (
            self.raw_read.load(std::sync::atomic::Ordering::Relaxed),
            self.raw_len,
        )
    }

    /// A shareable handle on the raw byte counter (for a UI thread).
    pub fn progress_counter(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.raw_read.clone()
    }

    pub fn raw_len(&self) -> Option<u64> {
        self.raw_len
    }

    /// The next packet, `None` at the clean end of the file.
    ///
    /// After an error the source is finished: every packet before the damage
    /// has been returned already.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        <Self as PacketSource>::next_packet(self)
    }

    fn take_next(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        loop {
            let consume = std::mem::take(&mut self.pending_consume);
            self.offset += consume as u64;
            // Parse one block and keep only owned facts about it, so that
            // the packet returned below is a fresh borrow of the buffer.
            let step = match &mut self.reader {
                Reader::Legacy {
                    reader,
                    link,
                    nanos,
                } => {
                    // Without shifting: `consume` moves the unread half of
                    // the buffer to its front each time the read position
                    // passes the middle, a second copy of the whole file;
                    // `refill` shifts only the cut record at the end.
                    reader.consume_noshift(consume);
                    let base = reader.data().as_ptr() as usize;
                    let big_endian = matches!(
                        self.format,
                        Format::Pcap {
                            big_endian: true,
                            ..
                        }
                    );
                    match next_pcap_header(reader.data(), big_endian) {
                        // Cut inside the header: reported as a cut, not
                        // parsed as a record.
                        Some(Header::Partial) if reader.reader_exhausted() => {
                            Err(Failure::UnexpectedEof)
                        }
                        Some(Header::Partial) => Err(Failure::Incomplete),
                        Some(Header::Same { nanos: n, link: l }) => {
                            *nanos = n;
                            *link = l;
                            Ok((24, Step::Section))
                        }
                        Some(Header::OtherOrder) => {
                            Err(Failure::Malformed(OTHER_ORDER.to_string()))
                        }
                        None => match reader.next() {
                            Ok((n, PcapBlockOwned::Legacy(b))) => Ok((
                                n,
                                Step::Packet(Meta {
                                    ts: Timestamp::from_parts(
                                        i64::from(b.ts_sec),
                                        u64::from(b.ts_usec),
                                        if *nanos { 1_000_000_000 } else { 1_000_000 },
                                    ),
                                    link: *link,
                                    data_off: b.data.as_ptr() as usize - base,
                                    data_len: b.data.len(),
                                    orig_len: b.origlen,
                                }),
                            )),
                            Ok((n, _)) => Ok((n, Step::Skip)),
                            Err(e) => Err(Failure::from(e)),
                        },
                    }
                }
                Reader::Ng {
                    reader,
                    interfaces,
                    big_endian,
                } => {
                    reader.consume_noshift(consume);
                    let base = reader.data().as_ptr() as usize;
                    // The block's type and length when all of it is buffered.
                    let whole = ng_block_head(reader.data(), *big_endian)
                        .filter(|&(_, len)| reader.data().len() as u64 >= u64::from(len));
                    if let Some(what) = ng_length_below_header(reader.data(), *big_endian)
                        .or_else(|| shb_trailer_mismatch(reader.data()))
                    {
                        Err(Failure::Malformed(what))
                    } else {
                        match reader.next() {
                            Ok((n, PcapBlockOwned::NG(block))) => {
                                if let Block::SectionHeader(shb) = &block {
                                    *big_endian = shb.big_endian();
                                }
                                Ok((n, ng_step(block, interfaces, base)))
                            }
                            Ok((n, _)) => Ok((n, Step::Skip)),
                            Err(e) => {
                                let failure = ng_failure(e, whole);
                                ng_skip(failure, whole, reader.data(), *big_endian, interfaces)
                            }
                        }
                    }
                }
            };
            let (len, step) = match step {
                Ok(ok) => ok,
                Err(Failure::Eof) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(Failure::Incomplete) => {
                    self.refill()?;
                    continue;
                }
                Err(Failure::TooSmall) => {
                    self.grow()?;
                    continue;
                }
                Err(Failure::UnexpectedEof) => {
                    self.done = true;
                    return Err(self.claimed_too_much().unwrap_or_else(|| self.truncated()));
                }
                Err(Failure::Read) => {
                    self.done = true;
                    return Err(self.io_error());
                }
                Err(Failure::Malformed(what)) => {
                    self.done = true;
                    return Err(CaptureError::Corrupt {
                        path: self.path.clone(),
                        offset: self.offset,
                        what,
                    });
                }
            };
            self.pending_consume = len;
            let meta = match step {
                Step::Packet(meta) => meta,
                Step::Section => {
                    self.stats.sections += 1;
                    continue;
                }
                Step::Interface => {
                    self.stats.interfaces += 1;
                    continue;
                }
                Step::BadInterface => {
                    self.stats.bad_interface += 1;
                    continue;
                }
                Step::Skip => {
                    self.stats.skipped_blocks += 1;
                    continue;
                }
                Step::Damaged(what) => {
                    self.stats.damaged_blocks += 1;
                    self.first_damage.get_or_insert((self.offset, what));
                    continue;
                }
            };
            // A Simple Packet Block has no timestamp: it inherits the last
            // one seen, so that capture time never jumps back to 1970.
            let meta = if meta.ts == Timestamp::ZERO && self.format == Format::PcapNg {
                Meta {
                    ts: self.last_ts,
                    ..meta
                }
            } else {
                meta
            };
            self.last_ts = meta.ts;
            self.frame += 1;
            self.stats.records += 1;
            if (meta.data_len as u64) < u64::from(meta.orig_len) {
                self.stats.truncated_records += 1;
            }
            let buf = match &self.reader {
                Reader::Legacy { reader, .. } => reader.data(),
                Reader::Ng { reader, .. } => reader.data(),
            };
            let data = buf
                .get(meta.data_off..meta.data_off + meta.data_len)
                .unwrap_or_default();
            return Ok(Some(Packet {
                frame: self.frame,
                ts: meta.ts,
                link: meta.link,
                data,
                orig_len: meta.orig_len,
            }));
        }
    }

    fn refill(&mut self) -> Result<(), CaptureError> {
        let r = match &mut self.reader {
            Reader::Legacy { reader, .. } => reader.refill().is_ok(),
            Reader::Ng { reader, .. } => reader.refill().is_ok(),
        };
        if r {
            Ok(())
        } else {
            self.done = true;
            Err(self.io_error())
        }
    }

    fn grow(&mut self) -> Result<(), CaptureError> {
        // Doubled from the buffer's size, not from the bytes it holds: a
        // pipe or a gzip stream may have filled it only partly.
        let cap = self.capacity * 2;
        let grown = cap <= MAX_RECORD * 2
            && match &mut self.reader {
                Reader::Legacy { reader, .. } => reader.grow(cap),
                Reader::Ng { reader, .. } => reader.grow(cap),
            };
        if grown {
            self.capacity = cap;
            // Growing shifts nothing in; fetch more data for the record.
            self.refill()
        } else {
            self.done = true;
            Err(CaptureError::Corrupt {
                path: self.path.clone(),
                offset: self.offset,
                what: format!(
                    "a record claims more than {} MiB (buffer would reach {} MiB); the length field is probably corrupt",
                    MAX_RECORD >> 20,
                    cap >> 20
                ),
            })
        }
    }

    /// A classic pcap record header whose length field is absurd: the file
    /// is damaged there rather than cut short.
    fn claimed_too_much(&self) -> Option<CaptureError> {
        let (len, what) = match (&self.reader, self.format) {
            (Reader::Legacy { reader, .. }, Format::Pcap { big_endian, .. }) => {
                let caplen = word32(reader.data(), 8, big_endian)?;
                (
                    caplen,
                    format!("a record header claims {caplen} bytes of packet data"),
                )
            }
            (Reader::Ng { reader, .. }, _) => {
                // A length that is absurd read in either byte order is
                // corrupt whatever the section's order is.
                let f = reader.data().get(4..8)?;
                let b = [f[0], f[1], f[2], f[3]];
                (
                    u32::from_le_bytes(b).min(u32::from_be_bytes(b)),
                    format!(
                        "a block header's length field reads {:02x} {:02x} {:02x} {:02x} (over {} MiB in either byte order)",
                        b[0], b[1], b[2], b[3], MAX_RECORD >> 20
                    ),
                )
            }
            _ => return None,
        };
        (len as usize > MAX_RECORD).then(|| CaptureError::Corrupt {
            path: self.path.clone(),
            offset: self.offset,
            what: format!("{what}; the length field is corrupt"),
        })
    }

    fn truncated(&self) -> CaptureError {
        let (have, want) = match (&self.reader, self.format) {
            (Reader::Legacy { reader, .. }, Format::Pcap { big_endian, .. }) => {
                let data = reader.data();
                let want = if next_pcap_header(data, big_endian).is_some() {
                    // A following capture's file header.
                    Some(24)
                } else {
                    word32(data, 8, big_endian).map(|caplen| 16 + u64::from(caplen))
                };
                (data.len() as u64, want)
            }
            (Reader::Ng { reader, .. }, _) => (reader.data().len() as u64, None),
            _ => (0, None),
        };
        CaptureError::Truncated {
            path: self.path.clone(),
            offset: self.offset,
            have,
            want,
        }
    }

    fn io_error(&self) -> CaptureError {
        match self.read_error.borrow_mut().take() {
            Some(source) => read_failure(&self.path, self.offset, source, || self.truncated()),
            None => self.truncated(),
        }
    }
}

/// Owned facts about a packet record; its bytes stay in the reader's buffer.
struct Meta {
    ts: Timestamp,
    link: LinkType,
    data_off: usize,
    data_len: usize,
    orig_len: u32,
}

impl PacketSource for FileSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        self.take_next()
    }
}

enum Step {
    Packet(Meta),
    Section,
    Interface,
    BadInterface,
    Skip,
    /// A pcapng block whose contents are damaged inside intact framing.
    Damaged(String),
}

enum Failure {
    Eof,
    Incomplete,
    TooSmall,
    UnexpectedEof,
    Read,
    Malformed(String),
}

impl From<PcapError<&[u8]>> for Failure {
    fn from(e: PcapError<&[u8]>) -> Self {
        match e {
            PcapError::Eof => Failure::Eof,
            PcapError::Incomplete(_) => Failure::Incomplete,
            PcapError::BufferTooSmall => Failure::TooSmall,
            PcapError::UnexpectedEof => Failure::UnexpectedEof,
            PcapError::ReadError => Failure::Read,
            other => Failure::Malformed(describe(&other)),
        }
    }
}

/// The 32-bit field at `at` in `data`, in the given byte order; `None` if
/// it is not all there.
fn word32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b = *data.get(at..)?.first_chunk::<4>()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// The 16-bit field at `at`, like [`word32`].
fn word16(data: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let b = *data.get(at..)?.first_chunk::<2>()?;
    Some(if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

/// The container a file's first four bytes announce: classic pcap in
/// either byte order and resolution, or pcapng.
fn format_of_magic(magic: [u8; 4]) -> Option<Format> {
    let pcap = |nanos, big_endian| Some(Format::Pcap { nanos, big_endian });
    match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => pcap(false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => pcap(false, true),
        [0x4d, 0x3c, 0xb2, 0xa1] => pcap(true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => pcap(true, true),
        [0x0a, 0x0d, 0x0d, 0x0a] => Some(Format::PcapNg),
        _ => None,
    }
}

/// A classic pcap file header in the other byte order where a record should
/// start.
const OTHER_ORDER: &str = "another capture's file header, in the other byte order: this input is several captures one after another; give them as separate files";

/// A classic pcap file header where a record should start.
enum Header {
    /// Not all of it is buffered yet.
    Partial,
    /// In the file's byte order: the next capture of several one after
    /// another (`cat a.pcap b.pcap | smtpscope -`), read on as one.
    Same { nanos: bool, link: LinkType },
    /// In the other byte order, which the record parser cannot switch to.
    OtherOrder,
}

/// A pcap file header at the start of `data`: its magic number and
/// version 2.4. A record header that looks like one would carry a time in
/// 2055 or later.
fn next_pcap_header(data: &[u8], big_endian: bool) -> Option<Header> {
    let Format::Pcap {
        nanos,
        big_endian: order_be,
    } = format_of_magic(*data.first_chunk::<4>()?)?
    else {
        return None;
    };
    let Some(h) = data.first_chunk::<24>() else {
        return Some(Header::Partial);
    };
    if (word16(h, 4, order_be), word16(h, 6, order_be)) != (Some(2), Some(4)) {
        return None;
    }
    if order_be != big_endian {
        return Some(Header::OtherOrder);
    }
    Some(Header::Same {
        nanos,
        link: LinkType(word32(h, 20, order_be)?),
    })
}

/// What a read error means for the user: the input ended early (`cut`),
/// a gzip stream is damaged (flate2 says so with these kinds), or the
/// system failed to read.
fn read_failure(
    path: &str,
    offset: u64,
    source: io::Error,
    cut: impl FnOnce() -> CaptureError,
) -> CaptureError {
    match source.kind() {
        io::ErrorKind::UnexpectedEof => cut(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => CaptureError::Corrupt {
            path: path.to_string(),
            offset,
            what: format!("gzip stream is damaged ({source})"),
        },
        _ => CaptureError::Io {
            path: path.to_string(),
            offset,
            source,
        },
    }
}

/// Most bytes asked of the gzip decoder, and shown to it, at once. flate2
/// drops what a call decoded when the call ends in an error, and it may
/// meet the damage further on in the input it is shown; so this bounds
/// what a damaged stream loses before the damage.
const GZIP_READ: usize = 1024;

/// The members of a gzip stream one after another (RFC 1952 §2.2), read
/// the way `gzip -d` reads them: zero bytes after the last member (padding
/// written by tape and block devices) end the stream quietly; other bytes
/// there, or a member after the padding, are damage.
struct GzMembers<R: io::BufRead> {
    state: Option<Member<R>>,
}

enum Member<R: io::BufRead> {
    Inside(flate2::bufread::GzDecoder<R>),
    /// Between members; `padded` once zero bytes were skipped.
    Between {
        input: R,
        padded: bool,
    },
}

impl<R: io::BufRead> GzMembers<R> {
    fn new(input: R) -> Self {
        GzMembers {
            state: Some(Member::Inside(flate2::bufread::GzDecoder::new(input))),
        }
    }
}

impl<R: io::BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let state = match self.state.take() {
                None => return Ok(0),
                Some(Member::Inside(mut member)) => {
                    let n = member.read(buf);
                    if !matches!(n, Ok(0)) || buf.is_empty() {
                        self.state = Some(Member::Inside(member));
                        return n;
                    }
                    Member::Between {
                        input: member.into_inner(),
                        padded: false,
                    }
                }
                Some(Member::Between { mut input, padded }) => {
                    let ahead = match input.fill_buf() {
                        Ok(ahead) => ahead,
                        Err(e) => {
                            self.state = Some(Member::Between { input, padded });
                            return Err(e);
                        }
                    };
                    let zeros = ahead.iter().take_while(|&&b| b == 0).count();
                    if ahead.is_empty() {
                        // The end, for good: `state` stays empty.
                        return Ok(0);
                    } else if zeros > 0 {
                        input.consume(zeros);
                        Member::Between {
                            input,
                            padded: true,
                        }
                    } else if padded {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "bytes after the zero padding that ends the stream",
                        ));
                    } else if ahead.first() != Some(&0x1f)
                        || ahead.get(1).is_some_and(|&b| b != 0x8b)
                    {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "bytes after the last member that do not start another",
                        ));
                    } else {
                        Member::Inside(flate2::bufread::GzDecoder::new(input))
                    }
                }
            };
            self.state = Some(state);
        }
    }
}

/// Passes reads on, at most `max` bytes each; as a `BufRead`, shows at most
/// `max` buffered bytes at a time.
struct ReadsOf<R> {
    inner: R,
    max: usize,
}

impl<R: Read> Read for ReadsOf<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.max);
        self.inner.read(buf.get_mut(..n).unwrap_or_default())
    }
}

impl<R: io::BufRead> io::BufRead for ReadsOf<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let max = self.max;
        let buf = self.inner.fill_buf()?;
        Ok(buf.get(..max.min(buf.len())).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount)
    }
}

/// Read until `buf` is full or the input ends; how many bytes came.
fn read_up_to(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The type and length fields of the pcapng block at the start of `data`,
/// read in the section's byte order; `None` for a section header (whose
/// byte order is its own) or when the 8 header bytes are not there yet.
fn ng_block_head(data: &[u8], big_endian: bool) -> Option<(u32, u32)> {
    // The section header's magic reads the same in both byte orders.
    if word32(data, 0, false)? == SHB_MAGIC {
        return None;
    }
    Some((word32(data, 0, big_endian)?, word32(data, 4, big_endian)?))
}

/// A pcapng block (other than a section header) whose length field is
/// under 12 bytes cannot hold even its type, length and trailing length.
/// pcap-parser 0.17 checks a length only against each block type's own
/// minimum, which is 4 for the Process Information Block (`0x80000001`),
/// then subtracts 12 unchecked; so such a length is stopped here as damage.
fn ng_length_below_header(data: &[u8], big_endian: bool) -> Option<String> {
    let (_, len) = ng_block_head(data, big_endian)?;
    (len < 12).then(|| {
        format!(
            "a block header's length field says {len} bytes, shorter than the 12 bytes of the block's own header; the length field is corrupt"
        )
    })
}

/// The parser asked for more bytes although the whole block, as long as
/// its length field says (`head`, when all of it is buffered), is there:
/// the block is too short for what its type must hold (a Process
/// Information Block of 12 bytes, say), which is damage, not a capture cut
/// off.
fn ng_block_too_short((kind, len): (u32, u32)) -> String {
    format!("a block of type {kind:#010x} is {len} bytes long, too short for what a block of its type holds; the block is corrupt")
}

/// What a pcapng block the parser refused means; `whole` is the block's
/// type and length when all of it is buffered.
fn ng_failure(e: PcapError<&[u8]>, whole: Option<(u32, u32)>) -> Failure {
    match (e, whole) {
        // Whatever form the request for more bytes takes (more than the
        // buffer holds, more than the file has), the whole block is here:
        // it contradicts its own length.
        (
            PcapError::Incomplete(_) | PcapError::BufferTooSmall | PcapError::UnexpectedEof,
            Some(head),
        ) => Failure::Malformed(ng_block_too_short(head)),
        (PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind), Some((block, len))) => {
            Failure::Malformed(format!(
                "a block of type {block:#010x}, {len} bytes long, does not parse as its type requires ({kind:?}); the block is corrupt"
            ))
        }
        (e, _) => Failure::from(e),
    }
}

/// A damaged block whose framing holds (the whole block is buffered and
/// its length is repeated at its end) is skipped rather than stopping the
/// file. A skipped interface description leaves a placeholder, so that the
/// interfaces after it keep their numbers.
fn ng_skip(
    failure: Failure,
    whole: Option<(u32, u32)>,
    data: &[u8],
    big_endian: bool,
    interfaces: &mut Vec<Interface>,
) -> Result<(usize, Step), Failure> {
    match (failure, whole) {
        (Failure::Malformed(what), Some((block, len)))
            if ng_framing_intact(data, len, big_endian) =>
        {
            if block == IDB_TYPE && interfaces.len() < MAX_INTERFACES {
                interfaces.push(Interface {
                    link: LinkType(0),
                    units_per_sec: 0,
                    offset_secs: 0,
                    damaged: true,
                });
            }
            Ok((len as usize, Step::Damaged(what)))
        }
        (failure, _) => Err(failure),
    }
}

/// A section header block's length from its first 12 bytes, or what is
/// wrong with them: a byte-order magic that is neither order, a length
/// under the block's fixed fields or over any block we read.
fn shb_length(head: &[u8; 12]) -> Result<u32, String> {
    let Some(len) = shb_big_endian(head).and_then(|be| word32(head, 4, be)) else {
        return Err(format!(
            "the section header block's byte-order magic is {}, neither 1a2b3c4d nor 4d3c2b1a; the header is corrupt",
            head[8..12].iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
    };
    if len as usize > MAX_RECORD {
        Err(format!(
            "the section header block says it is {len} bytes long, more than any block may be ({} MiB); its length field is corrupt",
            MAX_RECORD >> 20
        ))
    } else if len < 28 {
        Err(format!(
            "the section header block says it is {len} bytes long, less than its 28 bytes of fixed fields; its length field is corrupt"
        ))
    } else {
        Ok(len)
    }
}

/// The byte order the byte-order magic of the section header starting
/// with `head` gives (big-endian or not); `None` if it gives neither.
fn shb_big_endian(head: &[u8; 12]) -> Option<bool> {
    match head[8..12] {
        [0x4d, 0x3c, 0x2b, 0x1a] => Some(false),
        [0x1a, 0x2b, 0x3c, 0x4d] => Some(true),
        _ => None,
    }
}

/// The pcapng Interface Description Block's type.
const IDB_TYPE: u32 = 1;

/// A section header block (at the start of `data`, all of it buffered)
/// whose length disagrees with the copy at its end. The parser does not
/// compare them, and reading on from a wrong length starts the next block
/// at a wrong byte; a length that is not a multiple of 4 but that the copy
/// confirms is the writer's, and is read as it says.
fn shb_trailer_mismatch(data: &[u8]) -> Option<String> {
    let head = data.first_chunk::<12>()?;
    if word32(head, 0, false)? != SHB_MAGIC {
        return None;
    }
    let big_endian = shb_big_endian(head)?;
    let len = word32(head, 4, big_endian)?;
    let copy = word32(data, (len as usize).checked_sub(4)?, big_endian)?;
    (copy != len).then(|| {
        format!("the section header block says it is {len} bytes long, but the copy of its length at its end reads {copy}; the length field is corrupt")
    })
}

/// Whether a buffered pcapng block's framing holds although its contents
/// did not parse: a length of whole 32-bit words, at least the 12 bytes of
/// the block's own header and trailer, repeated in the trailer
/// (pcapng §3.1). Then the next block starts right after it.
fn ng_framing_intact(data: &[u8], len: u32, big_endian: bool) -> bool {
    let trailer = (len as usize)
        .checked_sub(4)
        .and_then(|at| word32(data, at, big_endian));
    len >= 12 && len.is_multiple_of(4) && trailer == Some(len)
}

/// Interpret one pcapng block; interface and section blocks update the
/// interface table (a new section starts a new one).
fn ng_step(block: Block<'_>, interfaces: &mut Vec<Interface>, base: usize) -> Step {
    match block {
        Block::SectionHeader(_) => {
            interfaces.clear();
            Step::Section
        }
        Block::InterfaceDescription(idb) => {
            if interfaces.len() < MAX_INTERFACES {
                interfaces.push(Interface {
                    link: LinkType(idb.linktype.0 as u32),
                    units_per_sec: idb.ts_resolution().unwrap_or(0),
                    offset_secs: idb.ts_offset(),
                    damaged: false,
                });
            }
            Step::Interface
        }
        Block::EnhancedPacket(b) => match interfaces.get(b.if_id as usize) {
            Some(iface) if !iface.damaged => {
                let raw = (u64::from(b.ts_high) << 32) | u64::from(b.ts_low);
                let ts = match (
                    raw.checked_div(iface.units_per_sec),
                    raw.checked_rem(iface.units_per_sec),
                ) {
                    (Some(secs), Some(frac)) => Timestamp::from_parts(
                        secs as i64 + iface.offset_secs,
                        frac,
                        iface.units_per_sec,
                    ),
                    _ => Timestamp::ZERO,
                };
                // EPB data is padded to 32 bits: cut it to the captured length.
                let caplen = (b.caplen as usize).min(b.data.len());
                Step::Packet(Meta {
                    ts,
                    link: iface.link,
                    data_off: b.data.as_ptr() as usize - base,
                    data_len: caplen,
                    orig_len: b.origlen,
                })
            }
            _ => Step::BadInterface,
        },
        // A Simple Packet Block belongs to interface 0, has no timestamp,
        // and its data is cut to the interface's snap length.
        Block::SimplePacket(b) => match interfaces.first() {
            Some(iface) if !iface.damaged => Step::Packet(Meta {
                ts: Timestamp::ZERO,
                link: iface.link,
                data_off: b.data.as_ptr() as usize - base,
                data_len: (b.origlen as usize).min(b.data.len()),
                orig_len: b.origlen,
            }),
            _ => Step::BadInterface,
        },
        _ => Step::Skip,
    }
}

/// The parser's complaint without the input it carries (which can be the
/// whole buffer, and is untrusted).
fn describe_kind(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => format!("{kind:?}"),
        PcapError::HeaderNotRecognized => "unrecognized header".into(),
        other => other.to_string(),
    }
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(..) | PcapError::OwnedNomError(..) => format!(
            "malformed record or block ({}); the length fields do not add up",
            describe_kind(e)
        ),
        other => describe_kind(other),
    }
}
