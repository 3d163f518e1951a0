//! Where each pane goes for a terminal size. One pure function, used both
//! to draw and to map mouse clicks, so the two always agree.
//!
//! Wide terminals (>= 120 columns) show every pane; narrower ones stack
//! sessions and timeline and share the bottom between detail and findings
//! (findings while focused). Down to 80x24 every pane keeps a usable size.

use ratatui::layout::{Constraint, Layout, Rect};

use super::app::Pane;

/// Width from which findings and detail sit beside the dialogue.
pub const WIDE: u16 = 120;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub status: Rect,
    pub sessions: Rect,
    pub timeline: Rect,
    pub findings: Rect,
    pub detail: Rect,
    pub keys: Rect,
    /// Where overlays (message view) draw: everything but the bars.
    pub main: Rect,
}

pub fn layout(size: Rect, focus: Pane) -> Areas {
    let [status, main, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(size);
    let mut a = Areas {
        status,
        keys,
        main,
        ..Areas::default()
    };
    if size.width >= WIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(65), Constraint::Percentage(35)])
                .areas(main);
        [a.sessions, a.timeline] =
            Layout::vertical([Constraint::Percentage(38), Constraint::Percentage(62)]).areas(left);
        [a.findings, a.detail] =
            Layout::vertical([Constraint::Percentage(30), Constraint::Percentage(70)]).areas(right);
    } else {
        let [s, t, bottom] = Layout::vertical([
            Constraint::Percentage(32),
            Constraint::Percentage(40),
            Constraint::Percentage(28),
        ])
        .areas(main);
        a.sessions = s;
        a.timeline = t;
        if focus == Pane::Findings {
            a.findings = bottom;
        } else {
            a.detail = bottom;
        }
    }
    a
}

impl Areas {
    fn inner_rows(r: Rect, header: u16) -> usize {
        r.height.saturating_sub(2 + header) as usize
    }

    /// Data rows the sessions table shows (below its header).
    pub fn sessions_rows(&self) -> usize {
        Self::inner_rows(self.sessions, 1)
    }

    pub fn timeline_rows(&self) -> usize {
        Self::inner_rows(self.timeline, 0)
    }

    pub fn findings_rows(&self) -> usize {
        Self::inner_rows(self.findings, 0)
    }

    pub fn overlay_rows(&self) -> usize {
        Self::inner_rows(self.main, 0)
    }

    fn rect(&self, p: Pane) -> Rect {
        match p {
            Pane::Sessions => self.sessions,
            Pane::Timeline => self.timeline,
            Pane::Findings => self.findings,
            Pane::Detail => self.detail,
        }
    }

    pub fn pane_at(&self, col: u16, row: u16) -> Option<Pane> {
        let pos = ratatui::layout::Position::new(col, row);
        [Pane::Sessions, Pane::Timeline, Pane::Findings, Pane::Detail]
            .into_iter()
            .find(|p| self.rect(*p).contains(pos))
    }

    /// The data row index (from the top of the viewport) at screen `row`.
    pub fn row_at(&self, p: Pane, row: u16) -> Option<usize> {
        let r = self.rect(p);
        let first = r.y + 1 + u16::from(p == Pane::Sessions);
        (row >= first && row < r.y + r.height.saturating_sub(1)).then(|| (row - first) as usize)
    }
}
