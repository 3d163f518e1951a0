//! DATA content (RFC 5321 §4.1.1.4, §4.5.2): end-of-data detection,
//! dot-unstuffing, and the non-canonical end-of-data-like sequences that
//! SMTP smuggling relies on.
//!
//! Two automata run over the same raw bytes:
//! - the strict one ends the message only at `<CRLF>.<CRLF>` and removes
//!   the stuffed dot at the start of a line (a line starts after CRLF);
//! - the lenient one matches `(\r\n|\n|\r)(\0)?\.(\r\n|\n|\r)` and reports
//!   every match other than the canonical sequence, with its offset.
//!
//! Both are byte-at-a-time state machines so that a terminator split across
//! chunks at any position is handled; runs of ordinary bytes are passed on in
//! bulk. The unstuffed message streams into a [`MimeSummarizer`]; it is kept
//! only when `keep_raw` is set, and then capped; its full size is always
//! counted. Inside a base64 body the text between the line breaks goes to
//! the summarizer's base64 decoder directly
//! ([`MimeSummarizer::base64_lines`]); the summary is the same as the
//! summarizer's fed the unstuffed message whole.

use serde::Serialize;

use super::blocks;
use super::message::MessageSummary;
use super::mime::MimeSummarizer;

/// Unstuffed bytes gathered before they are handed to the summarizer, so
/// that the line breaks the automata emit one at a time go in bulk.
const STAGE: usize = 8 * 1024;

/// Runs at least this long skip the stage and go to the summarizer as is.
const DIRECT_RUN: usize = 512;

/// A byte that the fast paths leave to the automatons at the start of a
/// line: the start of an end-of-data or smuggling sequence (`.`, CR, LF,
/// NUL), or, when base64 text goes to the decoder directly (`dash`), of a
/// possible MIME delimiter (`-`); otherwise the summarizer finds those.
fn starts_something(b: u8, dash: bool) -> bool {
    matches!(b, b'.' | b'\r' | b'\n' | 0) || (dash && b == b'-')
}

/// Longest line the base64 fast path guesses (998 octets and CRLF: not a
/// long line).
const MAX_GUESS: usize = 998;

/// A line-break variant in a non-canonical end-of-data sequence.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Brk {
    CrLf,
    Lf,
    Cr,
}

impl Brk {
    fn bytes(self) -> &'static [u8] {
        match self {
            Brk::CrLf => b"\r\n",
            Brk::Lf => b"\n",
            Brk::Cr => b"\r",
        }
    }
}

/// A non-canonical end-of-data-like sequence found inside DATA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NonCanonicalEod {
    /// The exact bytes, e.g. `\n.\r\n`.
    #[serde(serialize_with = "super::event::ser_bytes")]
    pub sequence: Vec<u8>,
    /// Offset of the sequence's first byte in the raw DATA stream (after
    /// the 354, before unstuffing).
    pub raw_offset: u64,
    /// Offset in the unstuffed message where the sequence begins.
    pub message_offset: u64,
    /// The first [`EXCERPT_BYTES`] of the message after the sequence: what
    /// a lenient server would read as the next commands (smuggling
    /// evidence), kept so that no rule needs the whole message.
    #[serde(serialize_with = "super::event::ser_bytes")]
    pub following: Vec<u8>,
}

/// Bytes kept after each non-canonical end-of-data sequence.
pub const EXCERPT_BYTES: usize = 1024;

/// Strict-automaton state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Strict {
    /// After CRLF or at the start of content.
    LineStart,
    Mid,
    /// After a CR that may start a CRLF.
    Cr,
    /// After a dot at line start.
    Dot,
    /// After `.` `\r` at line start: LF completes the terminator.
    DotCr,
}

/// Lenient-detector state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Lenient {
    Idle,
    /// Saw a break (CR may still grow into CRLF).
    Break(Brk),
    Nul(Brk),
    Dot(Brk, bool),
    /// Dot then CR: LF would make the closing break CRLF.
    DotCr(Brk, bool),
}

/// What the DATA content looked like; filled while decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DataStats {
    pub bare_cr: u64,
    pub bare_lf: u64,
    pub nul: u64,
    /// Raw bytes consumed including the terminator.
    pub raw_bytes: u64,
    /// Lines (by CRLF) longer than 1000 octets including CRLF
    /// (RFC 5321 §4.5.3.1.6).
    pub long_lines: u64,
    pub non_canonical: Vec<NonCanonicalEod>,
    /// Non-canonical sequences beyond the cap, counted.
    pub non_canonical_dropped: u64,
    /// Message bytes with the high bit set (8-bit content).
    pub eight_bit: u64,
    /// Lines ended by CRLF (to tell bare LF mixed with CRLF from a
    /// consistently bare-LF legacy client).
    pub crlf_lines: u64,
}

