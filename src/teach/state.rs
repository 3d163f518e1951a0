//! The SMTP session state machine for teaching (RFC 5321 §3, §4.1.4,
//! §4.3.2, plus STARTTLS, AUTH and CHUNKING), and a tracker that walks a
//! decoded session's timeline through it.
//!
//! The tracker never reads wire bytes: it uses the timeline's kinds, the
//! reply-to-request links the model built, and the first word of each
//! already-escaped line. With pipelining a command is judged against the
//! state it will meet if every command still waiting for a reply succeeds
//! (the "projected" state); replies move the confirmed state. After a gap,
//! a missing greeting or a role reversal the state is uncertain and no
//! sequence error is reported until a reply pins it down again.

use crate::model::{Session, TimelineKind};
use crate::smtp::event::TransferKind;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// TCP open, no greeting yet.
    Connected,
    /// Greeting was 554: only QUIT makes sense.
    Refused,
    /// Greeted (or TLS just started): EHLO/HELO expected.
    Greeted,
    /// Identified, no transaction open.
    Ready,
    /// Inside an AUTH exchange.
    InAuth,
    /// MAIL accepted, no recipient yet.
    MailOk,
    /// At least one recipient accepted.
    RcptOk,
    /// 354 received: message text flows.
    InData,
    /// BDAT chunks flowing (not LAST yet).
    InBdat,
    /// QUIT answered or 421: the connection is closing.
    Closing,
}

#[derive(Debug)]
pub struct StateInfo {
    pub state: State,
    pub name: &'static str,
    pub meaning: &'static str,
    /// Commands the client may send now.
    pub valid: &'static [&'static str],
    pub reference: &'static str,
}

pub static STATES: &[StateInfo] = &[
    StateInfo { state: State::Connected, name: "connected", meaning: "the connection is open; the client waits for the server's greeting", valid: &[], reference: "RFC 5321 §3.1, §4.3.1" },
    StateInfo { state: State::Refused, name: "refused", meaning: "the server greeted with 554: it offers no SMTP service to this client", valid: &["QUIT"], reference: "RFC 5321 §3.1" },
    StateInfo { state: State::Greeted, name: "greeted", meaning: "the server is ready; the client must identify itself (again after STARTTLS)", valid: &["EHLO", "HELO", "NOOP", "HELP", "VRFY", "EXPN", "RSET", "QUIT"], reference: "RFC 5321 §4.1.4; RFC 3207 §4.2" },
    StateInfo { state: State::Ready, name: "ready", meaning: "the client is identified and no transaction is open", valid: &["MAIL", "EHLO", "HELO", "STARTTLS", "AUTH", "ETRN", "ATRN", "XCLIENT", "XFORWARD", "VRFY", "EXPN", "HELP", "NOOP", "RSET", "QUIT"], reference: "RFC 5321 §4.1.4, §3.3" },
    StateInfo { state: State::InAuth, name: "in AUTH", meaning: "an AUTH exchange runs: the client answers each 334 with one base64 line or \"*\"", valid: &["<base64 response>", "*"], reference: "RFC 4954 §4" },
    StateInfo { state: State::MailOk, name: "transaction open", meaning: "MAIL was accepted; recipients come next", valid: &["RCPT", "RSET", "NOOP", "HELP", "VRFY", "EXPN", "QUIT"], reference: "RFC 5321 §3.3, §4.1.4" },
    StateInfo { state: State::RcptOk, name: "recipients accepted", meaning: "at least one RCPT was accepted; more recipients or the message may follow", valid: &["RCPT", "DATA", "BDAT", "RSET", "NOOP", "HELP", "VRFY", "EXPN", "QUIT"], reference: "RFC 5321 §3.3; RFC 3030 §2" },
    StateInfo { state: State::InData, name: "message text", meaning: "after 354 the client sends the message, ended by <CRLF>.<CRLF>; the server stays silent until then", valid: &["<message lines>", "."], reference: "RFC 5321 §4.1.1.4" },
    StateInfo { state: State::InBdat, name: "BDAT chunks", meaning: "message chunks are flowing; the last one carries LAST", valid: &["BDAT", "RSET", "NOOP", "QUIT"], reference: "RFC 3030 §2" },
    StateInfo { state: State::Closing, name: "closing", meaning: "QUIT was answered or the server sent 421; nothing more should be said", valid: &[], reference: "RFC 5321 §4.1.1.10, §3.8" },
];

pub fn info(s: State) -> &'static StateInfo {
    STATES.iter().find(|i| i.state == s).unwrap_or(&STATES[0])
}

