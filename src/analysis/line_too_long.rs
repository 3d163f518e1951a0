//! Lines over the RFC 5321 limits.

use super::Severity::*;
use super::*;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "line-too-long",
    group: "protocol",
    severities: &[Low, Medium],
    trigger: "A command or reply line over 512 octets (medium), or message text lines over 1000 octets (low)",
    explanation: "Over-long lines are truncated or split differently by different software, and long command lines have triggered buffer overflows (e.g. Exim CVE-2019-16928).",
    references: &["RFC 5321 §4.5.3.1.4-6", "CVE-2019-16928"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for a in &s.anomalies {
        let (sev, summary) = match &a.anomaly {
            Anomaly::LineTooLong { len } => {
                (Medium, format!("a {len}-octet line (limit 512 with CRLF)"))
            }
            Anomaly::LineOverCap { len, cap } => (
                Medium,
                format!("a {len}-octet line (limit 512 with CRLF; smtpscope kept its first {cap})"),
            ),
            Anomaly::MessageLongLines { count } => {
                (Low, format!("{count} message line(s) over 1000 octets"))
            }
            _ => continue,
        };
        let mut f = Finding::new(&INFO, sev, summary, s).frame(a.frame);
        if let Some(i) = event_at_frame(s, a.frame, None) {
            f = f.event(s, i);
        }
        out.push(f);
    }
}
