//! Teaching mode's inline explanations, computed lazily.
//!
//! A timeline can hold thousands of lines, and explaining one needs the
//! session's state walk (`teach::state::track`). So the walk runs once per
//! session version (timeline length, last event, open), for the detail
//! pane's full explanation as well as the inline ones, and a line's
//! explanation is built the first time that line is on screen, in
//! `update`; drawing only reads what is cached.
//!
//! Inline, a line shows a short form of its explanation: the headline, a
//! sequence violation if any, and the state change. The detail pane keeps
//! the full text (digits, keywords, references).
//!
//! Invariant: every cached line comes from `crate::teach`, which builds its
//! text from its own tables and the model's already-escaped lines, so it is
//! safe to draw as it is.

use std::collections::HashMap;

use crate::capture::Timestamp;
use crate::model::Session;
use crate::net::ConnId;
use crate::teach::state::{track, Step};

/// Most explanation lines shown under one dialogue line.
pub const MAX_INLINE_LINES: usize = 3;

/// What the cache was built from: (session, timeline length, last event, open).
type Version = (ConnId, usize, Timestamp, bool);

#[derive(Debug, Default)]
pub struct TeachCache {
    version: Option<Version>,
    steps: Vec<Step>,
    /// Inline lines per timeline event, filled as events come into view.
    lines: HashMap<usize, Vec<String>>,
}

impl TeachCache {
    /// Forget everything when the session or its version changed.
    pub fn sync(&mut self, s: &Session, open: bool) {
        let v = (s.id, s.timeline.len(), s.last_ts, open);
        if self.version != Some(v) {
            self.steps = track(s);
            self.lines.clear();
            self.version = Some(v);
        }
    }

    /// The cached state walk, if it was made from this version of `s`.
    pub fn steps_for(&self, s: &Session, open: bool) -> Option<&[Step]> {
        (self.version == Some((s.id, s.timeline.len(), s.last_ts, open)))
            .then_some(self.steps.as_slice())
    }

    /// Explain event `ev` if it is not cached yet. Call after [`sync`].
    ///
    /// [`sync`]: TeachCache::sync
    pub fn ensure(&mut self, s: &Session, ev: usize) {
        if ev >= s.timeline.len() || self.lines.contains_key(&ev) {
            return;
        }
        let all = crate::teach::explain_event_at(s, &self.steps, ev).to_lines();
        self.lines.insert(ev, inline_lines(all));
    }

    /// The cached inline lines of event `ev` (empty when not cached).
    pub fn get(&self, ev: usize) -> &[String] {
        self.lines.get(&ev).map(Vec::as_slice).unwrap_or(&[])
    }

    /// How many events are explained so far (for tests of laziness).
    pub fn cached(&self) -> usize {
        self.lines.len()
    }
}

/// The short inline form of a full explanation: headline, violation, state.
fn inline_lines(all: Vec<String>) -> Vec<String> {
    let mut it = all.into_iter();
    let mut out: Vec<String> = it.next().into_iter().collect();
    out.extend(it.filter(|l| l.starts_with("out of sequence:") || l.starts_with("state:")));
    out.truncate(MAX_INLINE_LINES);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_inline_keeps_headline_violation_and_state() {
        let all = vec![
            "354 to DATA: go ahead".to_string(),
            "first digit 3".to_string(),
            "out of sequence: DATA before RCPT".to_string(),
            "state: ready -> data".to_string(),
            "valid next: QUIT".to_string(),
        ];
        assert_eq!(
            inline_lines(all),
            vec![
                "354 to DATA: go ahead",
                "out of sequence: DATA before RCPT",
                "state: ready -> data"
            ]
        );
    }
}
