//! The status bar (source, counters, progress, findings by severity, live
//! rates) and the bottom line (keys of the current pane, notices, prompt).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::super::app::{App, Mode, Pane, Prompt};
use super::super::state::rows::human_bytes;
use super::super::state::store::Severity;
use super::super::theme;
use super::super::worker::SourceStats;
use crate::output::escape::escape_str;

#[derive(Debug)]
pub struct StatusState {
    pub label: String,
    pub mode: Mode,
    pub stats: SourceStats,
    pub progress: (u64, Option<u64>),
    pub done: bool,
    pub errors: Vec<String>,
    pub notice: Option<String>,
    pub paused: bool,
}

impl StatusState {
    pub fn new(label: String, mode: Mode) -> StatusState {
        StatusState {
            label,
            mode,
            stats: SourceStats::default(),
            progress: (0, None),
            done: false,
            errors: Vec::new(),
            notice: None,
            paused: false,
        }
    }
}

fn gauge(read: u64, total: u64) -> String {
    let pct = (read.min(total) * 100).checked_div(total).unwrap_or(100) as usize;
    let filled = pct / 10;
    format!(
        "[{}{}] {pct:>3}%",
        "█".repeat(filled),
        "░".repeat(10 - filled)
    )
}

pub fn render_status(f: &mut Frame, area: Rect, app: &App) {
    let st = &app.status;
    let sep = || Span::styled(" │ ", theme::status());
    let mut spans = vec![Span::styled(
        format!(" {} ", escape_str(&st.label)),
        theme::status().add_modifier(ratatui::style::Modifier::BOLD),
    )];
    match st.mode {
        Mode::File => {}
        Mode::Replay(x) => spans.push(Span::styled(format!("replay ×{x}"), theme::status())),
        Mode::Live => spans.push(Span::styled("live", theme::status())),
    }
    spans.push(sep());
    spans.push(Span::styled(
        format!(
            "{} pkts {}",
            st.stats.net.packets,
            human_bytes(st.stats.net.bytes)
        ),
        theme::status(),
    ));
    if let Some(r) = st.stats.packets_per_sec {
        spans.push(Span::styled(format!(" {r:.0} pkt/s"), theme::status()));
    }
    if let Some(d) = st.stats.kernel_dropped {
        spans.push(Span::styled(format!(" drops {d}"), theme::status()));
    }
    spans.push(sep());
    spans.push(Span::styled(
        format!("{} sessions", app.store.len()),
        theme::status(),
    ));
    if app.store.dropped_sessions > 0 {
        spans.push(Span::styled(
            format!(" ({} dropped)", app.store.dropped_sessions),
            theme::status(),
        ));
    }
    spans.push(sep());
    let counts = app.store.severity_counts();
    let mut any = false;
    // Most severe first, as `severity_counts` orders them.
    for (i, sev) in Severity::ALL.iter().rev().enumerate() {
        if counts[i] > 0 {
            any = true;
            spans.push(Span::styled(
                format!("{} {} ", counts[i], sev.as_str()),
                theme::severity(*sev),
            ));
        }
    }
    if !any {
        spans.push(Span::styled("no findings", theme::status()));
    }
    if !st.done && st.mode != Mode::Live {
        spans.push(sep());
        match st.progress {
            (read, Some(total)) => spans.push(Span::styled(
                format!("loading {}", gauge(read, total)),
                theme::status(),
            )),
            (read, None) => spans.push(Span::styled(
                format!("reading {}", human_bytes(read)),
                theme::status(),
            )),
        }
    }
    if st.paused {
        spans.push(sep());
        let pending = app.pending();
        spans.push(Span::styled(
            if pending > 0 {
                format!("PAUSED ({pending} updates held)")
            } else {
                "PAUSED".to_string()
            },
            theme::notice(),
        ));
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(theme::status()),
        area,
    );
}

fn keys_for(app: &App) -> &'static [(&'static str, &'static str)] {
    if app.help {
        return &[("Esc/?", "close help"), ("q", "quit")];
    }
    if app.message.is_some() {
        return &[
            ("↑↓ PgUp PgDn", "scroll"),
            ("e", "export .eml"),
            ("Esc", "back"),
            ("q", "quit"),
        ];
    }
    match app.focus {
        Pane::Sessions => &[
            ("↑↓", "select"),
            ("Enter", "timeline"),
            ("/", "search"),
            ("f/F", "filter"),
            ("s/S", "sort"),
            ("Tab", "pane"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Pane::Timeline => &[
            ("↑↓", "line"),
            ("Enter", "expand/open"),
            ("T", "teach"),
            ("m", "message"),
            ("e", "export"),
            // Tab is on the sessions pane's line and in help: room for T.
            ("Esc", "back"),
            ("?", "help"),
        ],
        Pane::Findings => &[
            ("↑↓", "select"),
            ("Enter", "jump to evidence"),
            ("a", "all/session"),
            ("Esc", "back"),
            ("?", "help"),
        ],
        Pane::Detail => &[
            ("↑↓", "scroll"),
            ("Esc", "back"),
            ("Tab", "pane"),
            ("?", "help"),
        ],
    }
}

pub fn render_keys(f: &mut Frame, area: Rect, app: &App) {
    let mut spans = Vec::new();
    if let Some(p) = &app.prompt {
        let (label, text, hint) = match p {
            Prompt::Search(t) => ("search /", t, "  Enter keeps, Esc clears"),
            Prompt::Filter(t) => (
                "filter F ",
                t,
                "  auth tls notls rejected findings open closed gap port:N sev:LEVEL text; Enter applies",
            ),
        };
        spans.push(Span::styled(label, theme::notice()));
        spans.push(Span::raw(escape_str(text)));
        spans.push(Span::styled("▏", theme::notice()));
        spans.push(Span::styled(hint, theme::dim()));
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    if let Some(n) = &app.status.notice {
        spans.push(Span::styled(format!("{} ", escape_str(n)), theme::notice()));
    }
    for (k, what) in keys_for(app) {
        spans.push(Span::styled(format!(" {k} "), theme::key()));
        spans.push(Span::raw(format!("{what} ")));
    }
    if matches!(app.status.mode, Mode::Replay(_) | Mode::Live) {
        spans.push(Span::styled(" space ", theme::key()));
        spans.push(Span::raw("pause "));
    }
    if matches!(app.status.mode, Mode::Replay(_)) {
        spans.push(Span::styled(" n ", theme::key()));
        spans.push(Span::raw("step "));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
