//! Human-readable transcripts: a header line per session, then `C:`/`S:`
//! lines with time offsets from the session start and reply latency,
//! messages as one-line summaries (or bodies on request), then anomalies.
//!
//! Every string that came off the wire goes through [`super::escape`]
//! before it is written.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::Value;

use super::escape::{escape_bytes, escape_str};
use super::{OutputOptions, SessionWriter};
use crate::capture::time::format_duration_nanos;
use crate::model::{Session, TimelineEvent, TimelineKind, Transaction};
use crate::net::Dir;

/// Escape for display; strings that only need their backslashes doubled
/// are already escaped (e.g. anomaly evidence) and kept as they are.
fn safe(s: &str) -> String {
    let e = escape_str(s);
    if e == s.replace('\\', "\\\\") {
        s.to_string()
    } else {
        e
    }
}

fn offset(s: &Session, t: crate::capture::Timestamp) -> String {
    let ns = t.since(s.start);
    format!("+{:.6}s", ns as f64 / 1e9)
}

/// The header line of a session.
pub fn header(s: &Session, opts: &OutputOptions) -> String {
    let mut h = format!(
        "#{} {} {} -> {}",
        s.id,
        s.start.rfc3339(),
        s.client,
        s.server
    );
    if let Some(t) = &s.tunnel {
        let _ = write!(h, " [via {} proxy to {}", t.protocol.name(), t.authority());
        if let Some(u) = &t.user {
            let _ = write!(h, " user={u}");
        }
        if let Some(p) = &t.password {
            let _ = write!(h, " password={}", escape_str(&opts.shown(p)));
        }
        h.push(']');
    }
    if s.tls.implicit {
        h.push_str(" [TLS implicit]");
    } else if s.tls.started {
        h.push_str(" [STARTTLS]");
    }
    if let Some(sni) = &s.tls.sni {
        let _ = write!(h, " [SNI {}]", escape_str(sni));
    }
    if let Some(a) = &s.auth {
        let _ = write!(h, " [AUTH {}", escape_str(&a.mechanism));
        if let Some(u) = &a.user {
            let _ = write!(h, " user={}", escape_str(u));
        }
        if let Some(sec) = &a.secret {
            let _ = write!(h, " secret={}", escape_str(&opts.shown(sec)));
        }
        let outcome = match a.success {
            Some(true) => "ok",
            Some(false) => "failed",
            None => "pending",
        };
        let _ = write!(h, " {outcome} attempts={}]", a.attempts);
    }
    if s.gaps > 0 {
        let _ = write!(h, " [GAPS {}]", s.gaps);
    }
    match s.end_reason {
        Some(r) => {
            let _ = write!(h, " end={}", r.as_str());
        }
        None => h.push_str(" (open)"),
    }
    h
}

fn message_summary(t: &Transaction) -> String {
    let mut m = format!(
        "[{} {} bytes",
        match t.transfer {
            Some(crate::smtp::event::TransferKind::Bdat) => "BDAT",
            _ => "DATA",
        },
        t.data_bytes.unwrap_or(0)
    );
    if let Some(sum) = &t.message {
        if let Some(sub) = &sum.subject {
            let _ = write!(m, ", subject \"{}\"", escape_str(sub));
        }
        let n = sum.attachments().count();
        if n > 0 {
            let _ = write!(m, ", {n} attachment{}", if n == 1 { "" } else { "s" });
            for a in sum.attachments() {
                if let Some(f) = &a.filename {
                    let _ = write!(m, " \"{}\"", escape_str(f));
                }
            }
        }
    }
    if !t.message_complete {
        m.push_str(", incomplete");
    }
    if t.message_gap {
        m.push_str(", gap");
    }
    m.push(']');
    m
}