/// Cap on recorded non-canonical sequences per message.
const MAX_NON_CANONICAL: usize = 64;

/// Decoder for one DATA transfer.
#[derive(Debug)]
pub struct DataDecoder {
    strict: Strict,
    lenient: Lenient,
    lenient_start_raw: u64,
    lenient_start_msg: u64,
    /// Unstuffed message kept (when `keep_raw`), at most `cap` bytes.
    pub message: Vec<u8>,
    cap: usize,
    /// Keep the message bytes (for export and the message view); when
    /// false nothing is accumulated but the summary.
    pub keep_raw: bool,
    mime: MimeSummarizer,
    /// Unstuffed bytes not yet given to `mime` (at most [`STAGE`]).
    stage: Vec<u8>,
    /// Unstuffed message size, counted beyond the cap.
    pub size: u64,
    pub stats: DataStats,
    line_len: u64,
    done: bool,
    /// Seq of the DATA command (set by the session).
    pub seq: u32,
    /// Bytes of this transfer were lost in a gap.
    pub gap: bool,
    /// The non-canonical sequence whose `following` bytes are being kept.
    excerpt_for: Option<usize>,
    /// Length (without CRLF) of the base64 body line seen last, for
    /// [`Self::same_lines`]; 0 when there is none.
    line_guess: usize,
    /// Off only as a test oracle ([`Self::without_fast_paths`]).
    fast_paths: bool,
    /// Bytes taken by [`Self::same_lines`] and [`Self::plain_blocks`].
    #[cfg(test)]
    taken: [usize; 2],
}

impl DataDecoder {
    pub fn new(cap: usize) -> Self {
        DataDecoder {
            strict: Strict::LineStart,
            // Content starts as if just after a CRLF (the DATA line's).
            lenient: Lenient::Break(Brk::CrLf),
            lenient_start_raw: 0,
            lenient_start_msg: 0,
            message: Vec::new(),
            cap,
            keep_raw: true,
            mime: MimeSummarizer::new(),
            stage: Vec::new(),
            size: 0,
            stats: DataStats::default(),
            line_len: 0,
            done: false,
            seq: 0,
            gap: false,
            excerpt_for: None,
            line_guess: 0,
            fast_paths: true,
            #[cfg(test)]
            taken: [0; 2],
        }
    }

