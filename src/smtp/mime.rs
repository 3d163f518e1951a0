//! Streaming MIME summarizer: a message's headers and MIME tree described
//! while its bytes arrive, without holding the message.
//!
//! [`MimeSummarizer`] is fed the message exactly as the server received it
//! (dot-unstuffed DATA or concatenated BDAT chunks), in any chunking, and
//! [`MimeSummarizer::finish`] gives the [`MessageSummary`]. Header blocks are
//! collected (at most [`MAX_PART_HEADER_BYTES`] per part) and handed to
//! mail-parser, so RFC 2047/2231 and charsets stay the library's job; bodies
//! are transfer-decoded on the fly into a SHA-256, a size and the first
//! [`MAX_MAGIC`] bytes.
//!
//! Invariants:
//! - memory is bounded whatever the input: one header block, one possible
//!   delimiter line ([`MAX_DELIMITER_LINE`]), a base64 staging buffer, and a
//!   stack of at most [`MAX_MIME_DEPTH`] boundaries; parts stop at
//!   [`MAX_MIME_PARTS`] (`parts_capped`);
//! - work is linear: body bytes are looked at once (memchr/memmem), except
//!   lines starting with `-`, which are compared once with the boundaries on
//!   the stack;
//! - a delimiter is recognized only at the start of a line (RFC 2046 section
//!   5.1.1), as `--boundary` then transport padding, or `--boundary--` then
//!   anything; the line break before it belongs to the delimiter, not to
//!   the content;
//! - feeding the same bytes in any chunks gives the same summary.
//!
//! One deviation from mail-parser's whole-message view: a base64 or
//! quoted-printable encoded `message/rfc822` part is described as a leaf
//! (hash of its decoded bytes) rather than parsed again.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use mail_parser::{MessagePart, MimeHeaders};
use memchr::memmem;
use sha2::{Digest, Sha256};

use super::blocks;
use super::message::{
    catch, hex_sha256_digest, MessageSummary, MimePart, MAX_BOUNDARY_LEN, MAX_MIME_DEPTH,
    MAX_MIME_PARTS, STRUCTURE,
};

/// Most header bytes kept per part; the rest of a longer block is skipped
/// and the part is flagged `headers_truncated`.
pub const MAX_PART_HEADER_BYTES: usize = 64 * 1024;

/// Decoded bytes kept from the start of each leaf part (`magic`).
pub const MAX_MAGIC: usize = 16;

/// Longest line examined as a possible delimiter: `--`, the longest
/// boundary, `--`, some transport padding and CRLF. Longer lines are content.
const MAX_DELIMITER_LINE: usize = 2 + MAX_BOUNDARY_LEN + 2 + 256 + 2;

/// Base64 text staged before a bulk decode.
const B64_STAGE: usize = 16 * 1024;

/// The stage is decoded once it has less room than this, so that it is
/// filled in pieces of a useful size.
const MIN_PIECE: usize = 1024;

/// Trailing whitespace held by the quoted-printable decoder (it is dropped
/// if the line ends); past this it is content.
const MAX_QP_WS: usize = 4096;

/// Standard alphabet; padding optional, trailing bits ignored, as mail
/// clients decode.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Summarizes one message as it streams past. See the module docs.
pub struct MimeSummarizer {
    summary: MessageSummary,
    /// Bytes fed so far.
    offset: u64,
    mode: Mode,
    header: HeaderBlock,
    /// Multiparts whose delimiters are being looked for, outermost first.
    stack: Vec<Frame>,
    /// Unencoded message/rfc822 parts still open; their size is known when
    /// their container's next delimiter (or the end) comes.
    messages: Vec<OpenMessage>,
    /// The body being decoded; `None` while content is ignored (preamble,
    /// epilogue, parts past a cap).
    body: Option<Leaf>,
    line: PendingLine,
    finder: memmem::Finder<'static>,
    /// The root header block has been seen.
    root_seen: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mode {
    Header,
    Body,
    /// Nothing more to describe (no header at all).
    Done,
}

struct Frame {
    boundary: Vec<u8>,
    depth: usize,
    /// Its first delimiter was seen.
    started: bool,
    /// multipart/digest: parts default to message/rfc822 (RFC 2046 5.1.5).
    digest: bool,
}

struct OpenMessage {
    part: usize,
    /// Offset of the body's first byte.
    start: u64,
    /// Stack height when it opened: a delimiter of a frame below ends it.
    level: usize,
}

/// A header block being collected.
#[derive(Default)]
struct HeaderBlock {
    buf: Vec<u8>,
    overflow: bool,
    depth: usize,
    /// Describe this part (false past the depth or part cap).
    describe: bool,
    /// Defaults to message/rfc822 (inside a digest).
    digest_parent: bool,
    /// Bytes of the current line so far.
    line_len: usize,
    first: u8,
    /// Start of the current line when it begins with `-`, up to
    /// [`MAX_DELIMITER_LINE`]: a delimiter may end a header block.
    probe: Vec<u8>,
}

/// A line that may be a delimiter, held back with the line break before it
/// until its end shows whether it is one.
#[derive(Default)]
struct PendingLine {
    active: bool,
    buf: Vec<u8>,
    /// Length of the line break at the start of `buf` (0 at a body's start).
    brk: usize,
    /// `buf` is a lone CR that may become CRLF.
    cr_only: bool,
    /// Offset of `buf[0]`.
    start: u64,
}

/// Where decoded bytes go: size, hash and the first bytes.
struct Sink {
    sha: Sha256,
    size: u64,
    magic: Vec<u8>,
}

impl Sink {
    fn new() -> Sink {
        Sink {
            sha: Sha256::new(),
            size: 0,
            magic: Vec::new(),
        }
    }

