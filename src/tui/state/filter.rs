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
        self.preset.matches(e)
            && self.typed.matches(e)
            && (self.search.is_empty() || e.facts.haystack.contains(&self.search.to_lowercase()))
    }

    pub fn is_active(&self) -> bool {
        self.preset != Preset::All || !self.typed.is_empty() || !self.search.is_empty()
    }
}

/// The ids the list shows, in order. Linear in the store plus the sort.
pub fn visible(store: &Store, filter: &Filter, sort: SortKey, descending: bool) -> Vec<ConnId> {
    let search = filter.search.to_lowercase();
    let mut rows: Vec<&Entry> = store
        .iter()
        .filter(|e| {
            filter.preset.matches(e)
                && filter.typed.matches(e)
                && (search.is_empty() || e.facts.haystack.contains(&search))
        })
        .collect();
    match sort {
        // The store is already in arrival order.
        SortKey::Time => rows.sort_by_key(|e| (e.session.start, e.session.id)),
        SortKey::Findings => rows.sort_by(|a, b| {
            (b.facts.max_severity, b.facts.findings.len(), a.session.id).cmp(&(
                a.facts.max_severity,
                a.facts.findings.len(),
                b.session.id,
            ))
        }),
        SortKey::Size => {
            rows.sort_by(|a, b| (b.facts.bytes, a.session.id).cmp(&(a.facts.bytes, b.session.id)))
        }
    }
    if descending {
        rows.reverse();
    }
    rows.into_iter().map(|e| e.session.id).collect()
}
