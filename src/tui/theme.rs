//! Every colour and text style of the TUI, in one place.

use ratatui::style::{Color, Modifier, Style};

use super::state::store::Severity;

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    }
}

pub fn selected(focused: bool) -> Style {
    if focused {
        Style::new().bg(Color::Blue).fg(Color::White)
    } else {
        Style::new().bg(Color::DarkGray)
    }
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Teaching mode's inline explanations: dimmed, italic where supported,
/// still readable on a projector.
pub fn teach() -> Style {
    Style::new()
        .fg(Color::Gray)
        .add_modifier(Modifier::DIM | Modifier::ITALIC)
}

pub fn key() -> Style {
    Style::new().fg(Color::Black).bg(Color::Gray)
}

pub fn client() -> Style {
    Style::new().fg(Color::LightCyan)
}

pub fn server() -> Style {
    Style::new().fg(Color::Gray)
}

pub fn pipelined() -> Style {
    Style::new().fg(Color::Magenta)
}

pub fn gap() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

pub fn tls() -> Style {
    Style::new().fg(Color::Green)
}

pub fn message() -> Style {
    Style::new().fg(Color::Yellow)
}

pub fn status() -> Style {
    Style::new().bg(Color::DarkGray).fg(Color::White)
}

pub fn notice() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

/// Reply codes by class (RFC 5321 §4.2.1).
pub fn reply_class(code: u16) -> Style {
    match code / 100 {
        2 => Style::new().fg(Color::Green),
        3 => Style::new().fg(Color::Cyan),
        4 => Style::new().fg(Color::Yellow),
        5 => Style::new().fg(Color::Red),
        _ => Style::new(),
    }
}

pub fn severity(sev: Severity) -> Style {
    match sev {
        Severity::Info => Style::new().fg(Color::Blue),
        Severity::Low => Style::new().fg(Color::Cyan),
        Severity::Medium => Style::new().fg(Color::Yellow),
        Severity::High => Style::new().fg(Color::Red),
        Severity::Critical => Style::new().fg(Color::White).bg(Color::Red),
    }
}

pub fn badge_good() -> Style {
    Style::new().fg(Color::Green)
}

pub fn badge_warn() -> Style {
    Style::new().fg(Color::Yellow)
}

pub fn badge_bad() -> Style {
    Style::new().fg(Color::Red)
}