    fn put(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let room = MAX_MAGIC.saturating_sub(self.magic.len());
        self.magic
            .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        self.size += bytes.len() as u64;
        self.sha.update(bytes);
    }
}

/// Message bytes of a base64 body handed over as the text between their
/// line breaks (from [`MimeSummarizer::base64_lines`]): the same summary as
/// `feed` of those bytes, without looking at them again.
///
/// The caller promises that the bytes hold CRLF line breaks only, and that
/// no LF among them, nor one ending them, is followed by `-`: no line
/// they end or start can be a delimiter.
pub struct Base64Lines<'a> {
    stream: &'a mut Base64Stream,
    sink: &'a mut Sink,
    offset: &'a mut u64,
}

impl Base64Lines<'_> {
    /// Text between two line breaks (or a piece of it).
    pub fn push(&mut self, text: &[u8]) {
        self.stream.push(text, self.sink);
    }

    /// The message bytes handed over so far, line breaks included, were
    /// `raw` long.
    pub fn advance(&mut self, raw: usize) {
        *self.offset += raw as u64;
    }
}

/// A body being transfer-decoded into its part's description.
struct Leaf {
    part: usize,
    /// The preamble of a multipart whose first delimiter has not come yet:
    /// if it never comes, the multipart is described as this leaf.
    tentative: bool,
    decoder: Transfer,
    sink: Sink,
}

enum Transfer {
    Identity,
    Base64(Box<Base64Stream>),
    QuotedPrintable(Box<QpStream>),
}

impl Leaf {
    fn feed(&mut self, bytes: &[u8]) {
        match &mut self.decoder {
            Transfer::Identity => self.sink.put(bytes),
            Transfer::Base64(d) => d.feed(bytes, &mut self.sink),
            Transfer::QuotedPrintable(d) => d.feed(bytes, &mut self.sink),
        }
    }

    /// Flush the decoder; `by_delimiter` when a delimiter ended the body
    /// (the last line's break belonged to it).
    fn finish(mut self, by_delimiter: bool) -> (Sink, bool) {
        let problem = match &mut self.decoder {
            Transfer::Identity => false,
            Transfer::Base64(d) => d.finish(&mut self.sink),
            Transfer::QuotedPrintable(d) => d.finish(by_delimiter, &mut self.sink),
        };
        (self.sink, problem)
    }
}

impl std::fmt::Debug for MimeSummarizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MimeSummarizer")
            .field("offset", &self.offset)
            .field("mode", &self.mode)
            .field("depth", &self.stack.len())
            .field("parts", &self.summary.parts.len())
            .finish_non_exhaustive()
    }
}

impl Default for MimeSummarizer {
    fn default() -> Self {
        Self::new()
    }
}

impl MimeSummarizer {
    pub fn new() -> MimeSummarizer {
        MimeSummarizer {
            summary: MessageSummary::default(),
            offset: 0,
            mode: Mode::Header,
            header: HeaderBlock {
                describe: true,
                ..HeaderBlock::default()
            },
            stack: Vec::new(),
            messages: Vec::new(),
            body: None,
            line: PendingLine::default(),
            finder: memmem::Finder::new(b"\n-").into_owned(),
            root_seen: false,
        }
    }

