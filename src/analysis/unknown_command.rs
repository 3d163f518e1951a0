//! Unknown commands and non-SMTP protocols on the SMTP port.

use super::Severity::*;
use super::*;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "unknown-command",
    group: "protocol",
    severities: &[Low, Medium],
    trigger: "A command verb SMTP does not define (low); medium for HTTP (GET, POST, CONNECT, header lines) or 5 or more unknown commands",
    explanation: "HTTP on an SMTP port is a cross-protocol attack or a scanner; streams of unknown verbs are fuzzing or a misdirected client.",
    references: &["RFC 5321 §4.1.5, §4.2.4", "Postfix smtpd_forbidden_commands"],
};

const HTTP: &[&str] = &[
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "CONNECT",
    "OPTIONS",
    "HOST:",
    "USER-AGENT:",
];

/// The client sent an HTTP request line or header: it is not speaking SMTP.
pub(super) fn speaks_http(s: &Session) -> bool {
    s.anomalies.iter().any(
        |a| matches!(&a.anomaly, Anomaly::UnknownCommand { verb } if HTTP.contains(&verb.as_str())),
    )
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let mut verbs: Vec<String> = Vec::new();
    let mut f = Finding::new(&INFO, Low, String::new(), s);
    for a in &s.anomalies {
        let Anomaly::UnknownCommand { verb } = &a.anomaly else {
            continue;
        };
        verbs.push(verb.clone());
        f = f.frame(a.frame);
        if let Some(i) = event_at_frame(s, a.frame, Some(crate::model::TimelineKind::Command)) {
            f = f.event(s, i);
        }
    }
    if verbs.is_empty() {
        return;
    }
    let http = verbs.iter().any(|v| HTTP.contains(&v.as_str()));
    f.severity = if http || verbs.len() >= 5 {
        Medium
    } else {
        Low
    };
    let mut shown: Vec<String> = verbs.iter().take(5).map(|v| wire(v)).collect();
    shown.dedup();
    f.summary = format!(
        "{} unknown command(s){}: {}",
        verbs.len(),
        if http { " (HTTP on the SMTP port)" } else { "" },
        shown.join(", ")
    );
    out.push(f);
}
