//! The detail pane's explanation of one dialogue line, from the teaching
//! tables (`crate::teach`): command or reply meaning, the code digit by
//! digit, EHLO keywords, what AUTH exposes, and the session state before
//! and after with the commands valid next.

use crate::model::Session;

/// Sentences explaining timeline event `ev` of `session`. The teaching
/// module builds them from its tables and the already-escaped line text,
/// so they are safe to draw as they are.
pub fn explain_line(session: &Session, ev: usize, _line: usize) -> Vec<String> {
    if ev >= session.timeline.len() {
        return Vec::new();
    }
    crate::teach::explain_event(session, ev).to_lines()
}
