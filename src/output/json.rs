//! JSON Lines: one object per session.
//!
//! The field names below are a contract with consumers: fields may be
//! added, never renamed. Times are RFC 3339 UTC with microseconds. Wire
//! strings are lossy UTF-8, so every line is valid JSON whatever bytes came
//! in. Secrets appear only with `show_secrets`.
//!
//! Invariant: a line carries no raw control character (serde_json escapes
//! C0; `TerminalSafe` escapes DEL, C1 and the bidi and invisible format
//! characters of `escape.rs` as `\uXXXX`), so `--format json` on a
//! terminal cannot drive it or reorder text, and parsers see the same
//! strings.

use std::io::{self, Write};
use std::net::SocketAddr;

use serde::Serialize;
use serde_json::ser::Formatter;
use serde_json::{json, Map, Value};

use super::escape::is_dangerous;
use super::{OutputOptions, SessionWriter};
use crate::capture::Timestamp;
use crate::model::{AnomalyRecord, Session, TimelineEvent, TimelineKind, Transaction, WireText};
use crate::net::proxy::ProxyProtocol;
use crate::net::Dir;
use crate::smtp::auth::SecretKind;
use crate::smtp::command::Param;
use crate::smtp::event::TransferKind;
use crate::smtp::reply::ReplyCode;

fn time(t: Timestamp) -> Value {
    Value::String(t.rfc3339().to_string())
}

fn dir_str(d: Dir) -> &'static str {
    match d {
        Dir::ClientToServer => "c2s",
        Dir::ServerToClient => "s2c",
    }
}

/// The JSON object for one session.
pub fn session_json(s: &Session, opts: &OutputOptions) -> Value {
    serde_json::to_value(SessionJson::new(s, opts)).unwrap_or(Value::Null)
}

// The objects below are written straight from the model, without building
// a `Value` first. Their fields are declared in byte order of their names:
// that is the order a `Value` object (a sorted map) writes them in, so both
// ways give the same bytes (`test_direct_json_equals_the_value_json`).

#[derive(Serialize)]
struct SessionJson<'a> {
    anomalies: Vec<Value>,
    anomalies_dropped: u64,
    auth: Option<AuthJson<'a>>,
    client: Endpoint,
    complete: bool,
    counters: CountersJson<'a>,
    end: Option<Value>,
    end_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events_dropped: Option<u64>,
    extensions: &'a [String],
    gaps: u64,
    greeting: &'a Option<WireText>,
    greeting_code: Option<ReplyCode>,
    helo: &'a Option<WireText>,
    id: u64,
    server: Endpoint,
    start: Value,
    tls: TlsJson<'a>,
    transactions: Vec<TransactionJson<'a>>,
    tunnel: Option<TunnelJson<'a>>,
    #[serde(rename = "type")]
    kind: &'static str,
    warnings: &'a [Value],
}

#[derive(Serialize)]
struct TunnelJson<'a> {
    password: Option<String>,
    port: u16,
    protocol: ProxyProtocol,
    target: &'a WireText,
    user: &'a Option<WireText>,
}

#[derive(Serialize)]
struct Endpoint {
    ip: String,
    port: u16,
}

impl Endpoint {
    fn new(a: &SocketAddr) -> Endpoint {
        Endpoint {
            ip: a.ip().to_string(),
            port: a.port(),
        }
    }
}

#[derive(Serialize)]
struct AuthJson<'a> {
    attempts: u32,
    authzid: &'a Option<String>,
    cancelled: u32,
    failures: u32,
    mechanism: &'a str,
    mechanisms: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    ntlm_domain: Option<&'a str>,
    /// Written (perhaps as null) whenever `ntlm_domain` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    ntlm_workstation: Option<&'a Option<String>>,
    secret: Option<String>,
    secret_kind: &'a Option<SecretKind>,
    success: bool,
    user: &'a Option<String>,
}

#[derive(Serialize)]
struct CountersJson<'a> {
    anomalies_dropped: u64,
    bytes: &'a [u64; 2],
    commands: u64,
    gap_bytes: &'a [u64; 2],
    lines: &'a [u64; 2],
    replies: u64,
    tls_bytes: &'a [u64; 2],
    unanswered: u64,
}

