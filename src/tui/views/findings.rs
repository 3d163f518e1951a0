//! Findings of the whole capture (or of the selected session), most
//! severe first; Enter jumps to the evidence line.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::super::app::{App, Pane};
use super::super::state::list::ListState;
use super::super::state::store::{Finding, Store};
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

#[derive(Clone, Debug)]
pub struct FindingItem {
    pub session: ConnId,
    pub finding: Finding,
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

    pub fn refresh(&mut self, store: &Store, current: Option<ConnId>, height: usize) {
        let key = (
            store.generation,
            (self.scope == FindingsScope::Session)
                .then_some(current)
                .flatten(),
        );
        if self.built != Some(key) {
            self.items.clear();
            let entries: Box<dyn Iterator<Item = _>> = match self.scope {
                FindingsScope::All => Box::new(store.iter()),
                FindingsScope::Session => {
                    Box::new(current.and_then(|id| store.get(id)).into_iter())
                }
            };
            for e in entries {
                for f in &e.facts.findings {
                    self.items.push(FindingItem {
                        session: e.session.id,
                        finding: f.clone(),
                    });
                }
            }
            self.items.sort_by(|a, b| {
                b.finding
                    .severity
                    .cmp(&a.finding.severity)
                    .then(a.session.cmp(&b.session))
            });
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
        let fd = &item.finding;
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
