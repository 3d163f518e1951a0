//! Explanations of one timeline line, for the TUI detail pane and the
//! annotated (`--teach`) transcript.
//!
//! Input is the model only: the timeline's escaped text (split into a verb
//! and arguments, or a reply code and its text), the links between
//! requests and replies, and the session's decoded AUTH summary. Secrets
//! are never shown: AUTH lines are described, not revealed.

use crate::model::{Session, TimelineKind};
use crate::net::proxy::StepKind;
use crate::output::escape::escape_str;
use crate::smtp::auth::SecretKind;
use crate::smtp::reply::EnhancedCode;

use super::state::{self, State, Step};
use super::{commands, enhanced_entry, extensions, replies};

/// What one timeline line means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineExplanation {
    pub index: usize,
    /// One-line headline.
    pub summary: String,
    /// Further lines: meaning, digits, keywords, AUTH exposure.
    pub details: Vec<String>,
    /// References cited by this explanation.
    pub references: Vec<String>,
    pub state_before: State,
    pub state_after: State,
    /// Commands the client may send once this line is through.
    pub valid_next: Vec<&'static str>,
    /// The sequence rule this line breaks, if any.
    pub violation: Option<String>,
    /// The state is a guess: a gap, a capture that started mid-session or
    /// a role swap came before this line, so no sequence rule is applied.
    pub uncertain: bool,
}

impl LineExplanation {
    /// The explanation as plain text lines (what `annotate` returns).
    pub fn to_lines(&self) -> Vec<String> {
        let mut out = vec![self.summary.clone()];
        out.extend(self.details.iter().cloned());
        if let Some(v) = &self.violation {
            out.push(format!("out of sequence: {v}"));
        }
        let (b, a) = (
            state::info(self.state_before),
            state::info(self.state_after),
        );
        let guess = if self.uncertain {
            " (uncertain: part of the dialogue was not seen)"
        } else {
            ""
        };
        if b.state == a.state {
            out.push(format!("state: {} (unchanged){guess}", b.name));
        } else {
            out.push(format!("state: {} -> {}{guess}", b.name, a.name));
        }
        if !self.valid_next.is_empty() {
            out.push(format!("valid next: {}", self.valid_next.join(" ")));
        }
        if !self.references.is_empty() {
            out.push(format!("see: {}", self.references.join("; ")));
        }
        out
    }
}

/// Explains timeline item `index` (out of range: a placeholder saying so).
/// Each call walks the timeline; a view that explains many lines of one
/// session should keep [`state::track`]'s steps and use [`explain_event_at`].
pub fn explain_event(session: &Session, index: usize) -> LineExplanation {
    let steps = state::track(session);
    explain_event_at(session, &steps, index)
}

/// Explanation lines for every timeline item, in order, for the text
/// writer to interleave with the transcript.
pub fn annotate(session: &Session) -> Vec<(usize, Vec<String>)> {
    let steps = state::track(session);
    (0..session.timeline.len())
        .map(|i| (i, explain_event_at(session, &steps, i).to_lines()))
        .collect()
}

fn valid_next(step: &Step) -> Vec<&'static str> {
    state::info(step.after)
        .valid
        .iter()
        .copied()
        .filter(|v| !(step.flags.tls && *v == "STARTTLS"))
        .filter(|v| !(step.flags.authenticated && *v == "AUTH"))
        .collect()
}

