//! Pipelining the server did not offer, or a group STARTTLS must end.

use super::Severity::*;
use super::*;
use crate::model::TimelineKind;
use crate::net::Dir;
use crate::output::escape::escape_bytes;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "pipelining-violation",
    group: "protocol",
    severities: &[Medium],
    trigger: "A command sent before the previous reply without PIPELINING advertised (except QUIT right behind a message's final dot), or commands pipelined after STARTTLS",
    explanation: "Clients that do not wait for replies are typically bots; commands queued behind STARTTLS are an injection pattern.",
    references: &["RFC 2920 §3.1", "RFC 3207 §4", "RFC 5321 §4.3.1"],
};

/// QUIT sent right behind the end of a message, without waiting for its
/// 250: common and harmless (the message is complete either way).
fn quit_behind_dot(s: &Session, quit: usize) -> bool {
    let is_quit = s.timeline[quit]
        .lines
        .first()
        .is_some_and(|l| l.eq_ignore_ascii_case("QUIT"));
    let before = s.timeline[..quit]
        .iter()
        .rev()
        .find(|t| t.dir == Dir::ClientToServer);
    is_quit && before.is_some_and(|t| t.kind == TimelineKind::Message)
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let mut f = Finding::new(&INFO, Medium, String::new(), s);
    let mut first = None;
    let mut n = 0;
    // An HTTP request's header lines arrive before any reply, but that is
    // HTTP, not SMTP pipelining: unknown-command reports it (medium).
    let http = super::unknown_command::speaks_http(s);
    for a in &s.anomalies {
        let cmd = event_at_frame(s, a.frame, Some(TimelineKind::Command));
        let (what, line) = match &a.anomaly {
            Anomaly::PipeliningWithoutCapability { .. }
                if http || cmd.is_some_and(|i| quit_behind_dot(s, i)) =>
            {
                continue
            }
            Anomaly::PipeliningWithoutCapability { line } => ("without PIPELINING", line),
            Anomaly::PipelinedAfterStartTls { evidence, .. } => ("after STARTTLS", evidence),
            _ => continue,
        };
        n += 1;
        first.get_or_insert_with(|| format!("{what}: {}", short(&escape_bytes(line), 60)));
        f = f.frame(a.frame);
        if let Some(i) = cmd {
            f = f.event(s, i);
        }
    }
    let Some(first) = first else { return };
    f.summary = format!("{n} command(s) pipelined {first}");
    out.push(f);
}
