//! The sessions list: one row per SMTP session, only visible rows drawn.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use super::super::app::{App, Pane};
use super::super::state::filter::{apply_changes, visible, Filter, RowKey, SortKey};
use super::super::state::list::ListState;
use super::super::state::store::{Entry, Store, TlsBadge};
use super::super::theme;
use super::pane_block;
use crate::net::ConnId;
use crate::output::escape::escape_str;

#[derive(Debug, Default)]
pub struct SessionsView {
    pub list: ListState,
    pub filter: Filter,
    pub sort: SortKey,
    pub descending: bool,
    /// Keep the newest session selected.
    pub follow: bool,
    /// The listed sessions in display order, with their sort keys.
    rows: Vec<RowKey>,
    /// The store generation `rows` reflects; `None` after the filter or
    /// the sort changed (a full rebuild).
    built_generation: Option<u64>,
}

impl SessionsView {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The listed sessions, in display order.
    pub fn ids(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.rows.iter().map(|r| r.id())
    }

    pub fn id_at(&self, index: usize) -> Option<ConnId> {
        self.rows.get(index).map(|r| r.id())
    }

    pub fn invalidate(&mut self) {
        self.built_generation = None;
    }

    pub fn current(&self) -> Option<ConnId> {
        self.id_at(self.list.selected)
    }

    /// Select `id` if listed.
    pub fn select_id(&mut self, id: ConnId) -> bool {
        match self.rows.iter().position(|r| r.id() == id) {
            Some(i) => {
                self.list.selected = i;
                true
            }
            None => false,
        }
    }

    /// Catch up with the store: from its change log when it reaches back
    /// far enough (cheap: linear in the rows), else by a full rebuild.
    pub fn refresh(&mut self, store: &Store, height: usize) {
        if self.built_generation != Some(store.generation) {
            let keep = self.current();
            let changed = self
                .built_generation
                .and_then(|g| store.changed_since(g))
                .filter(|c| c.len() <= self.rows.len() / 2 + 1024);
            match changed {
                Some(changed) => apply_changes(
                    &mut self.rows,
                    store,
                    &changed,
                    &self.filter,
                    self.sort,
                    self.descending,
                ),
                None => self.rows = visible(store, &self.filter, self.sort, self.descending),
            }
            self.built_generation = Some(store.generation);
            if let Some(id) = keep {
                self.select_id(id);
            }
            if self.follow {
                if let Some((i, _)) = self.rows.iter().enumerate().max_by_key(|(_, r)| r.id()) {
                    self.list.selected = i;
                }
            }
        }
        self.list.clamp(self.rows.len(), height);
    }
}

fn tls_badge(t: TlsBadge) -> Span<'static> {
    match t {
        TlsBadge::Started => Span::styled("TLS", theme::badge_good()),
        TlsBadge::OfferedNotUsed => Span::styled("tls?", theme::badge_warn()),
        TlsBadge::None => Span::styled("none", theme::dim()),
    }
}

fn auth_cell(e: &Entry) -> Line<'static> {
    let Some(a) = &e.session.auth else {
        return Line::from(Span::styled("-", theme::dim()));
    };
    let user = escape_str(a.user.as_deref().unwrap_or(&a.mechanism));
    let (mark, style) = match a.success {
        Some(true) => ("✓", theme::badge_good()),
        Some(false) => ("✗", theme::badge_bad()),
        None => ("…", theme::dim()),
    };
    Line::from(vec![Span::raw(user), Span::styled(mark, style)])
}

fn state_cell(e: &Entry) -> Span<'static> {
    if e.session.gaps > 0 {
        Span::styled("gap", theme::gap())
    } else if e.open {
        Span::styled("open", theme::badge_good())
    } else {
        Span::styled("closed", theme::dim())
    }
}

fn findings_cell(e: &Entry) -> Span<'static> {
    match e.facts.max_severity {
        Some(s) => Span::styled(
            format!("{} {}", s.as_str(), e.facts.findings.len()),
            theme::severity(s),
        ),
        None => Span::styled("-", theme::dim()),
    }
}

