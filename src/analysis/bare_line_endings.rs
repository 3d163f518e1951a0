//! Bare CR or LF used as a line end.

use super::Severity::*;
use super::*;
use crate::model::TimelineKind;
use crate::net::Dir;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "bare-line-ending",
    group: "framing",
    severities: &[Low, Medium],
    trigger: "A command or reply line ending in a bare CR or LF (low), or bare CR/LF inside DATA (medium when mixed with CRLF, low when the whole message uses bare LF)",
    explanation: "Only CRLF ends a line in SMTP; servers that accept other line ends disagree with strict ones about the text, which is the basis of smuggling and filter evasion.",
    references: &["RFC 5321 §2.3.8", "Postfix smtpd_forbid_bare_newline"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let lines: Vec<_> = s
        .anomalies
        .iter()
        .filter(|a| matches!(a.anomaly, Anomaly::BareLineTerminator { .. }))
        .collect();
    if let Some(first) = lines.first() {
        let who = |d| {
            if d == Dir::ClientToServer {
                "client"
            } else {
                "server"
            }
        };
        let summary = format!(
            "{} command/reply line(s) ended in a bare CR or LF, first from the {}",
            lines.len(),
            who(first.dir)
        );
        let mut f = Finding::new(&INFO, Low, summary, s);
        for a in lines.iter().take(8) {
            f = f.frame(a.frame);
            if let Some(i) = event_at_frame(s, a.frame, None) {
                f = f.event(s, i);
            }
        }
        out.push(f);
    }
    for a in &s.anomalies {
        let Anomaly::MessageLineEndings {
            bare_cr, bare_lf, ..
        } = a.anomaly
        else {
            continue;
        };
        if bare_cr + bare_lf == 0 {
            continue;
        }
        let msg = event_at_frame(s, a.frame, Some(TimelineKind::Message));
        let content = msg
            .and_then(|i| s.timeline[i].txn)
            .and_then(|t| s.transactions.get(t))
            .and_then(|t| t.content.as_ref());
        let mixed = content.is_none_or(|c| c.crlf_lines > 0);
        let sev = if mixed { Medium } else { Low };
        let summary = format!(
            "message content has {bare_lf} bare LF and {bare_cr} bare CR line ends{}",
            if mixed {
                " mixed with CRLF"
            } else {
                " (consistently, a legacy client)"
            }
        );
        let mut f = Finding::new(&INFO, sev, summary, s).frame(a.frame);
        if let Some(m) = msg {
            f = f.event(s, m);
        }
        out.push(f);
    }
}
