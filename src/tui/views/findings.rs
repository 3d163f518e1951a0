//! Findings of the whole capture (or of the selected session), most
//! severe first; Enter jumps to the evidence line.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::super::app::{App, Pane};
use super::super::state::filter::merge_sorted;
use super::super::state::list::ListState;
use super::super::state::store::{Finding, Severity, Store};
use super::super::theme;
use super::{highlight, pane_block};
use crate::net::ConnId;
use crate::output::escape::escape_str;

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum FindingsScope {
    #[default]
    All,
    Session,
}

/// One row: which finding of which session (the finding itself stays in
/// the store, so that following 100,000 sessions moves small rows).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FindingItem {
    pub session: ConnId,
    /// Its place among the session's findings.
    pub index: usize,
    pub severity: Severity,
}

impl FindingItem {
    /// List order: most severe first, then by session and place.
    fn key(&self) -> (std::cmp::Reverse<Severity>, ConnId, usize) {
        (std::cmp::Reverse(self.severity), self.session, self.index)
    }

    pub fn finding<'s>(&self, store: &'s Store) -> Option<&'s Finding> {
        store.get(self.session)?.facts.findings.get(self.index)
    }
}

/// The findings of `e`, as list items.
fn items_of(e: &super::super::state::store::Entry) -> impl Iterator<Item = FindingItem> + '_ {
    e.facts
        .findings
        .iter()
        .enumerate()
        .map(|(index, f)| FindingItem {
            session: e.session.id,
            index,
            severity: f.severity,
        })
}

#[derive(Debug, Default)]
pub struct FindingsView {
    pub scope: FindingsScope,
    pub list: ListState,
    items: Vec<FindingItem>,
    built: Option<(u64, Option<ConnId>)>,
}

impl FindingsView {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn invalidate(&mut self) {
        self.built = None;
    }

    pub fn selected(&self) -> Option<&FindingItem> {
        self.items.get(self.list.selected)
    }

    /// Catch up with the store: the whole capture's list follows the
    /// store's change log (only changed sessions' findings are copied);
    /// the one-session list is rebuilt, it is short.
    pub fn refresh(&mut self, store: &Store, current: Option<ConnId>, height: usize) {
        let key = (
            store.generation,
            (self.scope == FindingsScope::Session)
                .then_some(current)
                .flatten(),
        );
        if self.built != Some(key) {
            let changed = match (self.built, self.scope) {
                (Some((g, None)), FindingsScope::All) => store.changed_since(g),
                _ => None,
            };
            match changed {
                Some(changed) => {
                    self.items
                        .retain(|i| changed.binary_search(&i.session).is_err());
                    let mut fresh: Vec<FindingItem> = changed
                        .iter()
                        .filter_map(|id| store.get(*id))
                        .flat_map(items_of)
                        .collect();
                    fresh.sort_by_key(FindingItem::key);
                    let old = std::mem::take(&mut self.items);
                    self.items = merge_sorted(old, fresh, |a, b| a.key() < b.key());
                }
                None => {
                    self.items = match self.scope {
                        FindingsScope::All => store.iter().flat_map(items_of).collect(),
                        FindingsScope::Session => current
                            .and_then(|id| store.get(id))
                            .into_iter()
                            .flat_map(items_of)
                            .collect(),
                    };
                    self.items.sort_by_key(FindingItem::key);
                }
            }
            self.built = Some(key);
        }
        self.list.clamp(self.items.len(), height);
    }
}

pub fn render(f: &mut Frame, area: Rect, app: &App) {
    let v = &app.findings;
    let scope = match v.scope {
        FindingsScope::All => "all sessions",
        FindingsScope::Session => "this session",
    };
    let block = pane_block(
        format!(" Findings {} ({scope}) ", v.len()),
        app,
        Pane::Findings,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    if v.items.is_empty() {
        f.render_widget(Span::styled("no findings", theme::dim()), inner);
        return;
    }
    let h = inner.height as usize;
    let end = (v.list.offset + h).min(v.items.len());
    for (i, item) in v.items[v.list.offset.min(end)..end].iter().enumerate() {
        let r = Rect::new(inner.x, inner.y + i as u16, inner.width, 1);
        if v.list.offset + i == v.list.selected {
            highlight(f, r, theme::selected(app.focus == Pane::Findings));
        }
        let Some(fd) = item.finding(&app.store) else {
            continue;
        };
        let line = Line::from(vec![
            Span::styled(
                format!("{:<8}", fd.severity.as_str()),
                theme::severity(fd.severity),
            ),
            Span::raw(format!("#{:<4} ", item.session)),
            Span::styled(escape_str(&fd.name), theme::title()),
            Span::raw(" "),
            Span::raw(escape_str(&fd.text)),
        ]);
        f.render_widget(Paragraph::new(line), r);
    }
}
