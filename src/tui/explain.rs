//! The hook the teaching module fills: an explanation of one dialogue
//! line, shown under the detail pane's parsed fields. Until it lands, a
//! placeholder names the reply class so the pane's layout is exercised.

use crate::model::{Session, TimelineKind};

/// Sentences explaining line `line` of timeline event `ev` of `session`.
/// Strings returned here are drawn as they are, so they must not contain
/// wire bytes that were not escaped.
pub fn explain_line(session: &Session, ev: usize, line: usize) -> Vec<String> {
    let Some(e) = session.timeline.get(ev) else {
        return Vec::new();
    };
    let _ = line;
    match e.kind {
        TimelineKind::Reply | TimelineKind::Greeting => {
            let class = e.lines.first().and_then(|l| l.get(..1)).map(|c| match c {
                "2" => "2xx: positive completion (RFC 5321 §4.2.1)",
                "3" => "3xx: positive intermediate, the server waits for more (RFC 5321 §4.2.1)",
                "4" => "4xx: transient negative, the client may retry later (RFC 5321 §4.2.1)",
                "5" => "5xx: permanent negative, do not retry as is (RFC 5321 §4.2.1)",
                _ => "not a standard reply class",
            });
            class.map(|c| vec![c.to_string()]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}
