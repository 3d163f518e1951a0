//! An unauthenticated client relaying to a domain the server does not
//! serve (needs --local-domain).

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "open-relay-accepted",
    group: "recon",
    severities: &[High],
    trigger: "With --local-domain given: an unauthenticated client outside --trusted-net gets RCPT to a non-local domain accepted (250/251)",
    explanation: "A server that relays for anyone is abused to send spam and phishing under its reputation and gets blocklisted.",
    references: &["RFC 5321 §3.6.2, §7.9", "RFC 3463 (X.7.1)"],
};

pub fn check(s: &Facts, cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    if !cfg.knows_local_domains() || cfg.is_trusted(s.client.ip()) {
        return;
    }
    if s.auth
        .as_ref()
        .is_some_and(|a| a.history.iter().any(|h| h.success == Some(true)))
    {
        return;
    }
    for c in s.commands().filter(|c| c.verb == "RCPT") {
        let Some((r, code @ (250 | 251))) = c.reply(s) else {
            continue;
        };
        let Some(domain) = domain_of(c.arg.split_once(':').map(|x| x.1).unwrap_or(c.arg)) else {
            continue;
        };
        if cfg.is_local_domain(&domain) {
            continue;
        }
        let summary = format!(
            "{} accepted ({code}) relaying to {} for unauthenticated client {}",
            s.service(),
            wire(&domain),
            s.client.ip()
        );
        out.push(
            Finding::new(&INFO, High, summary, s)
                .event(s, c.idx)
                .event(s, r),
        );
        return;
    }
}