/// Why a command does not fit the state it arrives in.
pub fn sequence_error(s: State, verb: &str) -> Option<&'static str> {
    let v = verb.to_ascii_uppercase();
    let v = v.as_str();
    // QUIT, RSET and NOOP are valid everywhere a command can be sent
    // (RFC 5321 §4.1.4, §4.1.1.5, §4.1.1.9).
    if matches!(
        s,
        State::Ready | State::MailOk | State::RcptOk | State::InBdat | State::Greeted
    ) && matches!(v, "QUIT" | "RSET" | "NOOP")
    {
        return None;
    }
    match (s, v) {
        (State::Connected, _) => Some("sent before the server's greeting: the client must wait for 220 (RFC 5321 §4.3.1)"),
        (State::Refused, "QUIT") => None,
        (State::Refused, _) => Some("the server refused service with 554; only QUIT is expected and it should answer 503 (RFC 5321 §3.1)"),
        (State::Closing, _) => Some("sent after QUIT or 421: the session is closing (RFC 5321 §4.1.1.10)"),
        (State::InAuth, _) => Some("sent during an AUTH exchange, where only base64 responses or \"*\" belong (RFC 4954 §4)"),
        (State::InData, _) => Some("sent after DATA before its reply: DATA must end a pipelined group and the text only follows 354 (RFC 2920 §3.1, RFC 5321 §4.1.1.4)"),
        (_, "EHLO" | "HELO" | "LHLO") => None,
        (State::Greeted, "MAIL" | "SEND" | "SOML" | "SAML") => Some("MAIL before EHLO/HELO: a session must be opened with EHLO or HELO first; expect 503 (RFC 5321 §4.1.4)"),
        (State::Greeted, "RCPT") => Some("RCPT before EHLO and MAIL: out of sequence; expect 503 (RFC 5321 §4.1.4)"),
        (State::Greeted, "DATA" | "BDAT") => Some("message sent before EHLO, MAIL and RCPT: out of sequence; expect 503 (RFC 5321 §4.1.4)"),
        (State::Greeted, "AUTH" | "STARTTLS") => Some("sent before EHLO: the client cannot know the extension is offered (RFC 4954 §4, RFC 3207 §4); expect 503"),
        (State::Greeted | State::Ready | State::MailOk | State::RcptOk, "VRFY" | "EXPN" | "HELP") => None,
        (State::Ready, "RCPT") => Some("RCPT before MAIL: there is no transaction to add a recipient to; expect 503 (RFC 5321 §4.1.4, §3.3)"),
        (State::Ready, "DATA" | "BDAT") => Some("message sent without MAIL or recipients: out of sequence; expect 503 (RFC 5321 §4.1.1.4, §3.3)"),
        (State::Ready, _) => None,
        (State::MailOk | State::RcptOk | State::InBdat, "MAIL" | "SEND" | "SOML" | "SAML") => Some("MAIL during a transaction: a second MAIL without RSET is a sequence error; expect 503 (RFC 5321 §4.1.4)"),
        (State::MailOk, "DATA" | "BDAT") => Some("message sent without any accepted recipient; expect 503 or 554 (RFC 5321 §4.1.1.4, §3.3)"),
        (State::MailOk | State::RcptOk | State::InBdat, "AUTH") => Some("AUTH during a transaction; expect 503 (RFC 4954 §4)"),
        (State::MailOk | State::RcptOk | State::InBdat, "STARTTLS") => Some("STARTTLS during a transaction: TLS must start before MAIL, because it resets the session (RFC 3207 §4.2)"),
        (State::MailOk | State::RcptOk | State::InBdat, "XCLIENT" | "XFORWARD") => Some("sent during a transaction; Postfix answers 503 (XCLIENT_README)"),
        (State::MailOk, "RCPT") => None,
        (State::RcptOk, "RCPT" | "DATA" | "BDAT") => None,
        (State::InBdat, "BDAT") => None,
        (State::InBdat, "DATA") => Some("DATA after BDAT in the same transaction; expect 503 (RFC 3030 §2)"),
        (State::InBdat, "RCPT") => Some("RCPT after message chunks started; expect 503 (RFC 3030 §2)"),
        (_, _) => None,
    }
}

/// Flags the machine carries beside its state.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub tls: bool,
    pub authenticated: bool,
    /// The state may be wrong (gap, missing greeting, role swap).
    pub uncertain: bool,
}

/// What a request was, for applying its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Req {
    Command {
        verb: String,
        bdat_last: bool,
        auth_ir: bool,
    },
    DataEnd,
    AuthResponse,
}

