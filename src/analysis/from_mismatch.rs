//! Envelope sender domain differing from the header From domain.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "envelope-header-from-mismatch",
    group: "content",
    severities: &[Info],
    trigger: "MAIL FROM domain and header From: domain differ (neither is a subdomain of the other); null senders are skipped",
    explanation: "The header From is what people see; a different envelope domain is normal for lists and mail services but is also how spoofed mail looks.",
    references: &["RFC 5321 §7.1, §7.2", "RFC 7489 §3.1"],
};

fn related(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for (i, tx) in s.transactions.iter().enumerate() {
        let (Some(env), Some(hdr)) = (
            tx.mail_from.as_ref().and_then(|m| domain_of(&m.lossy())),
            tx.message
                .as_ref()
                .and_then(|m| m.from.as_deref())
                .and_then(domain_of),
        ) else {
            continue;
        };
        if related(&env, &hdr) {
            continue;
        }
        let summary = format!(
            "envelope sender domain {} but header From: domain {}",
            wire(&env),
            wire(&hdr)
        );
        let mut f = Finding::new(&INFO, Info, summary, s);
        f = f.message_event(s, i);
        out.push(f);
    }
}