    /// Every byte through the automatons, none through the fast paths: the
    /// oracle the fast paths are tested and fuzzed against.
    #[doc(hidden)]
    pub fn without_fast_paths(mut self) -> Self {
        self.fast_paths = false;
        self
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The kept message is shorter than the message (only meaningful with
    /// `keep_raw`).
    pub fn truncated(&self) -> bool {
        self.keep_raw && self.size > self.message.len() as u64
    }

    /// The summary of the unstuffed message; `truncated` when it is not
    /// whole (gap, no terminator). Leaves a fresh summarizer behind.
    pub fn take_summary(&mut self, truncated: bool) -> MessageSummary {
        self.flush_stage();
        std::mem::take(&mut self.mime).finish(truncated)
    }

    /// Consume bytes up to and including the end-of-data terminator.
    /// Returns how many bytes of `input` belong to DATA.
    pub fn feed(&mut self, input: &[u8]) -> usize {
        let mut i = 0;
        while i < input.len() && !self.done {
            if self.fast_paths && self.strict == Strict::Mid && self.lenient == Lenient::Idle {
                let run = self.fast_lines(&input[i..]);
                if run > 0 {
                    i += run;
                    continue;
                }
            }
            let b = input[i];
            self.lenient_step(b);
            self.strict_step(b);
            self.stats.raw_bytes += 1;
            i += 1;
        }
        self.flush_stage();
        i
    }

    /// Fast path, in the middle of a line with nothing pending: take in
    /// bulk ordinary bytes and whole CRLF-ended lines whose next byte
    /// starts nothing ([`starts_something`]), up to the first byte that
    /// needs the automatons. Returns the bytes taken; the state is still
    /// `Mid`/`Idle` afterwards.
    fn fast_lines(&mut self, input: &[u8]) -> usize {
        match self.same_lines(input) {
            0 => self.plain_blocks(input),
            taken => taken,
        }
    }

    /// The fastest path, for base64 bodies at the start of a line: lines
    /// as long as the one before, each checked where its CRLF should be
    /// and for plain text in between, handed to the base64 decoder as
    /// they are. Returns the bytes taken (whole lines).
    fn same_lines(&mut self, input: &[u8]) -> usize {
        let len = self.line_guess;
        if self.line_len != 0 || len == 0 || input.len() < len + 3 {
            return 0;
        }
        // Empty today (a line start is reached here only after a direct
        // run, and `feed` flushes before it returns); kept so that the
        // summarizer can never get bytes out of order.
        self.flush_stage();
        let Some(mut lines) = self.mime.base64_lines() else {
            return 0;
        };
        let mut at = 0;
        while let Some(window) = input.get(at..at + len + 3) {
            let (text, tail) = window.split_at(len);
            let plain = matches!(tail, [b'\r', b'\n', next] if !starts_something(*next, true));
            if !plain || !blocks::plain_text(text) {
                break;
            }
            lines.push(text);
            at += len + 2;
        }
        lines.advance(at);
        if at > 0 {
            // Not long (the guess is at most 998), no 8-bit byte.
            self.stats.crlf_lines += (at / (len + 2)) as u64;
            self.stats.raw_bytes += at as u64;
            self.note_run(input.get(..at).unwrap_or_default(), 0);
        }
        #[cfg(test)]
        {
            self.taken[0] += at;
        }
        at
    }

    /// The fast path a 64-byte block at a time, for what
    /// [`fast_lines`](Self::fast_lines) takes: whole blocks (and the start
    /// of the block where something needs the automatons) whose CRs are
    /// all plain CRLFs followed by a byte that starts nothing, with no bare
    /// LF and no NUL. Each block's line breaks, 8-bit bytes and the bytes
    /// that may start a sequence come as bit masks, so a block costs the
    /// same however many lines end in it.
    ///
    /// When the message is inside a base64 body, a line starting with `-`
    /// also ends the run (it may be a MIME delimiter), and the text between
    /// the line breaks goes straight to the base64 decoder, which then
    /// does not look for the line breaks again. Returns the bytes taken;
    /// never the CR of a CRLF without its LF.
    fn plain_blocks(&mut self, input: &[u8]) -> usize {
        if input.is_empty() {
            return 0;
        }
        // The stage holds bytes before `input`: when the summarizer may be
        // in a base64 body they go first, as they may end it. (Otherwise
        // they may only start one, and this run takes the usual way.)
        if self.mime.base64_lines().is_some() {
            self.flush_stage();
        }
        let mut lines = self.mime.base64_lines();
        let direct = lines.is_some();
        // A byte after a line break that needs the automatons (or the
        // direct route's delimiter check); past the input, any byte may
        // come.
        let starts = |b: Option<u8>| b.is_none_or(|b| starts_something(b, direct));
        let mut at = 0;
        // Where the current line starts in `input`, and its length before
        // `input`.
        let mut line_start = 0;
        let mut carried = self.line_len;
        // The last block taken ended with a CR (its LF was seen plain).
        let mut cr_before = 0u64;
        let mut eight_bit = 0u64;
        // Start of the text not yet handed to `lines`.
        let mut text_from = 0;
        let mut pad = [b'x'; blocks::BLOCK];
        while let Some(rest) = input.get(at..).filter(|r| !r.is_empty()) {
            // The short last block is padded; `valid` has a bit per byte
            // of the input.
            let (block, valid) = match rest.first_chunk::<{ blocks::BLOCK }>() {
                Some(block) => (block, u64::MAX),
                None => {
                    pad.get_mut(..rest.len())
                        .unwrap_or_default()
                        .copy_from_slice(rest);
                    (&pad, (1u64 << rest.len()) - 1)
                }
            };
            let m = blocks::line_masks(block);
            let dash_mask = if direct { m.dash } else { 0 };
            let n0 = input.get(at + blocks::BLOCK).copied();
            let n1 = input.get(at + blocks::BLOCK + 1).copied();
            let odd = m.low & !(m.cr | m.lf);
            // The usual block, told at once: every CR and LF in pairs, no
            // other control, no line starting with a byte that matters.
            let usual = valid == u64::MAX
                && odd == 0
                && ((m.cr << 1) | cr_before) == m.lf
                && (m.lf << 1) & (m.dot | dash_mask | m.low) == 0
                && (m.lf >> 63 == 0 || !starts(n0))
                && (m.cr >> 63 == 0 || (n0 == Some(b'\n') && !starts(n1)));
            let take = if usual {
                blocks::BLOCK
            } else {
                // NUL is one of the rare low controls: found bit by bit.
                let mut nul = 0u64;
                let mut rare = odd & valid;
                while rare != 0 {
                    let i = rare.trailing_zeros();
                    if block.get(i as usize) == Some(&0) {
                        nul |= 1 << i;
                    }
                    rare &= rare - 1;
                }
                let special = m.dot | dash_mask | m.cr | m.lf | nul | !valid;
                let lf_next = (m.lf >> 1) | (u64::from(n0 == Some(b'\n')) << 63);
                let special_after_lf =
                    (special >> 2) | (u64::from(starts(n0)) << 62) | (u64::from(starts(n1)) << 63);
                let odd_cr = m.cr & !(lf_next & !special_after_lf);
                let bare_lf = m.lf & !((m.cr << 1) | cr_before);
                (odd_cr | bare_lf | nul | !valid).trailing_zeros() as usize
            };
            let keep = if take >= blocks::BLOCK {
                u64::MAX
            } else {
                (1u64 << take) - 1
            };
            let mut lfs = m.lf & keep;
            if lfs != 0 {
                // Only the first line ending here can have started before
                // this block.
                let first = at + lfs.trailing_zeros() as usize;
                if carried + (first + 1 - line_start) as u64 > 1000 {
                    self.stats.long_lines += 1;
                }
                self.stats.crlf_lines += u64::from(lfs.count_ones());
                line_start = at + blocks::BLOCK - lfs.leading_zeros() as usize;
                carried = 0;
                if let Some(lines) = &mut lines {
                    let mut guess = 0;
                    while lfs != 0 {
                        let lf = at + lfs.trailing_zeros() as usize;
                        // The text before this line's CR.
                        let text = input.get(text_from..lf - 1).unwrap_or_default();
                        lines.push(text);
                        guess = text.len();
                        text_from = lf + 1;
                        lfs &= lfs - 1;
                    }
                    if take == blocks::BLOCK && guess <= MAX_GUESS {
                        // A line start: lines like the last go faster.
                        // (The first line of the run may have started
                        // before it; then the guess is short, and fails.)
                        self.line_guess = guess;
                        // The bytes up to the last LF (at least one).
                        let high = m.high & (u64::MAX >> (blocks::BLOCK - (line_start - at)));
                        eight_bit += u64::from(high.count_ones());
                        at = line_start;
                        break;
                    }
                }
            }
            eight_bit += u64::from((m.high & keep).count_ones());
            if take < blocks::BLOCK {
                at += take;
                break;
            }
            at += blocks::BLOCK;
            cr_before = m.cr >> 63;
        }
        // A CR ending the input is a stop (its LF is not there yet), and a
        // CR whose LF is the first byte of the next block is never cut
        // from it: that block takes at least its LF. So no pair is split.
        if let Some(lines) = &mut lines {
            lines.push(input.get(text_from..at).unwrap_or_default());
            lines.advance(at);
        }
        if at > 0 {
            self.line_len = carried + (at - line_start) as u64;
            self.stats.raw_bytes += at as u64;
            let run = input.get(..at).unwrap_or_default();
            self.note_run(run, eight_bit);
            if !direct {
                self.summarize(run);
            }
        }
        #[cfg(test)]
        {
            self.taken[1] += at;
        }
        at
    }

    /// What a run of message bytes adds to the counts, the excerpt and the
    /// kept message.
    fn note_run(&mut self, run: &[u8], eight_bit: u64) {
        self.size += run.len() as u64;
        self.stats.eight_bit += eight_bit;
        self.keep_excerpt(run);
        if self.keep_raw {
            let room = self.cap.saturating_sub(self.message.len());
            self.message.extend_from_slice(&run[..room.min(run.len())]);
        }
    }

    fn summarize(&mut self, run: &[u8]) {
        if run.len() >= DIRECT_RUN {
            self.flush_stage();
            self.mime.feed(run);
        } else {
            self.stage.extend_from_slice(run);
            if self.stage.len() >= STAGE {
                self.flush_stage();
            }
        }
    }

    fn emit(&mut self, b: u8) {
        if b == 0 {
            self.stats.nul += 1;
        }
        if b >= 0x80 {
            self.stats.eight_bit += 1;
        }
        self.keep_excerpt(&[b]);
        self.line_len += 1;
        if self.keep_raw && self.message.len() < self.cap {
            self.message.push(b);
        }
        self.size += 1;
        self.stage.push(b);
        if self.stage.len() >= STAGE {
            self.flush_stage();
        }
    }

    fn flush_stage(&mut self) {
        if !self.stage.is_empty() {
            self.mime.feed(&self.stage);
            self.stage.clear();
        }
    }

    /// Feed the excerpt after the latest non-canonical sequence.
    fn keep_excerpt(&mut self, bytes: &[u8]) {
        let Some(i) = self.excerpt_for else { return };
        let Some(nc) = self.stats.non_canonical.get_mut(i) else {
            self.excerpt_for = None;
            return;
        };
        let room = EXCERPT_BYTES.saturating_sub(nc.following.len());
        nc.following
            .extend_from_slice(&bytes[..room.min(bytes.len())]);
        if nc.following.len() >= EXCERPT_BYTES {
            self.excerpt_for = None;
        }
    }

    fn end_line(&mut self) {
        self.stats.crlf_lines += 1;
        // line_len counts the CRLF already emitted.
        if self.line_len > 1000 {
            self.stats.long_lines += 1;
        }
        self.line_len = 0;
    }

    /// RFC 5321 §4.5.2: strict end of data and dot-unstuffing.
    fn strict_step(&mut self, b: u8) {
        self.strict = match (self.strict, b) {
            (Strict::LineStart, b'.') => Strict::Dot,
            (Strict::Dot, b'\r') => Strict::DotCr,
            (Strict::DotCr, b'\n') => {
                self.done = true;
                Strict::LineStart
            }
            (Strict::DotCr, _) => {
                // `.` `\r` X: the dot was stuffing; the CR is content.
                self.emit(b'\r');
                return self.after_cr(b);
            }
            // Any other byte after a line-start dot: the dot is removed.
            (Strict::Dot, _) | (Strict::LineStart, _) | (Strict::Mid, _) => self.plain(b),
            (Strict::Cr, _) => return self.after_cr(b),
        };
    }

    fn after_cr(&mut self, b: u8) {
        if b == b'\n' {
            self.emit(b);
            self.end_line();
            self.strict = Strict::LineStart;
        } else {
            self.stats.bare_cr += 1;
            self.strict = self.plain(b);
        }
    }

    fn plain(&mut self, b: u8) -> Strict {
        self.emit(b);
        match b {
            b'\r' => Strict::Cr,
            b'\n' => {
                self.stats.bare_lf += 1;
                Strict::Mid
            }
            _ => Strict::Mid,
        }
    }

    /// Lenient end-of-data detector (smuggling evidence).
    fn lenient_step(&mut self, b: u8) {
        let raw = self.stats.raw_bytes;
        let msg = self.size;
        let start = |s: &mut Self, brk: Brk| {
            s.lenient_start_raw = raw;
            s.lenient_start_msg = msg;
            Lenient::Break(brk)
        };
        self.lenient = match (self.lenient, b) {
            (Lenient::Break(Brk::Cr), b'\n') => Lenient::Break(Brk::CrLf),
            (Lenient::Break(k), 0) => Lenient::Nul(k),
            (Lenient::Break(k), b'.') => Lenient::Dot(k, false),
            (Lenient::Nul(k), b'.') => Lenient::Dot(k, true),
            (Lenient::Dot(k, n), b'\r') => Lenient::DotCr(k, n),
            (Lenient::Dot(k, n), b'\n') => {
                self.found(k, n, Brk::Lf);
                start(self, Brk::Lf)
            }
            (Lenient::DotCr(k, n), b'\n') => {
                self.found(k, n, Brk::CrLf);
                // The closing CRLF may open the next sequence; its first
                // byte was the CR one step back.
                self.lenient_start_raw = raw.saturating_sub(1);
                self.lenient_start_msg = msg;
                Lenient::Break(Brk::CrLf)
            }
            (Lenient::DotCr(k, n), _) => {
                self.found(k, n, Brk::Cr);
                self.lenient_start_raw = raw.saturating_sub(1);
                self.lenient_start_msg = msg;
                // The CR was a break of its own; re-run this byte after it.
                self.lenient = Lenient::Break(Brk::Cr);
                return self.lenient_step(b);
            }
            (_, b'\r') => start(self, Brk::Cr),
            (_, b'\n') => start(self, Brk::Lf),
            _ => Lenient::Idle,
        };
    }

    fn found(&mut self, open: Brk, nul: bool, close: Brk) {
        if open == Brk::CrLf && !nul && close == Brk::CrLf {
            return; // canonical: the strict automaton ends DATA here
        }
        if self.stats.non_canonical.len() >= MAX_NON_CANONICAL {
            self.stats.non_canonical_dropped += 1;
            return;
        }
        let mut sequence = open.bytes().to_vec();
        if nul {
            sequence.push(0);
        }
        sequence.push(b'.');
        sequence.extend_from_slice(close.bytes());
        self.stats.non_canonical.push(NonCanonicalEod {
            sequence,
            raw_offset: self.lenient_start_raw,
            message_offset: self.lenient_start_msg,
            following: Vec::new(),
        });
        self.excerpt_for = Some(self.stats.non_canonical.len() - 1);
    }
}

/// Dot-stuff a message for sending (RFC 5321 §4.5.2), used by tests and
/// the synthetic generator: a dot at line start is doubled.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n' && out.len() >= 2 && out[out.len() - 2] == b'\r';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> (DataDecoder, usize) {
        let mut d = DataDecoder::new(1 << 20);
        let mut used = 0;
        for c in chunks {
            used += d.feed(c);
        }
        (d, used)
    }

