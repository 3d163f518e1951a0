//! Pipelining the server did not offer, or a group STARTTLS must end.

use super::Severity::*;
use super::*;
use crate::output::escape::escape_bytes;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "pipelining-violation",
    group: "protocol",
    severities: &[Medium],
    trigger: "A command sent before the previous reply without PIPELINING advertised, or commands pipelined after STARTTLS",
    explanation: "Clients that do not wait for replies are typically bots; commands queued behind STARTTLS are an injection pattern.",
    references: &["RFC 2920 §3.1", "RFC 3207 §4", "RFC 5321 §4.3.1"],
};

pub fn check(s: &Session, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let mut f = Finding::new(&INFO, Medium, String::new(), s);
    let mut first = None;
    let mut n = 0;
    for a in &s.anomalies {
        let (what, line) = match &a.anomaly {
            Anomaly::PipeliningWithoutCapability { line } => ("without PIPELINING", line),
            Anomaly::PipelinedAfterStartTls { evidence, .. } => ("after STARTTLS", evidence),
            _ => continue,
        };
        n += 1;
        first.get_or_insert_with(|| format!("{what}: {}", short(&escape_bytes(line), 60)));
        f = f.frame(a.frame);
        if let Some(i) = event_at_frame(s, a.frame, Some(crate::model::TimelineKind::Command)) {
            f = f.event(s, i);
        }
    }
    let Some(first) = first else { return };
    f.summary = format!("{n} command(s) pipelined {first}");
    out.push(f);
}
