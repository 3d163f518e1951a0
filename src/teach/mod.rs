//! Explanations: what a command, reply code, enhanced status code, EHLO
//! keyword or SASL mechanism means, where it is defined, and where it sits
//! in a dialogue; and the same for each line of a decoded session.
//!
//! The tables are static data written in our own words with a reference
//! (RFC and section, or the vendor document) on every row. Lookups never
//! fail: an unknown term yields an [`Explanation`] with no entries and the
//! nearest known terms as suggestions. This module reads the model and the
//! SMTP types; it never parses wire bytes (line explanations split the
//! model's already-escaped text into a verb and its arguments).
//!
//! Findings are catalogued elsewhere (analysis); callers pass their
//! `(id, text)` pairs to [`explain_with`] and [`list_with`] so finding ids
//! are explained too without this module depending on that catalogue.

pub mod cli;
pub mod commands;
pub mod enhanced;
pub mod extensions;
pub mod limits;
pub mod line;
pub mod replies;
pub mod state;

pub use line::{annotate, explain_event, explain_event_at, LineExplanation};

use std::fmt::Write as _;

use crate::smtp::reply::EnhancedCode;

/// What kind of thing a term named.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TermKind {
    Command,
    ReplyCode,
    EnhancedCode,
    EhloKeyword,
    SaslMechanism,
    Finding,
}

impl TermKind {
    pub fn label(self) -> &'static str {
        match self {
            TermKind::Command => "command",
            TermKind::ReplyCode => "reply code",
            TermKind::EnhancedCode => "enhanced status code",
            TermKind::EhloKeyword => "EHLO keyword",
            TermKind::SaslMechanism => "SASL mechanism",
            TermKind::Finding => "finding",
        }
    }
}

/// One reading of a term (a term can be both a command and an EHLO
/// keyword, e.g. STARTTLS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: TermKind,
    /// Short title, e.g. "550 Requested action not taken".
    pub title: String,
    pub meaning: String,
    /// RFC and section, or the defining document.
    pub defined_in: Vec<String>,
    /// What normally comes before it in a dialogue.
    pub before: Option<String>,
    /// What normally comes after it.
    pub after: Option<String>,
    /// Further lines: digits, syntax, replies, parameters, exposure.
    pub details: Vec<String>,
    /// False for a generic reading (an unlisted reply code or an
    /// unregistered enhanced code explained by its parts).
    pub listed: bool,
}

/// The answer to [`explain`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub term: String,
    pub entries: Vec<Entry>,
    /// Nearest known terms, when nothing matched.
    pub suggestions: Vec<String>,
}

impl Explanation {
    pub fn is_known(&self) -> bool {
        !self.entries.is_empty()
    }
}

/// Explains one term using the built-in tables only.
pub fn explain(term: &str) -> Explanation {
    explain_with(term, &[])
}

/// Explains one term; `findings` are `(id, text)` pairs from the finding
/// catalogue, matched case-insensitively on the id.
pub fn explain_with(term: &str, findings: &[(&str, &str)]) -> Explanation {
    let t = term.trim();
    let mut entries = Vec::new();
    // "550 5.7.1": a reply code and its enhanced code together.
    let mut words = t.split_whitespace();
    if let (Some(a), Some(b), None) = (words.next(), words.next(), words.next()) {
        if let (Some(code), Some(enh)) = (parse_reply_code(a), parse_enhanced(b)) {
            entries.push(reply_entry(code));
            let mut e = enhanced_entry(enh);
            if !enhanced::agrees_with_reply(enh.class, code) {
                e.details.push(format!(
                    "mismatch: enhanced class {} does not agree with reply class {} (RFC 3463 §2, RFC 2034 §4)",
                    enh.class,
                    code / 100
                ));
            }
            entries.push(e);
        }
    }
    if entries.is_empty() {
        if let Some(code) = parse_reply_code(t) {
            entries.push(reply_entry(code));
        } else if let Some(enh) = parse_enhanced(t) {
            entries.push(enhanced_entry(enh));
        } else if let Some(enh) = parse_any_class(t) {
            // "X.1.1": the registry's own notation, any class.
            let mut e = enhanced_entry(enh);
            e.title = format!("X.{}.{}", enh.subject, enh.detail);
            e.details[0] = "class X = any of 2 (success), 4 (transient) or 5 (permanent)".into();
            entries.push(e);
        } else {
            if let Some(c) = commands::command(t) {
                entries.push(command_entry(c));
            }
            if let Some(k) = extensions::keyword(t) {
                entries.push(keyword_entry(k, t));
            } else if extensions::is_private_keyword(t) && entries.is_empty() && is_word(t) {
                entries.push(keyword_entry(&extensions::PRIVATE_KEYWORD, t));
            }
            if let Some(m) = extensions::sasl(t) {
                entries.push(sasl_entry(m));
            }
            if let Some((id, text)) = findings.iter().find(|(id, _)| id.eq_ignore_ascii_case(t)) {
                entries.push(Entry {
                    kind: TermKind::Finding,
                    title: id.to_string(),
                    meaning: text.to_string(),
                    defined_in: Vec::new(),
                    before: None,
                    after: None,
                    details: Vec::new(),
                    listed: true,
                });
            }
        }
    }
    let suggestions = if entries.is_empty() {
        suggest(t, findings)
    } else {
        Vec::new()
    };
    Explanation {
        term: t.to_string(),
        entries,
        suggestions,
    }
}

