//! The rows of a session's timeline as the dialogue view lists them: one
//! row per wire line, DATA/BDAT as one row that expands into headers, MIME
//! tree and body, TLS as one block, gaps as markers. Built in `update`
//! when the session or the expansion changes, so drawing only reads them.
//!
//! Invariant: every `text` is already escaped (timeline lines come escaped
//! from the model; message headers, subjects and bodies are escaped here).

use std::collections::BTreeSet;

use crate::model::{Session, TimelineKind};
use crate::output::escape::escape_str;
use crate::smtp::message::body_text;

/// Most body lines shown inline under an expanded message.
pub const MAX_INLINE_BODY_LINES: usize = 200;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// Line `n` of a command, reply or SASL response.
    Line(usize),
    /// The one-line summary of a DATA/BDAT message.
    Message {
        expanded: bool,
    },
    /// A line of an expanded message (header, MIME part, body).
    MessageDetail,
    Tls,
    Gap,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Index into `session.timeline`.
    pub ev: usize,
    pub kind: RowKind,
    /// Pipelined group (RFC 2920): commands sent together and their replies.
    pub group: Option<u32>,
    pub text: String,
}

/// Human-readable byte count.
pub fn human_bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

/// Pipelined group of each timeline event.
pub fn pipeline_groups(s: &Session) -> Vec<Option<u32>> {
    let mut groups = vec![None; s.timeline.len()];
    let mut next = 1;
    let mut last_cmd: Option<usize> = None;
    for (i, ev) in s.timeline.iter().enumerate() {
        match ev.kind {
            TimelineKind::Command => {
                if ev.pipelined {
                    if let Some(prev) = last_cmd {
                        let g = match groups[prev] {
                            Some(g) => g,
                            None => {
                                next += 1;
                                groups[prev] = Some(next - 1);
                                next - 1
                            }
                        };
                        groups[i] = Some(g);
                    }
                }
                last_cmd = Some(i);
            }
            TimelineKind::Reply => {
                if let Some(a) = ev.answers {
                    groups[i] = groups.get(a).copied().flatten();
                }
            }
            _ => {}
        }
    }
    groups
}

