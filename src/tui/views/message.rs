//! One message in full: headers, MIME tree with sizes and hashes, text
//! body. Built once when opened; `e` exports it.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::super::action::Action;
use super::super::state::rows::{body_lines, human_bytes, mime_lines};
use super::super::theme;
use crate::model::Session;
use crate::net::ConnId;
use crate::output::escape::escape_str;

/// Most body lines the message view shows.
pub const MAX_BODY_LINES: usize = 20_000;

#[derive(Debug, Clone)]
pub struct MessageView {
    pub session: ConnId,
    pub txn: usize,
    pub title: String,
    /// (is a section heading, text); all escaped.
    pub lines: Vec<(bool, String)>,
    pub offset: usize,
}

impl MessageView {
    pub fn open(s: &Session, txn: usize) -> Option<MessageView> {
        let tx = s.transactions.get(txn)?;
        let m = tx.message.as_ref()?;
        let mut lines = vec![(true, "Headers".to_string())];
        for (n, v) in &m.headers {
            lines.push((false, format!("{}: {}", escape_str(n), escape_str(v))));
        }
        lines.push((true, String::new()));
        lines.push((true, format!("MIME tree ({} parts)", m.parts.len())));
        lines.extend(mime_lines(m).into_iter().map(|l| (false, l)));
        lines.push((true, String::new()));
        lines.push((true, "Body".to_string()));
        match &tx.raw_message {
            Some(raw) => lines.extend(
                body_lines(raw, MAX_BODY_LINES)
                    .into_iter()
                    .map(|l| (false, l)),
            ),
            None => lines.push((false, "(message bytes not retained)".into())),
        }
        let subject = m.subject.as_deref().map(escape_str).unwrap_or_default();
        Some(MessageView {
            session: s.id,
            txn,
            title: format!(
                " Message #{} t{} {} \"{}\" ",
                s.id,
                txn,
                human_bytes(tx.data_bytes.unwrap_or(0)),
                subject
            ),
            lines,
            offset: 0,
        })
    }

    pub fn clamp(&mut self, height: usize) {
        self.offset = self
            .offset
            .min(self.lines.len().saturating_sub(height.max(1)));
    }

    pub fn update(&mut self, a: &Action, height: usize) {
        let page = height.max(1) as isize;
        let delta = match a {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Home => isize::MIN / 2,
            Action::End => isize::MAX / 2,
            Action::Scroll { delta, .. } => *delta as isize,
            _ => 0,
        };
        self.offset = (self.offset as isize).saturating_add(delta).max(0) as usize;
        self.clamp(height);
    }
}

pub fn render(f: &mut Frame, area: Rect, m: &MessageView) {
    f.render_widget(Clear, area);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme::border(true))
        .title(Line::from(m.title.as_str()).style(theme::title()));
    let inner = block.inner(area);
    let lines: Vec<Line> = m
        .lines
        .iter()
        .skip(m.offset)
        .take(inner.height as usize)
        .map(|(head, text)| {
            if *head {
                Line::from(Span::styled(text.as_str(), theme::message()))
            } else {
                Line::from(format!("  {text}"))
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block), area);
}
