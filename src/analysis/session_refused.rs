//! The server refused the session in its greeting.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "session-refused",
    group: "protocol",
    severities: &[Info],
    trigger: "A greeting with 554, 421 or 521",
    explanation: "The server will not talk to this client (policy, blocklist, overload, or no mail service here).",
    references: &["RFC 5321 §3.1, §4.3.2", "RFC 7504"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let Some(code) = s
        .greeting_code
        .map(|c| c.0)
        .filter(|c| matches!(c, 421 | 521 | 554))
    else {
        return;
    };
    let text = s
        .greeting
        .as_ref()
        .map(|g| short(&g.to_string(), 100))
        .unwrap_or_default();
    let summary = format!("{} refused the session with {code}: {text}", s.service());
    let mut f = Finding::new(&INFO, Info, summary, s);
    if let Some(i) = s
        .timeline
        .iter()
        .position(|t| t.kind == crate::model::TimelineKind::Greeting)
    {
        f = f.event(s, i);
    }
    out.push(f);
}
