//! Line framing for the command/reply phases (RFC 5321 §2.3.8).
//!
//! Works on raw bytes and keeps the exact terminator of every line, because
//! a bare LF or bare CR is itself evidence (smuggling, sloppy clients).
//! Framing is lenient like Zeek and Suricata: a line ends at CRLF, at a bare
//! LF, or at a bare CR. A CR that is the last byte of a chunk is held back
//! until the next byte shows whether it starts a CRLF.
//!
//! Invariants: the framer never buffers more than `max_line_len` bytes of a
//! line; the rest of an overlong line is counted, not kept. A line that lies
//! whole inside one chunk is returned borrowed from that chunk; only a line
//! spanning chunks is copied, once, into the framer's buffer.

use crate::capture::Timestamp;
use serde::Serialize;

/// How a line ended on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Terminator {
    #[serde(rename = "crlf")]
    CrLf,
    /// A LF not preceded by CR.
    #[serde(rename = "lf")]
    Lf,
    /// A CR not followed by LF.
    #[serde(rename = "cr")]
    Cr,
    /// No terminator: the stream ended (or a gap cut the line).
    #[serde(rename = "none")]
    None,
}

impl Terminator {
    pub fn as_str(self) -> &'static str {
        match self {
            Terminator::CrLf => "crlf",
            Terminator::Lf => "lf",
            Terminator::Cr => "cr",
            Terminator::None => "none",
        }
    }

    /// The wire bytes of the terminator.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::CrLf => b"\r\n",
            Terminator::Lf => b"\n",
            Terminator::Cr => b"\r",
            Terminator::None => b"",
        }
    }
}

/// One framed line. `bytes` excludes the terminator and holds at most
/// `max_line_len` bytes; `len` is the full length seen on the wire.
#[derive(Copy, Clone, Debug)]
pub struct Line<'a> {
    pub bytes: &'a [u8],
    pub term: Terminator,
    /// Full content length (without terminator), counted beyond the cap.
    pub len: u64,
    pub truncated: bool,
    /// Time and frame of the segment that carried the first byte.
    pub start_ts: Timestamp,
    pub start_frame: u64,
    /// Time and frame of the segment that carried the last byte (the
    /// terminator), which is what reply latency is measured from.
    pub end_ts: Timestamp,
    pub end_frame: u64,
}

/// Result of one framing step: how many input bytes were consumed and the
/// line completed by them, if any.
pub struct Framed<'a> {
    pub consumed: usize,
    pub line: Option<Line<'a>>,
}

/// Incremental line framer for one direction.
#[derive(Debug)]
pub struct LineFramer {
    max_line_len: usize,
    /// Content of a line that spans chunks, capped at `max_line_len`.
    buf: Vec<u8>,
    /// Full length of the partial line in `buf` (may exceed `buf.len()`).
    partial_len: u64,
    /// A partial line exists (possibly empty, e.g. just a held CR).
    in_line: bool,
    /// The partial line ended in a CR that may be the start of a CRLF.
    pending_cr: bool,
    start_ts: Timestamp,
    start_frame: u64,
    /// Where the held CR arrived: the line's last byte if no LF follows.
    cr_ts: Timestamp,
    cr_frame: u64,
    /// `buf` holds a line already handed out; clear it before reuse.
    stale: bool,
}

impl LineFramer {
    pub fn new(max_line_len: usize) -> Self {
        LineFramer {
            max_line_len: max_line_len.max(1),
            buf: Vec::new(),
            partial_len: 0,
            in_line: false,
            pending_cr: false,
            start_ts: Timestamp::ZERO,
            start_frame: 0,
            cr_ts: Timestamp::ZERO,
            cr_frame: 0,
            stale: false,
        }
    }

    /// True when bytes of an unfinished line are held.
    pub fn has_partial(&self) -> bool {
        self.in_line
    }

    /// Length of the unfinished line held, counted beyond the cap.
    pub fn partial_len(&self) -> u64 {
        self.partial_len + self.pending_cr as u64
    }

