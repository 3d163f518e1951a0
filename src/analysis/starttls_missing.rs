//! STARTTLS not offered, and the session went on in clear.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "starttls-not-offered",
    group: "tls",
    severities: &[Low, Medium],
    trigger: "A cleartext EHLO reply without STARTTLS, then MAIL or AUTH in clear; medium on the submission port or when AUTH follows",
    explanation: "Without STARTTLS the whole dialogue, messages and any credentials cross the network readable; a missing keyword can also mean a middlebox stripped it.",
    references: &["RFC 3207 §2, §6", "RFC 8314 §4.1"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    if s.capabilities.starttls || s.tls.started {
        return;
    }
    let Some((_, reply)) = s.ehlo_reply() else {
        return;
    };
    let Some(next) = s
        .commands()
        .find(|c| c.idx > reply && (c.verb == "MAIL" || c.verb == "AUTH"))
    else {
        return;
    };
    let sev = if next.verb == "AUTH" || is_submission_port(s.service_port()) {
        Medium
    } else {
        Low
    };
    let summary = format!(
        "{} did not offer STARTTLS; the client went on in clear with {}",
        s.service(),
        short(next.t.lines.first().map(String::as_str).unwrap_or(""), 80)
    );
    out.push(
        Finding::new(&INFO, sev, summary, s)
            .event(s, reply)
            .event(s, next.idx),
    );
}
