//! The selected session as a dialogue: client lines on the left, server
//! replies indented on the right, offsets from the session start, reply
//! latency, reply codes by class, pipelined groups in the gutter, findings
//! marked on their evidence lines. In teaching mode (`T`, or `--teach`)
//! each dialogue line is followed by a dimmed short explanation; those
//! lines are not rows: the selection moves over dialogue rows only, and
//! the scrolling keeps the selected line and its explanation on screen.

use std::collections::BTreeSet;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::super::app::{App, Pane};
use super::super::state::list::ListState;
use super::super::state::rows::{build, Row, RowKind};
use super::super::state::store::{Severity, Store};
use super::super::state::teach::TeachCache;
use super::super::theme;
use super::{fit, highlight, pane_block};
use crate::capture::time::format_duration_nanos;
use crate::capture::Timestamp;
use crate::model::{Session, TimelineKind};
use crate::net::{ConnId, Dir};

#[derive(Debug, Default)]
pub struct TimelineView {
    pub session: Option<ConnId>,
    pub rows: Vec<Row>,
    pub list: ListState,
    /// Timeline indices of expanded DATA/BDAT messages.
    pub expanded: BTreeSet<usize>,
    pub detail_scroll: u16,
    /// Teaching mode: explanations inline under each dialogue line.
    pub teach: bool,
    /// `--show-secrets`: SASL responses shown decoded instead of masked.
    pub show_secrets: bool,
    pub explain: TeachCache,
    /// What the rows were built from: (timeline length, last event, open).
    built: Option<(usize, Timestamp, bool)>,
}

impl TimelineView {
    pub fn invalidate(&mut self) {
        self.built = None;
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.list.selected)
    }

    /// `tail`: keep the last row selected as the dialogue grows (follow mode).
    pub fn refresh(&mut self, store: &Store, current: Option<ConnId>, height: usize, tail: bool) {
        if current != self.session {
            self.session = current;
            self.expanded.clear();
            self.list = ListState::default();
            self.detail_scroll = 0;
            self.built = None;
        }
        let Some(entry) = current.and_then(|id| store.get(id)) else {
            self.rows.clear();
            self.list.clamp(0, height);
            return;
        };
        let s = &entry.session;
        let mark = (s.timeline.len(), s.last_ts, entry.open);
        if self.built != Some(mark) {
            self.rows = build(s, &self.expanded, self.show_secrets);
            self.built = Some(mark);
            if tail {
                self.list.selected = self.rows.len().saturating_sub(1);
            }
        }
        self.list.clamp(self.rows.len(), height);
        // The detail pane explains the selected line from this walk too.
        self.explain.sync(s, entry.open);
        if self.teach {
            self.fit_teaching(s, height);
        }
    }

    /// The explanation lines drawn after row `i`: in teaching mode, under
    /// the last row of each timeline event (empty until explained).
    pub fn extra_lines(&self, i: usize) -> &[String] {
        let Some(row) = self.rows.get(i).filter(|_| self.teach) else {
            return &[];
        };
        match self.rows.get(i + 1) {
            Some(next) if next.ev == row.ev => &[],
            _ => self.explain.get(row.ev),
        }
    }

    /// Explain the rows that start within `height` screen lines from row
    /// `from`; returns how many of them fit whole (line and explanation).
    fn fitting_rows(&mut self, s: &Session, from: usize, height: usize) -> usize {
        let (mut used, mut full) = (0, 0);
        let mut i = from;
        while i < self.rows.len() && used < height {
            self.explain.ensure(s, self.rows[i].ev);
            used += 1 + self.extra_lines(i).len();
            if used <= height {
                full += 1;
            }
            i += 1;
        }
        full
    }

    /// Scroll down until the selected row and its explanation are on
    /// screen (`list` counts rows; explanation lines take room too).
    fn fit_teaching(&mut self, s: &Session, height: usize) {
        let h = height.max(1);
        loop {
            let full = self.fitting_rows(s, self.list.offset, h).max(1);
            if self.list.selected < self.list.offset + full
                || self.list.offset >= self.list.selected
            {
                break;
            }
            self.list.offset += 1;
        }
    }

    /// After a wheel scroll in teaching mode: pull the selection up onto
    /// the screen instead of letting `fit_teaching` scroll back to it.
    pub fn drag_selection(&mut self, store: &Store, height: usize) {
        let Some(entry) = self.session.and_then(|id| store.get(id)) else {
            return;
        };
        if !self.teach {
            return;
        }
        self.explain.sync(&entry.session, entry.open);
        let full = self
            .fitting_rows(&entry.session, self.list.offset, height.max(1))
            .max(1);
        let last = self.list.offset + full - 1;
        if self.list.selected > last {
            self.list.selected = last.min(self.rows.len().saturating_sub(1));
        }
    }

    /// The row drawn at screen line `line` of the viewport (an
    /// explanation line belongs to the row above it).
    pub fn row_at_line(&self, line: usize) -> Option<usize> {
        let mut y = 0;
        for i in self.list.offset..self.rows.len() {
            y += 1 + self.extra_lines(i).len();
            if line < y {
                return Some(i);
            }
        }
        None
    }
}

/// Highest severity of the findings whose evidence is timeline event `ev`.
pub fn finding_on(app: &App, s: &Session, ev: usize) -> Option<Severity> {
    let e = app.store.get(s.id)?;
    let frame = s.timeline.get(ev)?.frame;
    e.facts
        .findings
        .iter()
        .filter(|f| f.marks(ev, frame))
        .map(|f| f.severity)
        .max()
}

