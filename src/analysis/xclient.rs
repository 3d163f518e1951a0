//! XCLIENT/XFORWARD accepted from a client outside the trusted networks.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "xclient-xforward-accepted",
    group: "dangerous-commands",
    severities: &[High],
    trigger: "XCLIENT or XFORWARD answered 2xx for a client outside --trusted-net",
    explanation: "XCLIENT lets the client claim another address, name or login, changing the server's access decisions and logs; only trusted proxies may use it.",
    references: &["Postfix XCLIENT_README", "Postfix XFORWARD_README"],
};

pub fn check(s: &Facts, cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    if cfg.is_trusted(s.client.ip()) {
        return;
    }
    for c in s
        .commands()
        .filter(|c| c.verb == "XCLIENT" || c.verb == "XFORWARD")
    {
        let Some((r, code @ 200..=299)) = c.reply(s) else {
            continue;
        };
        let summary = format!(
            "{} accepted ({code}) {} {} from {}",
            s.service(),
            c.verb,
            short(c.arg, 80),
            s.client.ip()
        );
        out.push(
            Finding::new(&INFO, High, summary, s)
                .event(s, c.idx)
                .event(s, r),
        );
    }
}
