//! Verbs with an exploit history: Exchange's internal verbs and the old
//! sendmail debug/wizard back doors.

use super::Severity::*;
use super::*;

pub static EXCHANGE: RuleInfo = RuleInfo {
    id: "exchange-legacy-verb",
    group: "dangerous-commands",
    severities: &[High],
    trigger: "A client sends XEXCH50, X-LINK2STATE or X-EXPS",
    explanation: "These Exchange-to-Exchange verbs had remotely exploitable parsing bugs; from any other client they are exploit attempts or scans.",
    references: &["CVE-2003-0714 (MS03-046)", "CVE-2005-0560 (MS05-021)"],
};
pub static BACKDOOR: RuleInfo = RuleInfo {
    id: "legacy-backdoor-command",
    group: "dangerous-commands",
    severities: &[High],
    trigger: "A client sends DEBUG, WIZ, KILL or SHELL",
    explanation: "Historic sendmail back doors (the Morris worm used DEBUG); today they are sent by scanners and exploit kits.",
    references: &["CVE-1999-0095", "CVE-1999-0145"],
};

pub static INFOS: &[&RuleInfo] = &[&EXCHANGE, &BACKDOOR];

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for c in s.commands() {
        let info = match c.verb.as_ref() {
            "XEXCH50" | "X-LINK2STATE" | "X-EXPS" => &EXCHANGE,
            "DEBUG" | "WIZ" | "KILL" | "SHELL" => &BACKDOOR,
            _ => continue,
        };
        let reply = c.reply(s);
        let summary = format!(
            "client {} sent {}{}",
            s.client.ip(),
            short(c.t.lines.first().map(String::as_str).unwrap_or(""), 60),
            reply
                .map(|r| format!(", answered {}", r.1))
                .unwrap_or_default()
        );
        let mut f = Finding::new(info, High, summary, s).event(s, c.idx);
        if let Some((r, _)) = reply {
            f = f.event(s, r);
        }
        out.push(f);
    }
}
