//! SMTP smuggling: end-of-data-like sequences other than `<CRLF>.<CRLF>`
//! inside DATA, where strict and lenient receivers disagree on where the
//! message ends.

use super::Severity::*;
use super::*;
use crate::output::escape::escape_bytes;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "smtp-smuggling",
    group: "framing",
    severities: &[High, Critical],
    trigger: "A non-canonical end-of-data sequence (e.g. <LF>.<LF>, <LF>.<CR><LF>, <CR>.<CR>, NUL before the dot) inside DATA; critical when SMTP commands follow it inside the message",
    explanation: "A lenient server ends the message at the odd sequence and runs what follows as new commands, while a strict one keeps it as content: a second, spoofed message is smuggled past the first server's checks.",
    references: &[
        "RFC 5321 §2.3.8, §4.1.1.4",
        "CVE-2023-51764",
        "CVE-2023-51765",
        "CVE-2023-51766",
        "SEC Consult, SMTP Smuggling (2023)",
    ],
};

/// Command lines that make the trailing content a smuggled dialogue.
const VERBS: &[&str] = &[
    "MAIL FROM",
    "RCPT TO",
    "DATA",
    "BDAT",
    "RSET",
    "QUIT",
    "EHLO",
    "HELO",
];

/// What follows the sequence: command lines, and the smuggled message's
/// From/Subject.
fn smuggled(rest: &[u8]) -> (Vec<String>, Vec<String>) {
    let mut cmds = Vec::new();
    let mut headers = Vec::new();
    let mut in_data = false;
    for line in rest.split(|&b| b == b'\n' || b == b'\r').take(200) {
        if line.is_empty() {
            continue;
        }
        let up: Vec<u8> = line.iter().take(10).map(u8::to_ascii_uppercase).collect();
        if !in_data && VERBS.iter().any(|v| up.starts_with(v.as_bytes())) {
            cmds.push(short(&escape_bytes(line), 80));
            in_data |= up.starts_with(b"DATA");
        } else if in_data && (up.starts_with(b"FROM:") || up.starts_with(b"SUBJECT:")) {
            headers.push(short(&escape_bytes(line), 80));
        }
    }
    cmds.truncate(6);
    (cmds, headers)
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let mut done_txn = Vec::new();
    for a in &s.anomalies {
        let Anomaly::NonCanonicalEndOfData(nc) = &a.anomaly else {
            continue;
        };
        let msg_idx = event_at_frame(s, a.frame, Some(crate::model::TimelineKind::Message));
        let txn = msg_idx.and_then(|i| s.timeline[i].txn);
        if txn.is_some() && done_txn.contains(&txn) {
            continue;
        }
        done_txn.push(txn);
        let tx = txn.and_then(|i| s.transactions.get(i));
        let strict_end = tx.and_then(|t| t.data_bytes);
        // The decoder keeps what follows each sequence, so the message
        // itself need not be kept.
        let (cmds, headers) = smuggled(&nc.following);
        let sev = if cmds.is_empty() { High } else { Critical };
        let mut summary = format!(
            "non-canonical end-of-data {} at message byte {}: a lenient server ends the message there, a strict one at {}",
            escape_bytes(&nc.sequence),
            nc.message_offset,
            strict_end.map(|n| format!("byte {n}")).unwrap_or_else(|| "the real <CRLF>.<CRLF>".into())
        );
        if !cmds.is_empty() {
            summary.push_str(&format!("; smuggled after it: {}", cmds.join(" | ")));
            if !headers.is_empty() {
                summary.push_str(&format!(" with {}", headers.join(", ")));
            }
        }
        let mut f = Finding::new(&INFO, sev, summary, s);
        if let Some(d) = s
            .commands()
            .rev()
            .find(|c| c.verb == "DATA" && c.t.frame <= a.frame)
        {
            f = f.event(s, d.idx);
        }
        if let Some(m) = msg_idx {
            f = f.event(s, m);
        }
        out.push(f.frame(a.frame));
    }
}
