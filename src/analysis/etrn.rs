//! ETRN queue runs requested by a client.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "etrn-queue-trigger",
    group: "dangerous-commands",
    severities: &[Low],
    trigger: "An ETRN command from a client outside --trusted-net",
    explanation: "ETRN makes the server start a queue run; from outside the expected secondary-MX partners it probes queued domains or amplifies load.",
    references: &["RFC 1985"],
};

pub fn check(s: &Facts, cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    // Secondary MX partners (--trusted-net) run their queues by design.
    if cfg.is_trusted(s.client.ip()) {
        return;
    }
    let etrn: Vec<_> = s.commands().filter(|c| c.verb == "ETRN").collect();
    let Some(first) = etrn.first() else { return };
    let reply = first
        .reply(s)
        .map(|r| format!(" (answered {})", r.1))
        .unwrap_or_default();
    let summary = format!(
        "{} ETRN request(s), first for {}{reply}",
        etrn.len(),
        short(first.arg, 60)
    );
    out.push(Finding::new(&INFO, Low, summary, s).events(s, etrn.iter().map(|c| c.idx)));
}