#[derive(Serialize)]
struct TlsJson<'a> {
    bytes_c2s: u64,
    bytes_s2c: u64,
    implicit: bool,
    sni: &'a Option<String>,
    started: bool,
    starttls_command: bool,
    starttls_offered: bool,
    versions: &'a [String],
}

#[derive(Serialize)]
struct TransactionJson<'a> {
    code: Option<ReplyCode>,
    completed: bool,
    data_bytes: Option<u64>,
    enhanced: Option<String>,
    mail_code: Option<ReplyCode>,
    mail_from: &'a Option<WireText>,
    mail_params: &'a [Param],
    message: Option<MessageJson<'a>>,
    message_complete: bool,
    rcpt_count: u64,
    rcpt_dropped: u64,
    rcpt_rejected: u64,
    rcpt_to: Vec<RecipientJson<'a>>,
    transfer: Option<TransferKind>,
}

#[derive(Serialize)]
struct RecipientJson<'a> {
    accepted: bool,
    address: &'a WireText,
    code: Option<ReplyCode>,
    delivery: Option<ReplyCode>,
    enhanced: Option<String>,
}

#[derive(Serialize)]
struct MessageJson<'a> {
    attachments: Vec<AttachmentJson<'a>>,
    from: &'a Option<String>,
    message_id: &'a Option<String>,
    subject: &'a Option<String>,
    to: &'a [String],
    truncated: bool,
}

#[derive(Serialize)]
struct AttachmentJson<'a> {
    content_type: &'a str,
    filename: &'a Option<String>,
    sha256: &'a Option<String>,
    size: u64,
}

