//! The UI's own copy of the model: sessions as the worker last reported
//! them, with the per-row facts the sessions list shows precomputed once.
//!
//! Caps: at most `max_sessions` sessions (the oldest finished session is
//! dropped first; open ones are bounded by the flow table) and at most
//! `max_message_bytes` of retained message bytes (the oldest sessions lose
//! their raw message first; headers and MIME summary stay). Both drops are
//! counted for the status bar.

use std::collections::{BTreeMap, VecDeque};

use crate::model::Session;
use crate::net::ConnId;

/// Default cap on sessions kept by the UI.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;
/// Default cap on raw message bytes kept by the UI.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 256 * 1024 * 1024;

/// Finding severity: the analysis stage's own type (unknown strings in a
/// finding's JSON count as `Info`).
pub use crate::analysis::Severity;

/// One finding as the TUI shows it, read from the analysis stage's JSON
/// (`{"id","severity","summary","evidence":{"events","frames"}}`, see
/// `crate::analysis::Finding`). Strings are escaped when drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub name: String,
    pub text: String,
    /// Timeline indexes of the evidence lines.
    pub events: Vec<usize>,
    /// Frame numbers of the evidence packets.
    pub frames: Vec<u64>,
}

impl Finding {
    pub fn from_json(v: &serde_json::Value) -> Finding {
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let list = |k: &str| -> Vec<u64> {
            v.get("evidence")
                .and_then(|e| e.get(k))
                .and_then(|x| x.as_array())
                .map(|a| a.iter().filter_map(|n| n.as_u64()).collect())
                .unwrap_or_default()
        };
        Finding {
            severity: s("severity")
                .and_then(|v| v.parse().ok())
                .unwrap_or_default(),
            name: s("id").unwrap_or_else(|| "finding".into()),
            text: s("summary").unwrap_or_default(),
            events: list("events").into_iter().map(|n| n as usize).collect(),
            frames: list("frames"),
        }
    }

    /// Whether timeline line `ev` (carried by `frame`) is evidence of it.
    pub fn marks(&self, ev: usize, frame: u64) -> bool {
        self.events.contains(&ev) || (self.events.is_empty() && self.frames.contains(&frame))
    }

    /// The first evidence line in `timeline`, for "jump to evidence".
    pub fn first_event(&self, timeline: &[crate::model::TimelineEvent]) -> Option<usize> {
        self.events.first().copied().or_else(|| {
            let frame = *self.frames.first()?;
            timeline.iter().position(|t| t.frame == frame)
        })
    }
}

/// How the session used TLS, for the badge.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TlsBadge {
    Started,
    /// Offered in EHLO but the client did not use it.
    OfferedNotUsed,
    None,
}

/// The facts one sessions-list row shows, computed once per update.
#[derive(Clone, Debug)]
pub struct RowFacts {
    pub tls: TlsBadge,
    pub auth_user: Option<String>,
    pub auth_ok: Option<bool>,
    pub messages: usize,
    pub rejected: usize,
    pub bytes: u64,
    pub findings: Vec<Finding>,
    pub max_severity: Option<Severity>,
    /// Lowercased text that `/` search looks in.
    pub haystack: String,
}

impl RowFacts {
    pub fn of(s: &Session) -> RowFacts {
        let tls = if s.tls.started {
            TlsBadge::Started
        } else if s.tls.starttls_offered {
            TlsBadge::OfferedNotUsed
        } else {
            TlsBadge::None
        };
        let findings: Vec<Finding> = s.warnings.iter().map(Finding::from_json).collect();
        let max_severity = findings.iter().map(|f| f.severity).max();
        let mut hay = String::new();
        hay.push_str(&s.client.to_string());
        hay.push(' ');
        hay.push_str(&s.server.to_string());
        if let Some(h) = &s.helo {
            hay.push(' ');
            hay.push_str(&h.lossy());
        }
        if let Some(a) = &s.auth {
            if let Some(u) = &a.user {
                hay.push(' ');
                hay.push_str(u);
            }
        }
        for t in &s.transactions {
            if let Some(m) = &t.mail_from {
                hay.push(' ');
                hay.push_str(&m.lossy());
            }
            for r in &t.rcpt_to {
                hay.push(' ');
                hay.push_str(&r.address.lossy());
            }
            if let Some(subj) = t.message.as_ref().and_then(|m| m.subject.as_ref()) {
                hay.push(' ');
                hay.push_str(subj);
            }
        }
        for ev in &s.timeline {
            if matches!(ev.kind, crate::model::TimelineKind::Command) {
                for l in &ev.lines {
                    hay.push('\n');
                    hay.push_str(l);
                }
            }
        }
        RowFacts {
            tls,
            auth_user: s.auth.as_ref().and_then(|a| a.user.clone()),
            auth_ok: s.auth.as_ref().and_then(|a| a.success),
            messages: s
                .transactions
                .iter()
                .filter(|t| t.data_bytes.is_some())
                .count(),
            rejected: s.transactions.iter().map(|t| t.rcpt_rejected).sum::<u64>() as usize,
            bytes: s.transactions.iter().filter_map(|t| t.data_bytes).sum(),
            findings,
            max_severity,
            haystack: hay.to_lowercase(),
        }
    }
}

/// One session held by the UI.
#[derive(Clone, Debug)]
pub struct Entry {
    pub session: Session,
    /// Still in progress (a snapshot), not yet finished.
    pub open: bool,
    pub facts: RowFacts,
}