/// The state after a request succeeds: used to project pipelined commands.
pub fn on_success(s: State, req: &Req) -> State {
    match req {
        Req::Command {
            verb,
            bdat_last,
            auth_ir,
        } => match verb.as_str() {
            "EHLO" | "HELO" | "LHLO" => State::Ready,
            "MAIL" | "SEND" | "SOML" | "SAML" => State::MailOk,
            "RCPT" if matches!(s, State::MailOk | State::RcptOk) => State::RcptOk,
            "DATA" => State::InData,
            "BDAT" if *bdat_last => State::Ready,
            "BDAT" => State::InBdat,
            "RSET" if s == State::Greeted => State::Greeted,
            "RSET" => State::Ready,
            "STARTTLS" | "XCLIENT" => State::Greeted,
            "AUTH" if *auth_ir => State::Ready,
            "AUTH" => State::InAuth,
            "QUIT" => State::Closing,
            _ => s,
        },
        Req::DataEnd => State::Ready,
        Req::AuthResponse => State::Ready,
    }
}

/// The transition on a reply to `req` (RFC 5321 §4.1.4: a refused command
/// leaves the state unchanged; §4.1.1.4: the final reply to a message ends
/// the transaction whatever it says).
pub fn on_reply(s: State, flags: &mut Flags, req: &Req, code: u16) -> State {
    if code == 421 {
        return State::Closing;
    }
    let positive = (200..300).contains(&code);
    match req {
        Req::DataEnd => State::Ready,
        Req::AuthResponse => match code {
            334 => State::InAuth,
            235 => {
                flags.authenticated = true;
                State::Ready
            }
            _ => State::Ready,
        },
        Req::Command {
            verb, bdat_last, ..
        } => match verb.as_str() {
            "DATA" if code == 354 => State::InData,
            "AUTH" if code == 334 => State::InAuth,
            "AUTH" if code == 235 => {
                flags.authenticated = true;
                State::Ready
            }
            "STARTTLS" if code == 220 => {
                // RFC 3207 §4.2: all knowledge from before TLS is discarded.
                flags.tls = true;
                flags.authenticated = false;
                State::Greeted
            }
            "XCLIENT" if code == 220 => State::Greeted,
            "TURN" | "ATRN" if positive => {
                flags.uncertain = true;
                s
            }
            // A refused BDAT fails the transaction (RFC 3030 §2).
            "BDAT" if *bdat_last || !positive => State::Ready,
            _ if positive => on_success(s, req),
            _ => s,
        },
    }
}

/// The state a reply proves whatever came before it: what lets the
/// tracker recover after a gap or a capture that began mid-session.
pub fn anchor(req: &Req, code: u16) -> Option<State> {
    let positive = (200..300).contains(&code);
    match req {
        Req::DataEnd => Some(State::Ready),
        Req::AuthResponse if code == 235 => Some(State::Ready),
        Req::AuthResponse if code == 334 => Some(State::InAuth),
        Req::AuthResponse => None,
        Req::Command {
            verb, bdat_last, ..
        } => match (verb.as_str(), code) {
            ("EHLO" | "HELO" | "LHLO" | "RSET", _) if positive => Some(State::Ready),
            ("MAIL", 250) => Some(State::MailOk),
            ("RCPT", 250 | 251) => Some(State::RcptOk),
            ("DATA", 354) => Some(State::InData),
            ("BDAT", _) if positive && *bdat_last => Some(State::Ready),
            ("BDAT", _) if positive => Some(State::InBdat),
            ("STARTTLS" | "XCLIENT", 220) => Some(State::Greeted),
            ("AUTH", 235) => Some(State::Ready),
            ("AUTH", 334) => Some(State::InAuth),
            ("QUIT", 221) => Some(State::Closing),
            _ => None,
        },
    }
}

/// The state around one timeline item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub before: State,
    pub after: State,
    pub flags: Flags,
    /// For commands: the sequence rule it breaks, if any.
    pub violation: Option<&'static str>,
}

