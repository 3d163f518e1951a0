//! Commands out of sequence (503 replies).

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "bad-command-sequence",
    group: "protocol",
    severities: &[Low],
    trigger: "A command answered 503 (bad sequence of commands)",
    explanation: "RCPT before MAIL, DATA before RCPT or a second AUTH are client bugs or probing; cascades also follow a rejected MAIL in a pipeline.",
    references: &["RFC 5321 §4.1.4", "RFC 4954 §4"],
};

pub fn check(s: &Session, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let bad: Vec<_> = commands(s)
        .filter(|c| matches!(c.reply(s), Some((_, 503))))
        .collect();
    if bad.is_empty() {
        return;
    }
    let mut verbs: Vec<&str> = bad.iter().map(|c| c.verb.as_str()).collect();
    verbs.dedup();
    let summary = format!(
        "{} command(s) answered 503 bad sequence: {}",
        bad.len(),
        wire(&verbs.join(", "))
    );
    let mut f = Finding::new(&INFO, Low, summary, s);
    for c in bad.iter().take(10) {
        f = f.event(s, c.idx);
        if let Some((r, _)) = c.reply(s) {
            f = f.event(s, r);
        }
    }
    out.push(f);
}