    /// Message bytes, in order, in any chunks.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let used = match self.mode {
                Mode::Header => self.header_step(bytes),
                Mode::Body if self.line.active => self.pending_step(bytes),
                Mode::Body if self.stack.is_empty() => {
                    // No delimiter can end this body: all of it is content.
                    self.content(bytes);
                    bytes.len()
                }
                Mode::Body => self.scan_step(bytes),
                Mode::Done => bytes.len(),
            };
            self.offset += used as u64;
            bytes = bytes.get(used..).unwrap_or_default();
        }
    }

    /// A direct way into the body being decoded when it is base64 and no
    /// possible delimiter line is held: the caller found the line breaks
    /// already, and hands over the text between them (see
    /// [`Base64Lines`]). `None` otherwise: then the bytes go to `feed`.
    pub fn base64_lines(&mut self) -> Option<Base64Lines<'_>> {
        if self.mode != Mode::Body || self.line.active {
            return None;
        }
        match &mut self.body {
            Some(Leaf {
                decoder: Transfer::Base64(stream),
                sink,
                ..
            }) => {
                stream.reserve();
                Some(Base64Lines {
                    stream,
                    sink,
                    offset: &mut self.offset,
                })
            }
            _ => None,
        }
    }

    /// The summary; `truncated` says the input was not the whole message.
    pub fn finish(mut self, truncated: bool) -> MessageSummary {
        match self.mode {
            // A delimiter with nothing after it opens no part.
            Mode::Header
                if self.root_seen && self.header.buf.is_empty() && self.header.line_len == 0 => {}
            Mode::Header => self.end_headers(self.offset),
            Mode::Body if self.line.active => {
                // A last delimiter line may lack its line break.
                let line = self.line.buf.get(self.line.brk..).unwrap_or_default();
                let found = if self.line.cr_only {
                    None
                } else {
                    self.match_delimiter(strip_break(line))
                };
                match found {
                    Some((k, closing)) => {
                        let at = self.line.start;
                        self.line.active = false;
                        self.delimiter(k, closing, at, self.offset, 0);
                    }
                    None => self.release_pending(),
                }
            }
            _ => {}
        }
        self.end_body(false);
        // Frames never started are multiparts described as leaves, which
        // `end_body` did; whatever is still open ends here.
        let end = self.offset;
        for m in self.messages.drain(..) {
            if let Some(p) = self.summary.parts.get_mut(m.part) {
                p.decoded_size = end.saturating_sub(m.start);
            }
        }
        self.summary.truncated = truncated;
        self.summary
    }

    // ---- header blocks ----

    /// Collect header lines up to the blank line that ends the block.
    fn header_step(&mut self, data: &[u8]) -> usize {
        let mut i = 0;
        while i < data.len() {
            let rest = data.get(i..).unwrap_or_default();
            let (seg_len, line_done) = match memchr::memchr(b'\n', rest) {
                Some(p) => (p + 1, true),
                None => (rest.len(), false),
            };
            let seg = rest.get(..seg_len).unwrap_or_default();
            let h = &mut self.header;
            if h.line_len == 0 {
                h.first = seg.first().copied().unwrap_or(0);
                h.probe.clear();
            }
            if h.first == b'-' && h.probe.len() < MAX_DELIMITER_LINE {
                let room = MAX_DELIMITER_LINE - h.probe.len();
                h.probe
                    .extend_from_slice(seg.get(..room.min(seg.len())).unwrap_or_default());
            }
            h.line_len += seg_len;
            if h.describe && !h.overflow {
                let room = MAX_PART_HEADER_BYTES.saturating_sub(h.buf.len());
                if seg.len() > room {
                    h.overflow = true;
                }
                h.buf
                    .extend_from_slice(seg.get(..room.min(seg.len())).unwrap_or_default());
            }
            i += seg_len;
            if !line_done {
                break;
            }
            let len = std::mem::take(&mut h.line_len);
            let blank = len == 1 || (len == 2 && h.first == b'\r');
            if blank {
                self.end_headers(self.offset + i as u64);
                return i;
            }
            if h.first == b'-' && !self.stack.is_empty() {
                let probe = std::mem::take(&mut self.header.probe);
                let found = self.match_delimiter(strip_break(&probe));
                self.header.probe = probe;
                if let Some((k, closing)) = found {
                    // A delimiter ends the header block: the part is empty.
                    let next = self.offset + i as u64;
                    let line_start = next.saturating_sub(len as u64);
                    let brk = line_break_len(&self.header.probe);
                    self.end_headers(line_start);
                    self.delimiter(k, closing, line_start, next, brk);
                    return i;
                }
            }
        }
        data.len()
    }

    /// The header block ended (blank line, delimiter or end of input); the
    /// body starts at `body_start`.
    fn end_headers(&mut self, body_start: u64) {
        let h = std::mem::take(&mut self.header);
        self.mode = Mode::Body;
        self.start_line(body_start);
        if !h.describe {
            return;
        }
        let mut block = h.buf;
        if !block.ends_with(b"\n") {
            block.push(b'\n');
        }
        if !(block.ends_with(b"\n\n") || block.ends_with(b"\n\r\n") || block == b"\n") {
            block.extend_from_slice(b"\r\n");
        }
        let root = !self.root_seen;
        self.root_seen = true;
        let parsed = catch(|| STRUCTURE.parse_headers(&block));
        let empty = MessagePart::default();
        let part = parsed
            .as_ref()
            .and_then(|m| m.parts.first())
            .unwrap_or(&empty);
        if root {
            if part.headers.is_empty() {
                // No header at all: not a message we can describe.
                self.mode = Mode::Done;
                return;
            }
            self.summary.fill_headers(&block);
            self.summary.fill_addresses(part);
        }
        if self.summary.parts.len() >= MAX_MIME_PARTS {
            self.summary.parts_capped = true;
            return;
        }
        let (mut desc, kind) = describe(part, h.depth, h.digest_parent);
        desc.headers_truncated = h.overflow;
        let index = self.summary.parts.len();
        self.summary.parts.push(desc);
        match kind {
            Kind::Multipart { boundary, digest } => {
                if h.depth >= MAX_MIME_DEPTH || boundary.len() > MAX_BOUNDARY_LEN {
                    // Its parts would be past the depth cap, or its
                    // delimiter past the line cap: left out.
                    self.summary.parts_capped = true;
                    return;
                }
                self.stack.push(Frame {
                    boundary,
                    depth: h.depth,
                    started: false,
                    digest,
                });
                self.body = Some(Leaf {
                    part: index,
                    tentative: true,
                    decoder: transfer(part),
                    sink: Sink::new(),
                });
            }
            Kind::Message => {
                self.messages.push(OpenMessage {
                    part: index,
                    start: body_start,
                    level: self.stack.len(),
                });
                // The enclosed message's own header block follows.
                self.begin_header(h.depth + 1, false);
            }
            Kind::Leaf => {
                self.body = Some(Leaf {
                    part: index,
                    tentative: false,
                    decoder: transfer(part),
                    sink: Sink::new(),
                });
            }
        }
    }

    fn begin_header(&mut self, depth: usize, digest_parent: bool) {
        let describe = depth <= MAX_MIME_DEPTH && self.summary.parts.len() < MAX_MIME_PARTS;
        if !describe {
            self.summary.parts_capped = true;
        }
        self.line.active = false;
        self.mode = Mode::Header;
        self.header = HeaderBlock {
            depth,
            describe,
            digest_parent,
            ..HeaderBlock::default()
        };
    }

    // ---- bodies ----

    /// At the start of a line with no line break before it (a body's
    /// first line, or the line after a delimiter).
    fn start_line(&mut self, at: u64) {
        let l = &mut self.line;
        l.active = true;
        l.buf.clear();
        l.brk = 0;
        l.cr_only = false;
        l.start = at;
    }

    /// Deliver content up to the next line break that may precede a
    /// delimiter; hold that break.
    fn scan_step(&mut self, data: &[u8]) -> usize {
        // A line break at the very end may start a candidate that the next
        // chunk completes.
        let tail = if data.ends_with(b"\r\n") {
            2
        } else if data.ends_with(b"\n") || data.ends_with(b"\r") {
            1
        } else {
            0
        };
        let cut = data.len() - tail;
        // Where the first candidate (`\n-`) starts, and whether the content
        // before it was fed already: a base64 body's line breaks are dropped
        // in the same pass that looks for candidates (its decoded bytes do
        // not depend on where the line breaks were cut).
        let (found, fed) = match &mut self.body {
            Some(Leaf {
                decoder: Transfer::Base64(b64),
                sink,
                ..
            }) => (
                b64.feed_until(data.get(..cut).unwrap_or_default(), Some(b'-'), sink),
                true,
            ),
            _ => (self.finder.find(data), false),
        };
        if let Some(p) = found {
            let brk = if p > 0 && data.get(p - 1) == Some(&b'\r') {
                p - 1
            } else {
                p
            };
            if !fed {
                self.content(data.get(..brk).unwrap_or_default());
            }
            self.hold(data.get(brk..=p).unwrap_or_default(), brk);
            return p + 1;
        }
        // No candidate here; the tail may start one in the next chunk.
        if !fed {
            self.content(data.get(..cut).unwrap_or_default());
        }
        if tail > 0 {
            self.hold(data.get(cut..).unwrap_or_default(), cut);
            self.line.cr_only = data.ends_with(b"\r");
        }
        data.len()
    }

    fn hold(&mut self, brk: &[u8], at: usize) {
        let l = &mut self.line;
        l.active = true;
        l.buf.clear();
        l.buf.extend_from_slice(brk);
        l.brk = brk.len();
        l.cr_only = false;
        l.start = self.offset + at as u64;
    }

    /// Grow the held line until it is known to be a delimiter or content.
    fn pending_step(&mut self, data: &[u8]) -> usize {
        for (i, &b) in data.iter().enumerate() {
            let l = &mut self.line;
            if l.cr_only {
                if b == b'\n' {
                    l.buf.push(b);
                    l.cr_only = false;
                    l.brk = l.buf.len();
                    continue;
                }
                // A bare CR is content.
                self.release_pending();
                return i;
            }
            let line_len = l.buf.len() - l.brk;
            if line_len < 2 {
                if b == b'-' {
                    l.buf.push(b);
                    continue;
                }
                self.release_pending();
                return i;
            }
            if b == b'\n' {
                l.buf.push(b);
                self.decide_pending(self.offset + i as u64 + 1);
                return i + 1;
            }
            if l.buf.len() >= MAX_DELIMITER_LINE {
                // Too long for a delimiter: content (a CR at the end may
                // still start the next line break).
                let cr = l.buf.last() == Some(&b'\r');
                if cr {
                    l.buf.pop();
                }
                let at = l.start + l.buf.len() as u64;
                self.release_pending();
                if cr {
                    let l = &mut self.line;
                    l.active = true;
                    l.buf.push(b'\r');
                    l.brk = 0;
                    l.cr_only = true;
                    l.start = at;
                }
                return i;
            }
            l.buf.push(b);
        }
        data.len()
    }

    /// A whole line starting with `--` is held (the next line starts at
    /// `next`): a delimiter, or content.
    fn decide_pending(&mut self, next: u64) {
        let buf = std::mem::take(&mut self.line.buf);
        let line = buf.get(self.line.brk..).unwrap_or_default();
        if let Some((k, closing)) = self.match_delimiter(strip_break(line)) {
            let at = self.line.start;
            let brk = line_break_len(&buf);
            self.line.buf = buf;
            self.line.buf.clear();
            self.line.active = false;
            self.delimiter(k, closing, at, next, brk);
            return;
        }
        // Content; its own line break may precede a delimiter.
        let brk = if buf.ends_with(b"\r\n") { 2 } else { 1 };
        let cut = buf.len() - brk;
        self.content(buf.get(..cut).unwrap_or_default());
        let l = &mut self.line;
        l.start += cut as u64;
        l.buf = buf;
        l.buf.drain(..cut);
        l.brk = brk;
        l.cr_only = false;
        l.active = true;
    }

    /// The held bytes are content after all.
    fn release_pending(&mut self) {
        let buf = std::mem::take(&mut self.line.buf);
        self.content(&buf);
        self.line.buf = buf;
        self.line.buf.clear();
        self.line.active = false;
        self.line.cr_only = false;
    }

    fn content(&mut self, bytes: &[u8]) {
        if let Some(leaf) = &mut self.body {
            leaf.feed(bytes);
        }
    }

    /// `line` (without its line break) as a delimiter of a frame on the
    /// stack, innermost first: (frame index, closing).
    fn match_delimiter(&self, line: &[u8]) -> Option<(usize, bool)> {
        let rest = line.strip_prefix(b"--")?;
        self.stack.iter().enumerate().rev().find_map(|(k, f)| {
            let tail = rest.strip_prefix(f.boundary.as_slice())?;
            if tail.starts_with(b"--") {
                // A close delimiter; mail clients accept anything after it
                // (`--b---` is seen in the wild).
                return Some((k, true));
            }
            // RFC 2046 5.1.1: only transport padding may follow, so that
            // `--b2` is not taken for a delimiter of `b`.
            tail.iter()
                .all(|&c| c == b' ' || c == b'\t')
                .then_some((k, false))
        })
    }

    /// The delimiter of frame `k`, whose line (with the break before it)
    /// starts at `at`; the line after it starts at `next`, and `brk` is the
    /// length of the line break that ends it.
    fn delimiter(&mut self, k: usize, closing: bool, at: u64, next: u64, brk: usize) {
        let own_first = k + 1 == self.stack.len()
            && self.stack.last().is_some_and(|f| !f.started)
            && self.body.as_ref().is_some_and(|b| b.tentative);
        if own_first {
            // The preamble was only a preamble.
            self.body = None;
        } else {
            self.end_body(true);
        }
        self.stack.truncate(k + 1);
        let mut i = 0;
        while i < self.messages.len() {
            if self.messages.get(i).is_some_and(|m| m.level > k) {
                let m = self.messages.swap_remove(i);
                if let Some(p) = self.summary.parts.get_mut(m.part) {
                    p.decoded_size = at.saturating_sub(m.start);
                }
            } else {
                i += 1;
            }
        }
        if closing {
            // What follows is the epilogue, ignored.
            self.stack.truncate(k);
            self.mode = Mode::Body;
            self.start_line(next);
            // RFC 2046 5.1.1: the line break after a close delimiter may
            // be the one that starts an enclosing delimiter.
            if brk > 0 {
                let l = &mut self.line;
                l.buf
                    .extend_from_slice(if brk == 2 { b"\r\n" } else { b"\n" });
                l.brk = brk;
                l.start = next.saturating_sub(brk as u64);
            }
            return;
        }
        let Some(frame) = self.stack.get_mut(k) else {
            return;
        };
        frame.started = true;
        let (depth, digest) = (frame.depth + 1, frame.digest);
        self.begin_header(depth, digest);
    }

    /// The current body ended; record what it decoded to.
    fn end_body(&mut self, by_delimiter: bool) {
        let Some(leaf) = self.body.take() else {
            return;
        };
        let index = leaf.part;
        let (sink, problem) = leaf.finish(by_delimiter);
        if let Some(p) = self.summary.parts.get_mut(index) {
            p.decoded_size = sink.size;
            p.sha256 = Some(hex_sha256_digest(sink.sha.finalize().as_slice()));
            p.magic = super::message::magic_class(&sink.magic);
            p.first_bytes = sink.magic;
            p.encoding_problem |= problem;
        }
    }
}

