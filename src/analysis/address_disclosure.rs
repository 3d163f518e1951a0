//! Replies that disclose addresses: 251/551 forwarding, EXPN lists.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "address-info-disclosure",
    group: "disclosure",
    severities: &[Info],
    trigger: "A 251 or 551 reply naming an address, or an EXPN/VRFY answered 250 with addresses",
    explanation: "Forwarding targets, list members and full names help attackers map an organization and target people.",
    references: &["RFC 5321 §3.5, §7.4, §7.7"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for c in s.commands() {
        let Some((r, code)) = c.reply(s) else {
            continue;
        };
        let lines = &s.timeline[r].lines;
        let disclosed = matches!(
            (c.verb.as_ref(), code),
            (_, 251 | 551) | ("EXPN" | "VRFY", 250)
        ) && lines.iter().any(|l| l.contains('@'));
        if !disclosed {
            continue;
        }
        let summary = format!(
            "{} answered {} with {} line(s) naming addresses: {}",
            s.service(),
            c.verb,
            lines.len(),
            short(lines[0].get(4..).unwrap_or(""), 100)
        );
        out.push(
            Finding::new(&INFO, Info, summary, s)
                .event(s, c.idx)
                .event(s, r),
        );
    }
}