/// Explains item `index` with precomputed `steps` (from [`state::track`]
/// on the same session).
pub fn explain_event_at(session: &Session, steps: &[Step], index: usize) -> LineExplanation {
    let (Some(t), Some(step)) = (session.timeline.get(index), steps.get(index)) else {
        return LineExplanation {
            index,
            summary: format!("no timeline line {index}"),
            details: Vec::new(),
            references: Vec::new(),
            state_before: State::Connected,
            state_after: State::Connected,
            valid_next: Vec::new(),
            violation: None,
            uncertain: false,
        };
    };
    let mut x = LineExplanation {
        index,
        summary: String::new(),
        details: Vec::new(),
        references: Vec::new(),
        state_before: step.before,
        state_after: step.after,
        valid_next: valid_next(step),
        violation: step.violation.map(str::to_string),
        uncertain: step.flags.uncertain,
    };
    let first = t.lines.first().map(String::as_str).unwrap_or("");
    match t.kind {
        TimelineKind::Command => command_line(session, first, &mut x),
        TimelineKind::Greeting | TimelineKind::Reply => {
            reply_lines(session, index, &t.lines, &mut x)
        }
        TimelineKind::AuthResponse => auth_response(session, index, first, &mut x),
        TimelineKind::Message => {
            let txn = t.txn.and_then(|i| session.transactions.get(i));
            let size = txn.and_then(|t| t.data_bytes).unwrap_or(0);
            let bdat = txn.and_then(|t| t.transfer) == Some(crate::smtp::event::TransferKind::Bdat);
            x.summary = format!("message content, {size} bytes");
            if bdat {
                x.details.push(
                    "sent in BDAT chunks: counted octets, no dot-stuffing and no end marker".into(),
                );
                x.references.push("RFC 3030 §2".into());
            } else {
                x.details.push(
                    "sent after 354 and ended by <CRLF>.<CRLF>; lines starting with a dot were doubled on the wire"
                        .into(),
                );
                x.details
                    .push("the next reply is the final verdict on the whole message".into());
                x.references
                    .push("RFC 5321 §4.1.1.4, §4.5.2, §4.2.5".into());
            }
        }
        TimelineKind::TlsStarted => {
            x.summary = "TLS starts: from here on the dialogue is encrypted".into();
            x.details.push(
                "everything learnt before TLS (EHLO reply, AUTH) is forgotten; the client must send EHLO again"
                    .into(),
            );
            x.references.push("RFC 3207 §4.2".into());
        }
        TimelineKind::Proxy => proxy_line(session, t.proxy_step, &mut x),
        TimelineKind::Gap => {
            x.summary = format!(
                "{} bytes were never captured: the dialogue is incomplete here",
                t.gap_len.unwrap_or(0)
            );
            x.details
                .push("the session state is uncertain until a later reply pins it down".into());
        }
    }
    x
}

/// A line of the proxy handshake before the dialogue, by what the message
/// does.
fn proxy_line(session: &Session, step: Option<StepKind>, x: &mut LineExplanation) {
    use crate::net::proxy::ProxyProtocol::{HttpConnect, Socks4, Socks4a, Socks5};
    use StepKind::*;
    let (Some(tunnel), Some(step)) = (&session.tunnel, step) else {
        x.summary = "proxy handshake".into();
        return;
    };
    let (summary, detail, reference) = match (tunnel.protocol, step) {
        (_, Hello) => (
            "the client greets the SOCKS5 proxy with the authentication methods it can use",
            "the proxy picks one of them in its answer, or 0xFF for none",
            "RFC 1928 §3",
        ),
        (_, MethodChosen) => (
            "the proxy chooses the authentication method",
            "username/password means an RFC 1929 login comes next",
            "RFC 1928 §3",
        ),
        (_, Login | LoginAccepted) => (
            if step == Login {
                "the client logs in to the proxy with a user name and a password"
            } else {
                "the proxy accepts the login"
            },
            "the password crosses the network in clear text (masked here unless --show-secrets)",
            "RFC 1929 §2",
        ),
        (Socks5, _) => (
            if step == Request {
                "the client asks the proxy to connect it to the mail server"
            } else {
                "the proxy connected: from the next byte on, this TCP connection carries the mail server's dialogue"
            },
            "the request names the target as an IPv4 address, an IPv6 address or a host name the proxy resolves",
            "RFC 1928 §4, §6",
        ),
        (Socks4 | Socks4a, _) => (
            if step == Request {
                "the client asks the SOCKS4 proxy to connect it to the mail server"
            } else {
                "the proxy granted the request (90): the mail server's dialogue follows"
            },
            "SOCKS4 has no password, only a user id; SOCKS4a lets the proxy resolve a host name",
            "SOCKS4 and SOCKS4a protocol notes (no RFC)",
        ),
        (HttpConnect, Request) => (
            "the client asks the HTTP proxy for a tunnel to the mail server",
            "Proxy-Authorization: Basic carries the user and password base64-encoded, not encrypted",
            "RFC 9110 §9.3.6, §11.7.2; RFC 7617",
        ),
        (HttpConnect, _) => (
            if step == Granted {
                "the proxy opened the tunnel: after this header, the bytes are the mail server's dialogue"
            } else {
                "the proxy refused: 407 asks for credentials, which the client may send in a new request"
            },
            "any 2xx status opens the tunnel; anything else refuses it",
            "RFC 9110 §9.3.6, §15.5.8",
        ),
    };
    x.summary = summary.into();
    x.details.push(format!(
        "proxy handshake: the client reaches {} through the proxy at {}",
        tunnel.authority(),
        session.server
    ));
    x.details.push(detail.into());
    x.references.push(reference.into());
}

