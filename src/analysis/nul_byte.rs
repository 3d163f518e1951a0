//! NUL bytes in command/reply lines or in DATA.

use super::Severity::*;
use super::*;
use crate::output::escape::escape_bytes;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "nul-byte",
    group: "framing",
    severities: &[Medium],
    trigger: "A NUL byte in a command or reply line, or in DATA content",
    explanation: "NUL truncates strings in C implementations, so filters and servers see different text; a NUL before the end-of-data dot is a known smuggling variant.",
    references: &["RFC 5321 §4.1.1.4", "SEC Consult, SMTP Smuggling (2023)"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for a in &s.anomalies {
        let summary = match &a.anomaly {
            Anomaly::NulInLine { line } => {
                format!("NUL byte in a line: {}", short(&escape_bytes(line), 80))
            }
            Anomaly::MessageLineEndings { nul, .. } if *nul > 0 => {
                format!("{nul} NUL byte(s) in DATA content")
            }
            _ => continue,
        };
        let mut f = Finding::new(&INFO, Medium, summary, s).frame(a.frame);
        if let Some(i) = event_at_frame(s, a.frame, None) {
            f = f.event(s, i);
        }
        out.push(f);
    }
}
