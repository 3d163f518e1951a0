//! The App: a few view states and the one `update` that changes them.
//! Drawing lives in `views/`; nothing here touches a terminal.

use std::collections::VecDeque;
use std::path::PathBuf;

use ratatui::layout::Rect;

use super::action::Action;
use super::layout::{layout, Areas};
use super::state::filter::TypedFilter;
use super::state::rows::RowKind;
use super::state::store::{Store, StoreLimits};
use super::views::findings::{FindingsScope, FindingsView};
use super::views::message::MessageView;
use super::views::sessions::SessionsView;
use super::views::status::StatusState;
use super::views::timeline::TimelineView;
use super::worker::{Control, WorkerMsg};
use crate::output::eml::Exporter;

/// Messages held while the view is paused; past it they are applied anyway
/// so that memory stays bounded.
pub const MAX_PENDING: usize = 100_000;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Pane {
    Sessions,
    Timeline,
    Findings,
    Detail,
}

impl Pane {
    const ORDER: [Pane; 4] = [Pane::Sessions, Pane::Timeline, Pane::Detail, Pane::Findings];

    fn step(self, d: isize) -> Pane {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0) as isize;
        Self::ORDER[(i + d).rem_euclid(4) as usize]
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    Search(String),
    Filter(String),
}

#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Mode {
    File,
    Replay(f64),
    Live,
}

pub struct AppConfig {
    /// File name(s) or interface, for the status bar.
    pub source_label: String,
    pub mode: Mode,
    pub limits: StoreLimits,
    pub export_dir: PathBuf,
    /// Start in teaching mode (`--teach`).
    pub teach: bool,
    /// `--show-secrets`: decoded SASL secrets instead of the mask.
    pub show_secrets: bool,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            source_label: String::new(),
            mode: Mode::File,
            limits: StoreLimits::default(),
            export_dir: PathBuf::from("smtpscope-export"),
            teach: false,
            show_secrets: false,
        }
    }
}

pub struct App {
    pub store: Store,
    pub sessions: SessionsView,
    pub timeline: TimelineView,
    pub findings: FindingsView,
    pub message: Option<MessageView>,
    pub status: StatusState,
    pub focus: Pane,
    pub help: bool,
    pub prompt: Option<Prompt>,
    pub size: Rect,
    pub quit: bool,
    /// Controls for the worker, taken by the event loop.
    pub outbox: Vec<Control>,
    pending: VecDeque<WorkerMsg>,
    /// A message being read again from the file, and whether to export it
    /// when it arrives.
    rereading: Option<(crate::net::ConnId, usize, bool)>,
    export_dir: PathBuf,
}

impl App {
    pub fn new(cfg: AppConfig) -> App {
        let live = !matches!(cfg.mode, Mode::File);
        let mut sessions = SessionsView::default();
        sessions.follow = live;
        let mut timeline = TimelineView::default();
        timeline.teach = cfg.teach;
        timeline.show_secrets = cfg.show_secrets;
        App {
            store: Store::new(cfg.limits),
            sessions,
            timeline,
            findings: FindingsView::default(),
            message: None,
            status: StatusState::new(cfg.source_label, cfg.mode),
            focus: Pane::Sessions,
            help: false,
            prompt: None,
            size: Rect::new(0, 0, 80, 24),
            quit: false,
            outbox: Vec::new(),
            rereading: None,
            pending: VecDeque::new(),
            export_dir: cfg.export_dir,
        }
    }

    pub fn areas(&self) -> Areas {
        layout(self.size, self.focus)
    }