fn command_line(session: &Session, line: &str, x: &mut LineExplanation) {
    let verb = state::verb_of(line);
    let args = line.get(verb.len()..).unwrap_or("").trim();
    // Timeline text is escaped already (model invariant): shown as is.
    let shown = line.split([' ', '\t']).next().unwrap_or("");
    match commands::command(&verb) {
        Some(c) => {
            x.summary = format!("{}: {}", c.verb, c.meaning);
            x.details.push(format!("syntax: {}", c.syntax));
            x.references.push(c.reference.to_string());
            if !c.success.is_empty() || !c.intermediate.is_empty() {
                let mut ok: Vec<u16> = c.intermediate.to_vec();
                ok.extend_from_slice(c.success);
                let ok: Vec<String> = ok.iter().map(u16::to_string).collect();
                let err: Vec<String> = c.errors.iter().map(u16::to_string).collect();
                x.details.push(format!(
                    "expected reply: {}; refusals: {}",
                    ok.join("/"),
                    if err.is_empty() {
                        "only 500/501/421".into()
                    } else {
                        err.join("/")
                    }
                ));
            }
        }
        None => {
            x.summary = format!("{shown}: not an SMTP command we know");
            x.details.push(
                "unrecognised commands get 500, recognised but unimplemented ones 502 (RFC 5321 §4.2.4)"
                    .into(),
            );
            x.references.push("RFC 5321 §4.2.4".into());
        }
    }
    if verb == "AUTH" {
        let mech = args.split_whitespace().next().unwrap_or("");
        auth_mechanism(session, mech, args.split_whitespace().nth(1).is_some(), x);
    }
    if matches!(verb.as_str(), "MAIL" | "RCPT") {
        for p in args.split_whitespace().skip(1) {
            let key = p.split('=').next().unwrap_or("").to_ascii_uppercase();
            if let Some(k) = param_owner(&key) {
                x.details.push(format!(
                    "parameter {}: from the {} extension ({})",
                    key, k.keyword, k.reference
                ));
            }
        }
    }
}

/// Which extension adds a MAIL/RCPT parameter.
fn param_owner(key: &str) -> Option<&'static extensions::KeywordInfo> {
    let kw = match key {
        "SIZE" => "SIZE",
        "BODY" => "8BITMIME",
        "SMTPUTF8" => "SMTPUTF8",
        "RET" | "ENVID" | "NOTIFY" | "ORCPT" => "DSN",
        "AUTH" => "AUTH",
        "BY" => "DELIVERBY",
        "REQUIRETLS" => "REQUIRETLS",
        "MT-PRIORITY" => "MT-PRIORITY",
        "HOLDFOR" | "HOLDUNTIL" => "FUTURERELEASE",
        "RRVS" => "RRVS",
        "TRANSID" => "CHECKPOINT",
        "MTRK" => "MTRK",
        "SOLICIT" => "NO-SOLICITING",
        "SUBMITTER" => "SUBMITTER",
        _ => return None,
    };
    extensions::keyword(kw)
}

