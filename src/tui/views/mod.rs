//! One file per screen region. Each `render` only reads state and draws.

pub mod detail;
pub mod findings;
pub mod help;
pub mod message;
pub mod sessions;
pub mod status;
pub mod timeline;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

use super::app::{App, Pane};
use super::theme;

/// Draw the whole screen.
pub fn render(f: &mut Frame, app: &App) {
    let a = app.areas();
    status::render_status(f, a.status, app);
    sessions::render(f, a.sessions, app);
    timeline::render(f, a.timeline, app);
    if a.findings.height > 0 {
        findings::render(f, a.findings, app);
    }
    if a.detail.height > 0 {
        detail::render(f, a.detail, app);
    }
    if let Some(m) = &app.message {
        message::render(f, a.main, m);
    }
    if app.help {
        help::render(f, a.main);
    }
    status::render_keys(f, a.keys, app);
}

/// A pane's frame: title, and a brighter border when focused.
pub fn pane_block<'a>(title: impl Into<Line<'a>>, app: &App, pane: Pane) -> Block<'a> {
    let focused = app.focus == pane && app.message.is_none() && !app.help;
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme::border(focused))
        .title(title.into().style(theme::title()))
}

/// Cut `s` to at most `width` display columns, marking the cut with `…`.
pub fn fit(s: &str, width: usize) -> String {
    let width_of = |c: char| {
        let mut buf = [0u8; 4];
        ratatui::text::Span::raw(&*c.encode_utf8(&mut buf)).width()
    };
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = width_of(c);
        if w + cw > width {
            if width > 0 {
                // Make room for the ellipsis.
                while w + 1 > width {
                    if let Some(last) = out.pop() {
                        w -= width_of(last);
                    } else {
                        break;
                    }
                }
                out.push('…');
            }
            return out;
        }
        w += cw;
        out.push(c);
    }
    out
}

/// Fill a row's background so a selection shows across the whole width.
pub fn highlight(f: &mut Frame, area: Rect, style: Style) {
    f.buffer_mut().set_style(area, style);
}