    #[test]
    fn test_dot_unstuffing_and_terminator() {
        let (d, used) = run(&[b"Subject: x\r\n\r\n..leading dot\r\n.\r\n.\r\nafter"]);
        assert!(d.is_done());
        assert_eq!(d.message, b"Subject: x\r\n\r\n.leading dot\r\n");
        // ".\r\n" right after the previous terminator line: first one ends.
        assert_eq!(used, b"Subject: x\r\n\r\n..leading dot\r\n.\r\n".len());
        assert!(d.stats.non_canonical.is_empty());
    }

    #[test]
    fn test_empty_message() {
        let (d, used) = run(&[b".\r\nQUIT\r\n"]);
        assert!(d.is_done());
        assert_eq!(used, 3);
        assert!(d.message.is_empty());
    }

    #[test]
    fn test_terminator_split_at_every_position() {
        let body = b"line1\r\n..dots\r\nend\r\n.\r\nRSET\r\n";
        let eod = body.windows(5).position(|w| w == b"\r\n.\r\n").unwrap() + 5;
        for a in 0..=body.len() {
            for b in a..=body.len() {
                let mut d = DataDecoder::new(1024);
                let mut used = 0;
                for part in [&body[..a], &body[a..b], &body[b..]] {
                    if !d.is_done() {
                        used += d.feed(part);
                    }
                }
                assert!(d.is_done(), "split {a},{b}");
                assert_eq!(used, eod, "split {a},{b}");
                assert_eq!(d.message, b"line1\r\n.dots\r\nend\r\n", "split {a},{b}");
            }
        }
    }

