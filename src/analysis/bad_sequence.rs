//! Commands out of sequence (503 replies).

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "bad-command-sequence",
    group: "protocol",
    severities: &[Low],
    trigger: "A command answered 503 (bad sequence of commands), except RCPT/DATA/BDAT pipelined behind a refused MAIL",
    explanation: "RCPT before MAIL, DATA before RCPT or a second AUTH are client bugs or probing; cascades also follow a rejected MAIL in a pipeline.",
    references: &["RFC 5321 §4.1.4", "RFC 4954 §4"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    // Frame of the reply that refused the latest MAIL.
    let mut refused_mail: Option<u64> = None;
    let mut bad = Vec::new();
    for c in s.commands() {
        let reply = c.reply(s);
        if c.verb == "MAIL" {
            refused_mail = reply
                .filter(|(_, code)| !(200..300).contains(code))
                .and_then(|(r, _)| s.timeline.get(r))
                .map(|r| r.frame);
        }
        if !matches!(reply, Some((_, 503))) {
            continue;
        }
        // RFC 5321 §4.1.4: RCPT, DATA or BDAT already pipelined behind a
        // refused MAIL can only get 503; the cascade is no client bug.
        let cascade = matches!(c.verb.as_ref(), "RCPT" | "DATA" | "BDAT")
            && refused_mail.is_some_and(|f| c.t.frame < f);
        if !cascade {
            bad.push(c);
        }
    }
    if bad.is_empty() {
        return;
    }
    let mut verbs: Vec<&str> = bad.iter().map(|c| c.verb.as_ref()).collect();
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
