//! Client command lines (RFC 5321 §4.1, plus the common extensions).
//!
//! Parsing is tolerant: whatever a server might have accepted is decoded,
//! and each deviation from the RFC grammar is reported as a
//! [`CommandDeviation`] next to the parsed command instead of a rejection.

use serde::Serialize;

use super::auth::Secret;

/// A command verb. Open: an unknown verb is kept verbatim (uppercased).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub enum Verb {
    Ehlo,
    Helo,
    Lhlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Vrfy,
    Expn,
    Help,
    Noop,
    Quit,
    StartTls,
    Auth,
    Etrn,
    Atrn,
    Turn,
    XClient,
    XForward,
    Other(String),
}

/// Bytes of an unknown verb kept as its name (longer ones end in "...").
pub const MAX_VERB_BYTES: usize = 64;

impl From<Verb> for String {
    fn from(v: Verb) -> String {
        v.as_str().to_string()
    }
}

impl Verb {
    /// Verbs are case-insensitive (RFC 5321 §2.4); lowercase ones appear in
    /// real captures.
    pub fn from_bytes(word: &[u8]) -> Verb {
        let mut up = [0u8; 8];
        if word.len() <= up.len() {
            for (d, s) in up.iter_mut().zip(word) {
                *d = s.to_ascii_uppercase();
            }
            let known = match &up[..word.len()] {
                b"EHLO" => Some(Verb::Ehlo),
                b"HELO" => Some(Verb::Helo),
                b"LHLO" => Some(Verb::Lhlo),
                b"MAIL" => Some(Verb::Mail),
                b"RCPT" => Some(Verb::Rcpt),
                b"DATA" => Some(Verb::Data),
                b"BDAT" => Some(Verb::Bdat),
                b"RSET" => Some(Verb::Rset),
                b"VRFY" => Some(Verb::Vrfy),
                b"EXPN" => Some(Verb::Expn),
                b"HELP" => Some(Verb::Help),
                b"NOOP" => Some(Verb::Noop),
                b"QUIT" => Some(Verb::Quit),
                b"STARTTLS" => Some(Verb::StartTls),
                b"AUTH" => Some(Verb::Auth),
                b"ETRN" => Some(Verb::Etrn),
                b"ATRN" => Some(Verb::Atrn),
                b"TURN" => Some(Verb::Turn),
                b"XCLIENT" => Some(Verb::XClient),
                _ => None,
            };
            if let Some(v) = known {
                return v;
            }
        }
        if word.eq_ignore_ascii_case(b"XFORWARD") {
            return Verb::XForward;
        }
        // A hostile "verb" can be a whole 64 KiB line; the line itself is
        // kept in the timeline, the verb only names it.
        let mut verb =
            String::from_utf8_lossy(&word[..word.len().min(MAX_VERB_BYTES)]).to_ascii_uppercase();
        if word.len() > MAX_VERB_BYTES {
            verb.push_str("...");
        }
        Verb::Other(verb)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Verb::Ehlo => "EHLO",
            Verb::Helo => "HELO",
            Verb::Lhlo => "LHLO",
            Verb::Mail => "MAIL",
            Verb::Rcpt => "RCPT",
            Verb::Data => "DATA",
            Verb::Bdat => "BDAT",
            Verb::Rset => "RSET",
            Verb::Vrfy => "VRFY",
            Verb::Expn => "EXPN",
            Verb::Help => "HELP",
            Verb::Noop => "NOOP",
            Verb::Quit => "QUIT",
            Verb::StartTls => "STARTTLS",
            Verb::Auth => "AUTH",
            Verb::Etrn => "ETRN",
            Verb::Atrn => "ATRN",
            Verb::Turn => "TURN",
            Verb::XClient => "XCLIENT",
            Verb::XForward => "XFORWARD",
            Verb::Other(s) => s,
        }
    }

    pub fn is_known(&self) -> bool {
        !matches!(self, Verb::Other(_))
    }

    pub fn is_hello(&self) -> bool {
        matches!(self, Verb::Ehlo | Verb::Helo | Verb::Lhlo)
    }
}

