//! Server replies (RFC 5321 §4.2) and enhanced status codes (RFC 3463).
//!
//! `Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//!               Reply-code [ SP textstring ] CRLF`
//!
//! Codes are an open newtype: "999" is kept (and flagged out of range);
//! only lines that do not start with three digits are unparsable.

use serde::Serialize;
use std::fmt;

/// A three-digit reply code, any value 0..=999 carried.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ReplyCode(pub u16);

impl ReplyCode {
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    pub const CLOSING: ReplyCode = ReplyCode(221);
    pub const AUTH_OK: ReplyCode = ReplyCode(235);
    pub const OK: ReplyCode = ReplyCode(250);
    pub const AUTH_CONTINUE: ReplyCode = ReplyCode(334);
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);
    pub const NOT_AVAILABLE: ReplyCode = ReplyCode(421);

    /// First digit: 2 positive, 3 intermediate, 4 transient, 5 permanent.
    pub fn class(self) -> u16 {
        self.0 / 100
    }

    pub fn is_positive(self) -> bool {
        self.class() == 2
    }

    pub fn is_intermediate(self) -> bool {
        self.class() == 3
    }

    pub fn is_negative(self) -> bool {
        matches!(self.class(), 4 | 5)
    }

    /// RFC 5321 §4.2: `Reply-code = %x32-35 %x30-35 %x30-39`.
    pub fn in_rfc_range(self) -> bool {
        (2..=5).contains(&(self.0 / 100)) && (self.0 / 10) % 10 <= 5
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// An RFC 3463 enhanced status code `class.subject.detail`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct EnhancedCode {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl EnhancedCode {
    /// Parses a leading `x.y.z` (RFC 3463 §2: class 2/4/5, subject and
    /// detail 1-3 digits) followed by SP or end of text. Returns the code
    /// and the text after it.
    pub fn parse_prefix(text: &[u8]) -> Option<(EnhancedCode, &[u8])> {
        let end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
        let word = &text[..end];
        let mut parts = word.split(|&b| b == b'.');
        let c = parts.next()?;
        let s = parts.next()?;
        let d = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let num = |p: &[u8], max: usize| -> Option<u16> {
            if p.is_empty() || p.len() > max || !p.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(p).ok()?.parse().ok()
        };
        let class = num(c, 1)?;
        if !matches!(class, 2 | 4 | 5) {
            return None;
        }
        let code = EnhancedCode {
            class: class as u8,
            subject: num(s, 3)?,
            detail: num(d, 3)?,
        };
        let rest = text.get(end + 1..).unwrap_or(&[]);
        Some((code, rest))
    }
}

/// One reply line, borrowed from the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    pub code: ReplyCode,
    /// `-` continuation (more lines follow).
    pub continued: bool,
    /// Text after the separator.
    pub text: &'a [u8],
    /// The separator after the code was neither SP, `-` nor end of line
    /// (e.g. `250OK`); the line is still accepted as the last line.
    pub bad_separator: bool,
}

impl<'a> ReplyLine<'a> {
    /// `None` when the line does not start with exactly three digits.
    pub fn parse(line: &'a [u8]) -> Option<ReplyLine<'a>> {
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            return None;
        }
        if line.get(3).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let code = ReplyCode(
            (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16,
        );
        let (continued, text, bad_separator) = match line.get(3) {
            None => (false, &line[3..], false),
            Some(b' ') => (false, &line[4..], false),
            Some(b'-') => (true, &line[4..], false),
            Some(_) => (false, &line[3..], true),
        };
        Some(ReplyLine {
            code,
            continued,
            text,
            bad_separator,
        })
    }
}

/// A complete (possibly multi-line) reply, owned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// The code of the first line.
    pub code: ReplyCode,
    /// Enhanced code from the first line, when present.
    pub enhanced: Option<EnhancedCode>,
    /// Text of each line after the code and separator (raw bytes).
    #[serde(skip)]
    pub lines: Vec<Vec<u8>>,
    /// Lines beyond the per-reply cap, counted not kept.
    pub lines_dropped: u64,
}

impl Reply {
    /// Text of the first line without the enhanced code.
    pub fn first_text(&self) -> &[u8] {
        let t = self.lines.first().map(Vec::as_slice).unwrap_or(&[]);
        match EnhancedCode::parse_prefix(t) {
            Some((_, rest)) if self.enhanced.is_some() => rest,
            _ => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_reply_line_single_and_continuation() {
        let l = ReplyLine::parse(b"250-mx.example Hello").unwrap();
        assert_eq!(l.code, ReplyCode(250));
        assert!(l.continued);
        assert_eq!(l.text, b"mx.example Hello");
        let l = ReplyLine::parse(b"250 OK").unwrap();
        assert!(!l.continued);
        let l = ReplyLine::parse(b"354").unwrap();
        assert_eq!(l.code, ReplyCode(354));
        assert_eq!(l.text, b"");
    }

    #[test]
    fn test_reply_codes_out_of_range_and_garbage() {
        let l = ReplyLine::parse(b"999 what").unwrap();
        assert_eq!(l.code, ReplyCode(999));
        assert!(!l.code.in_rfc_range());
        assert!(!ReplyCode(260).in_rfc_range());
        assert!(!ReplyCode(199).in_rfc_range());
        assert!(ReplyCode(554).in_rfc_range());
        assert_eq!(ReplyLine::parse(b"12"), None);
        assert_eq!(ReplyLine::parse(b"12 x"), None);
        assert_eq!(ReplyLine::parse(b"abc def"), None);
        assert_eq!(ReplyLine::parse(b"2500 x"), None);
        assert!(ReplyLine::parse(b"250OK").unwrap().bad_separator);
    }

    #[test]
    fn test_enhanced_code_split() {
        let (c, rest) = EnhancedCode::parse_prefix(b"5.7.8 Authentication failed").unwrap();
        assert_eq!(c.to_string(), "5.7.8");
        assert_eq!(rest, b"Authentication failed");
        let (c, _) = EnhancedCode::parse_prefix(b"2.1.0").unwrap();
        assert_eq!((c.class, c.subject, c.detail), (2, 1, 0));
        assert!(EnhancedCode::parse_prefix(b"3.1.0 x").is_none());
        assert!(EnhancedCode::parse_prefix(b"2.1 x").is_none());
        assert!(EnhancedCode::parse_prefix(b"2.1.1000 x").is_none());
        assert!(EnhancedCode::parse_prefix(b"OK").is_none());
        assert!(EnhancedCode::parse_prefix(b"4.4.7.1 x").is_none());
    }
}
