//! Too many Received headers: a mail loop.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "too-many-received-headers",
    group: "content",
    severities: &[Low],
    trigger: "A message with 100 or more Received: headers",
    explanation: "RFC 5321 treats a hundred trace headers as a mail loop; loops burn resources and can be triggered on purpose.",
    references: &["RFC 5321 §6.3"],
};

pub const LIMIT: usize = 100;

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for (i, tx) in s.transactions.iter().enumerate() {
        let Some(m) = &tx.message else { continue };
        if m.received_count < LIMIT {
            continue;
        }
        let summary = format!(
            "message carries {} Received: headers (loop limit {LIMIT})",
            m.received_count
        );
        let mut f = Finding::new(&INFO, Low, summary, s);
        f = f.message_event(s, i);
        out.push(f);
    }
}
