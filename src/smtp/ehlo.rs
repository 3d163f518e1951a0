//! EHLO reply capabilities (RFC 5321 §4.1.1.1, IANA SMTP Service
//! Extensions registry). The first reply line is the server's greeting
//! name; each following line is `ehlo-keyword *( SP ehlo-param )`.

use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Every keyword line as sent (lossy UTF-8), in order.
    pub raw: Vec<String>,
    /// SIZE with its optional maximum (RFC 1870). `Some(None)` = SIZE
    /// without a limit.
    pub size: Option<Option<u64>>,
    /// AUTH mechanisms, uppercased, from `AUTH` and legacy `AUTH=` lines.
    pub auth: Vec<String>,
    /// A legacy `AUTH=` line was present (pre-RFC 4954 clients).
    pub auth_legacy: bool,
    pub pipelining: bool,
    pub chunking: bool,
    pub eight_bit_mime: bool,
    pub binary_mime: bool,
    pub smtputf8: bool,
    pub starttls: bool,
    pub dsn: bool,
    pub enhanced_status_codes: bool,
}

impl Capabilities {
    /// Parse from the text of each reply line (code and separator removed).
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Capabilities {
        let mut caps = Capabilities::default();
        for text in lines.into_iter().skip(1) {
            caps.add_line(text);
        }
        caps
    }

    fn add_line(&mut self, text: &[u8]) {
        let line = String::from_utf8_lossy(text);
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        self.raw.push(line.to_string());
        // `AUTH=LOGIN PLAIN` (legacy) splits at '=' as well as at SP.
        let (keyword, params) = match line.find([' ', '=']) {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, ""),
        };
        let legacy_eq = line.as_bytes().get(keyword.len()) == Some(&b'=');
        let params = params.split_ascii_whitespace();
        match keyword.to_ascii_uppercase().as_str() {
            "SIZE" => {
                let limit = params.clone().next().and_then(|p| p.parse::<u64>().ok());
                self.size = Some(limit.filter(|&n| n > 0));
            }
            "AUTH" => {
                if legacy_eq {
                    self.auth_legacy = true;
                }
                for m in params {
                    let m = m.to_ascii_uppercase();
                    if !self.auth.contains(&m) {
                        self.auth.push(m);
                    }
                }
            }
            "PIPELINING" => self.pipelining = true,
            "CHUNKING" => self.chunking = true,
            "8BITMIME" => self.eight_bit_mime = true,
            "BINARYMIME" => self.binary_mime = true,
            "SMTPUTF8" => self.smtputf8 = true,
            "STARTTLS" => self.starttls = true,
            "DSN" => self.dsn = true,
            "ENHANCEDSTATUSCODES" => self.enhanced_status_codes = true,
            _ => {}
        }
    }

    /// Keywords (first word of each line, uppercased) for display.
    pub fn keywords(&self) -> impl Iterator<Item = String> + '_ {
        self.raw.iter().map(|l| {
            l.split([' ', '='])
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ehlo_capabilities_parsed() {
        let lines: Vec<&[u8]> = vec![
            b"mx.example Hello client [192.0.2.1]",
            b"SIZE 52428800",
            b"8BITMIME",
            b"PIPELINING",
            b"auth PLAIN LOGIN CRAM-MD5",
            b"AUTH=LOGIN PLAIN XOAUTH2",
            b"CHUNKING",
            b"BINARYMIME",
            b"SMTPUTF8",
            b"STARTTLS",
            b"DSN",
            b"ENHANCEDSTATUSCODES",
            b"X-EXPS GSSAPI NTLM",
        ];
        let c = Capabilities::from_lines(lines);
        assert_eq!(c.size, Some(Some(52_428_800)));
        assert_eq!(c.auth, vec!["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"]);
        assert!(c.auth_legacy);
        assert!(c.pipelining && c.chunking && c.eight_bit_mime && c.binary_mime);
        assert!(c.smtputf8 && c.starttls && c.dsn && c.enhanced_status_codes);
        assert_eq!(c.raw.len(), 12);
        assert_eq!(c.keywords().last().unwrap(), "X-EXPS");
    }

    #[test]
    fn test_ehlo_size_without_limit_and_greeting_line_skipped() {
        let lines: Vec<&[u8]> = vec![b"STARTTLS", b"SIZE"];
        let c = Capabilities::from_lines(lines);
        // The first line is the server name, never a keyword.
        assert!(!c.starttls);
        assert_eq!(c.size, Some(None));
    }
}