fn auth_mechanism(session: &Session, mech: &str, initial: bool, x: &mut LineExplanation) {
    match extensions::sasl(mech) {
        Some(m) => {
            x.details.push(format!("mechanism {}: {}", m.name, m.wire));
            x.details.push(format!(
                "exposed to anyone on the path without TLS: {}",
                m.exposes
            ));
            x.references.push(m.reference.to_string());
        }
        None => x.details.push(format!(
            "mechanism {}: not one we describe (vendor-specific?)",
            mech
        )),
    }
    if initial {
        x.details.push(
            "the initial response on this line carries credentials; it is masked here (RFC 4954 §4)".into(),
        );
    }
    decoded_auth(session, x);
}

/// What the decoder recovered from the exchange, never the secret itself.
fn decoded_auth(session: &Session, x: &mut LineExplanation) {
    let Some(a) = &session.auth else { return };
    let mut parts = Vec::new();
    if let Some(u) = &a.user {
        parts.push(format!("user name {}", escape_str(u)));
    }
    if let Some(z) = &a.authzid {
        if !z.is_empty() {
            parts.push(format!("authorization id {}", escape_str(z)));
        }
    }
    if let Some(d) = &a.ntlm_domain {
        parts.push(format!("NTLM domain {}", escape_str(d)));
    }
    match a.secret_kind {
        Some(SecretKind::Password) => parts.push("a clear-text password (masked)".into()),
        Some(SecretKind::BearerToken) => parts.push("a bearer token (masked)".into()),
        Some(SecretKind::ChallengeResponse) => {
            parts.push("a challenge response, crackable offline (masked)".into())
        }
        None => {}
    }
    if !parts.is_empty() {
        let tls = if session.tls.started {
            "inside TLS"
        } else {
            "in clear text"
        };
        x.details.push(format!(
            "decoded from this exchange ({tls}): {}",
            parts.join(", ")
        ));
    }
}

fn auth_response(session: &Session, index: usize, line: &str, x: &mut LineExplanation) {
    if line == "*" {
        x.summary = "AUTH cancelled by the client (\"*\"); the server answers 501".into();
        x.references.push("RFC 4954 §4".into());
        return;
    }
    // Which response of the exchange this is: count back to the AUTH command.
    let mut nth = 0usize;
    let mut mech = String::new();
    for t in session.timeline[..index].iter().rev() {
        match t.kind {
            TimelineKind::AuthResponse => nth += 1,
            TimelineKind::Command => {
                let l = t.lines.first().map(String::as_str).unwrap_or("");
                if state::verb_of(l) == "AUTH" {
                    let mut w = l.split_whitespace().skip(1);
                    mech = w.next().unwrap_or("").to_ascii_uppercase();
                    if w.next().is_some() {
                        nth += 1;
                    }
                }
                break;
            }
            _ => {}
        }
    }
    x.summary = "AUTH response: one base64 line answering the server's 334 (masked)".into();
    x.references.push("RFC 4954 §4".into());
    if let Some(m) = extensions::sasl(&mech) {
        let step = m.steps.get(nth).or(m.steps.last()).copied().unwrap_or("");
        x.details
            .push(format!("{} response {}: {}", m.name, nth + 1, step));
        x.details.push(format!("sensitive: {}", m.exposes));
        x.references.push(m.reference.to_string());
    }
    decoded_auth(session, x);
}