enum Kind {
    Multipart { boundary: Vec<u8>, digest: bool },
    Message,
    Leaf,
}

/// A part's description from its parsed headers, and what its body is.
fn describe(part: &MessagePart<'_>, depth: usize, digest_parent: bool) -> (MimePart, Kind) {
    let ct = part.content_type();
    let content_type = match ct {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        },
        // RFC 2045 section 5.2 default; RFC 2046 section 5.1.5 in a digest.
        None if digest_parent => "message/rfc822".to_string(),
        None => "text/plain".to_string(),
    }
    .to_ascii_lowercase();
    let transfer_encoding = part
        .content_transfer_encoding()
        .map(|e| e.trim().to_ascii_lowercase());
    let encoded = matches!(
        transfer_encoding.as_deref(),
        Some("base64" | "quoted-printable")
    );
    let filename = part.attachment_name().map(str::to_string);
    let is_attachment = filename.is_some()
        || part
            .content_disposition()
            .is_some_and(|cd| cd.is_attachment());
    let (main, sub) = content_type
        .split_once('/')
        .unwrap_or((content_type.as_str(), ""));
    let boundary = ct
        .and_then(|ct| ct.attribute("boundary"))
        .filter(|b| !b.is_empty());
    let kind = match (main, boundary) {
        ("multipart", Some(b)) => Kind::Multipart {
            boundary: b.as_bytes().to_vec(),
            digest: sub == "digest",
        },
        ("message", _) if matches!(sub, "rfc822" | "global") && !encoded => Kind::Message,
        _ => Kind::Leaf,
    };
    let desc = MimePart {
        depth,
        content_type,
        transfer_encoding,
        filename,
        charset: ct
            .and_then(|ct| ct.attribute("charset"))
            .map(str::to_string),
        is_attachment,
        ..MimePart::default()
    };
    (desc, kind)
}

