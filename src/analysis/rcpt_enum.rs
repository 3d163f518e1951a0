//! Recipient enumeration: many unknown-user rejections without a message.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "user-enum-rcpt",
    group: "recon",
    severities: &[Medium],
    trigger: "10 or more RCPT answered 550/553 (unknown user: 5.1.x or no enhanced code), at least half of all RCPT, and no message accepted in the session",
    explanation: "RCPT answers reveal which mailboxes exist; a client probing many addresses without sending mail is harvesting them.",
    references: &["RFC 5321 §7.3, §7.8", "RFC 3463 (X.1.1)"],
};

const THRESHOLD: usize = 10;

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    if s.transactions.iter().any(|t| t.completed) {
        return;
    }
    let rcpts: Vec<_> = s.commands().filter(|c| c.verb == "RCPT").collect();
    // RFC 3463: X.1.x is about the address (5.1.1 no such mailbox); a
    // refusal on other grounds (5.7.1 policy) reveals nothing about it.
    let unknown: Vec<_> = rcpts
        .iter()
        .filter(|c| {
            c.reply(s).is_some_and(|(r, code)| {
                matches!(code, 550 | 553)
                    && enhanced_of(&s.timeline[r]).is_none_or(|e| e.subject == 1)
            })
        })
        .collect();
    if unknown.len() < THRESHOLD || unknown.len() * 2 < rcpts.len() {
        return;
    }
    let sample: Vec<String> = unknown.iter().take(4).map(|c| short(c.arg, 50)).collect();
    let summary = format!(
        "{} of {} RCPT rejected as unknown with no message sent ({}, ...)",
        unknown.len(),
        rcpts.len(),
        sample.join(", ")
    );
    let f =
        Finding::new(&INFO, Medium, summary, s).events(s, unknown.iter().take(20).map(|c| c.idx));
    out.push(f);
}