fn reply_lines(session: &Session, index: usize, lines: &[String], x: &mut LineExplanation) {
    let first = lines.first().map(String::as_str).unwrap_or("");
    let Some(code) = state::reply_code(lines.first()) else {
        x.summary = "a server line that is not a reply".into();
        return;
    };
    let text = first.get(4..).unwrap_or("");
    let answered = session.timeline[index]
        .answers
        .and_then(|a| session.timeline.get(a))
        .map(|r| match r.kind {
            TimelineKind::Command => {
                state::verb_of(r.lines.first().map(String::as_str).unwrap_or(""))
            }
            TimelineKind::Message => "end of message".into(),
            TimelineKind::AuthResponse => "AUTH response".into(),
            _ => String::new(),
        });
    let to = match (&answered, session.timeline[index].kind) {
        (_, TimelineKind::Greeting) => " (greeting)".to_string(),
        (Some(v), _) if !v.is_empty() => {
            // Known verbs by their name; anything else as the client wrote it.
            let req = session.timeline[index]
                .answers
                .and_then(|a| session.timeline.get(a));
            let raw = req
                .filter(|r| r.kind == TimelineKind::Command)
                .and_then(|r| r.lines.first())
                .and_then(|l| l.split([' ', '\t']).next());
            match raw {
                Some(raw) if commands::command(v).is_none() => format!(" to {raw}"),
                _ => format!(" to {v}"),
            }
        }
        _ => String::new(),
    };
    match replies::reply(code) {
        Some(r) => {
            x.summary = format!("{code}{to}: {}", r.meaning);
            x.references.push(r.reference.to_string());
        }
        None => {
            x.summary = format!("{code}{to}: not a listed code, read by its digits");
            x.references.push("RFC 5321 §4.2.1".into());
        }
    }
    x.details.extend(replies::digits(code));
    if let Some((enh, _)) = EnhancedCode::parse_prefix(text.as_bytes()) {
        let e = enhanced_entry(enh);
        x.details
            .push(format!("enhanced code {}: {}", enh, e.meaning));
        if u16::from(enh.class) != code / 100 {
            x.details.push(format!(
                "enhanced class {} disagrees with reply class {} (RFC 3463 §2)",
                enh.class,
                code / 100
            ));
        }
        x.references.extend(e.defined_in.into_iter().take(1));
    }
    if answered.as_deref() == Some("end of message") {
        x.details.push(match code / 100 {
            2 => "the server now owns the message: it delivers it or sends a bounce (RFC 5321 §4.2.5)".into(),
            4 => "the server did not take the message; the client keeps it and retries later (RFC 5321 §4.2.5)".into(),
            _ => "the server refused the message; the client must not resend it unchanged (RFC 5321 §4.2.5)".into(),
        });
    }
    let ehlo = matches!(answered.as_deref(), Some("EHLO" | "LHLO")) && code / 100 == 2;
    if ehlo {
        for l in lines.iter().skip(1) {
            let body = l.get(4..).unwrap_or("").trim();
            let kw = body.split([' ', '=']).next().unwrap_or("");
            if kw.is_empty() {
                continue;
            }
            let shown = kw;
            match extensions::keyword(kw) {
                Some(k) => x.details.push(format!("{}: {} ({})", k.keyword, k.enables, k.reference)),
                None if extensions::is_private_keyword(kw) => x.details.push(format!(
                    "{shown}: private extension (X-prefixed keywords are never registered, RFC 5321 §2.2.2)"
                )),
                None => x.details.push(format!("{shown}: unregistered keyword, meaning unknown")),
            }
            if kw.eq_ignore_ascii_case("AUTH") {
                for m in body.split([' ', '=']).skip(1).filter(|m| !m.is_empty()) {
                    if let Some(s) = extensions::sasl(m) {
                        x.details
                            .push(format!("  {}: exposes {}", s.name, s.exposes));
                    }
                }
            }
        }
    }
}
