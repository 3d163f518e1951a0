//! Server replies that break the reply grammar.

use super::Severity::*;
use super::*;
use crate::output::escape::escape_bytes;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "reply-anomaly",
    group: "protocol",
    severities: &[Medium],
    trigger: "A reply code out of range, a multi-line reply with mixed codes, a line that is not a reply, or a reply nobody asked for (other than a 421 closing the channel)",
    explanation: "Clients and monitors pair replies with commands; a server (or something in between) that breaks the grammar desynchronizes them, or is not an SMTP server at all.",
    references: &["RFC 5321 §4.2, §4.2.1, §4.3.2"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let mut what = Vec::new();
    let mut f = Finding::new(&INFO, Medium, String::new(), s);
    for a in &s.anomalies {
        let w = match &a.anomaly {
            Anomaly::ReplyCodeMismatch { first, line } => {
                format!("multi-line reply mixes codes {} and {}", first.0, line.0)
            }
            Anomaly::ReplyCodeOutOfRange { code } => format!("reply code {} out of range", code.0),
            Anomaly::UnparsableReply { line } => {
                format!("not a reply line: {}", short(&escape_bytes(line), 60))
            }
            // RFC 5321 §3.8, §4.2.2: a server closing the channel (idle
            // timeout, shutdown) may send 421 unasked.
            Anomaly::UnsolicitedReply { code, .. } if code.0 == 421 => continue,
            Anomaly::UnsolicitedReply { code, .. } => format!("unsolicited reply {}", code.0),
            _ => continue,
        };
        f = f.frame(a.frame);
        if let Some(i) = event_at_frame(s, a.frame, None) {
            f = f.event(s, i);
        }
        if what.len() < 4 && !what.contains(&w) {
            what.push(w);
        }
    }
    if what.is_empty() {
        return;
    }
    f.summary = what.join("; ");
    out.push(f);
}