fn transfer(part: &MessagePart<'_>) -> Transfer {
    match part.content_transfer_encoding().map(str::trim) {
        Some(e) if e.eq_ignore_ascii_case("base64") => Transfer::Base64(Box::default()),
        Some(e) if e.eq_ignore_ascii_case("quoted-printable") => {
            Transfer::QuotedPrintable(Box::default())
        }
        _ => Transfer::Identity,
    }
}

/// Length of the line break ending `line`: 2 (CRLF), 1 (LF) or 0.
fn line_break_len(line: &[u8]) -> usize {
    if line.ends_with(b"\r\n") {
        2
    } else {
        usize::from(line.ends_with(b"\n"))
    }
}

/// `line` without its trailing LF or CRLF.
fn strip_break(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Base64 decoded a stage at a time: line breaks are dropped while
/// staging, whole 4-character groups are decoded in bulk, the remainder is
/// carried. Text that is not clean base64 takes the tolerant path: bytes
/// outside the alphabet are skipped (flagged unless blank), `=` ends a
/// group, as mail clients do.
#[derive(Default)]
struct Base64Stream {
    stage: Vec<u8>,
    out: Vec<u8>,
    clean: Vec<u8>,
    problem: bool,
}

impl Base64Stream {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) {
        self.feed_until(input, None, sink);
    }

    fn reserve(&mut self) {
        if self.stage.capacity() == 0 {
            // Sized once per part rather than grown by doubling.
            self.stage.reserve_exact(B64_STAGE);
            self.out.reserve_exact(B64_STAGE / 4 * 3 + 3);
        }
    }

    /// Text with no line breaks in it.
    fn push(&mut self, mut text: &[u8], sink: &mut Sink) {
        if self.stage.len() + text.len() + MIN_PIECE <= B64_STAGE {
            // The usual line: room to spare after it.
            self.stage.extend_from_slice(text);
            return;
        }
        self.reserve();
        while !text.is_empty() {
            let room = B64_STAGE - self.stage.len();
            let (now, rest) = text.split_at(room.min(text.len()));
            self.stage.extend_from_slice(now);
            if self.stage.len() + MIN_PIECE > B64_STAGE {
                self.drain(false, sink);
            }
            text = rest;
        }
    }

    /// Feed `input`, stopping at the first LF followed by `next` (when
    /// given): returns that LF's position, everything before it fed.
    fn feed_until(&mut self, input: &[u8], next: Option<u8>, sink: &mut Sink) -> Option<usize> {
        self.reserve();
        let mut done = 0;
        while done < input.len() {
            // Line breaks only shrink what is appended, so a piece no
            // longer than the room left never overfills the stage.
            let room = B64_STAGE - self.stage.len();
            let end = input.len().min(done + room);
            let piece = input.get(done..end).unwrap_or_default();
            let stop = blocks::strip_line_breaks_until(piece, next, &mut self.stage);
            if self.stage.len() + MIN_PIECE > B64_STAGE {
                self.drain(false, sink);
            }
            if let Some(p) = stop {
                return Some(done + p);
            }
            // A stop whose LF ends this piece: the LF is dropped either way.
            if next.is_some() && piece.last() == Some(&b'\n') && input.get(end).copied() == next {
                return Some(end - 1);
            }
            done = end;
        }
        None
    }

    /// Decode the stage; unless `last`, keep a partial group for later.
    fn drain(&mut self, last: bool, sink: &mut Sink) {
        let n = if last {
            self.stage.len()
        } else {
            self.stage.len() / 4 * 4
        };
        let text = self.stage.get(..n).unwrap_or_default();
        self.out.resize(n / 4 * 3 + 3, 0);
        // Clean canonical text (all of it but perhaps the end) takes the
        // SIMD decoder; unpadded or odd endings the lenient engine; both
        // give the same bytes where both accept.
        let len =
            match base64_simd::STANDARD.decode(text, base64_simd::Out::from_slice(&mut self.out)) {
                Ok(decoded) => Some(decoded.len()),
                Err(_) => B64.decode_slice(text, &mut self.out).ok(),
            };
        match len {
            Some(len) => {
                sink.put(self.out.get(..len).unwrap_or_default());
                self.stage.drain(..n);
            }
            None => self.tolerant(last, sink),
        }
    }

    fn tolerant(&mut self, last: bool, sink: &mut Sink) {
        let mut clean = std::mem::take(&mut self.clean);
        clean.clear();
        let stage = std::mem::take(&mut self.stage);
        for &c in &stage {
            if is_b64(c) {
                clean.push(c);
            } else if c == b'=' {
                // Padding ends the group; decoding may resume after it.
                self.emit_groups(&clean, sink);
                clean.clear();
            } else if !matches!(c, b' ' | b'\t') {
                self.problem = true;
            }
        }
        self.stage = stage;
        self.stage.clear();
        if last {
            self.emit_groups(&clean, sink);
        } else {
            let whole = clean.len() / 4 * 4;
            self.emit_groups(clean.get(..whole).unwrap_or_default(), sink);
            self.stage
                .extend_from_slice(clean.get(whole..).unwrap_or_default());
        }
        self.clean = clean;
    }

    /// Decode alphabet-only text; a trailing partial group gives what its
    /// bits hold (one character alone gives nothing).
    fn emit_groups(&mut self, text: &[u8], sink: &mut Sink) {
        let usable = if text.len() % 4 == 1 {
            text.len() - 1
        } else {
            text.len()
        };
        self.out.resize(usable / 4 * 3 + 3, 0);
        if let Ok(len) = B64.decode_slice(text.get(..usable).unwrap_or_default(), &mut self.out) {
            sink.put(self.out.get(..len).unwrap_or_default());
        }
    }

    fn finish(&mut self, sink: &mut Sink) -> bool {
        self.drain(true, sink);
        self.problem
    }
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// Quoted-printable (RFC 2045 section 6.7), decoded as mail clients do: a
/// soft line break may be split across chunks, whitespace at a line's end
/// is dropped, a malformed escape is kept as text.
#[derive(Default)]
struct QpStream {
    state: Qp,
    /// Whitespace that is content unless the line ends.
    ws: Vec<u8>,
    /// A CR was seen: hard line breaks decode as CRLF (else LF).
    crlf: bool,
    out: Vec<u8>,
}

#[derive(Copy, Clone, Default, PartialEq, Eq)]
enum Qp {
    #[default]
    Text,
    /// After `=`.
    Eq,
    /// After `=` and one hex digit (its value, its character).
    Hex(u8, u8),
}

impl QpStream {
    fn feed(&mut self, input: &[u8], sink: &mut Sink) {
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let mut i = 0;
        while i < input.len() {
            if self.state == Qp::Text {
                let rest = input.get(i..).unwrap_or_default();
                let run = memchr::memchr3(b'=', b'\r', b'\n', rest).unwrap_or(rest.len());
                let text = rest.get(..run).unwrap_or_default();
                let kept = text
                    .iter()
                    .rposition(|&c| !is_qp_ws(c))
                    .map_or(0, |p| p + 1);
                if kept > 0 {
                    out.append(&mut self.ws);
                    out.extend_from_slice(text.get(..kept).unwrap_or_default());
                }
                self.ws
                    .extend_from_slice(text.get(kept..).unwrap_or_default());
                if self.ws.len() > MAX_QP_WS {
                    out.append(&mut self.ws);
                }
                i += run;
                let Some(&b) = input.get(i) else {
                    break;
                };
                i += 1;
                match b {
                    b'=' => {
                        out.append(&mut self.ws);
                        self.state = Qp::Eq;
                    }
                    b'\r' => self.crlf = true,
                    _ => self.hard_break(&mut out),
                }
                continue;
            }
            let Some(&b) = input.get(i) else {
                break;
            };
            i += 1;
            match (self.state, b) {
                (_, b'\r') => self.crlf = true,
                // Soft line break.
                (Qp::Eq, b'\n') => self.state = Qp::Text,
                (Qp::Eq, b'=') => out.push(b'='),
                (Qp::Eq, c) if hex(c).is_some() => {
                    self.state = Qp::Hex(hex(c).unwrap_or(0), c);
                }
                (Qp::Eq, c) if is_qp_ws(c) => {}
                (Qp::Eq, c) => {
                    out.extend_from_slice(&[b'=', c]);
                    self.state = Qp::Text;
                }
                (Qp::Hex(v, _), c) if hex(c).is_some() => {
                    out.push(v << 4 | hex(c).unwrap_or(0));
                    self.state = Qp::Text;
                }
                (Qp::Hex(_, h), b'\n') => {
                    out.extend_from_slice(&[b'=', h]);
                    self.state = Qp::Text;
                    self.hard_break(&mut out);
                }
                (Qp::Hex(_, h), b'=') => {
                    out.extend_from_slice(&[b'=', h]);
                    self.state = Qp::Eq;
                }
                (Qp::Hex(_, h), c) => {
                    out.extend_from_slice(&[b'=', h, c]);
                    self.state = Qp::Text;
                }
                (Qp::Text, _) => {}
            }
        }
        sink.put(&out);
        self.out = out;
    }

    fn hard_break(&mut self, out: &mut Vec<u8>) {
        self.ws.clear();
        out.extend_from_slice(if self.crlf { b"\r\n" } else { b"\n" });
    }

    fn finish(&mut self, by_delimiter: bool, sink: &mut Sink) -> bool {
        // The last line's break belonged to the delimiter: its trailing
        // whitespace goes as at any line end.
        if !by_delimiter {
            sink.put(&self.ws);
        }
        self.ws.clear();
        false
    }
}

fn is_qp_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\x0c')
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(raw: &[u8]) -> MessageSummary {
        MessageSummary::parse(raw, false)
    }

    fn chunked(raw: &[u8], size: usize) -> MessageSummary {
        let mut m = MimeSummarizer::new();
        for c in raw.chunks(size.max(1)) {
            m.feed(c);
        }
        m.finish(false)
    }

    #[test]
    fn test_delimiter_split_at_every_position() {
        let raw = b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npre\r\n--b1\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVs\r\nbG8=\r\n--b1  \r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3D=\r\nb  \r\nc\r\n--b1--\r\nepi\r\n--b1\r\n";
        let expected = whole(raw);
        assert_eq!(expected.parts.len(), 3, "{expected:?}");
        assert_eq!(expected.parts[1].decoded_size, 5);
        assert_eq!(expected.parts[1].first_bytes, b"Hello");
        assert_eq!(expected.parts[2].first_bytes, b"a=b\r\nc");
        for a in 0..raw.len() {
            for b in a..raw.len() {
                let mut m = MimeSummarizer::new();
                m.feed(&raw[..a]);
                m.feed(&raw[a..b]);
                m.feed(&raw[b..]);
                assert_eq!(m.finish(false), expected, "split {a} {b}");
            }
        }
    }

    #[test]
    fn test_bare_lf_delimiters_and_rfc822() {
        let raw = b"Subject: s\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\nSubject: inner\n\nbody\n--x--\n";
        let s = whole(raw);
        let shape: Vec<_> = s
            .parts
            .iter()
            .map(|p| (p.depth, p.content_type.as_str(), p.decoded_size))
            .collect();
        assert_eq!(
            shape,
            [
                (0, "multipart/mixed", 0),
                (1, "message/rfc822", 20),
                (2, "text/plain", 4)
            ]
        );
        assert_eq!(chunked(raw, 1), s);
    }

    #[test]
    fn test_multipart_without_delimiter_is_a_leaf() {
        let raw = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts here\r\n";
        let s = whole(raw);
        assert_eq!(s.parts.len(), 1);
        assert_eq!(s.parts[0].decoded_size, 15);
        assert!(s.parts[0].sha256.is_some());
    }

    #[test]
    fn test_base64_delimiter_at_every_offset_around_a_stage_pass() {
        // A base64 body is stripped B64_STAGE bytes at a time while it is
        // scanned for `\n-`: the delimiter's LF may end one pass and its
        // `-` start the next. Bodies whose length is near one pass (first
        // line of any length, an empty line or not, last line break CRLF or
        // a bare LF) put the delimiter at every offset around it, the LF as
        // the pass's last byte among them.
        let mut at_the_edge = 0;
        // 76 of every 78 body bytes are base64 text, 3 of every 4 of those
        // a decoded byte.
        let around = B64_STAGE * 76 / 78 * 3 / 4;
        for decoded_len in around - 12..around + 12 {
            let decoded: Vec<u8> = (0..decoded_len).map(|i| (i * 31 % 251) as u8).collect();
            let text = base64::engine::general_purpose::STANDARD.encode(&decoded);
            for (first, bare_lf, empty) in (0..=76).flat_map(|f| {
                [
                    (f, false, false),
                    (f, false, true),
                    (f, true, false),
                    (f, true, true),
                ]
            }) {
                let (head, rest) = text.split_at(first);
                let mut body = head.as_bytes().to_vec();
                if empty {
                    body.extend_from_slice(b"\r\n");
                }
                for line in rest.as_bytes().chunks(76) {
                    body.extend_from_slice(b"\r\n");
                    body.extend_from_slice(line);
                }
                body.extend_from_slice(if bare_lf { b"\n" } else { b"\r\n" });
                if body.len().abs_diff(B64_STAGE) > 3 {
                    continue;
                }
                at_the_edge += usize::from(body.len() == B64_STAGE);
                let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
                raw.extend_from_slice(&body);
                raw.extend_from_slice(b"--b--\r\n");
                let case =
                    format!("first {first} len {decoded_len} bare LF {bare_lf} empty {empty}");
                let s = chunked(&raw, raw.len());
                let part = &s.parts[1];
                assert_eq!(part.decoded_size, decoded_len as u64, "{case}");
                let sha = hex_sha256_digest(Sha256::digest(&decoded).as_slice());
                assert_eq!(part.sha256.as_deref(), Some(sha.as_str()), "{case}");
                assert!(!part.encoding_problem, "{case}");
            }
        }
        assert!(
            at_the_edge > 0,
            "no body ended its LF at the pass's last byte"
        );
    }

    #[test]
    fn test_base64_garbage_is_skipped_and_flagged() {
        let raw = b"Content-Transfer-Encoding: base64\r\n\r\nTV!qQ\r\nAAA=\r\n";
        let s = whole(raw);
        assert_eq!(s.parts[0].first_bytes, b"MZ\x90\x00\x00");
        assert_eq!(s.parts[0].magic, Some("pe-executable"));
        assert!(s.parts[0].encoding_problem);
        assert_eq!(chunked(raw, 3), s);
    }
}