pub fn render(f: &mut Frame, area: Rect, app: &App) {
    let v = &app.sessions;
    let mut title = format!(" Sessions {}/{} ", v.len(), app.store.len());
    if v.filter.is_active() {
        title.push_str(&format!("[{}", v.filter.preset.label()));
        if !v.filter.typed.is_empty() {
            title.push_str(&format!(" F:{}", escape_str(v.filter.typed.source())));
        }
        if !v.filter.search.is_empty() {
            title.push_str(&format!(" /{}", escape_str(&v.filter.search)));
        }
        title.push_str("] ");
    }
    title.push_str(&format!(
        "sort:{}{} ",
        v.sort.label(),
        if v.descending { "↓" } else { "" }
    ));
    if v.follow {
        title.push_str("follow ");
    }
    let block = pane_block(title, app, Pane::Sessions);
    let wide = area.width >= 96;
    let height = area.height.saturating_sub(3) as usize;
    let end = (v.list.offset + height).min(v.rows.len());
    let rows = v.rows[v.list.offset.min(end)..end]
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let e = app.store.get(r.id())?;
            let s = &e.session;
            let mut cells: Vec<Cell> = vec![Cell::from(s.id.to_string())];
            if wide {
                let t = s.start.rfc3339().to_string();
                cells.push(Cell::from(t.get(11..19).unwrap_or(&t).to_string()));
            }
            // Through a proxy: the mail server it reached, after a dashed
            // arrow (the timeline's title names the proxy too).
            cells.push(Cell::from(match &s.tunnel {
                Some(t) => format!("{} ⇢ {}", s.client, t.authority()),
                None => format!("{} → {}", s.client, s.server),
            }));
            if wide {
                cells.push(Cell::from(
                    s.helo.as_ref().map(|h| h.to_string()).unwrap_or_default(),
                ));
            }
            cells.push(Cell::from(tls_badge(e.facts.tls)));
            cells.push(Cell::from(auth_cell(e)));
            cells.push(Cell::from(e.facts.messages.to_string()));
            let rej = e.facts.rejected;
            cells.push(Cell::from(Span::styled(
                rej.to_string(),
                if rej > 0 {
                    theme::badge_bad()
                } else {
                    Style::new()
                },
            )));
            cells.push(Cell::from(findings_cell(e)));
            cells.push(Cell::from(state_cell(e)));
            let mut row = Row::new(cells);
            if v.list.offset + i == v.list.selected {
                row = row.style(theme::selected(app.focus == Pane::Sessions));
            }
            Some(row)
        });
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if wide {
        (
            vec![
                "#",
                "start",
                "client → server",
                "HELO",
                "TLS",
                "AUTH",
                "msg",
                "rej",
                "findings",
                "state",
            ],
            vec![
                Constraint::Length(5),
                Constraint::Length(8),
                Constraint::Length(33),
                Constraint::Fill(1),
                Constraint::Length(4),
                Constraint::Length(9),
                Constraint::Length(3),
                Constraint::Length(3),
                Constraint::Length(8),
                Constraint::Length(6),
            ],
        )
    } else {
        (
            vec![
                "#",
                "client → server",
                "TLS",
                "AUTH",
                "msg",
                "rej",
                "findings",
                "state",
            ],
            vec![
                Constraint::Length(4),
                Constraint::Fill(1),
                Constraint::Length(4),
                Constraint::Length(8),
                Constraint::Length(3),
                Constraint::Length(3),
                Constraint::Length(8),
                Constraint::Length(6),
            ],
        )
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme::title()))
        .column_spacing(1)
        .block(block);
    f.render_widget(table, area);
    if v.rows.is_empty() {
        let msg = if app.status.done {
            if app.store.is_empty() {
                "no SMTP sessions in this capture"
            } else {
                "no session matches the filter (Esc clears search, f cycles presets)"
            }
        } else {
            "waiting for sessions…"
        };
        let inner = Rect::new(
            area.x + 2,
            area.y + 2,
            area.width.saturating_sub(4),
            1.min(area.height.saturating_sub(3)),
        );
        f.render_widget(Span::styled(msg, theme::dim()), inner);
    }
}