    /// Apply one message from the worker (held back while the view is
    /// paused in file and live mode).
    pub fn apply(&mut self, msg: WorkerMsg) {
        if self.status.paused && !self.is_replay() {
            self.pending.push_back(msg);
            if self.pending.len() <= MAX_PENDING {
                return;
            }
            let Some(m) = self.pending.pop_front() else {
                return;
            };
            self.apply_now(m);
            return;
        }
        self.apply_now(msg);
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn is_replay(&self) -> bool {
        matches!(self.status.mode, Mode::Replay(_))
    }

    fn apply_now(&mut self, msg: WorkerMsg) {
        match msg {
            WorkerMsg::SessionUpdated(s) => self.store.upsert(*s, true),
            WorkerMsg::SessionFinished(s) => self.store.upsert(*s, false),
            WorkerMsg::Stats(st) => self.status.stats = *st,
            WorkerMsg::Progress { read, total } => self.status.progress = (read, total),
            WorkerMsg::Done { errors } => {
                self.status.done = true;
                if let Some(first) = errors.first() {
                    self.status.notice = Some(format!("input error: {first}"));
                }
                self.status.errors = errors;
            }
            WorkerMsg::MessageBytes { id, txn, raw } => {
                let export = match self.rereading.take() {
                    Some((i, t, export)) if (i, t) == (id, txn) => export,
                    other => {
                        self.rereading = other;
                        false
                    }
                };
                let Some(raw) = raw else {
                    self.status.notice =
                        Some("could not read the message again from the file".into());
                    return;
                };
                self.store.restore_raw(id, txn, raw);
                if self
                    .message
                    .as_ref()
                    .is_some_and(|m| (m.session, m.txn) == (id, txn))
                {
                    self.message = self
                        .store
                        .get(id)
                        .and_then(|e| MessageView::open(&e.session, txn));
                }
                self.status.notice = Some("message read again from the file".into());
                if export {
                    self.export_at(id, txn);
                }
            }
        }
    }

    /// The message's bytes were dropped under the byte cap: in file mode,
    /// ask for them to be read again. True when a request went out.
    fn reread(&mut self, id: crate::net::ConnId, txn: usize, export: bool) -> bool {
        if matches!(self.status.mode, Mode::Live) {
            return false;
        }
        let has_message = self
            .store
            .get(id)
            .and_then(|e| e.session.transactions.get(txn))
            .is_some_and(|t| t.raw_message.is_none() && t.message.is_some());
        if !has_message {
            return false;
        }
        if self.rereading.is_none() {
            self.outbox.push(Control::Reread { id, txn });
        }
        self.rereading = Some((id, txn, export));
        self.status.notice = Some(
            "reading the message again from the file (its bytes were dropped to save memory)"
                .into(),
        );
        true
    }

    /// Bring the derived view state up to date with the store and the
    /// viewport. Called once per frame, after messages and actions.
    pub fn refresh(&mut self) {
        let a = self.areas();
        self.sessions.refresh(&self.store, a.sessions_rows());
        let current = self.sessions.current();
        let tail = self.sessions.follow;
        self.timeline
            .refresh(&self.store, current, a.timeline_rows(), tail);
        self.findings
            .refresh(&self.store, current, a.findings_rows());
        if let Some(m) = &mut self.message {
            m.clamp(a.overlay_rows());
        }
    }

    pub fn update(&mut self, action: Action) {
        if self.prompt.is_some() {
            self.update_prompt(action);
            self.refresh();
            return;
        }
        let a = self.areas();
        match action {
            Action::Quit => self.quit = true,
            Action::Resize(w, h) => self.size = Rect::new(0, 0, w, h),
            Action::ToggleHelp => self.help = !self.help,
            Action::Back if self.help => self.help = false,
            Action::Back if self.message.is_some() => self.message = None,
            // On the sessions list, Esc drops the search and typed filter.
            Action::Back
                if self.focus == Pane::Sessions
                    && (!self.sessions.filter.search.is_empty()
                        || !self.sessions.filter.typed.is_empty()) =>
            {
                self.sessions.filter.search.clear();
                self.sessions.filter.typed = Default::default();
                self.sessions.invalidate();
            }
            Action::Back => {
                self.focus = match self.focus {
                    Pane::Detail => Pane::Timeline,
                    _ => Pane::Sessions,
                }
            }
            _ if self.help => {}
            Action::Export => self.export(),
            _ if self.message.is_some() => {
                if let Some(m) = &mut self.message {
                    m.update(&action, a.overlay_rows());
                }
            }
            Action::FocusNext => self.focus = self.focus.step(1),
            Action::FocusPrev => self.focus = self.focus.step(-1),
            Action::StartSearch => {
                self.prompt = Some(Prompt::Search(self.sessions.filter.search.clone()))
            }
            Action::StartTypedFilter => {
                self.prompt = Some(Prompt::Filter(
                    self.sessions.filter.typed.source().to_string(),
                ))
            }
            Action::CycleFilter => {
                self.sessions.filter.preset = self.sessions.filter.preset.next();
                self.sessions.invalidate();
            }
            Action::CycleSort => {
                self.sessions.sort = self.sessions.sort.next();
                self.sessions.invalidate();
            }
            Action::ReverseSort => {
                self.sessions.descending = !self.sessions.descending;
                self.sessions.invalidate();
            }
            Action::ToggleFollow => self.sessions.follow = !self.sessions.follow,
            Action::ToggleTeach => self.timeline.teach = !self.timeline.teach,
            Action::ToggleFindingsScope => {
                self.findings.scope = match self.findings.scope {
                    FindingsScope::All => FindingsScope::Session,
                    FindingsScope::Session => FindingsScope::All,
                };
                self.findings.invalidate();
            }
            Action::TogglePause => {
                self.status.paused = !self.status.paused;
                if self.is_replay() {
                    self.outbox.push(Control::Pause(self.status.paused));
                } else if !self.status.paused {
                    while let Some(m) = self.pending.pop_front() {
                        self.apply_now(m);
                    }
                }
            }
            Action::Step => {
                if self.is_replay() {
                    self.status.paused = true;
                    self.outbox.push(Control::Step);
                }
            }
            Action::OpenMessage => self.open_message(),
            Action::Enter => self.enter(),
            Action::Click { col, row } => self.click(col, row),
            Action::Scroll { col, row, delta } => {
                if let Some(p) = a.pane_at(col, row) {
                    self.scroll_pane(p, delta as isize);
                }
            }
            Action::Up => self.move_focused(-1),
            Action::Down => self.move_focused(1),
            Action::PageUp => self.move_focused(-(self.page(self.focus) as isize)),
            Action::PageDown => self.move_focused(self.page(self.focus) as isize),
            Action::Home => self.move_focused(isize::MIN / 2),
            Action::End => self.move_focused(isize::MAX / 2),
            Action::Input(_) | Action::InputBackspace => {}
        }
        self.refresh();
    }

    fn page(&self, p: Pane) -> usize {
        let a = self.areas();
        match p {
            Pane::Sessions => a.sessions_rows(),
            Pane::Timeline => a.timeline_rows(),
            Pane::Findings => a.findings_rows(),
            Pane::Detail => a.detail.height.saturating_sub(2) as usize,
        }
        .max(1)
    }

    fn move_focused(&mut self, delta: isize) {
        let p = self.focus;
        self.move_pane(p, delta);
    }

    fn move_pane(&mut self, p: Pane, delta: isize) {
        let h = self.page(p);
        match p {
            Pane::Sessions => {
                self.sessions.list.move_by(delta, self.sessions.len(), h);
                // Moving by hand ends follow mode, as in `tail -f` viewers.
                if delta < 0 {
                    self.sessions.follow = false;
                }
            }
            Pane::Timeline => {
                self.timeline
                    .list
                    .move_by(delta, self.timeline.rows.len(), h);
                if delta < 0 {
                    self.sessions.follow = false;
                }
            }
            Pane::Findings => self.findings.list.move_by(delta, self.findings.len(), h),
            Pane::Detail => {
                self.timeline.detail_scroll =
                    (self.timeline.detail_scroll as isize + delta).clamp(0, 10_000) as u16
            }
        }
    }

    fn scroll_pane(&mut self, p: Pane, delta: isize) {
        let h = self.page(p);
        match p {
            Pane::Sessions => self.sessions.list.scroll(delta, self.sessions.len(), h),
            Pane::Timeline => {
                self.timeline
                    .list
                    .scroll(delta, self.timeline.rows.len(), h);
                self.timeline.drag_selection(&self.store, h);
            }
            Pane::Findings => self.findings.list.scroll(delta, self.findings.len(), h),
            Pane::Detail => self.move_pane(p, delta),
        }
    }

    fn click(&mut self, col: u16, row: u16) {
        if self.help || self.message.is_some() {
            return;
        }
        let a = self.areas();
        let Some(p) = a.pane_at(col, row) else {
            return;
        };
        self.focus = p;
        if let Some(i) = a.row_at(p, row) {
            let h = self.page(p);
            match p {
                Pane::Sessions => {
                    let i = self.sessions.list.offset + i;
                    if i < self.sessions.len() {
                        self.sessions.list.select(i, self.sessions.len(), h);
                    }
                }
                Pane::Timeline => {
                    // Explanation lines in teaching mode belong to the row above.
                    if let Some(i) = self.timeline.row_at_line(i) {
                        self.timeline.list.select(i, self.timeline.rows.len(), h);
                    }
                }
                Pane::Findings => {
                    let i = self.findings.list.offset + i;
                    if i < self.findings.len() {
                        self.findings.list.select(i, self.findings.len(), h);
                    }
                }
                Pane::Detail => {}
            }
        }
    }

    fn enter(&mut self) {
        match self.focus {
            Pane::Sessions => {
                if self.sessions.current().is_some() {
                    self.focus = Pane::Timeline;
                }
            }
            Pane::Timeline => match self.timeline.selected_row().map(|r| (r.ev, r.kind)) {
                Some((ev, RowKind::Message { expanded: false })) => {
                    self.timeline.expanded.insert(ev);
                    self.timeline.invalidate();
                    // Bring what just opened into view.
                    self.timeline.list.offset = self.timeline.list.selected;
                }
                Some((_, RowKind::Message { expanded: true } | RowKind::MessageDetail)) => {
                    self.open_message()
                }
                Some(_) => self.focus = Pane::Detail,
                None => {}
            },
            Pane::Findings => self.jump_to_finding(),
            Pane::Detail => {}
        }
    }

    /// Select the finding's session and its evidence line.
    fn jump_to_finding(&mut self) {
        let Some(item) = self.findings.selected().copied() else {
            return;
        };
        if !self.sessions.select_id(item.session) {
            // Filtered out: show everything so the session can be selected.
            self.sessions.filter = Default::default();
            self.sessions.invalidate();
            self.refresh();
            self.sessions.select_id(item.session);
        }
        self.refresh();
        let ev = self.store.get(item.session).and_then(|e| {
            let finding = e.facts.findings.get(item.index)?;
            finding.first_event(&e.session.timeline)
        });
        if let Some(ev) = ev {
            if let Some(i) = self.timeline.rows.iter().position(|r| r.ev == ev) {
                let h = self.page(Pane::Timeline);
                self.timeline.list.select(i, self.timeline.rows.len(), h);
            }
        }
        self.focus = Pane::Timeline;
    }

    /// The (session, transaction) of the selected message, if any.
    fn selected_message(&self) -> Option<(crate::net::ConnId, usize)> {
        if let Some(m) = &self.message {
            return Some((m.session, m.txn));
        }
        let id = self.timeline.session?;
        let row = self.timeline.selected_row()?;
        let e = self.store.get(id)?;
        let txn = e.session.timeline.get(row.ev)?.txn?;
        Some((id, txn))
    }

    fn open_message(&mut self) {
        let Some((id, txn)) = self.selected_message() else {
            self.status.notice = Some("select a DATA/BDAT line first".into());
            return;
        };
        if let Some(e) = self.store.get(id) {
            self.message = MessageView::open(&e.session, txn);
        }
        self.reread(id, txn, false);
    }

    fn export(&mut self) {
        let Some((id, txn)) = self.selected_message() else {
            self.status.notice = Some("select a DATA/BDAT line to export".into());
            return;
        };
        self.export_at(id, txn);
    }

    fn export_at(&mut self, id: crate::net::ConnId, txn: usize) {
        let Some(tx) = self
            .store
            .get(id)
            .and_then(|e| e.session.transactions.get(txn))
        else {
            return;
        };
        let (Some(raw), Some(summary)) = (&tx.raw_message, &tx.message) else {
            if !self.reread(id, txn, true) {
                self.status.notice = Some("this message's bytes were not retained".into());
            }
            return;
        };
        let result = Exporter::new(&self.export_dir, false).and_then(|mut ex| {
            ex.export_message(id.0, txn, raw, summary)
                .map_err(anyhow::Error::new)
        });
        self.status.notice = Some(match result {
            Ok(files) => format!("exported to {}", files.message.display()),
            Err(e) => format!("export failed: {e:#}"),
        });
    }

    fn update_prompt(&mut self, action: Action) {
        let Some(prompt) = &mut self.prompt else {
            return;
        };
        let text = match prompt {
            Prompt::Search(t) | Prompt::Filter(t) => t,
        };
        match action {
            Action::Input(c) => text.push(c),
            Action::InputBackspace => {
                text.pop();
            }
            Action::Enter => {
                if let Prompt::Filter(t) = prompt {
                    self.sessions.filter.typed = TypedFilter::parse(t);
                }
                self.prompt = None;
                self.sessions.invalidate();
                return;
            }
            Action::Back => {
                if let Prompt::Search(_) = prompt {
                    self.sessions.filter.search.clear();
                    self.sessions.invalidate();
                }
                self.prompt = None;
                return;
            }
            Action::Quit => {
                self.quit = true;
                return;
            }
            Action::Resize(w, h) => self.size = Rect::new(0, 0, w, h),
            _ => {}
        }
        // Search is incremental; the typed filter applies on Enter.
        if let Some(Prompt::Search(t)) = &self.prompt {
            if *t != self.sessions.filter.search {
                self.sessions.filter.search = t.clone();
                self.sessions.invalidate();
            }
        }
    }
}