    #[test]
    fn test_non_canonical_sequences_detected_not_ending_data() {
        let cases: &[&[u8]] = &[
            b"\n.\n",
            b"\n.\r\n",
            b"\r.\n",
            b"\r.\r",
            b"\n.\r",
            b"\r.\r\n",
            b"\r\n.\n",
            b"\r\n.\r",
            b"\r\n\x00.\r\n",
        ];
        for seq in cases {
            let mut msg = b"Subject: a\r\n\r\nbody".to_vec();
            msg.extend_from_slice(seq);
            msg.extend_from_slice(b"mail FROM:<x@y>\r\n.\r\n");
            let (d, used) = run(&[&msg]);
            assert!(d.is_done());
            assert_eq!(used, msg.len(), "{seq:?}");
            assert_eq!(
                d.stats.non_canonical.len(),
                1,
                "{:?}: {:?}",
                seq,
                d.stats.non_canonical
            );
            let nc = &d.stats.non_canonical[0];
            assert_eq!(nc.sequence, seq.to_vec());
            assert_eq!(nc.raw_offset, 18);
        }
    }

    #[test]
    fn test_double_cr_variants_are_flagged() {
        let (d, _) = run(&[b"a\r\n.\r\r\nb\r\r\n.\r\r\nc\r\n.\r\n"]);
        let seqs: Vec<_> = d
            .stats
            .non_canonical
            .iter()
            .map(|n| n.sequence.clone())
            .collect();
        assert_eq!(seqs, vec![b"\r\n.\r".to_vec(), b"\r\n.\r".to_vec()]);
        assert!(d.stats.bare_cr >= 2);
    }

