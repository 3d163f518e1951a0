//! Client content sent after DATA before the server's 354.

use super::Severity::*;
use super::*;
use crate::output::escape::escape_bytes;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "data-before-354",
    group: "framing",
    severities: &[High],
    trigger: "Client bytes after the DATA command and before the server's reply to it",
    explanation: "DATA must end a pipelined group; content sent early is read as commands if the server refuses DATA, which lets message text become SMTP commands (an injection and smuggling vector).",
    references: &["RFC 2920 §3.1", "Postfix smtpd_forbid_unauth_pipelining"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for a in &s.anomalies {
        let Anomaly::DataBeforeReply {
            bytes,
            accepted,
            evidence,
        } = &a.anomaly
        else {
            continue;
        };
        let summary = format!(
            "{bytes} bytes sent after DATA before its reply ({}): {}",
            if *accepted {
                "the 354 then made them message content"
            } else {
                "the server refused DATA and read them as commands"
            },
            short(&escape_bytes(evidence), 80)
        );
        let mut f = Finding::new(&INFO, High, summary, s);
        if let Some(d) = s
            .commands()
            .rev()
            .find(|c| c.verb == "DATA" && c.t.frame <= a.frame)
        {
            f = f.event(s, d.idx);
            if let Some((r, _)) = d.reply(s) {
                f = f.event(s, r);
            }
        }
        out.push(f.frame(a.frame));
    }
}