/// An ESMTP parameter `KEY[=VALUE]` (RFC 5321 §4.1.2 `esmtp-param`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Param {
    /// Uppercased keyword.
    pub key: String,
    pub value: Option<String>,
}

/// The parsed arguments of a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Args {
    None,
    /// EHLO/HELO/LHLO domain or address literal.
    Hello {
        domain: String,
    },
    /// MAIL FROM / RCPT TO: the path without brackets, and parameters.
    Path {
        address: String,
        params: Vec<Param>,
    },
    /// BDAT chunk-size [LAST] (RFC 3030 §2); `size` is None when not a
    /// number that fits in u64.
    Bdat {
        size: Option<u64>,
        last: bool,
    },
    /// AUTH mechanism [initial-response] (RFC 4954 §4). The initial
    /// response carries credentials: it is kept as a [`Secret`].
    Auth {
        mechanism: String,
        initial_response: Option<Secret>,
    },
    /// Anything else: the argument text verbatim (lossy UTF-8).
    Text {
        text: String,
    },
}

/// A deviation from RFC 5321 syntax that servers commonly tolerate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandDeviation {
    /// `MAIL FROM: <a@b>`: space between colon and path.
    SpaceBeforePath,
    /// `MAIL FROM:a@b`: path without angle brackets.
    MissingAngleBrackets,
    /// `MAIL FROM <a@b>` or `MAIL <a@b>`: the `FROM:`/`TO:` keyword is
    /// missing or lacks its colon.
    MissingPathKeyword,
    /// Separator other than a single SP after the verb.
    BadVerbSeparator,
    /// BDAT size is not a decimal number that fits in 64 bits.
    BdatBadSize,
    /// BDAT with an unexpected trailing token (not `LAST`).
    BdatBadArgs,
    /// Bytes >= 0x80 in the command line.
    NonAscii,
    /// A NUL or other control character inside the command line.
    ControlChar,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    pub verb: Verb,
    pub args: Args,
    pub deviations: Vec<CommandDeviation>,
}

