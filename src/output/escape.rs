//! Making bytes from the wire safe to print.
//!
//! Invariant: whatever goes in, what comes out contains no C0/C1 control
//! characters, no DEL, no Unicode bidi or other format controls, and so can
//! never drive a terminal (ESC sequences, OSC 8/52), reorder a line (bidi) or
//! hide text. Printable UTF-8 passes through unchanged so mail in any script
//! stays readable. Escapes are visible and unambiguous: a literal backslash is
//! doubled.

use std::fmt::Write;

/// Escape raw bytes for display: valid UTF-8 printable text as is, anything
/// else as `\xNN`, `\r`, `\n`, `\t`, `\0` or `\u{NNNN}`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_escaped_bytes(&mut out, bytes);
    out
}

/// Escape a string that is already valid UTF-8 (e.g. a decoded header).
pub fn escape_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped_str(&mut out, s);
    out
}

pub fn push_escaped_bytes(out: &mut String, mut bytes: &[u8]) {
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                push_escaped_str(out, s);
                return;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                // SAFETY of the unwrap-free path: `good` is valid by construction.
                push_escaped_str(out, std::str::from_utf8(good).unwrap_or_default());
                let bad_len = e.error_len().unwrap_or(rest.len()).max(1);
                for b in &rest[..bad_len] {
                    let _ = write!(out, "\\x{b:02x}");
                }
                bytes = &rest[bad_len..];
            }
        }
    }
}

pub fn push_escaped_str(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_dangerous(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// C1 controls and the invisible format characters that can reorder or
/// hide text (Trojan Source, CVE-2021-42574).
pub(crate) fn is_dangerous(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f            // C1 controls (0x9b is a one-byte CSI)
        | 0x061c               // ARABIC LETTER MARK
        | 0x200b..=0x200f      // zero-width and LRM/RLM
        | 0x2028..=0x202e      // line/paragraph separators, bidi embeddings
        | 0x2060..=0x2069      // word joiner, bidi isolates
        | 0xfeff               // BOM / zero-width no-break space
        | 0xfff9..=0xfffb      // interlinear annotations
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_escape_keeps_printable_utf8() {
        assert_eq!(escape_bytes("Grüße, 世界".as_bytes()), "Grüße, 世界");
    }

    #[test]
    fn test_escape_terminal_sequences_and_controls() {
        let hostile = b"\x1b]8;;http://evil\x07click\x1b]52;c;AAAA\x07\x1b[2J\0\r\n\x7f";
        let out = escape_bytes(hostile);
        assert_eq!(
            out,
            "\\x1b]8;;http://evil\\x07click\\x1b]52;c;AAAA\\x07\\x1b[2J\\0\\r\\n\\x7f"
        );
        assert!(!out.chars().any(|c| c.is_control()));
    }

    #[test]
    fn test_escape_invalid_utf8_and_c1_and_bidi() {
        assert_eq!(escape_bytes(b"a\xffb\xc2"), "a\\xffb\\xc2");
        assert_eq!(escape_str("x\u{9b}31m"), "x\\u{009b}31m");
        assert_eq!(escape_str("abc\u{202e}def"), "abc\\u{202e}def");
    }

    #[test]
    fn test_escape_backslash_is_unambiguous() {
        assert_eq!(escape_bytes(b"\\x1b"), "\\\\x1b");
    }
}
