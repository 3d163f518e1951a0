//! STARTTLS refused by the server.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "starttls-rejected",
    group: "tls",
    severities: &[Medium, High],
    trigger: "STARTTLS answered with anything but 220; high when the client then goes on with MAIL or AUTH in clear",
    explanation: "A refused upgrade leaves the session in clear; an attacker can force this by rewriting the reply, and a client that continues accepts the downgrade.",
    references: &["RFC 3207 §4, §6", "Poddebniak et al., USENIX Security 2021 (EAST O_1-O_4)"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for c in s.commands().filter(|c| c.verb == "STARTTLS") {
        let Some((r, code)) = c.reply(s) else {
            continue;
        };
        if code == 220 {
            continue;
        }
        let after = s
            .commands()
            .find(|n| n.idx > r && (n.verb == "MAIL" || n.verb == "AUTH"));
        let sev = if after.is_some() { High } else { Medium };
        let reply = short(
            s.timeline[r]
                .lines
                .first()
                .map(String::as_str)
                .unwrap_or(""),
            80,
        );
        let summary = match &after {
            Some(n) => format!(
                "STARTTLS refused ({reply}) and the client went on in clear with {}",
                n.verb
            ),
            None => format!("STARTTLS refused ({reply})"),
        };
        let mut f = Finding::new(&INFO, sev, summary, s)
            .event(s, c.idx)
            .event(s, r);
        if let Some(n) = after {
            f = f.event(s, n.idx);
        }
        out.push(f);
    }
}