impl Command {
    pub fn parse(line: &[u8]) -> Command {
        let mut deviations = Vec::new();
        if line.iter().any(|&b| b >= 0x80) {
            deviations.push(CommandDeviation::NonAscii);
        }
        if line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            deviations.push(CommandDeviation::ControlChar);
        }
        let verb_end = line
            .iter()
            .position(|&b| b == b' ' || b == b'\t')
            .unwrap_or(line.len());
        let verb = Verb::from_bytes(&line[..verb_end]);
        let mut rest = &line[verb_end..];
        if !rest.is_empty() && (rest[0] == b'\t' || rest.get(1) == Some(&b' ')) {
            deviations.push(CommandDeviation::BadVerbSeparator);
        }
        rest = trim_start(rest);
        let rest = trim_end(rest);
        let args = match verb {
            Verb::Ehlo | Verb::Helo | Verb::Lhlo => Args::Hello {
                domain: lossy(rest),
            },
            Verb::Mail => parse_path(rest, b"FROM", &mut deviations),
            Verb::Rcpt => parse_path(rest, b"TO", &mut deviations),
            Verb::Bdat => parse_bdat(rest, &mut deviations),
            Verb::Auth => {
                let mut it = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
                let mechanism = it
                    .next()
                    .map(lossy)
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                let initial_response = it.next().map(|w| Secret::new(lossy(w)));
                Args::Auth {
                    mechanism,
                    initial_response,
                }
            }
            _ if rest.is_empty() => Args::None,
            _ => Args::Text { text: lossy(rest) },
        };
        Command {
            verb,
            args,
            deviations,
        }
    }

    /// The MAIL/RCPT address, if any.
    pub fn address(&self) -> Option<&str> {
        match &self.args {
            Args::Path { address, .. } => Some(address),
            _ => None,
        }
    }

    pub fn param(&self, key: &str) -> Option<&Param> {
        match &self.args {
            Args::Path { params, .. } => params.iter().find(|p| p.key.eq_ignore_ascii_case(key)),
            _ => None,
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn trim_start(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    b
}

fn trim_end(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// `MAIL FROM:<reverse-path> [SP params]` / `RCPT TO:<forward-path> [SP params]`
/// (RFC 5321 §4.1.1.2, §4.1.1.3).
fn parse_path(rest: &[u8], keyword: &[u8], dev: &mut Vec<CommandDeviation>) -> Args {
    let mut s = rest;
    if s.len() >= keyword.len() && s[..keyword.len()].eq_ignore_ascii_case(keyword) {
        s = &s[keyword.len()..];
        if let [b':', tail @ ..] = s {
            s = tail;
        } else {
            dev.push(CommandDeviation::MissingPathKeyword);
        }
    } else {
        dev.push(CommandDeviation::MissingPathKeyword);
    }
    if matches!(s.first(), Some(b' ' | b'\t')) {
        dev.push(CommandDeviation::SpaceBeforePath);
        s = trim_start(s);
    }
    let (address, after) = if let [b'<', tail @ ..] = s {
        match memchr::memchr(b'>', tail) {
            Some(end) => (&tail[..end], &tail[end + 1..]),
            None => {
                dev.push(CommandDeviation::MissingAngleBrackets);
                let end = tail.iter().position(|&b| b == b' ').unwrap_or(tail.len());
                (&tail[..end], &tail[end..])
            }
        }
    } else {
        dev.push(CommandDeviation::MissingAngleBrackets);
        let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
        (&s[..end], &s[end..])
    };
    let params = after
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty())
        .map(|w| match memchr::memchr(b'=', w) {
            Some(eq) => Param {
                key: lossy(&w[..eq]).to_ascii_uppercase(),
                value: Some(lossy(&w[eq + 1..])),
            },
            None => Param {
                key: lossy(w).to_ascii_uppercase(),
                value: None,
            },
        })
        .collect();
    Args::Path {
        address: lossy(address),
        params,
    }
}

/// `bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CRLF` (RFC 3030 §2).
fn parse_bdat(rest: &[u8], dev: &mut Vec<CommandDeviation>) -> Args {
    let mut words = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let size = words.next().and_then(|w| {
        if w.is_empty() || w.len() > 20 || !w.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(w).ok()?.parse::<u64>().ok()
    });
    if size.is_none() {
        dev.push(CommandDeviation::BdatBadSize);
    }
    let mut last = false;
    for w in words {
        if w.eq_ignore_ascii_case(b"LAST") && !last {
            last = true;
        } else {
            dev.push(CommandDeviation::BdatBadArgs);
        }
    }
    Args::Bdat { size, last }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_verbs_are_case_insensitive_and_unknown_kept() {
        assert_eq!(Command::parse(b"ehlo x").verb, Verb::Ehlo);
        assert_eq!(Command::parse(b"StartTLS").verb, Verb::StartTls);
        assert_eq!(Command::parse(b"xforward NAME=a").verb, Verb::XForward);
        let c = Command::parse(b"xexch50 1 2");
        assert_eq!(c.verb, Verb::Other("XEXCH50".into()));
        assert_eq!(c.args, Args::Text { text: "1 2".into() });
        assert_eq!(Command::parse(b"GET / HTTP/1.1").verb.as_str(), "GET");
    }

    #[test]
    fn test_overlong_unknown_verb_is_cut_to_its_cap() {
        let line = vec![b'a'; 70_000];
        let Verb::Other(v) = Command::parse(&line).verb else {
            panic!("not an unknown verb");
        };
        assert_eq!(v.len(), MAX_VERB_BYTES + 3);
        assert!(v.starts_with("AAAA") && v.ends_with("A..."));
    }

    #[test]
    fn test_mail_from_with_params() {
        let c = Command::parse(
            b"MAIL FROM:<a@b.example> SIZE=1234 BODY=8BITMIME SMTPUTF8 AUTH=<> RET=HDRS ENVID=x1",
        );
        assert!(c.deviations.is_empty(), "{:?}", c.deviations);
        assert_eq!(c.address(), Some("a@b.example"));
        assert_eq!(c.param("size").unwrap().value.as_deref(), Some("1234"));
        assert_eq!(c.param("SMTPUTF8").unwrap().value, None);
        assert_eq!(c.param("AUTH").unwrap().value.as_deref(), Some("<>"));
        assert_eq!(c.param("ENVID").unwrap().value.as_deref(), Some("x1"));
    }

    #[test]
    fn test_rcpt_to_with_dsn_params() {
        let c = Command::parse(b"rcpt to:<u@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u@d");
        assert_eq!(c.verb, Verb::Rcpt);
        assert_eq!(c.address(), Some("u@d"));
        assert_eq!(
            c.param("NOTIFY").unwrap().value.as_deref(),
            Some("SUCCESS,FAILURE")
        );
        assert_eq!(
            c.param("orcpt").unwrap().value.as_deref(),
            Some("rfc822;u@d")
        );
    }

    #[test]
    fn test_null_reverse_path() {
        let c = Command::parse(b"MAIL FROM:<>");
        assert_eq!(c.address(), Some(""));
        assert!(c.deviations.is_empty());
    }

    #[test]
    fn test_tolerated_path_deviations_are_recorded() {
        let c = Command::parse(b"MAIL FROM: <a@b>");
        assert_eq!(c.address(), Some("a@b"));
        assert_eq!(c.deviations, vec![CommandDeviation::SpaceBeforePath]);
        let c = Command::parse(b"RCPT TO:a@b NOTIFY=NEVER");
        assert_eq!(c.address(), Some("a@b"));
        assert_eq!(c.deviations, vec![CommandDeviation::MissingAngleBrackets]);
        assert_eq!(c.param("NOTIFY").unwrap().value.as_deref(), Some("NEVER"));
        let c = Command::parse(b"MAIL <a@b>");
        assert_eq!(c.address(), Some("a@b"));
        assert_eq!(c.deviations, vec![CommandDeviation::MissingPathKeyword]);
    }

    #[test]
    fn test_bdat_sizes() {
        assert_eq!(
            Command::parse(b"BDAT 100 LAST").args,
            Args::Bdat {
                size: Some(100),
                last: true
            }
        );
        assert_eq!(
            Command::parse(b"bdat 0 last").args,
            Args::Bdat {
                size: Some(0),
                last: true
            }
        );
        let huge = Command::parse(b"BDAT 9223372036854775808");
        assert_eq!(
            huge.args,
            Args::Bdat {
                size: Some(1 << 63),
                last: false
            }
        );
        let bad = Command::parse(b"BDAT 12x");
        assert_eq!(
            bad.args,
            Args::Bdat {
                size: None,
                last: false
            }
        );
        assert_eq!(bad.deviations, vec![CommandDeviation::BdatBadSize]);
        let overflow = Command::parse(b"BDAT 99999999999999999999999");
        assert!(overflow.deviations.contains(&CommandDeviation::BdatBadSize));
    }

    #[test]
    fn test_auth_args_and_control_chars() {
        let c = Command::parse(b"AUTH plain AHVzZXIAcGFzcw==");
        assert_eq!(
            c.args,
            Args::Auth {
                mechanism: "PLAIN".into(),
                initial_response: Some(Secret::new("AHVzZXIAcGFzcw=="))
            }
        );
        let c = Command::parse(b"HELO a\x00b\xff");
        assert!(c.deviations.contains(&CommandDeviation::ControlChar));
        assert!(c.deviations.contains(&CommandDeviation::NonAscii));
    }
}
