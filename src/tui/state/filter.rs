//! Which sessions the list shows and in what order: filter presets (`f`),
//! a typed filter (`F`), the `/` search, and the sort key (`s`).

use super::store::{Entry, Severity, Store, TlsBadge};
use crate::net::ConnId;

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Preset {
    #[default]
    All,
    WithFindings,
    WithAuth,
    WithRejected,
    Tls,
    NoTls,
}

impl Preset {
    pub fn next(self) -> Preset {
        match self {
            Preset::All => Preset::WithFindings,
            Preset::WithFindings => Preset::WithAuth,
            Preset::WithAuth => Preset::WithRejected,
            Preset::WithRejected => Preset::Tls,
            Preset::Tls => Preset::NoTls,
            Preset::NoTls => Preset::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::All => "all",
            Preset::WithFindings => "with findings",
            Preset::WithAuth => "with AUTH",
            Preset::WithRejected => "with rejected recipients",
            Preset::Tls => "TLS",
            Preset::NoTls => "no TLS",
        }
    }

    fn matches(self, e: &Entry) -> bool {
        let f = &e.facts;
        match self {
            Preset::All => true,
            Preset::WithFindings => !f.findings.is_empty(),
            Preset::WithAuth => e.session.auth.is_some(),
            Preset::WithRejected => f.rejected > 0,
            Preset::Tls => f.tls == TlsBadge::Started,
            Preset::NoTls => f.tls != TlsBadge::Started,
        }
    }
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Time,
    Findings,
    Size,
}

impl SortKey {
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Time => SortKey::Findings,
            SortKey::Findings => SortKey::Size,
            SortKey::Size => SortKey::Time,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Time => "time",
            SortKey::Findings => "findings",
            SortKey::Size => "size",
        }
    }
}

/// One term of a typed filter.
#[derive(Clone, Debug, PartialEq)]
enum Term {
    Preset(Preset),
    Port(u16),
    MinSeverity(Severity),
    Open,
    Closed,
    Gap,
    Text(String),
}

/// The typed filter: space-separated terms, all of which must hold.
/// `auth`, `tls`, `notls`, `rejected`, `findings`, `open`, `closed`,
/// `gap`, `port:N`, `sev:LEVEL` (at least), anything else is text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TypedFilter {
    source: String,
    terms: Vec<Term>,
}

impl TypedFilter {
    pub fn parse(source: &str) -> TypedFilter {
        let terms = source
            .split_whitespace()
            .map(|w| {
                let lw = w.to_lowercase();
                match lw.as_str() {
                    "auth" => Term::Preset(Preset::WithAuth),
                    "tls" => Term::Preset(Preset::Tls),
                    "notls" => Term::Preset(Preset::NoTls),
                    "rejected" => Term::Preset(Preset::WithRejected),
                    "findings" => Term::Preset(Preset::WithFindings),
                    "open" => Term::Open,
                    "closed" => Term::Closed,
                    "gap" => Term::Gap,
                    _ => {
                        if let Some(p) = lw.strip_prefix("port:").and_then(|p| p.parse().ok()) {
                            Term::Port(p)
                        } else if let Some(s) = lw.strip_prefix("sev:") {
                            Term::MinSeverity(s.parse().unwrap_or_default())
                        } else {
                            Term::Text(lw)
                        }
                    }
                }
            })
            .collect();
        TypedFilter {
            source: source.to_string(),
            terms,
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    fn matches(&self, e: &Entry) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Preset(p) => p.matches(e),
            Term::Port(p) => e.session.server.port() == *p || e.session.client.port() == *p,
            Term::MinSeverity(s) => e.facts.max_severity.is_some_and(|m| m >= *s),
            Term::Open => e.open,
            Term::Closed => !e.open,
            Term::Gap => e.session.gaps > 0,
            Term::Text(w) => e.facts.haystack.contains(w.as_str()),
        })
    }
}

