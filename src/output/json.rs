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

use serde::Serialize;
use serde_json::ser::Formatter;
use serde_json::{json, Map, Value};

use super::escape::is_dangerous;
use super::{OutputOptions, SessionWriter};
use crate::capture::Timestamp;
use crate::model::{Session, TimelineEvent, TimelineKind, Transaction};
use crate::net::Dir;

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
        "transactions": s.transactions.iter().map(transaction_json).collect::<Vec<_>>(),
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
            let events: Vec<Value> = s.timeline.iter().map(|t| event_json(s, t, opts)).collect();
            o.insert("events".into(), Value::Array(events));
            o.insert("events_dropped".into(), json!(s.timeline_dropped));
        }
    }
    obj
}

fn transaction_json(t: &Transaction) -> Value {
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
        "rcpt_to": t.rcpt_to.iter().map(|r| json!({
            "address": r.address,
            "code": r.code,
            "accepted": r.accepted,
            "enhanced": r.enhanced.map(|e| e.to_string()),
            "delivery": r.delivery,
        })).collect::<Vec<_>>(),
        "rcpt_count": t.rcpt_count,
        "rcpt_rejected": t.rcpt_rejected,
        "rcpt_dropped": t.rcpt_count - t.rcpt_to.len() as u64,
        "transfer": t.transfer,
        "data_bytes": t.data_bytes,
        "code": t.code,
        "enhanced": t.enhanced.map(|e| e.to_string()),
        "completed": t.completed,
        "message_complete": t.message_complete,
        "message": message,
    })
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
        write_line(&mut self.out, &session_json(s, &self.opts))
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
fn write_line<W: Write>(out: &mut W, v: &Value) -> io::Result<()> {
    v.serialize(&mut serde_json::Serializer::with_formatter(
        &mut *out,
        TerminalSafe,
    ))?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

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