impl Entry {
    fn message_bytes(&self) -> u64 {
        self.session
            .transactions
            .iter()
            .filter_map(|t| t.raw_message.as_ref())
            .map(|r| r.len() as u64)
            .sum()
    }
}

#[derive(Clone, Copy, Debug)]
pub struct StoreLimits {
    pub max_sessions: usize,
    pub max_message_bytes: u64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// Sessions by id (ids are assigned in the order connections appear, so
/// the map's order is arrival order and the first finished entry is the
/// oldest).
#[derive(Debug, Default)]
pub struct Store {
    entries: BTreeMap<ConnId, Entry>,
    limits: StoreLimits,
    message_bytes: u64,
    /// Finished sessions dropped by the session cap.
    pub dropped_sessions: u64,
    /// Messages whose raw bytes were dropped by the byte cap.
    pub dropped_messages: u64,
    /// Bumped on every change, so views know when to rebuild.
    pub generation: u64,
    /// Findings held, by severity: [critical, high, medium, low, info].
    sev_counts: [usize; 5],
    /// Recent changes, oldest first: the generation each made and the
    /// session it inserted, replaced or removed. Views catch up from it
    /// instead of rebuilding from all sessions.
    changes: VecDeque<(u64, ConnId)>,
    /// Every change after this generation is in `changes`.
    changes_floor: u64,
    /// Entries before this id hold no raw message bytes any more.
    raw_cursor: ConnId,
}

/// Changes remembered for views that catch up; a view further behind
/// rebuilds from scratch.
pub const MAX_CHANGE_LOG: usize = 65_536;

impl Store {
    pub fn new(limits: StoreLimits) -> Store {
        Store {
            limits,
            ..Store::default()
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: ConnId) -> Option<&Entry> {
        self.entries.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn message_bytes(&self) -> u64 {
        self.message_bytes
    }

    /// Give a message its bytes back (read again from the file); they count
    /// against the byte cap like any others.
    pub fn restore_raw(&mut self, id: ConnId, txn: usize, raw: std::sync::Arc<Vec<u8>>) {
        let Some(t) = self
            .entries
            .get_mut(&id)
            .and_then(|e| e.session.transactions.get_mut(txn))
        else {
            return;
        };
        if t.raw_message.is_none() {
            self.message_bytes += raw.len() as u64;
            t.raw_message = Some(raw);
            self.raw_cursor = self.raw_cursor.min(id);
        }
    }

    /// Sessions changed since `generation` (each once, in no particular
    /// order), or `None` when the log no longer reaches back that far.
    pub fn changed_since(&self, generation: u64) -> Option<Vec<ConnId>> {
        if generation < self.changes_floor {
            return None;
        }
        let mut ids: Vec<ConnId> = self
            .changes
            .iter()
            .rev()
            .take_while(|(g, _)| *g > generation)
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Some(ids)
    }

    fn changed(&mut self, id: ConnId) {
        self.generation += 1;
        self.changes.push_back((self.generation, id));
        if self.changes.len() > MAX_CHANGE_LOG {
            if let Some((g, _)) = self.changes.pop_front() {
                self.changes_floor = g;
            }
        }
    }

    /// Insert or replace a session (a snapshot while `open`, then the
    /// finished one). A snapshot never replaces a finished session.
    pub fn upsert(&mut self, session: Session, open: bool) {
        let id = session.id;
        if open && self.entries.get(&id).is_some_and(|e| !e.open) {
            return;
        }
        let entry = Entry {
            facts: RowFacts::of(&session),
            session,
            open,
        };
        self.message_bytes += entry.message_bytes();
        if entry.message_bytes() > 0 {
            self.raw_cursor = self.raw_cursor.min(id);
        }
        self.count_findings(&entry, true);
        if let Some(old) = self.entries.insert(id, entry) {
            self.message_bytes -= old.message_bytes().min(self.message_bytes);
            self.count_findings(&old, false);
        }
        self.changed(id);
        self.enforce_limits();
    }

    fn enforce_limits(&mut self) {
        while self.entries.len() > self.limits.max_sessions.max(1) {
            let Some(id) = self
                .entries
                .values()
                .find(|e| !e.open)
                .map(|e| e.session.id)
            else {
                break;
            };
            if let Some(old) = self.entries.remove(&id) {
                self.message_bytes -= old.message_bytes().min(self.message_bytes);
                self.count_findings(&old, false);
                self.dropped_sessions += 1;
                self.changed(id);
            }
        }
        if self.message_bytes > self.limits.max_message_bytes {
            // Oldest first, from where the last trim stopped: what lies
            // before the cursor has nothing left to drop.
            for (id, e) in self.entries.range_mut(self.raw_cursor..) {
                if self.message_bytes <= self.limits.max_message_bytes {
                    break;
                }
                self.raw_cursor = *id;
                for t in &mut e.session.transactions {
                    if let Some(raw) = t.raw_message.take() {
                        self.message_bytes -= (raw.len() as u64).min(self.message_bytes);
                        self.dropped_messages += 1;
                    }
                }
            }
        }
    }

    fn count_findings(&mut self, e: &Entry, add: bool) {
        for f in &e.facts.findings {
            let slot = &mut self.sev_counts[4 - f.severity as usize];
            *slot = if add {
                *slot + 1
            } else {
                slot.saturating_sub(1)
            };
        }
    }

    /// Findings by severity over all sessions: [critical, high, medium, low, info].
    pub fn severity_counts(&self) -> [usize; 5] {
        self.sev_counts
    }
}