fn is_word(t: &str) -> bool {
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Exactly three ASCII digits.
fn parse_reply_code(t: &str) -> Option<u16> {
    if t.len() == 3 && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse().ok()
    } else {
        None
    }
}

fn parse_enhanced(t: &str) -> Option<EnhancedCode> {
    match EnhancedCode::parse_prefix(t.as_bytes()) {
        Some((c, [])) => Some(c),
        _ => None,
    }
}

fn parse_any_class(t: &str) -> Option<EnhancedCode> {
    let rest = t.strip_prefix(['X', 'x'])?;
    parse_enhanced(&format!("5{rest}"))
}

pub(crate) fn reply_entry(code: u16) -> Entry {
    let listed = replies::reply(code);
    let mut details: Vec<String> = replies::digits(code).into_iter().collect();
    if !replies::in_grammar(code) {
        details.push(
            "outside the reply-code grammar of RFC 5321 §4.2 (first digit 2-5, second 0-5)".into(),
        );
    }
    let (title, meaning, defined_in, before) = match listed {
        Some(r) => (
            format!("{code}"),
            r.meaning.to_string(),
            vec![r.reference.to_string()],
            Some(format!("sent for: {}", r.when)),
        ),
        None => (
            format!("{code} (not a listed code)"),
            "No RFC lists this exact code; read it by its digits, as clients must \
             (RFC 5321 §4.2, §4.3.2)."
                .to_string(),
            vec!["RFC 5321 §4.2.1 (digit meanings)".to_string()],
            None,
        ),
    };
    let after = Some(
        match code / 100 {
            2 => "the client goes on with its next command",
            3 => "the client sends what was asked (message text after 354, a base64 answer after 334)",
            4 => "the client may try the same thing again later (queue and retry)",
            5 => "the client must not repeat it unchanged; a bounce or RSET usually follows",
            _ => "clients treat an unknown class as an error",
        }
        .to_string(),
    );
    Entry {
        kind: TermKind::ReplyCode,
        title,
        meaning,
        defined_in,
        before,
        after,
        details,
        listed: listed.is_some(),
    }
}

