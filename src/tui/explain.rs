//! The detail pane's explanation of one dialogue line, from the teaching
//! tables (`crate::teach`): command or reply meaning, the code digit by
//! digit, EHLO keywords, what AUTH exposes, and the session state before
//! and after with the commands valid next.

use crate::model::Session;
use crate::teach::state::Step;

/// Sentences explaining timeline event `ev` of `session`. The teaching
/// module builds them from its tables and the already-escaped line text,
/// so they are safe to draw as they are. `steps` is the session's cached
/// state walk (`state::teach::TeachCache`); without it the whole timeline
/// is walked again, which is slow on long sessions.
pub fn explain_line(
    session: &Session,
    steps: Option<&[Step]>,
    ev: usize,
    _line: usize,
) -> Vec<String> {
    if ev >= session.timeline.len() {
        return Vec::new();
    }
    match steps {
        Some(steps) => crate::teach::explain_event_at(session, steps, ev).to_lines(),
        None => crate::teach::explain_event(session, ev).to_lines(),
    }
}
