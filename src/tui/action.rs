//! What the user can do, and which keys do it. Keys and mouse events
//! become [`Action`]s here and nowhere else; the help overlay lists
//! [`KEYS`], so the map and its documentation sit side by side.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// Open or expand what is selected.
    Enter,
    /// Close the overlay or input, or go back one pane.
    Back,
    StartSearch,
    CycleFilter,
    StartTypedFilter,
    CycleSort,
    ReverseSort,
    OpenMessage,
    Export,
    TogglePause,
    Step,
    ToggleFollow,
    /// Findings pane: all sessions or the selected one.
    ToggleFindingsScope,
    /// Teaching mode: explain each timeline line inline.
    ToggleTeach,
    /// Typing into the search or filter prompt.
    Input(char),
    InputBackspace,
    Click {
        col: u16,
        row: u16,
    },
    Scroll {
        col: u16,
        row: u16,
        delta: i16,
    },
    Resize(u16, u16),
}

/// Every key, for the help overlay: (keys, what they do).
pub const KEYS: &[(&str, &str)] = &[
    ("Up/k Down/j", "move the selection"),
    ("PgUp PgDn", "move a page (also Ctrl-b, Ctrl-f)"),
    ("Home/g End/G", "first / last row"),
    ("Tab Shift-Tab", "next / previous pane"),
    ("Enter", "open session; expand DATA, again opens message;"),
    ("", "in findings: jump to the evidence line"),
    (
        "Esc",
        "close overlay/prompt, back a pane; clear search+filter",
    ),
    ("/", "search: address, HELO, subject, command, user"),
    ("f", "filter presets: findings, AUTH, rejected, TLS, no TLS"),
    ("F", "typed filter: auth tls notls rejected findings open"),
    ("", "closed gap port:N sev:LEVEL and words (all must hold)"),
    ("s S", "sort by time / findings / size; reverse the order"),
    ("m e", "message view; export the message as .eml"),
    ("a", "findings pane: all sessions / selected session"),
    ("space", "pause the view (capture goes on; replay pauses)"),
    ("n", "replay: next event (single step)"),
    ("t", "follow mode: keep the newest session selected"),
    ("T", "teaching mode: explain each timeline line inline"),
    ("mouse", "click selects, wheel scrolls"),
    ("? q Ctrl-c", "this help; quit"),
];

/// Map a key; `typing` is true while a search or filter prompt is open.
pub fn map_key(key: KeyEvent, typing: bool) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if typing {
        return match key.code {
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Enter => Some(Action::Enter),
            KeyCode::Backspace => Some(Action::InputBackspace),
            KeyCode::Char(c) if !ctrl => Some(Action::Input(c)),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('b') if ctrl => Action::PageUp,
        KeyCode::Char('f') if ctrl => Action::PageDown,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Home,
        KeyCode::End | KeyCode::Char('G') => Action::End,
        KeyCode::Enter => Action::Enter,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('/') => Action::StartSearch,
        KeyCode::Char('f') => Action::CycleFilter,
        KeyCode::Char('F') => Action::StartTypedFilter,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('S') => Action::ReverseSort,
        KeyCode::Char('m') => Action::OpenMessage,
        KeyCode::Char('e') => Action::Export,
        KeyCode::Char('a') => Action::ToggleFindingsScope,
        KeyCode::Char(' ') => Action::TogglePause,
        KeyCode::Char('n') => Action::Step,
        KeyCode::Char('t') => Action::ToggleFollow,
        KeyCode::Char('T') => Action::ToggleTeach,
        _ => return None,
    })
}

pub fn map_mouse(m: MouseEvent) -> Option<Action> {
    match m.kind {
        MouseEventKind::Down(_) => Some(Action::Click {
            col: m.column,
            row: m.row,
        }),
        MouseEventKind::ScrollUp => Some(Action::Scroll {
            col: m.column,
            row: m.row,
            delta: -3,
        }),
        MouseEventKind::ScrollDown => Some(Action::Scroll {
            col: m.column,
            row: m.row,
            delta: 3,
        }),
        _ => None,
    }
}