    #[test]
    fn test_counts_bare_cr_lf_nul() {
        let (d, _) = run(&[b"a\rb\nc\x00d\r\n.\r\n"]);
        assert_eq!(d.stats.bare_cr, 1);
        assert_eq!(d.stats.bare_lf, 1);
        assert_eq!(d.stats.nul, 1);
        assert_eq!(d.message, b"a\rb\nc\x00d\r\n");
    }

    #[test]
    fn test_dot_cr_not_lf_is_stuffed_content() {
        let (d, _) = run(&[b"x\r\n.\rY\r\n.\r\n"]);
        assert_eq!(d.message, b"x\r\n\rY\r\n");
        assert_eq!(d.stats.bare_cr, 1);
    }

    #[test]
    fn test_cap_counts_full_size() {
        let mut d = DataDecoder::new(10);
        let mut msg = vec![b'a'; 100];
        msg.extend_from_slice(b"\r\n.\r\n");
        d.feed(&msg);
        assert!(d.is_done());
        assert_eq!(d.message.len(), 10);
        assert_eq!(d.size, 102);
        assert!(d.truncated());
    }

    #[test]
    fn test_dot_stuff_roundtrip() {
        let msg = b".a\r\nb\r\n.\r\n..c\r\n";
        let mut stuffed = dot_stuff(msg);
        stuffed.extend_from_slice(b".\r\n");
        let (d, _) = run(&[&stuffed]);
        assert!(d.is_done());
        assert_eq!(d.message, msg);
    }

