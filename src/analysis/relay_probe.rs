//! Relay probing: recipients in foreign domains refused as relaying, or
//! source-route / percent-hack addresses (needs --local-domain).

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "relay-probe",
    group: "recon",
    severities: &[Low],
    trigger: "With --local-domain given: 3 or more RCPT to non-local domains refused (550/553/554), or any RCPT with a source route (@a,@b:) or percent hack (user%dom@host)",
    explanation: "Scanners test whether a server relays, often with address tricks older software mishandled; refusals show the probe failed.",
    references: &["RFC 5321 §3.6.1, §3.6.2, App. F.2"],
};

pub fn check(s: &Facts, cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    if !cfg.knows_local_domains() {
        return;
    }
    let mut hits = Vec::new();
    let mut trick = false;
    for c in s.commands().filter(|c| c.verb == "RCPT") {
        let path = c.arg.split_once(':').map(|x| x.1).unwrap_or(c.arg);
        let routed = path.trim_start().starts_with("<@") || path.contains('%');
        let refused = matches!(c.reply(s), Some((_, 550 | 553 | 554)));
        let foreign = domain_of(path).is_some_and(|d| !cfg.is_local_domain(&d));
        if routed || (refused && foreign) {
            trick |= routed;
            hits.push(c);
        }
    }
    if hits.is_empty() || (hits.len() < 3 && !trick) {
        return;
    }
    let sample: Vec<String> = hits.iter().take(4).map(|c| short(c.arg, 50)).collect();
    let summary = format!(
        "{} relay probe recipient(s) from {}: {}",
        hits.len(),
        s.client.ip(),
        sample.join(", ")
    );
    out.push(Finding::new(&INFO, Low, summary, s).events(s, hits.iter().take(20).map(|c| c.idx)));
}