impl<'a> SessionJson<'a> {
    fn new(s: &'a Session, opts: &OutputOptions) -> SessionJson<'a> {
        let auth = s.auth.as_ref().map(|a| AuthJson {
            attempts: a.attempts,
            authzid: &a.authzid,
            cancelled: a.cancelled,
            failures: a.failures,
            mechanism: &a.mechanism,
            mechanisms: &a.mechanisms,
            ntlm_domain: a.ntlm_domain.as_deref(),
            ntlm_workstation: a.ntlm_domain.as_ref().map(|_| &a.ntlm_workstation),
            secret: a.secret.as_ref().map(|x| opts.shown(x)),
            secret_kind: &a.secret_kind,
            success: a.success.unwrap_or(false),
            user: &a.user,
        });
        let c = &s.counters;
        SessionJson {
            anomalies: s.anomalies.iter().map(anomaly_json).collect(),
            anomalies_dropped: s.anomalies_dropped,
            auth,
            client: Endpoint::new(&s.client),
            complete: s.complete,
            counters: CountersJson {
                anomalies_dropped: c.anomalies_dropped,
                bytes: &c.bytes,
                commands: c.commands,
                gap_bytes: &c.gap_bytes,
                lines: &c.lines,
                replies: c.replies,
                tls_bytes: &c.tls_bytes,
                unanswered: c.unanswered,
            },
            end: s.end.map(time),
            end_reason: s.end_reason.map(|r| r.as_str()),
            events: opts
                .timeline
                .then(|| s.timeline.iter().map(|t| event_json(s, t, opts)).collect()),
            events_dropped: opts.timeline.then_some(s.timeline_dropped),
            extensions: &s.extensions,
            gaps: s.gaps,
            greeting: &s.greeting,
            greeting_code: s.greeting_code,
            helo: &s.helo,
            id: s.id.0,
            server: Endpoint::new(&s.server),
            start: time(s.start),
            tls: TlsJson {
                bytes_c2s: s.tls.bytes[0],
                bytes_s2c: s.tls.bytes[1],
                implicit: s.tls.implicit,
                sni: &s.tls.sni,
                started: s.tls.started,
                starttls_command: s.tls.starttls_command,
                starttls_offered: s.tls.starttls_offered,
                versions: &s.tls.versions,
            },
            transactions: s.transactions.iter().map(TransactionJson::new).collect(),
            tunnel: s.tunnel.as_ref().map(|t| TunnelJson {
                password: t.password.as_ref().map(|x| opts.shown(x)),
                port: t.port,
                protocol: t.protocol,
                target: &t.target,
                user: &t.user,
            }),
            kind: "session",
            warnings: &s.warnings,
        }
    }
}

/// Answered RCPTs not listed (past the cap); the listed ones never
/// answered have no code.
fn rcpt_dropped(t: &Transaction) -> u64 {
    let listed = t.rcpt_to.iter().filter(|r| r.code.is_some()).count() as u64;
    t.rcpt_count.saturating_sub(listed)
}

impl<'a> TransactionJson<'a> {
    fn new(t: &'a Transaction) -> TransactionJson<'a> {
        TransactionJson {
            code: t.code,
            completed: t.completed,
            data_bytes: t.data_bytes,
            enhanced: t.enhanced.map(|e| e.to_string()),
            mail_code: t.mail_code,
            mail_from: &t.mail_from,
            mail_params: &t.mail_params,
            message: t.message.as_ref().map(|m| MessageJson {
                attachments: m
                    .attachments()
                    .map(|p| AttachmentJson {
                        content_type: &p.content_type,
                        filename: &p.filename,
                        sha256: &p.sha256,
                        size: p.decoded_size,
                    })
                    .collect(),
                from: &m.from,
                message_id: &m.message_id,
                subject: &m.subject,
                to: &m.to,
                truncated: m.truncated,
            }),
            message_complete: t.message_complete,
            rcpt_count: t.rcpt_count,
            rcpt_dropped: rcpt_dropped(t),
            rcpt_rejected: t.rcpt_rejected,
            rcpt_to: t
                .rcpt_to
                .iter()
                .map(|r| RecipientJson {
                    accepted: r.accepted,
                    address: &r.address,
                    code: r.code,
                    delivery: r.delivery,
                    enhanced: r.enhanced.map(|e| e.to_string()),
                })
                .collect(),
            transfer: t.transfer,
        }
    }
}

fn anomaly_json(a: &AnomalyRecord) -> Value {
    let mut v = serde_json::to_value(&a.anomaly).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert("ts".into(), time(a.ts));
        o.insert("frame".into(), json!(a.frame));
        o.insert("dir".into(), json!(dir_str(a.dir)));
    }
    v
}

fn event_json(s: &Session, t: &TimelineEvent, opts: &OutputOptions) -> Value {
    let lines: Vec<String> = match (&t.secret, opts.show_secrets) {
        (Some(sec), true) => vec![sec.reveal().to_string()],
        _ => t.lines.clone(),
    };
    let mut m = Map::new();
    m.insert("ts".into(), time(t.ts));
    m.insert("offset_us".into(), json!(t.ts.since(s.start) / 1000));
    m.insert("frame".into(), json!(t.frame));
    m.insert("dir".into(), json!(dir_str(t.dir)));
    m.insert(
        "kind".into(),
        serde_json::to_value(t.kind).unwrap_or(Value::Null),
    );
    m.insert("lines".into(), json!(lines));
    m.insert("terms".into(), json!(t.terms));
    if let Some(x) = t.seq {
        m.insert("seq".into(), json!(x));
    }
    if let Some(x) = t.answers {
        m.insert("answers".into(), json!(x));
    }
    if let Some(x) = t.latency_ns {
        m.insert("latency_us".into(), json!(x / 1000));
    }
    if t.pipelined {
        m.insert("pipelined".into(), json!(true));
    }
    if let Some(x) = t.gap_len {
        m.insert("gap_len".into(), json!(x));
    }
    if t.kind == TimelineKind::Message {
        if let Some(tx) = t.txn.and_then(|i| s.transactions.get(i)) {
            m.insert("data_bytes".into(), json!(tx.data_bytes));
        }
    }
    Value::Object(m)
}

/// Writes one JSON object per line.
pub struct JsonWriter<W: Write> {
    out: W,
    opts: OutputOptions,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(out: W, opts: OutputOptions) -> Self {
        JsonWriter { out, opts }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> SessionWriter for JsonWriter<W> {
    fn session(&mut self, s: &Session) -> io::Result<()> {
        write_line(&mut self.out, &SessionJson::new(s, &self.opts))
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// serde_json's compact format, with DEL, C1 controls and the bidi and
/// invisible format characters written as `\uXXXX` too (serde_json
/// escapes only C0). All of them are in the Basic Multilingual Plane, so
/// one `\u` escape each.
struct TerminalSafe;

impl Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json has already escaped C0, `"` and `\` out of the
        // fragment, so one without DEL or non-ASCII has nothing left to
        // escape; nearly every fragment is like that.
        if fragment.bytes().all(|b| b < 0x7f) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c == '\u{7f}' || is_dangerous(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// `v` as one line of JSON, terminal-safe, then `\n`.
fn write_line<W: Write, T: Serialize + ?Sized>(out: &mut W, v: &T) -> io::Result<()> {
    v.serialize(&mut serde_json::Serializer::with_formatter(
        &mut *out,
        TerminalSafe,
    ))?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::AuthInfo;
    use crate::smtp::auth::Secret;

    /// The JSON object as the Value-building code before the direct writer
    /// made it: the reference the direct writer is checked against.
    fn reference_session_json(s: &Session, opts: &OutputOptions) -> Value {
        let mut auth = Value::Null;
        if let Some(a) = &s.auth {
            let mut m = json!({
                "mechanism": a.mechanism,
                "user": a.user,
                "success": a.success.unwrap_or(false),
                "attempts": a.attempts,
                "failures": a.failures,
                "authzid": a.authzid,
                "mechanisms": a.mechanisms,
                "cancelled": a.cancelled,
                "secret_kind": a.secret_kind,
                "secret": a.secret.as_ref().map(|x| if opts.show_secrets { x.reveal().to_string() } else { x.to_string() }),
            });
            if let (Some(d), Value::Object(o)) = (&a.ntlm_domain, &mut m) {
                o.insert("ntlm_domain".into(), json!(d));
                o.insert("ntlm_workstation".into(), json!(a.ntlm_workstation));
            }
            auth = m;
        }
        let mut obj = json!({
            "type": "session",
            "id": s.id.0,
            "start": time(s.start),
            "end": s.end.map(time),
            "client": {"ip": s.client.ip().to_string(), "port": s.client.port()},
            "server": {"ip": s.server.ip().to_string(), "port": s.server.port()},
            "greeting": s.greeting,
            "greeting_code": s.greeting_code,
            "helo": s.helo,
            "extensions": s.extensions,
            "tls": {
                "starttls_offered": s.tls.starttls_offered,
                "starttls_command": s.tls.starttls_command,
                "started": s.tls.started,
                "implicit": s.tls.implicit,
                "sni": s.tls.sni,
                "versions": s.tls.versions,
                "bytes_c2s": s.tls.bytes[0],
                "bytes_s2c": s.tls.bytes[1],
            },
            "auth": auth,
            "tunnel": s.tunnel.as_ref().map(|t| json!({
                "protocol": t.protocol,
                "target": t.target,
                "port": t.port,
                "user": t.user,
                "password": t.password.as_ref().map(|x| if opts.show_secrets { x.reveal().to_string() } else { x.to_string() }),
            })),
            "transactions": s.transactions.iter().map(reference_transaction_json).collect::<Vec<_>>(),
            "warnings": s.warnings,
            "gaps": s.gaps,
            "complete": s.complete,
            "end_reason": s.end_reason.map(|r| r.as_str()),
            "anomalies": s.anomalies.iter().map(|a| {
                let mut v = serde_json::to_value(&a.anomaly).unwrap_or(Value::Null);
                if let Value::Object(o) = &mut v {
                    o.insert("ts".into(), time(a.ts));
                    o.insert("frame".into(), json!(a.frame));
                    o.insert("dir".into(), json!(dir_str(a.dir)));
                }
                v
            }).collect::<Vec<_>>(),
            "anomalies_dropped": s.anomalies_dropped,
            "counters": s.counters,
        });
        if opts.timeline {
            if let Value::Object(o) = &mut obj {
                let events: Vec<Value> =
                    s.timeline.iter().map(|t| event_json(s, t, opts)).collect();
                o.insert("events".into(), Value::Array(events));
                o.insert("events_dropped".into(), json!(s.timeline_dropped));
            }
        }
        obj
    }

    fn reference_transaction_json(t: &Transaction) -> Value {
        let message = t.message.as_ref().map(|m| {
            json!({
                "subject": m.subject,
                "from": m.from,
                "to": m.to,
                "message_id": m.message_id,
                "attachments": m.attachments().map(|p| json!({
                    "filename": p.filename,
                    "content_type": p.content_type,
                    "size": p.decoded_size,
                    "sha256": p.sha256,
                })).collect::<Vec<_>>(),
                "truncated": m.truncated,
            })
        });
        json!({
            "mail_from": t.mail_from,
            "mail_params": t.mail_params,
            "mail_code": t.mail_code,
            "rcpt_to": t.rcpt_to.iter().map(|r| json!({
                "address": r.address,
                "code": r.code,
                "accepted": r.accepted,
                "enhanced": r.enhanced.map(|e| e.to_string()),
                "delivery": r.delivery,
            })).collect::<Vec<_>>(),
            "rcpt_count": t.rcpt_count,
            "rcpt_rejected": t.rcpt_rejected,
            "rcpt_dropped": t.rcpt_count - t.rcpt_to.iter().filter(|r| r.code.is_some()).count() as u64,
            "transfer": t.transfer,
            "data_bytes": t.data_bytes,
            "code": t.code,
            "enhanced": t.enhanced.map(|e| e.to_string()),
            "completed": t.completed,
            "message_complete": t.message_complete,
            "message": message,
        })
    }

    /// Every session of every capture in captures/ (the SOCKS ones give a
    /// tunnel with a password), analysed (so that
    /// warnings are there), plus one with every AUTH field set (NTLM
    /// domain and workstation, a secret): the direct writer's bytes equal
    /// those of the `Value` the code before it built, with and without
    /// the timeline and the secrets.
    #[test]
    fn test_direct_json_equals_the_value_json() {
        let mut files: Vec<String> = std::fs::read_dir("captures")
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .map(|p| p.display().to_string())
            .collect();
        files.sort();
        assert!(files.len() > 10, "captures/ not found");
        let mut pipeline = crate::pipeline::SmtpPipeline::new(Default::default(), Vec::new());
        crate::run::read_files(&files, Default::default(), &mut pipeline);
        let mut sessions = pipeline.into_consumer();
        let mut ntlm = sessions[0].clone();
        ntlm.auth = Some(AuthInfo {
            mechanism: "NTLM".into(),
            mechanisms: vec!["PLAIN".into(), "NTLM".into()],
            user: Some("alice".into()),
            authzid: Some("admin".into()),
            success: Some(true),
            attempts: 2,
            failures: 1,
            cancelled: 1,
            secret: Some(Secret::new("proof")),
            secret_kind: Some(SecretKind::ChallengeResponse),
            ntlm_domain: Some("CORP".into()),
            ntlm_workstation: None,
            ..AuthInfo::default()
        });
        sessions.push(ntlm);
        let mut analyzer = crate::analysis::Analyzer::new(Default::default());
        let mut checked = 0;
        for s in &mut sessions {
            analyzer.session(s);
            checked += usize::from(!s.warnings.is_empty());
            for (timeline, show_secrets) in [(false, false), (true, false), (true, true)] {
                let opts = OutputOptions {
                    timeline,
                    show_secrets,
                    ..OutputOptions::default()
                };
                let (mut direct, mut via_value) = (Vec::new(), Vec::new());
                write_line(&mut direct, &SessionJson::new(s, &opts)).unwrap();
                write_line(&mut via_value, &reference_session_json(s, &opts)).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&direct),
                    String::from_utf8_lossy(&via_value)
                );
                assert_eq!(session_json(s, &opts), reference_session_json(s, &opts));
            }
        }
        assert!(checked > 10, "too few sessions with warnings: {checked}");
    }

    /// Found by the fuzz harness's JSON check (issue 7): a greeting with
    /// DEL, U+009B (a one-byte CSI) and U+202E reached `--format json` raw.
    #[test]
    fn test_regression_json_raw_del_c1_bidi() {
        let v =
            json!({"greeting\u{202e}": "\u{7f}\u{9b}31m \u{202e}txt.exe \u{1b} \u{e9}\u{4e16}"});
        let mut out = Vec::new();
        write_line(&mut out, &v).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert_eq!(
            line,
            "{\"greeting\\u202e\":\"\\u007f\\u009b31m \\u202etxt.exe \\u001b \u{e9}\u{4e16}\"}\n"
        );
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), v);
    }
}
