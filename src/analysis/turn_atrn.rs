//! TURN and ATRN: role reversal, which must require authentication.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "turn-atrn-unauthenticated",
    group: "dangerous-commands",
    severities: &[Medium, High],
    trigger: "TURN (high when answered 250) or ATRN before a successful AUTH",
    explanation: "TURN swaps client and server on the connection, so anyone can collect mail queued for another host; ATRN is only safe after authentication.",
    references: &["RFC 5321 App. F.1", "RFC 2645"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let auth_ok = s
        .auth
        .as_ref()
        .is_some_and(|a| a.history.iter().any(|h| h.success == Some(true)));
    for c in s
        .commands()
        .filter(|c| c.verb == "TURN" || c.verb == "ATRN")
    {
        let reply = c.reply(s);
        let sev = match (c.verb.as_ref(), reply) {
            ("TURN", Some((_, 250))) => High,
            ("ATRN", _) if auth_ok => continue,
            _ => Medium,
        };
        let summary = format!(
            "{} without authentication{}",
            c.verb,
            match reply {
                Some((_, code)) => format!(", answered {code}"),
                None => String::new(),
            }
        );
        let mut f = Finding::new(&INFO, sev, summary, s).event(s, c.idx);
        if let Some((r, _)) = reply {
            f = f.event(s, r);
        }
        out.push(f);
    }
}
