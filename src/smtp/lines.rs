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

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames all lines from a sequence of chunks: (content, terminator, len, truncated).
    fn frame_all(max: usize, chunks: &[&[u8]]) -> Vec<(Vec<u8>, Terminator, u64, bool)> {
        let mut f = LineFramer::new(max);
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let mut rest: &[u8] = c;
            while !rest.is_empty() {
                let r = f.frame(rest, Timestamp::from_nanos(i as i64), i as u64);
                if let Some(l) = r.line {
                    out.push((l.bytes.to_vec(), l.term, l.len, l.truncated));
                }
                rest = &rest[r.consumed..];
            }
        }
        if let Some(l) = f.flush(Timestamp::ZERO, 0) {
            out.push((l.bytes.to_vec(), l.term, l.len, l.truncated));
        }
        out
    }

    #[test]
    fn test_crlf_lf_cr_terminators_kept() {
        let got = frame_all(100, &[b"EHLO a\r\nMAIL x\nRCPT y\rDATA\r\n"]);
        let terms: Vec<_> = got.iter().map(|l| (l.0.as_slice(), l.1)).collect();
        assert_eq!(
            terms,
            vec![
                (&b"EHLO a"[..], Terminator::CrLf),
                (b"MAIL x", Terminator::Lf),
                (b"RCPT y", Terminator::Cr),
                (b"DATA", Terminator::CrLf),
            ]
        );
    }

    #[test]
    fn test_cr_at_chunk_end_followed_by_lf_is_crlf() {
        let got = frame_all(100, &[b"EHLO a\r", b"\nQUIT\r", b"X\r\n"]);
        assert_eq!(got[0], (b"EHLO a".to_vec(), Terminator::CrLf, 6, false));
        assert_eq!(got[1], (b"QUIT".to_vec(), Terminator::Cr, 4, false));
        assert_eq!(got[2], (b"X".to_vec(), Terminator::CrLf, 1, false));
        // A held CR at end of stream is a bare CR.
        let got = frame_all(100, &[b"NOOP\r"]);
        assert_eq!(got, vec![(b"NOOP".to_vec(), Terminator::Cr, 4, false)]);
    }

    #[test]
    fn test_line_spanning_chunks_is_joined() {
        let got = frame_all(100, &[b"MA", b"IL FR", b"OM:<a@b>", b"\r\n"]);
        assert_eq!(
            got,
            vec![(b"MAIL FROM:<a@b>".to_vec(), Terminator::CrLf, 15, false)]
        );
    }

    #[test]
    fn test_megabyte_line_is_capped_and_counted() {
        let big = vec![b'A'; 1 << 20];
        let chunks: Vec<&[u8]> = big.chunks(1460).chain([&b"\r\nNOOP\r\n"[..]]).collect();
        let mut f = LineFramer::new(64 * 1024);
        let mut lines = Vec::new();
        for c in &chunks {
            let mut rest: &[u8] = c;
            while !rest.is_empty() {
                let r = f.frame(rest, Timestamp::ZERO, 0);
                if let Some(l) = r.line {
                    lines.push((l.bytes.len(), l.len, l.truncated, l.term));
                }
                rest = &rest[r.consumed..];
            }
            // The buffer never grows past the cap.
            assert!(f.buf.capacity() <= 2 * 64 * 1024 + 1460);
        }
        assert_eq!(lines[0], (64 * 1024, 1 << 20, true, Terminator::CrLf));
        assert_eq!(lines[1], (4, 4, false, Terminator::CrLf));
        // Within one chunk too.
        let mut one = vec![b'B'; 200];
        one.extend_from_slice(b"\n");
        let got = frame_all(50, &[&one]);
        assert_eq!((got[0].0.len(), got[0].2, got[0].3), (50, 200, true));
    }

    #[test]
    fn test_nul_and_non_utf8_pass_through() {
        let got = frame_all(100, &[b"HELO a\x00b\xff\xfe\r\n"]);
        assert_eq!(got[0].0, b"HELO a\x00b\xff\xfe".to_vec());
    }

    #[test]
    fn test_unterminated_line_flushed_without_terminator() {
        let got = frame_all(100, &[b"QUIT"]);
        assert_eq!(got, vec![(b"QUIT".to_vec(), Terminator::None, 4, false)]);
    }

    #[test]
    fn test_every_split_of_a_dialogue_frames_the_same() {
        let text = b"EHLO a\r\nMAIL\nX\rY\r\n\r\nZ";
        let whole = frame_all(100, &[text]);
        for i in 0..=text.len() {
            for j in i..=text.len() {
                let got = frame_all(100, &[&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(got, whole, "split {i} {j}");
            }
        }
    }
}