fn offset(s: &Session, ts: Timestamp) -> String {
    format!("+{:.3}s", ts.since(s.start) as f64 / 1e9)
}

fn row_line<'a>(app: &App, s: &Session, row: &'a Row, indent: usize) -> Line<'a> {
    let ev = &s.timeline[row.ev];
    let first = matches!(
        row.kind,
        RowKind::Line(0) | RowKind::Message { .. } | RowKind::Tls | RowKind::Gap
    );
    let mut spans = Vec::with_capacity(8);
    match (first, finding_on(app, s, row.ev)) {
        (true, Some(sev)) => spans.push(Span::styled("!", theme::severity(sev))),
        _ => spans.push(Span::raw(" ")),
    }
    spans.push(Span::styled(
        if first {
            format!("{:>8} ", offset(s, ev.ts))
        } else {
            " ".repeat(9)
        },
        theme::dim(),
    ));
    spans.push(match row.group {
        Some(_) => Span::styled("┃", theme::pipelined()),
        None => Span::raw(" "),
    });
    match row.kind {
        RowKind::Line(n) => {
            let client = ev.dir == Dir::ClientToServer;
            // The proxy's handshake is not the dialogue: shown dimmed.
            let proxy = ev.kind == TimelineKind::Proxy;
            if client {
                spans.push(Span::styled(
                    if n == 0 { "C→ " } else { "   " },
                    theme::client(),
                ));
                let style = if proxy { theme::dim() } else { theme::client() };
                spans.push(Span::styled(row.text.as_str(), style));
            } else {
                spans.push(Span::raw(" ".repeat(indent)));
                spans.push(Span::styled(
                    if n == 0 { "←S " } else { "   " },
                    theme::server(),
                ));
                let is_reply = matches!(ev.kind, TimelineKind::Reply | TimelineKind::Greeting);
                let code: Option<u16> = row.text.get(..3).and_then(|c| c.parse().ok());
                match (is_reply, code) {
                    (true, Some(c)) => {
                        spans.push(Span::styled(&row.text[..3], theme::reply_class(c)));
                        spans.push(Span::styled(&row.text[3..], theme::server()));
                    }
                    _ if proxy => spans.push(Span::styled(row.text.as_str(), theme::dim())),
                    _ => spans.push(Span::styled(row.text.as_str(), theme::server())),
                }
                if n == 0 {
                    if let Some(l) = ev.latency_ns {
                        spans.push(Span::styled(
                            format!("  ({})", format_duration_nanos(l)),
                            theme::dim(),
                        ));
                    }
                }
            }
        }
        RowKind::Message { .. } => {
            spans.push(Span::styled("C→ ", theme::client()));
            spans.push(Span::styled(row.text.as_str(), theme::message()));
        }
        RowKind::MessageDetail => {
            spans.push(Span::raw("   "));
            spans.push(Span::styled(row.text.as_str(), Style::new()));
        }
        RowKind::Tls => {
            spans.push(Span::styled(format!("══ {} ══", row.text), theme::tls()));
        }
        RowKind::Gap => {
            spans.push(Span::styled(format!("╳╳ {} ╳╳", row.text), theme::gap()));
        }
    }
    Line::from(spans)
}

/// One inline explanation line, at the client text's column whichever
/// side spoke, so that replies' explanations keep most of the width. A
/// cut is marked with `…`; the detail pane has the whole text.
fn explain_line(text: &str, width: usize) -> Line<'static> {
    const PAD: usize = 11 + 3;
    Line::from(vec![
        Span::raw(" ".repeat(PAD)),
        Span::styled("│ ", theme::teach()),
        Span::styled(fit(text, width.saturating_sub(PAD + 2)), theme::teach()),
    ])
}

/// " via SOCKS5 to HOST:PORT" for a session through a proxy, else "".
fn via(s: &crate::model::Session) -> String {
    match &s.tunnel {
        Some(t) => format!(" via {} to {}", t.protocol.name(), t.authority()),
        None => String::new(),
    }
}

pub fn render(f: &mut Frame, area: Rect, app: &App) {
    let v = &app.timeline;
    let entry = v.session.and_then(|id| app.store.get(id));
    let title = match entry {
        Some(e) => format!(
            " Timeline #{} {} → {}{}{}{} ",
            e.session.id,
            e.session.client,
            e.session.server,
            via(&e.session),
            if e.open { " (open)" } else { "" },
            if v.teach { " · teaching" } else { "" }
        ),
        None => " Timeline ".into(),
    };
    let block = pane_block(title, app, Pane::Timeline);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(e) = entry else {
        f.render_widget(
            Span::styled("select a session and press Enter", theme::dim()),
            inner,
        );
        return;
    };
    let indent = (inner.width as usize / 5).clamp(2, 16);
    let h = inner.height as usize;
    let mut y = 0;
    for (i, row) in v.rows.iter().enumerate().skip(v.list.offset) {
        if y >= h {
            break;
        }
        let r = Rect::new(inner.x, inner.y + y as u16, inner.width, 1);
        if i == v.list.selected {
            highlight(f, r, theme::selected(app.focus == Pane::Timeline));
        }
        f.render_widget(Paragraph::new(row_line(app, &e.session, row, indent)), r);
        y += 1;
        for text in v.extra_lines(i).iter().take(h - y) {
            let r = Rect::new(inner.x, inner.y + y as u16, inner.width, 1);
            f.render_widget(Paragraph::new(explain_line(text, inner.width as usize)), r);
            y += 1;
        }
    }
    if v.rows.is_empty() {
        f.render_widget(Span::styled("(no dialogue yet)", theme::dim()), inner);
    }
}