/// The one-line summary of the message at timeline event `ev`.
pub fn message_summary_line(s: &Session, ev: usize) -> String {
    let e = &s.timeline[ev];
    let Some(tx) = e.txn.and_then(|i| s.transactions.get(i)) else {
        return "[message]".into();
    };
    let kind = match tx.transfer {
        Some(crate::smtp::event::TransferKind::Bdat) => "BDAT",
        _ => "DATA",
    };
    let mut out = format!("{kind} {}", human_bytes(tx.data_bytes.unwrap_or(0)));
    if let Some(m) = &tx.message {
        if let Some(subj) = &m.subject {
            out.push_str(&format!(" \"{}\"", escape_str(subj)));
        }
        let n = m.attachments().count();
        if n > 0 {
            out.push_str(&format!(
                ", {n} attachment{}",
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    if tx.message_gap {
        out.push_str(", gap");
    } else if !tx.message_complete {
        out.push_str(", incomplete");
    }
    out
}

/// MIME tree lines (indented by depth) with sizes and hashes.
pub fn mime_lines(m: &crate::smtp::message::MessageSummary) -> Vec<String> {
    m.parts
        .iter()
        .map(|p| {
            let mut l = format!("{}{}", "  ".repeat(p.depth), escape_str(&p.content_type));
            if let Some(f) = &p.filename {
                l.push_str(&format!(" \"{}\"", escape_str(f)));
            }
            l.push_str(&format!(" {}", human_bytes(p.decoded_size)));
            if let Some(enc) = &p.transfer_encoding {
                l.push_str(&format!(" {}", escape_str(enc)));
            }
            if let Some(h) = &p.sha256 {
                l.push_str(&format!(" sha256:{}", &h[..h.len().min(16)]));
            }
            if p.is_attachment {
                l.push_str(" [attachment]");
            }
            l
        })
        .collect()
}

/// Body text lines, escaped, at most `max`.
pub fn body_lines(raw: &[u8], max: usize) -> Vec<String> {
    match body_text(raw) {
        Some(text) => {
            let mut out: Vec<String> = text.lines().take(max).map(escape_str).collect();
            if text.lines().nth(max).is_some() {
                out.push(format!("[... more than {max} lines]"));
            }
            out
        }
        None => vec!["(no text body)".into()],
    }
}

/// `show_secrets`: a masked line shows its decoded secret (already
/// escaped by the model) instead, as `--show-secrets` asks.
pub fn build(s: &Session, expanded: &BTreeSet<usize>, show_secrets: bool) -> Vec<Row> {
    let groups = pipeline_groups(s);
    let mut rows = Vec::with_capacity(s.timeline.len() + 16);
    for (i, ev) in s.timeline.iter().enumerate() {
        let group = groups[i];
        match ev.kind {
            TimelineKind::Command
            | TimelineKind::Reply
            | TimelineKind::Greeting
            | TimelineKind::AuthResponse
            | TimelineKind::Proxy => {
                let revealed: Vec<String>;
                let lines = match ev.secret.as_ref().filter(|_| show_secrets) {
                    Some(secret) => {
                        revealed = vec![secret.reveal().to_string()];
                        &revealed
                    }
                    None => &ev.lines,
                };
                let lead = if ev.kind == TimelineKind::Proxy {
                    crate::output::PROXY_MARK
                } else {
                    ""
                };
                for (n, l) in lines.iter().enumerate() {
                    rows.push(Row {
                        ev: i,
                        kind: RowKind::Line(n),
                        group,
                        text: format!("{lead}{l}"),
                    });
                }
            }
            TimelineKind::Message => {
                let open = expanded.contains(&i);
                let marker = if open { "▾" } else { "▸" };
                rows.push(Row {
                    ev: i,
                    kind: RowKind::Message { expanded: open },
                    group,
                    text: format!("{marker} {}", message_summary_line(s, i)),
                });
                if open {
                    for text in expanded_message_lines(s, i) {
                        rows.push(Row {
                            ev: i,
                            kind: RowKind::MessageDetail,
                            group: None,
                            text,
                        });
                    }
                }
            }
            TimelineKind::TlsStarted => {
                let t = &s.tls;
                let mut text = format!(
                    "TLS started ({})",
                    if t.implicit { "implicit" } else { "STARTTLS" }
                );
                if let Some(sni) = &t.sni {
                    text.push_str(&format!(", SNI {}", escape_str(sni)));
                }
                if !t.versions.is_empty() {
                    text.push_str(&format!(", offers {}", t.versions.join("/")));
                }
                text.push_str(&format!(
                    ", C->S {}, S->C {} encrypted",
                    human_bytes(t.bytes[0]),
                    human_bytes(t.bytes[1])
                ));
                rows.push(Row {
                    ev: i,
                    kind: RowKind::Tls,
                    group: None,
                    text,
                });
            }
            TimelineKind::Gap => rows.push(Row {
                ev: i,
                kind: RowKind::Gap,
                group: None,
                text: format!("gap: {} lost", human_bytes(ev.gap_len.unwrap_or(0))),
            }),
        }
    }
    rows
}

fn expanded_message_lines(s: &Session, ev: usize) -> Vec<String> {
    let mut out = Vec::new();
    let Some(tx) = s.timeline[ev].txn.and_then(|i| s.transactions.get(i)) else {
        return out;
    };
    let Some(m) = &tx.message else {
        out.push("  (no message summary)".into());
        return out;
    };
    out.push("  Headers:".into());
    for (name, value) in &m.headers {
        out.push(format!("    {}: {}", escape_str(name), escape_str(value)));
    }
    out.push("  MIME:".into());
    for l in mime_lines(m) {
        out.push(format!("    {l}"));
    }
    out.push("  Body:".into());
    match &tx.raw_message {
        Some(raw) => {
            for l in body_lines(raw, MAX_INLINE_BODY_LINES) {
                out.push(format!("    {l}"));
            }
        }
        None => out.push("    (message bytes not retained)".into()),
    }
    out
}