    /// Feed `wire` in chunks cut at `cuts` (repeated), until done.
    fn feed_cut(d: &mut DataDecoder, wire: &[u8], cuts: &[usize]) -> usize {
        let mut used = 0;
        let mut rest = wire;
        for &c in cuts.iter().cycle() {
            if rest.is_empty() || d.is_done() {
                break;
            }
            let (now, later) = rest.split_at(c.clamp(1, rest.len()));
            used += d.feed(now);
            rest = later;
        }
        used
    }

    /// `wire` through the fast paths in `cuts`-sized chunks against the
    /// automatons alone (one byte at a time): the same bytes taken, message
    /// kept, counts and summary. Returns the fast decoder's summary and
    /// kept message.
    fn fast_against_oracle(
        wire: &[u8],
        cuts: &[usize],
        cap: usize,
        keep_raw: bool,
    ) -> Result<(MessageSummary, Vec<u8>), proptest::test_runner::TestCaseError> {
        let make = || {
            let mut d = DataDecoder::new(cap);
            d.keep_raw = keep_raw;
            d
        };
        let mut fast = make();
        let used = feed_cut(&mut fast, wire, cuts);
        let mut oracle = make().without_fast_paths();
        let used_oracle = feed_cut(&mut oracle, wire, &[1]);
        proptest::prop_assert_eq!(used, used_oracle);
        proptest::prop_assert_eq!(fast.is_done(), oracle.is_done());
        proptest::prop_assert_eq!(&fast.message, &oracle.message);
        proptest::prop_assert_eq!(&fast.stats, &oracle.stats);
        proptest::prop_assert_eq!(fast.size, oracle.size);
        proptest::prop_assert_eq!(fast.truncated(), oracle.truncated());
        let message = fast.message.clone();
        let summary = fast.take_summary(false);
        proptest::prop_assert_eq!(&summary, &oracle.take_summary(false));
        Ok((summary, message))
    }