pub(crate) fn enhanced_entry(c: EnhancedCode) -> Entry {
    let class = enhanced::class(c.class);
    let subject = enhanced::subject(c.subject);
    let detail = enhanced::detail(c.subject, c.detail);
    let mut details = Vec::new();
    details.push(match class {
        Some(k) => format!("class {} = {}: {}", c.class, k.name, k.meaning),
        None => format!("class {}: not a valid class (2, 4 or 5)", c.class),
    });
    details.push(match subject {
        Some(s) => format!("subject {} = {}: {}", c.subject, s.name, s.meaning),
        None => format!(
            "subject {}: not registered (RFC 3463 defines 0-7)",
            c.subject
        ),
    });
    details.push(match detail {
        Some(d) => format!("detail {}.{} = {}", c.subject, c.detail, d.title),
        None => format!(
            "detail {}.{}: not in the IANA registry; vendor-specific or a typo",
            c.subject, c.detail
        ),
    });
    let mut defined_in = Vec::new();
    if let Some(d) = detail {
        defined_in.push(d.reference.to_string());
    } else if let Some(s) = subject {
        defined_in.push(s.reference.to_string());
    }
    defined_in.push("RFC 3463 §2 (syntax); IANA SMTP Enhanced Status Codes (RFC 5248)".into());
    let meaning = match (detail, subject) {
        (Some(d), _) => format!("{}: {}", d.title, d.meaning),
        (None, Some(s)) => format!(
            "Unregistered detail under \"{}\": read it as {} with no more precision.",
            s.name, s.meaning
        ),
        (None, None) => "Unregistered code; only its class says anything.".to_string(),
    };
    Entry {
        kind: TermKind::EnhancedCode,
        title: c.to_string(),
        meaning,
        defined_in,
        before: Some(
            "follows a reply code and a space (\"550 5.1.1 ...\") when the server advertised \
             ENHANCEDSTATUSCODES (RFC 2034 §4)"
                .into(),
        ),
        after: None,
        details,
        listed: detail.is_some(),
    }
}

