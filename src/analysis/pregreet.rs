//! Client talking before the server's greeting.

use super::Severity::*;
use super::*;
use crate::output::escape::escape_bytes;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "pregreet",
    group: "protocol",
    severities: &[Medium],
    trigger: "Client bytes before the server's 220 greeting, on a connection whose TCP handshake was captured",
    explanation: "Legitimate clients wait for the greeting; spam bots that fire commands at once are what greet-pause and postscreen catch.",
    references: &["RFC 5321 §4.3.1", "Postfix postscreen PREGREET"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    // Without the handshake the capture may have begun after the greeting.
    if !s.handshake_seen {
        return;
    }
    let Some(a) = s
        .anomalies
        .iter()
        .find(|a| matches!(a.anomaly, Anomaly::Pregreet { .. }))
    else {
        return;
    };
    let Anomaly::Pregreet { line } = &a.anomaly else {
        return;
    };
    let summary = format!(
        "client spoke before the greeting: {}",
        short(&escape_bytes(line), 80)
    );
    let mut f = Finding::new(&INFO, Medium, summary, s).frame(a.frame);
    if let Some(c) = s.commands().next() {
        f = f.event(s, c.idx);
    }
    out.push(f);
}
