//! User enumeration with VRFY/EXPN.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "user-enum-vrfy-expn",
    group: "recon",
    severities: &[Medium],
    trigger: "3 or more VRFY/EXPN in a session, or answers that both confirm (250/251) and deny (550/551/553) different names",
    explanation: "VRFY and EXPN answer whether a mailbox exists; a series of them harvests valid addresses for spam and password attacks.",
    references: &["RFC 5321 §3.5, §7.3"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let probes: Vec<_> = s
        .commands()
        .filter(|c| c.verb == "VRFY" || c.verb == "EXPN")
        .collect();
    let codes: Vec<Option<u16>> = probes.iter().map(|c| c.reply(s).map(|r| r.1)).collect();
    let confirmed = codes
        .iter()
        .filter(|c| matches!(c, Some(250 | 251)))
        .count();
    let denied = codes
        .iter()
        .filter(|c| matches!(c, Some(550 | 551 | 553)))
        .count();
    if probes.len() < 3 && !(confirmed > 0 && denied > 0) {
        return;
    }
    let names: Vec<String> = probes.iter().take(5).map(|c| short(c.arg, 40)).collect();
    let summary = format!(
        "{} VRFY/EXPN probes ({}): {confirmed} confirmed, {denied} denied",
        probes.len(),
        names.join(", ")
    );
    let mut f = Finding::new(&INFO, Medium, summary, s);
    for c in &probes {
        f = f.event(s, c.idx);
        if let Some((r, _)) = c.reply(s) {
            f = f.event(s, r);
        }
    }
    out.push(f);
}