/// Everything that decides which sessions are listed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub preset: Preset,
    pub typed: TypedFilter,
    /// `/` search, matched case-insensitively against addresses, HELO,
    /// subjects, command text and the AUTH user.
    pub search: String,
}

impl Filter {
    pub fn matches(&self, e: &Entry) -> bool {
        self.matches_lowered(e, &self.search.to_lowercase())
    }

    /// [`Filter::matches`] with the search already lowercased.
    fn matches_lowered(&self, e: &Entry, search: &str) -> bool {
        self.preset.matches(e)
            && self.typed.matches(e)
            && (search.is_empty() || e.facts.haystack.contains(search))
    }

    pub fn is_active(&self) -> bool {
        self.preset != Preset::All || !self.typed.is_empty() || !self.search.is_empty()
    }
}

/// Where a session sorts under a sort key: ascending `RowKey` order is
/// the list's order (before `descending` reverses it). The id is last, so
/// keys are unique and equal sessions keep arrival order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowKey(i64, i64, pub ConnId);

impl RowKey {
    pub fn of(e: &Entry, sort: SortKey) -> RowKey {
        let id = e.session.id;
        match sort {
            SortKey::Time => RowKey(e.session.start.as_nanos(), 0, id),
            // Most severe first (none last), then the most findings.
            SortKey::Findings => RowKey(
                -e.facts.max_severity.map_or(-1, |s| s as i64),
                -(e.facts.findings.len() as i64),
                id,
            ),
            SortKey::Size => RowKey(-(e.facts.bytes.min(i64::MAX as u64) as i64), 0, id),
        }
    }

    pub fn id(self) -> ConnId {
        self.2
    }
}

/// The rows the list shows, in order. Linear in the store plus the sort.
pub fn visible(store: &Store, filter: &Filter, sort: SortKey, descending: bool) -> Vec<RowKey> {
    let search = filter.search.to_lowercase();
    let mut rows: Vec<RowKey> = store
        .iter()
        .filter(|e| filter.matches_lowered(e, &search))
        .map(|e| RowKey::of(e, sort))
        .collect();
    rows.sort_unstable();
    if descending {
        rows.reverse();
    }
    rows
}

/// Bring `rows` (as [`visible`] built them) up to date with the sessions
/// in `changed`: linear in the rows, plus a sort of the changed ones, so
/// a list of 100,000 follows arriving sessions without a rebuild.
pub fn apply_changes(
    rows: &mut Vec<RowKey>,
    store: &Store,
    changed: &[ConnId],
    filter: &Filter,
    sort: SortKey,
    descending: bool,
) {
    // `changed` is sorted (see `Store::changed_since`).
    rows.retain(|r| changed.binary_search(&r.id()).is_err());
    let search = filter.search.to_lowercase();
    let mut fresh: Vec<RowKey> = changed
        .iter()
        .filter_map(|id| store.get(*id))
        .filter(|e| filter.matches_lowered(e, &search))
        .map(|e| RowKey::of(e, sort))
        .collect();
    if fresh.is_empty() {
        return;
    }
    fresh.sort_unstable();
    if descending {
        fresh.reverse();
    }
    let old = std::mem::take(rows);
    *rows = merge_sorted(old, fresh, |a, b| if descending { a > b } else { a < b });
}

/// Two lists, each in the order `before` defines, as one (`old` first
/// among equals).
pub fn merge_sorted<T>(old: Vec<T>, fresh: Vec<T>, before: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut out = Vec::with_capacity(old.len() + fresh.len());
    let mut old = old.into_iter().peekable();
    let mut fresh = fresh.into_iter().peekable();
    loop {
        let take_fresh = match (old.peek(), fresh.peek()) {
            (Some(o), Some(f)) => before(f, o),
            (None, Some(_)) => true,
            (_, None) => false,
        };
        match if take_fresh { fresh.next() } else { old.next() } {
            Some(item) => out.push(item),
            None => return out,
        }
    }
}
