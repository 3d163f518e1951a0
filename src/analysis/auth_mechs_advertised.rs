//! Plaintext SASL mechanisms offered before TLS.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "auth-plaintext-mechs-advertised",
    group: "credentials",
    severities: &[Medium],
    trigger: "A cleartext EHLO reply offers AUTH PLAIN, LOGIN, XOAUTH2 or OAUTHBEARER",
    explanation: "Offering password mechanisms before TLS invites clients to send passwords in clear; servers must be able to withhold them until STARTTLS.",
    references: &["RFC 4954 §4, §9", "RFC 4616 §5", "RFC 5248 (X.7.10)"],
};

const PLAINTEXT: &[&str] = &["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"];

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let Some((_, reply)) = s.ehlo_reply() else {
        return;
    };
    let offered: Vec<String> = s
        .capabilities
        .auth
        .iter()
        .filter(|m| PLAINTEXT.iter().any(|p| m.eq_ignore_ascii_case(p)))
        .map(|m| wire(m))
        .collect();
    if offered.is_empty() {
        return;
    }
    let summary = format!(
        "{} offers AUTH {} before TLS{}",
        s.service(),
        offered.join(" "),
        if s.capabilities.starttls {
            " (STARTTLS is offered too, but not required first)"
        } else {
            " and offers no STARTTLS"
        }
    );
    out.push(Finding::new(&INFO, Medium, summary, s).event(s, reply));
}