fn write_event(out: &mut String, s: &Session, t: &TimelineEvent, opts: &OutputOptions) {
    let who = match t.dir {
        Dir::ClientToServer => "C:",
        Dir::ServerToClient => "S:",
    };
    let off = offset(s, t.ts);
    let pad = " ".repeat(off.len());
    match t.kind {
        TimelineKind::Command
        | TimelineKind::AuthResponse
        | TimelineKind::Reply
        | TimelineKind::Greeting
        | TimelineKind::Proxy => {
            let revealed;
            let lines: &[String] = match (&t.secret, opts.show_secrets) {
                (Some(sec), true) => {
                    revealed = [sec.reveal().to_string()];
                    &revealed
                }
                _ => &t.lines,
            };
            for (i, l) in lines.iter().enumerate() {
                let lead = if i == 0 { &off } else { &pad };
                let proxy = if t.kind == TimelineKind::Proxy {
                    super::PROXY_MARK
                } else {
                    ""
                };
                let _ = write!(out, "  {lead} {who} {proxy}{l}");
                if let Some(term) = t.terms.get(i) {
                    if !matches!(term, crate::smtp::Terminator::CrLf) {
                        let _ = write!(out, "  <{}>", term.as_str());
                    }
                }
                if i == 0 {
                    if let Some(lat) = t.latency_ns {
                        let _ = write!(out, "  ({})", format_duration_nanos(lat));
                    }
                    if t.pipelined {
                        out.push_str("  [pipelined]");
                    }
                }
                out.push('\n');
            }
        }
        TimelineKind::Message => {
            let Some(tx) = t.txn.and_then(|i| s.transactions.get(i)) else {
                return;
            };
            let _ = writeln!(out, "  {off} C: {}", message_summary(tx));
            if opts.bodies {
                if let Some(raw) = &tx.raw_message {
                    for line in raw.split(|&b| b == b'\n') {
                        let line = line.strip_suffix(b"\r").unwrap_or(line);
                        let _ = writeln!(out, "  {pad}  | {}", escape_bytes(line));
                    }
                }
            }
        }
        TimelineKind::TlsStarted => {
            let _ = writeln!(out, "  {off} -- TLS started");
        }
        TimelineKind::Gap => {
            let _ = writeln!(
                out,
                "  {off} -- gap {} bytes ({who})",
                t.gap_len.unwrap_or(0)
            );
        }
    }
}

fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => safe(s),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{}={}", safe(k), render_value(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(render_value).collect::<Vec<_>>().join(", ")
        ),
        other => safe(&other.to_string()),
    }
}

/// The full text of one session.
pub fn render(s: &Session, opts: &OutputOptions) -> String {
    let mut out = header(s, opts);
    out.push('\n');
    let notes: rustc_hash::FxHashMap<usize, Vec<String>> = if opts.teach {
        crate::teach::annotate(s).into_iter().collect()
    } else {
        Default::default()
    };
    for (i, t) in s.timeline.iter().enumerate() {
        write_event(&mut out, s, t, opts);
        for line in notes.get(&i).into_iter().flatten() {
            let _ = writeln!(out, "             | {line}");
        }
    }
    if s.timeline_dropped > 0 {
        let _ = writeln!(out, "  ... {} more lines not kept", s.timeline_dropped);
    }
    if !s.anomalies.is_empty() {
        out.push_str("  anomalies:\n");
        for a in &s.anomalies {
            let v = serde_json::to_value(&a.anomaly).unwrap_or(Value::Null);
            let _ = writeln!(
                out,
                "    ! {} {} {}",
                offset(s, a.ts),
                match a.dir {
                    Dir::ClientToServer => "C",
                    Dir::ServerToClient => "S",
                },
                render_value(&v)
            );
        }
    }
    for w in &s.warnings {
        match (
            w["id"].as_str(),
            w["severity"].as_str(),
            w["summary"].as_str(),
        ) {
            (Some(id), Some(sev), Some(summary)) => {
                let list = |k: &str| {
                    w["evidence"][k]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|v| v.to_string())
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .unwrap_or_default()
                };
                let _ = writeln!(
                    out,
                    "  finding [{}] {}: {} (events {}; frames {})",
                    safe(sev),
                    safe(id),
                    safe(summary),
                    list("events"),
                    list("frames")
                );
            }
            _ => {
                let _ = writeln!(out, "  warning: {}", render_value(w));
            }
        }
    }
    out
}

/// Writes text transcripts.
pub struct TextWriter<W: Write> {
    out: W,
    opts: OutputOptions,
}

impl<W: Write> TextWriter<W> {
    pub fn new(out: W, opts: OutputOptions) -> Self {
        TextWriter { out, opts }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> SessionWriter for TextWriter<W> {
    fn session(&mut self, s: &Session) -> io::Result<()> {
        let text = render(s, &self.opts);
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn trailer(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())
    }
}
