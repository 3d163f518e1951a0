//! Is this connection SMTP? Used by the pipeline before a decoder exists.
//!
//! Well-known ports decide at once ([`is_smtp_port`]). Elsewhere content
//! decides: a `220` greeting answered by EHLO/HELO/LHLO, or a client
//! EHLO/HELO/LHLO seen before any greeting. FTP and POP3 also greet (220 /
//! `+OK`) but their clients answer `USER`, so they come out `NotSmtp`. Only
//! the first line of each direction is looked at, from a buffer capped at
//! [`DETECT_BYTES`].

use crate::net::Dir;

/// Ports treated as SMTP without looking at content: 25 (relay), 465
/// (submissions, implicit TLS), 587 (submission), 2525 (common alternate),
/// 24 (LMTP).
pub const DEFAULT_SMTP_PORTS: [u16; 5] = [25, 465, 587, 2525, 24];

/// Ports where TLS starts immediately (RFC 8314 §3.3).
pub const IMPLICIT_TLS_PORTS: [u16; 1] = [465];

/// Bytes looked at per direction.
pub const DETECT_BYTES: usize = 1024;

pub fn is_smtp_port(port: u16, extra_ports: &[u16]) -> bool {
    DEFAULT_SMTP_PORTS.contains(&port) || extra_ports.contains(&port)
}

pub fn is_implicit_tls_port(port: u16) -> bool {
    IMPLICIT_TLS_PORTS.contains(&port)
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Detection {
    Smtp,
    NotSmtp,
    Undecided,
}

/// What the first line of a direction looks like.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum First {
    Greeting,
    Hello,
    Other,
}

/// Incremental content detector over the first bytes of each direction.
#[derive(Debug, Default)]
pub struct Detector {
    buf: [Vec<u8>; 2],
    first: [Option<First>; 2],
    verdict: Option<Detection>,
    swapped: bool,
}

impl Detector {
    pub fn new() -> Self {
        Detector::default()
    }

    /// The client and server roles the net layer guessed are reversed:
    /// the "client" greets and the "server" says EHLO. The pipeline should
    /// flip `Dir` before feeding the decoder.
    pub fn roles_swapped(&self) -> bool {
        self.swapped
    }

    pub fn verdict(&self) -> Detection {
        self.verdict.unwrap_or(Detection::Undecided)
    }

    pub fn feed(&mut self, dir: Dir, bytes: &[u8]) -> Detection {
        if let Some(v) = self.verdict {
            return v;
        }
        let d = dir.index();
        if self.first[d].is_none() {
            let b = &mut self.buf[d];
            let room = DETECT_BYTES.saturating_sub(b.len());
            b.extend_from_slice(&bytes[..bytes.len().min(room)]);
            if let Some(end) = memchr::memchr(b'\n', b) {
                let line = &b[..end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                self.first[d] = Some(classify(line));
                self.buf[d] = Vec::new();
            } else if b.len() >= DETECT_BYTES {
                self.first[d] = Some(First::Other);
            }
        }
        self.decide()
    }

    fn decide(&mut self) -> Detection {
        let [c, s] = self.first;
        let v = match (c, s) {
            // Normal orientation.
            (Some(First::Hello), None | Some(First::Greeting)) => Some((Detection::Smtp, false)),
            (None, Some(First::Greeting)) => None,
            (Some(First::Other), Some(First::Greeting)) => Some((Detection::NotSmtp, false)),
            // Reversed orientation (mid-stream capture, roles guessed).
            (Some(First::Greeting), Some(First::Hello)) | (None, Some(First::Hello)) => {
                Some((Detection::Smtp, true))
            }
            (Some(First::Greeting), None) => None,
            (Some(First::Greeting), Some(_)) => Some((Detection::NotSmtp, false)),
            (Some(First::Hello), Some(_)) => Some((Detection::NotSmtp, false)),
            (Some(First::Other), _) | (_, Some(First::Other)) => Some((Detection::NotSmtp, false)),
            (None, None) => None,
        };
        match v {
            Some((verdict, swapped)) => {
                self.verdict = Some(verdict);
                self.swapped = swapped;
                self.buf = [Vec::new(), Vec::new()];
                verdict
            }
            None => Detection::Undecided,
        }
    }
}

fn classify(line: &[u8]) -> First {
    if line.len() >= 3
        && (line.starts_with(b"220") || line.starts_with(b"421") || line.starts_with(b"554"))
        && matches!(line.get(3), None | Some(b' ' | b'-'))
    {
        return First::Greeting;
    }
    if line.len() >= 4
        && [&b"EHLO"[..], b"HELO", b"LHLO"]
            .iter()
            .any(|v| line[..4].eq_ignore_ascii_case(v))
        && matches!(line.get(4), Some(b' ' | b'\t'))
        // RFC 5321 §4.1.1.1: the greeting names the client. A bare "HELO"
        // is too weak to call an arbitrary port SMTP.
        && line[5..].iter().any(|b| !b.is_ascii_whitespace())
    {
        return First::Hello;
    }
    First::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dir::{ClientToServer as Cl, ServerToClient as Sv};

    #[test]
    fn test_ports() {
        assert!(is_smtp_port(25, &[]));
        assert!(is_smtp_port(24, &[]));
        assert!(!is_smtp_port(2526, &[]));
        assert!(is_smtp_port(2526, &[2526]));
        assert!(is_implicit_tls_port(465));
    }

    #[test]
    fn test_greeting_then_ehlo_is_smtp() {
        let mut d = Detector::new();
        assert_eq!(
            d.feed(Sv, b"220 mx.example ESMTP\r\n"),
            Detection::Undecided
        );
        assert_eq!(d.feed(Cl, b"ehlo client\r\n"), Detection::Smtp);
        assert!(!d.roles_swapped());
    }

    #[test]
    fn test_ehlo_before_greeting_is_smtp_even_split() {
        let mut d = Detector::new();
        assert_eq!(d.feed(Cl, b"EH"), Detection::Undecided);
        assert_eq!(d.feed(Cl, b"LO x\r\n"), Detection::Smtp);
    }

    #[test]
    fn test_ftp_pop_http_not_smtp() {
        let mut d = Detector::new();
        d.feed(Sv, b"220 ProFTPD Server ready\r\n");
        assert_eq!(d.feed(Cl, b"USER anonymous\r\n"), Detection::NotSmtp);
        let mut d = Detector::new();
        assert_eq!(d.feed(Sv, b"+OK POP3 ready\r\n"), Detection::NotSmtp);
        let mut d = Detector::new();
        assert_eq!(
            d.feed(Cl, b"GET / HTTP/1.1\r\nHost: x\r\n"),
            Detection::NotSmtp
        );
        let mut d = Detector::new();
        assert_eq!(d.feed(Cl, &[b'x'; 2000]), Detection::NotSmtp);
    }

    #[test]
    fn test_swapped_roles_detected() {
        let mut d = Detector::new();
        d.feed(Cl, b"220 mx ESMTP\r\n");
        assert_eq!(d.feed(Sv, b"EHLO client\r\n"), Detection::Smtp);
        assert!(d.roles_swapped());
        let mut d = Detector::new();
        assert_eq!(d.feed(Sv, b"HELO c\r\n"), Detection::Smtp);
        assert!(d.roles_swapped());
    }
}