/// The first word of an escaped command line, uppercased.
pub fn verb_of(line: &str) -> String {
    line.split([' ', '\t'])
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

fn request_of(session: &Session, idx: usize) -> Option<Req> {
    let t = session.timeline.get(idx)?;
    match t.kind {
        TimelineKind::Command => {
            let line = t.lines.first().map(String::as_str).unwrap_or("");
            let verb = verb_of(line);
            let mut words = line.split_whitespace().skip(1);
            let bdat_last = verb == "BDAT"
                && words
                    .clone()
                    .nth(1)
                    .is_some_and(|w| w.eq_ignore_ascii_case("LAST"));
            let auth_ir = verb == "AUTH" && words.nth(1).is_some();
            Some(Req::Command {
                verb,
                bdat_last,
                auth_ir,
            })
        }
        TimelineKind::Message => Some(Req::DataEnd),
        TimelineKind::AuthResponse => Some(Req::AuthResponse),
        _ => None,
    }
}

/// Walks the whole timeline; `steps[i]` describes timeline item `i`.
pub fn track(session: &Session) -> Vec<Step> {
    let mut steps = Vec::with_capacity(session.timeline.len());
    let mut state = State::Connected;
    let mut flags = Flags::default();
    // Requests waiting for a reply, by timeline index, in order.
    let mut pending: Vec<(usize, Req)> = Vec::new();
    let greeted = session
        .timeline
        .iter()
        .any(|t| t.kind == TimelineKind::Greeting);
    if !greeted {
        // Capture started mid-session: we do not know where we are.
        flags.uncertain = true;
        state = State::Ready;
    }
    for (i, t) in session.timeline.iter().enumerate() {
        let before = state;
        let mut violation = None;
        let after = match t.kind {
            TimelineKind::Greeting => {
                let code = reply_code(t.lines.first());
                flags.uncertain = false;
                match code {
                    Some(220) => State::Greeted,
                    Some(554) => State::Refused,
                    Some(421) => State::Closing,
                    _ => state,
                }
            }
            TimelineKind::Command | TimelineKind::AuthResponse | TimelineKind::Message => {
                let Some(req) = request_of(session, i) else {
                    steps.push(Step {
                        before,
                        after: before,
                        flags,
                        violation: None,
                    });
                    continue;
                };
                // A BDAT message's final reply answers the BDAT LAST
                // command, not the message: nothing waits on the message.
                let bdat_message = t.kind == TimelineKind::Message
                    && t.txn
                        .and_then(|x| session.transactions.get(x))
                        .and_then(|x| x.transfer)
                        == Some(TransferKind::Bdat);
                let projected = pending.iter().fold(state, |s, (_, r)| on_success(s, r));
                if let Req::Command { verb, .. } = &req {
                    if !flags.uncertain {
                        violation = sequence_error(projected, verb).or(match verb.as_str() {
                            "AUTH" if flags.authenticated && projected == State::Ready => Some(
                                "AUTH after a successful AUTH: only one per session; expect 503 (RFC 4954 §4)",
                            ),
                            "STARTTLS" if flags.tls && projected == State::Ready => Some(
                                "STARTTLS inside TLS: the connection is already encrypted; expect 503 (RFC 3207 §4)",
                            ),
                            _ => None,
                        });
                    }
                }
                let after = if bdat_message {
                    projected
                } else {
                    on_success(projected, &req)
                };
                if !bdat_message {
                    pending.push((i, req));
                }
                // Report the projected states for requests.
                steps.push(Step {
                    before: projected,
                    after,
                    flags,
                    violation,
                });
                continue;
            }
            TimelineKind::Reply => {
                let code = reply_code(t.lines.first()).unwrap_or(0);
                let req = t.answers.and_then(|a| {
                    let pos = pending.iter().position(|(idx, _)| *idx == a);
                    match pos {
                        Some(p) => Some(pending.remove(p).1),
                        None => request_of(session, a),
                    }
                });
                match req {
                    Some(req) => {
                        let next = on_reply(state, &mut flags, &req, code);
                        match anchor(&req, code) {
                            Some(known) if flags.uncertain => {
                                flags.uncertain = false;
                                known
                            }
                            _ => next,
                        }
                    }
                    None if code == 421 => State::Closing,
                    None => state,
                }
            }
            TimelineKind::TlsStarted => {
                flags.tls = true;
                flags.authenticated = false;
                pending.clear();
                State::Greeted
            }
            TimelineKind::Gap => {
                flags.uncertain = true;
                pending.clear();
                state
            }
            // Before the dialogue: the proxy opens the connection to the
            // mail server, whose greeting comes next.
            TimelineKind::Proxy => state,
        };
        state = after;
        steps.push(Step {
            before,
            after,
            flags,
            violation,
        });
    }
    steps
}

/// The reply code at the start of an escaped reply line.
pub fn reply_code(line: Option<&String>) -> Option<u16> {
    let b = line?.as_bytes();
    if b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit) {
        Some(u16::from(b[0] - b'0') * 100 + u16::from(b[1] - b'0') * 10 + u16::from(b[2] - b'0'))
    } else {
        None
    }
}
