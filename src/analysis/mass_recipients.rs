//! Very many recipients in one transaction.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "mass-recipients",
    group: "recon",
    severities: &[Low, Medium],
    trigger: "More than 100 RCPT in one transaction, or a 452 too-many-recipients reply (4.5.3, not 4.3.1 storage); medium beyond 1000",
    explanation: "Hundreds of recipients per message is typical of spam runs from compromised accounts (and of bulk mail, which should be known).",
    references: &["RFC 5321 §4.5.3.1.8, §4.5.3.1.10"],
};

/// A 452 that means too many recipients: 4.5.3, or recipients named in a
/// reply without an enhanced code. 452 alone also means no storage (4.3.1).
fn too_many_recipients(t: &TimelineEvent) -> bool {
    match enhanced_of(t) {
        Some(e) => (e.subject, e.detail) == (5, 3),
        None => t
            .lines
            .first()
            .is_some_and(|l| l.to_ascii_lowercase().contains("recipient")),
    }
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let too_many = s.commands().find(|c| {
        c.verb == "RCPT"
            && c.reply(s)
                .is_some_and(|(r, code)| code == 452 && too_many_recipients(&s.timeline[r]))
    });
    let biggest = s
        .transactions
        .iter()
        .map(|t| t.rcpt_count)
        .max()
        .unwrap_or(0);
    if biggest <= 100 && too_many.is_none() {
        return;
    }
    let sev = if biggest > 1000 { Medium } else { Low };
    let summary = format!(
        "{biggest} recipients in one transaction{}",
        if too_many.is_some() {
            "; the server answered 452 (too many recipients)"
        } else {
            ""
        }
    );
    let mut f = Finding::new(&INFO, sev, summary, s);
    if let Some(c) = too_many.or_else(|| s.commands().find(|c| c.verb == "RCPT")) {
        f = f.event(s, c.idx);
    }
    out.push(f);
}
