//! Server replies that cite a DNS blocklist.

use super::Severity::*;
use super::*;
use crate::model::TimelineKind;

pub static INFO: RuleInfo = RuleInfo {
    id: "client-on-blocklist",
    group: "recon",
    severities: &[Low],
    trigger: "A 4xx/5xx reply (not 421) whose text names a DNS blocklist (spamhaus, spamcop, abuseat, sorbs, barracuda, ...)",
    explanation: "The client's address is listed as a spam source: often a compromised host or a shared, abused egress address.",
    references: &["Zeek SMTP::Blocklist_Error_Message"],
};

const LISTS: &[&str] = &[
    "spamhaus.org",
    "spamcop.net",
    "abuseat.org",
    "sorbs.net",
    "barracudacentral",
    "surriel.com",
    "uceprotect.net",
    "mail-abuse.com",
    "dnsbl",
    "blocklist",
    "blacklist",
];

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for (i, t) in s.timeline.iter().enumerate() {
        if !matches!(t.kind, TimelineKind::Reply | TimelineKind::Greeting) {
            continue;
        }
        let Some(code) = code_of(t) else { continue };
        if !(400..600).contains(&code) || code == 421 {
            continue;
        }
        let text = t.lines.join(" ").to_ascii_lowercase();
        let Some(list) = LISTS.iter().find(|l| text.contains(*l)) else {
            continue;
        };
        let own = text.contains(&s.client.ip().to_string());
        let summary = format!(
            "{} replied {code} citing {list}{}: {}",
            s.service(),
            if own {
                format!(" and naming client {}", s.client.ip())
            } else {
                String::new()
            },
            short(t.lines.first().map(String::as_str).unwrap_or(""), 100)
        );
        out.push(Finding::new(&INFO, Low, summary, s).event(s, i));
        return;
    }
}