fn codes(c: &[u16]) -> String {
    c.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

pub(crate) fn command_entry(c: &commands::CommandInfo) -> Entry {
    let mut details = vec![
        format!("syntax: {}", c.syntax),
        format!("status: {}", c.status.label()),
    ];
    let mut replies = Vec::new();
    if !c.success.is_empty() {
        replies.push(format!("success {}", codes(c.success)));
    }
    if !c.intermediate.is_empty() {
        replies.push(format!("intermediate {}", codes(c.intermediate)));
    }
    if !c.errors.is_empty() {
        replies.push(format!("error {}", codes(c.errors)));
    }
    details.push(format!(
        "replies: {}; any command may also get 500, 501 or 421 (RFC 5321 §4.3.2)",
        replies.join("; ")
    ));
    if !c.note.is_empty() {
        details.push(format!("note: {}", c.note));
    }
    Entry {
        kind: TermKind::Command,
        title: c.verb.to_string(),
        meaning: c.meaning.to_string(),
        defined_in: vec![c.reference.to_string()],
        before: Some(c.before.to_string()),
        after: Some(c.after.to_string()),
        details,
        listed: true,
    }
}

pub(crate) fn keyword_entry(k: &extensions::KeywordInfo, as_seen: &str) -> Entry {
    let title = if k.keyword == "X..." {
        as_seen.to_ascii_uppercase()
    } else {
        k.keyword.to_string()
    };
    Entry {
        kind: TermKind::EhloKeyword,
        title: format!("{title} ({})", k.title),
        meaning: k.enables.to_string(),
        defined_in: vec![k.reference.to_string()],
        before: Some("advertised as one line of the server's 250 reply to EHLO".into()),
        after: Some(if k.adds == "none" {
            "adds no command or parameter; it changes how the dialogue may run".to_string()
        } else {
            format!("the client may then use: {}", k.adds)
        }),
        details: vec![
            format!("parameters on the EHLO line: {}", k.params),
            format!("origin: {}", k.origin.label()),
        ],
        listed: k.keyword != "X...",
    }
}

pub(crate) fn sasl_entry(m: &extensions::SaslInfo) -> Entry {
    Entry {
        kind: TermKind::SaslMechanism,
        title: m.name.to_string(),
        meaning: format!("SASL mechanism; on the wire: {}", m.wire),
        defined_in: vec![m.reference.to_string()],
        before: Some("named in the EHLO AUTH line, then chosen with AUTH <mechanism>".into()),
        after: Some(
            "334 challenges and base64 responses until 235 or an error (RFC 4954 §4)".into(),
        ),
        details: vec![format!("exposed without TLS: {}", m.exposes)],
        listed: true,
    }
}

/// Every known term by kind (reply and enhanced codes as listed; any
/// other three-digit or x.y.z code is explained generically).
pub fn list_with(findings: &[(&str, &str)]) -> Vec<(TermKind, Vec<String>)> {
    let mut out = vec![
        (
            TermKind::Command,
            commands::COMMANDS
                .iter()
                .map(|c| c.verb.to_string())
                .collect(),
        ),
        (
            TermKind::ReplyCode,
            replies::REPLIES
                .iter()
                .map(|r| r.code.to_string())
                .collect(),
        ),
        (
            TermKind::EnhancedCode,
            enhanced::DETAILS
                .iter()
                .map(|d| format!("X.{}.{}", d.subject, d.detail))
                .collect(),
        ),
        (
            TermKind::EhloKeyword,
            extensions::KEYWORDS
                .iter()
                .map(|k| k.keyword.to_string())
                .collect(),
        ),
        (
            TermKind::SaslMechanism,
            extensions::SASL
                .iter()
                .map(|m| m.name.to_string())
                .collect(),
        ),
    ];
    if !findings.is_empty() {
        out.push((
            TermKind::Finding,
            findings.iter().map(|(id, _)| id.to_string()).collect(),
        ));
    }
    out
}

pub fn render_list(list: &[(TermKind, Vec<String>)]) -> String {
    let mut s = String::new();
    for (kind, terms) in list {
        let _ = writeln!(s, "{} ({}):", kind.label(), terms.len());
        let _ = writeln!(s, "  {}", terms.join(" "));
    }
    s.push_str(
        "Any three-digit reply code and any class.subject.detail code is also explained by its parts.\n",
    );
    s
}

/// Suggestions for an unknown term: known terms within a small edit
/// distance, nearest first (at most five).
pub fn suggest(term: &str, findings: &[(&str, &str)]) -> Vec<String> {
    let t = term.to_ascii_uppercase();
    if t.is_empty() {
        return Vec::new();
    }
    let mut all: Vec<String> = Vec::new();
    for (_, terms) in list_with(findings) {
        all.extend(terms);
    }
    // Enhanced codes are listed as X.y.z; compare with the class stripped.
    let (t_cmp, class) = match t.split_once('.') {
        Some((c, rest)) if c.len() == 1 => (format!("X.{rest}"), Some(c.to_string())),
        _ => (t.clone(), None),
    };
    let budget = (t.chars().count() / 3).clamp(1, 3);
    let mut scored: Vec<(usize, String)> = all
        .into_iter()
        .filter_map(|k| {
            let d = levenshtein(&t_cmp, &k.to_ascii_uppercase());
            (d <= budget).then_some((d, k))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(5)
        .map(|(_, k)| match (&class, k.strip_prefix("X.")) {
            (Some(c), Some(rest)) if matches!(c.as_str(), "2" | "4" | "5") => format!("{c}.{rest}"),
            _ => k,
        })
        .collect()
}

/// Edit distance over chars: insertions, deletions, substitutions and
/// swaps of two neighbours (optimal string alignment), so "RCTP" is one
/// step from "RCPT".
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// Plain text, no terminal codes; the term is escaped before printing.
pub fn render_text(e: &Explanation) -> String {
    let term = crate::output::escape::escape_str(&e.term);
    let mut s = String::new();
    if e.entries.is_empty() {
        let _ = write!(s, "{term}: unknown term");
        if e.suggestions.is_empty() {
            s.push_str(" (try --list)\n");
        } else {
            let _ = writeln!(s, "; did you mean {}?", e.suggestions.join(", "));
        }
        return s;
    }
    for (n, en) in e.entries.iter().enumerate() {
        if n > 0 {
            s.push('\n');
        }
        let _ = writeln!(s, "{} [{}]", en.title, en.kind.label());
        let _ = writeln!(s, "  meaning:    {}", en.meaning);
        if !en.defined_in.is_empty() {
            let _ = writeln!(s, "  defined in: {}", en.defined_in.join("; "));
        }
        if let Some(b) = &en.before {
            let _ = writeln!(s, "  before:     {b}");
        }
        if let Some(a) = &en.after {
            let _ = writeln!(s, "  after:      {a}");
        }
        for d in &en.details {
            let _ = writeln!(s, "  - {d}");
        }
    }
    s
}
