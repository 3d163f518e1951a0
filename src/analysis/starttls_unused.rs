//! STARTTLS offered but the client did not use it.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "starttls-offered-not-used",
    group: "tls",
    severities: &[Low, Medium, High],
    trigger: "EHLO offers STARTTLS, the client sends MAIL or AUTH without it; low between relays (opportunistic TLS), medium on submission ports, high when AUTH follows or a message is sent on a submission port",
    explanation: "The client could have protected the dialogue but did not; credentials and mail travel readable, and an attacker can tamper with them.",
    references: &["RFC 3207 §6", "RFC 8314 §3, §4.1", "RFC 4954 §9"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    if !s.tls.starttls_offered || s.tls.starttls_command || s.tls.started {
        return;
    }
    let Some(first) = s.first_command(&["MAIL", "AUTH"]) else {
        return;
    };
    let submission = is_submission_port(s.service_port());
    let auth = s.first_command(&["AUTH"]);
    let data = s.first_command(&["DATA", "BDAT"]);
    let sev = if auth.is_some() || (submission && data.is_some()) {
        High
    } else if submission {
        Medium
    } else {
        Low
    };
    let what = match (&auth, &data) {
        (Some(_), Some(_)) => "authenticated and sent mail",
        (Some(_), None) => "authenticated",
        (None, Some(_)) => "sent mail",
        (None, None) => "started a transaction",
    };
    let summary = format!(
        "{} offered STARTTLS but the client {} in clear on port {}",
        s.service(),
        what,
        s.service_port()
    );
    let mut f = Finding::new(&INFO, sev, summary, s);
    if let Some((_, r)) = s.ehlo_reply() {
        f = f.event(s, r);
    }
    f = f.event(s, auth.map(|c| c.idx).unwrap_or(first.idx));
    out.push(f);
}