    proptest::proptest! {
        /// The bulk paths (whole lines, whole blocks at a time) against the
        /// byte-at-a-time automatons, with any cap, kept or not.
        #[test]
        fn test_bulk_lines_match_byte_at_a_time(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::bytes_regex("[a-z ]{0,90}").unwrap(),
                    proptest::string::bytes_regex("[a-z]{990,1010}").unwrap(),
                    proptest::collection::vec(proptest::prop_oneof![
                        proptest::strategy::Just(b'.'), proptest::strategy::Just(b'\r'),
                        proptest::strategy::Just(b'\n'), proptest::strategy::Just(0u8),
                        proptest::strategy::Just(0xe9u8), proptest::strategy::Just(b'x'),
                        proptest::strategy::Just(b'-'),
                        // Below CR like CR, LF and NUL, but ordinary.
                        proptest::strategy::Just(b'\t'), proptest::strategy::Just(0x0cu8),
                    ], 0..4),
                ],
                0..40,
            ),
            end_with_eod in proptest::bool::ANY,
            cuts in proptest::collection::vec(1usize..300, 1..20),
            cap in proptest::prop_oneof![0usize..3000, proptest::strategy::Just(1 << 20)],
            keep_raw in proptest::bool::ANY,
        ) {
            let mut body = Vec::new();
            for p in &parts {
                body.extend_from_slice(p);
                body.extend_from_slice(b"\r\n");
            }
            if end_with_eod {
                body.extend_from_slice(b".\r\nQUIT\r\n");
            }
            fast_against_oracle(&body, &cuts, cap, keep_raw)?;
            // And whole, the way a 64 KiB loopback segment comes.
            fast_against_oracle(&body, &[usize::MAX], cap, keep_raw)?;
        }

        /// The base64 fast paths (lines handed to the decoder without a
        /// second look, lines as long as the last) against the automatons
        /// alone and against the summarizer fed the unstuffed message
        /// whole: lines of any length (around the longest guessed, 998,
        /// too), with the bytes that stop the fast paths (CR, LF, NUL, `.`,
        /// `-`, 8-bit) anywhere in them, in any chunks, any cap.
        #[test]
        fn test_base64_fast_paths_match_the_summarizer_alone(
            lines in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        8 => proptest::strategy::Just(76usize),
                        1 => 0usize..130,
                        1 => 995usize..1002,
                    ],
                    proptest::collection::vec(
                        // Mostly past the line's end (no change).
                        (0usize..1500, proptest::sample::select(vec![b'\r', b'\n', 0, 0xe9, b'.', b'-', b'='])),
                        0..3,
                    ),
                ),
                0..90,
            ),
            seed in proptest::num::u32::ANY,
            cuts in proptest::collection::vec(1usize..300, 1..40),
            cap in proptest::prop_oneof![0usize..3000, proptest::strategy::Just(1 << 22)],
            keep_raw in proptest::bool::ANY,
        ) {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut msg = b"Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n.dot\r\n-- sig\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
            let mut x = seed;
            for (len, odd) in &lines {
                let mut line: Vec<u8> = (0..*len)
                    .map(|_| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        ALPHABET[(x >> 16) as usize % 64]
                    })
                    .collect();
                for &(at, b) in odd {
                    if let Some(c) = line.get_mut(at) {
                        *c = b;
                    }
                }
                msg.extend_from_slice(&line);
                msg.extend_from_slice(b"\r\n");
            }
            msg.extend_from_slice(b"--b1--\r\n");
            let mut wire = dot_stuff(&msg);
            wire.extend_from_slice(b".\r\n");

            let (summary, kept) = fast_against_oracle(&wire, &cuts, cap, keep_raw)?;
            proptest::prop_assert_eq!(&kept[..], &msg[..kept.len()]);
            let mut alone = MimeSummarizer::new();
            alone.feed(&msg);
            proptest::prop_assert_eq!(summary, alone.finish(false));
        }
    }

    #[test]
    fn test_base64_lines_take_the_fast_paths() {
        // Not a proof of speed, but that the paths run: a base64 body of
        // equal lines in 1448-byte segments decodes to what the summarizer
        // gives alone.
        let mut msg =
            b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                .to_vec();
        for i in 0..2000u32 {
            let line: Vec<u8> = (0..76u32)
                .map(|j| b"ABCDabcd0123+/xy"[((i * 7 + j) % 16) as usize])
                .collect();
            msg.extend_from_slice(&line);
            msg.extend_from_slice(b"\r\n");
        }
        let mut wire = dot_stuff(&msg);
        wire.extend_from_slice(b".\r\n");
        let chunks: Vec<&[u8]> = wire.chunks(1448).collect();
        let (mut d, used) = run(&chunks);
        assert_eq!(used, wire.len());
        assert!(d.is_done());
        assert_eq!(d.stats.crlf_lines, 2003);
        assert_eq!(d.line_guess, 76);
        // Most lines after a segment's first are checked only where their
        // CRLF should be; the block scan takes the rest of the body.
        let [same, blocks] = d.taken;
        eprintln!("same_lines {same}, plain_blocks {blocks} of {}", wire.len());
        assert!(same > wire.len() * 8 / 10, "same_lines took {same}");
        assert!(same + blocks > wire.len() * 99 / 100, "{same} + {blocks}");
        let mut alone = MimeSummarizer::new();
        alone.feed(&msg);
        assert_eq!(d.take_summary(false), alone.finish(false));
    }
}