    /// Frame at most one line from `input`. Consumes everything when no line
    /// ends inside `input` (the bytes are then held for the next call).
    pub fn frame<'s>(&'s mut self, input: &'s [u8], ts: Timestamp, frame: u64) -> Framed<'s> {
        self.clear_stale();
        if self.pending_cr {
            // The held CR decides here: CRLF if the next byte is LF.
            let Some(&first) = input.first() else {
                return Framed {
                    consumed: 0,
                    line: None,
                };
            };
            self.pending_cr = false;
            self.in_line = false;
            let (term, consumed, end_ts, end_frame) = if first == b'\n' {
                (Terminator::CrLf, 1, ts, frame)
            } else {
                (Terminator::Cr, 0, self.cr_ts, self.cr_frame)
            };
            return Framed {
                consumed,
                line: Some(self.buffered_line(term, end_ts, end_frame)),
            };
        }
        if !self.in_line {
            self.start_ts = ts;
            self.start_frame = frame;
        }
        match memchr::memchr2(b'\n', b'\r', input) {
            Some(i) if input[i] == b'\n' || i + 1 < input.len() => {
                let (term, end) = if input[i] == b'\n' {
                    (Terminator::Lf, i + 1)
                } else if input[i + 1] == b'\n' {
                    (Terminator::CrLf, i + 2)
                } else {
                    (Terminator::Cr, i + 1)
                };
                let content = &input[..i];
                if self.in_line {
                    self.append(content);
                    self.in_line = false;
                    Framed {
                        consumed: end,
                        line: Some(self.buffered_line(term, ts, frame)),
                    }
                } else {
                    let kept = content.len().min(self.max_line_len);
                    Framed {
                        consumed: end,
                        line: Some(Line {
                            bytes: &content[..kept],
                            term,
                            len: content.len() as u64,
                            truncated: kept < content.len(),
                            start_ts: ts,
                            start_frame: frame,
                            end_ts: ts,
                            end_frame: frame,
                        }),
                    }
                }
            }
            Some(i) => {
                // A CR as the very last byte: hold it.
                self.append_partial(&input[..i]);
                self.pending_cr = true;
                self.cr_ts = ts;
                self.cr_frame = frame;
                Framed {
                    consumed: input.len(),
                    line: None,
                }
            }
            None => {
                self.append_partial(input);
                Framed {
                    consumed: input.len(),
                    line: None,
                }
            }
        }
    }

    /// Flush an unfinished line at end of stream or at a gap, with
    /// terminator `None` (or `Cr` if a CR was held).
    pub fn flush(&mut self, ts: Timestamp, frame: u64) -> Option<Line<'_>> {
        self.clear_stale();
        if !self.in_line {
            return None;
        }
        self.in_line = false;
        let term = if std::mem::take(&mut self.pending_cr) {
            Terminator::Cr
        } else {
            Terminator::None
        };
        let (end_ts, end_frame) = if term == Terminator::Cr {
            (self.cr_ts, self.cr_frame)
        } else {
            (ts, frame)
        };
        Some(self.buffered_line(term, end_ts, end_frame))
    }

    /// Drop any unfinished line (a gap makes it meaningless).
    pub fn discard(&mut self) -> u64 {
        let n = self.partial_len();
        self.in_line = false;
        self.pending_cr = false;
        self.buf.clear();
        self.stale = false;
        self.partial_len = 0;
        n
    }

    fn clear_stale(&mut self) {
        if self.stale {
            self.buf.clear();
            self.stale = false;
        }
    }

    fn append_partial(&mut self, bytes: &[u8]) {
        self.in_line = true;
        self.append(bytes);
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = self.max_line_len.saturating_sub(self.buf.len());
        let take = room.min(bytes.len());
        self.buf.extend_from_slice(&bytes[..take]);
        self.partial_len += bytes.len() as u64;
    }

    /// Hands out the buffered line; the buffer (and its allocation) is
    /// reused from the next call on.
    fn buffered_line(&mut self, term: Terminator, end_ts: Timestamp, end_frame: u64) -> Line<'_> {
        let len = std::mem::take(&mut self.partial_len);
        let kept = self.buf.len();
        self.stale = true;
        Line {
            bytes: &self.buf[..kept],
            term,
            len,
            truncated: (kept as u64) < len,
            start_ts: self.start_ts,
            start_frame: self.start_frame,
            end_ts,
            end_frame,
        }
    }
}
