//! Security and conformance findings: the policy stage.
//!
//! The decoder and the model report facts (what was said, how it was
//! framed, named anomalies); the rules here decide which facts are
//! findings, how severe they are in this session's context (port, TLS,
//! authentication, outcome) and what evidence they rest on. One rule per
//! file; [`catalogue`] lists every finding id a rule can raise.
//!
//! Invariants:
//! - every wire string in a summary is escaped ([`wire`], or timeline text,
//!   which the model stores escaped already); AUTH secrets never appear;
//! - cross-session state is bounded: [`MAX_TRACKED`] clients and servers
//!   per table, least recently seen evicted first, evictions counted;
//! - finding ids and severities are a contract: add, never rename.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

use crate::model::{Session, TimelineEvent, TimelineKind};
use crate::smtp::detect::IMPLICIT_TLS_PORTS;
use crate::smtp::reply::EnhancedCode;

mod tracker;
pub use tracker::{Tracker, MAX_TRACKED};

mod address_disclosure;
mod auth_bruteforce;
mod auth_cleartext;
mod auth_downgrade;
mod auth_mechs_advertised;
mod bad_sequence;
mod banner_disclosure;
mod bare_line_endings;
mod bdat_framing;
mod blocklist_reply;
mod dangerous_command;
mod data_before_354;
mod envelope_injection;
mod etrn;
mod from_mismatch;
mod helo_anomaly;
mod implicit_tls_cleartext;
mod line_too_long;
mod mass_recipients;
mod mime_malformed;
mod non_ascii;
mod nul_byte;
mod open_relay;
mod pipelining_violation;
mod pregreet;
mod rcpt_enum;
mod received_loop;
mod relay_probe;
mod reply_anomaly;
mod risky_attachment;
mod session_refused;
mod size_mismatch;
mod smtp_smuggling;
mod starttls_injection;
mod starttls_missing;
mod starttls_rejected;
mod starttls_stripping;
mod starttls_unused;
mod tls_fallback;
mod turn_atrn;
mod unknown_command;
mod vrfy_expn_enum;
mod xclient;

/// How much a finding matters. Ordered: `info < low < ... < critical`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity {s:?}: use info, low, medium, high or critical")
            })
    }
}

/// One finding id as documented: what raises it and why it matters.
#[derive(Copy, Clone, Debug, Serialize)]
pub struct RuleInfo {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// Group in the catalogue (credentials, tls, framing, ...).
    pub group: &'static str,
    /// The severities it can take, lowest to highest.
    pub severities: &'static [Severity],
    /// What on the wire raises it (and what raises its severity).
    pub trigger: &'static str,
    /// Why it matters.
    pub explanation: &'static str,
    pub references: &'static [&'static str],
}

/// What a finding rests on: the session, timeline items and frames.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub session: u64,
    /// Indexes into the session's timeline (`events` in JSON output).
    pub events: Vec<usize>,
    /// Capture frame numbers.
    pub frames: Vec<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    /// One line naming the concrete thing seen (escaped).
    pub summary: String,
    pub explanation: &'static str,
    pub evidence: Evidence,
    pub references: &'static [&'static str],
}

impl Finding {
    pub fn new(info: &'static RuleInfo, severity: Severity, summary: String, s: &Session) -> Self {
        Finding {
            id: info.id,
            severity,
            summary,
            explanation: info.explanation,
            evidence: Evidence {
                session: s.id.0,
                ..Evidence::default()
            },
            references: info.references,
        }
    }

    /// Adds a timeline item (and its frame) as evidence.
    pub fn event(mut self, s: &Session, idx: usize) -> Self {
        if let Some(t) = s.timeline.get(idx) {
            if !self.evidence.events.contains(&idx) {
                self.evidence.events.push(idx);
            }
            self.push_frame(t.frame);
        }
        self
    }

    /// Attach the timeline line that stands for transaction `txn`'s message.
    pub fn message_event(self, s: &Session, txn: usize) -> Self {
        match s
            .timeline
            .iter()
            .position(|t| t.kind == crate::model::TimelineKind::Message && t.txn == Some(txn))
        {
            Some(m) => self.event(s, m),
            None => self,
        }
    }

    pub fn events(self, s: &Session, idx: impl IntoIterator<Item = usize>) -> Self {
        idx.into_iter().fold(self, |f, i| f.event(s, i))
    }

    pub fn frame(mut self, frame: u64) -> Self {
        self.push_frame(frame);
        self
    }

    fn push_frame(&mut self, frame: u64) {
        if frame > 0 && !self.evidence.frames.contains(&frame) {
            self.evidence.frames.push(frame);
        }
    }
}

/// An IPv4 or IPv6 network, `ADDR/PREFIX` (a bare address is a /32 or /128).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a network: use ADDR/PREFIX, e.g. 192.0.2.0/24");
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.parse().map_err(|_| bad())?
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
}

/// What the user told us about their own mail system.
#[derive(Clone, Debug, Default)]
pub struct AnalysisConfig {
    /// Domains the monitored servers receive mail for (lowercase).
    pub local_domains: Vec<String>,
    /// Networks whose clients may relay.
    pub trusted_nets: Vec<Cidr>,
    /// Findings below this are not attached (still counted for `worst`).
    pub min_severity: Severity,
}

impl AnalysisConfig {
    /// Open-relay and relay-probe rules judge only when this is true.
    pub fn knows_local_domains(&self) -> bool {
        !self.local_domains.is_empty()
    }

    pub fn is_local_domain(&self, domain: &str) -> bool {
        let d = domain.trim_end_matches('.').to_ascii_lowercase();
        self.local_domains.iter().any(|l| {
            d == *l
                || d.strip_suffix(l.as_str())
                    .is_some_and(|head| head.ends_with('.'))
        })
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_nets.iter().any(|n| n.contains(ip))
    }
}

/// Runs every rule over finished sessions; keeps the bounded
/// cross-session state.
pub struct Analyzer {
    cfg: AnalysisConfig,
    auth: auth_bruteforce::State,
    stripping: starttls_stripping::State,
    fallback: tls_fallback::State,
    downgrade: auth_downgrade::State,
    /// Findings raised, by id and severity (after the min-severity filter).
    counts: std::collections::BTreeMap<(&'static str, Severity), u64>,
    worst: Option<Severity>,
}

type SessionRule = fn(&Facts, &AnalysisConfig, &mut Vec<Finding>);

/// The per-session rules, in catalogue order.
const SESSION_RULES: &[SessionRule] = &[
    auth_cleartext::check,
    auth_mechs_advertised::check,
    auth_downgrade::check,
    starttls_missing::check,
    starttls_unused::check,
    starttls_rejected::check,
    starttls_injection::check,
    implicit_tls_cleartext::check,
    smtp_smuggling::check,
    bare_line_endings::check,
    nul_byte::check,
    data_before_354::check,
    bdat_framing::check,
    size_mismatch::check,
    vrfy_expn_enum::check,
    rcpt_enum::check,
    open_relay::check,
    relay_probe::check,
    mass_recipients::check,
    blocklist_reply::check,
    helo_anomaly::check,
    pregreet::check,
    pipelining_violation::check,
    line_too_long::check,
    non_ascii::check,
    unknown_command::check,
    bad_sequence::check,
    reply_anomaly::check,
    session_refused::check,
    turn_atrn::check,
    etrn::check,
    dangerous_command::check,
    xclient::check,
    envelope_injection::check,
    from_mismatch::check,
    risky_attachment::check,
    mime_malformed::check,
    received_loop::check,
    banner_disclosure::check,
    address_disclosure::check,
];

impl Analyzer {
    pub fn new(cfg: AnalysisConfig) -> Self {
        Analyzer {
            cfg,
            auth: auth_bruteforce::State::default(),
            stripping: starttls_stripping::State::default(),
            fallback: tls_fallback::State::default(),
            downgrade: auth_downgrade::State::default(),
            counts: Default::default(),
            worst: None,
        }
    }

    /// Every finding for this session, cross-session ones included (they
    /// are raised on the session that crosses a threshold).
    pub fn findings(&mut self, s: &Session) -> Vec<Finding> {
        let facts = Facts::new(s);
        let mut out = Vec::new();
        for rule in SESSION_RULES {
            rule(&facts, &self.cfg, &mut out);
        }
        self.auth.check(&facts, &self.cfg, &mut out);
        self.stripping.check(&facts, &self.cfg, &mut out);
        self.fallback.check(&facts, &self.cfg, &mut out);
        self.downgrade.check(&facts, &self.cfg, &mut out);
        out
    }

    /// Analyze a finished session and attach its findings to `warnings`.
    pub fn session(&mut self, s: &mut Session) {
        for f in self.findings(s) {
            self.worst = self.worst.max(Some(f.severity));
            if f.severity < self.cfg.min_severity {
                continue;
            }
            *self.counts.entry((f.id, f.severity)).or_default() += 1;
            if let Ok(v) = serde_json::to_value(&f) {
                s.warnings.push(v);
            }
        }
    }

    /// The most severe finding raised so far, whatever was displayed.
    pub fn worst(&self) -> Option<Severity> {
        self.worst
    }

    /// Cross-session state evicted because of the caps.
    pub fn evicted(&self) -> u64 {
        self.auth.evicted()
            + self.stripping.evicted()
            + self.fallback.evicted()
            + self.downgrade.evicted()
    }

    /// The end-of-run summary: count per id and severity.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let total: u64 = self.counts.values().sum();
        let _ = writeln!(out, "findings: {total}");
        let mut rows: Vec<_> = self.counts.iter().collect();
        rows.sort_by(|a, b| b.0 .1.cmp(&a.0 .1).then(a.0 .0.cmp(b.0 .0)));
        for ((id, sev), n) in rows {
            let _ = writeln!(out, "  {n:>6}  {:<8}  {id}", sev.as_str());
        }
        let evicted = self.evicted();
        if evicted > 0 {
            let _ = writeln!(
                out,
                "  ({evicted} clients/servers evicted from cross-session tracking; cap {MAX_TRACKED} each)"
            );
        }
        out
    }
}

/// Every finding id, in catalogue order.
pub fn catalogue() -> &'static [RuleInfo] {
    static FLAT: std::sync::OnceLock<Vec<RuleInfo>> = std::sync::OnceLock::new();
    FLAT.get_or_init(|| {
        let groups: &[&[&'static RuleInfo]] = &[
            auth_cleartext::INFOS,
            &[&auth_mechs_advertised::INFO],
            auth_bruteforce::INFOS,
            &[&auth_downgrade::INFO],
            &[&starttls_missing::INFO],
            &[&starttls_unused::INFO],
            &[&starttls_rejected::INFO],
            &[&starttls_stripping::INFO],
            starttls_injection::INFOS,
            &[&tls_fallback::INFO],
            &[&implicit_tls_cleartext::INFO],
            &[&smtp_smuggling::INFO],
            &[&bare_line_endings::INFO],
            &[&nul_byte::INFO],
            &[&data_before_354::INFO],
            &[&bdat_framing::INFO],
            &[&size_mismatch::INFO],
            &[&vrfy_expn_enum::INFO],
            &[&rcpt_enum::INFO],
            &[&open_relay::INFO],
            &[&relay_probe::INFO],
            &[&mass_recipients::INFO],
            &[&blocklist_reply::INFO],
            &[&helo_anomaly::INFO],
            &[&pregreet::INFO],
            &[&pipelining_violation::INFO],
            &[&line_too_long::INFO],
            &[&non_ascii::INFO],
            &[&unknown_command::INFO],
            &[&bad_sequence::INFO],
            &[&reply_anomaly::INFO],
            &[&session_refused::INFO],
            &[&turn_atrn::INFO],
            &[&etrn::INFO],
            dangerous_command::INFOS,
            &[&xclient::INFO],
            &[&envelope_injection::INFO],
            &[&from_mismatch::INFO],
            &[&risky_attachment::INFO],
            &[&mime_malformed::INFO],
            &[&received_loop::INFO],
            &[&banner_disclosure::INFO],
            &[&address_disclosure::INFO],
        ];
        groups.iter().flat_map(|g| g.iter()).map(|i| **i).collect()
    })
}

/// The catalogue as a Markdown table (docs/findings.md).
pub fn catalogue_markdown() -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "# Findings\n\nGenerated from `smtpscope::analysis::catalogue()` by `cargo test --test findings catalogue_doc`; \
         regenerate with `SMTPSCOPE_BLESS=1 cargo test --test findings catalogue_doc`.\n\n\
         | id | group | severity | trigger | references |\n|---|---|---|---|---|\n",
    );
    for r in catalogue() {
        let sev: Vec<&str> = r.severities.iter().map(|s| s.as_str()).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            r.id,
            r.group,
            sev.join(", "),
            r.trigger.replace('|', "\\|"),
            r.references.join("; ").replace('|', "\\|")
        );
    }
    out
}

// ---- shared helpers for the rules: reading facts off the model ----

/// Wire text made safe for a summary, cut to `max` characters.
pub fn wire(s: &str) -> String {
    short(&crate::output::escape::escape_str(s), 120)
}

/// Cuts already-escaped text (e.g. a timeline line) for a summary.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push('…');
    t
}

/// The reply code of a timeline reply item.
pub fn code_of(t: &TimelineEvent) -> Option<u16> {
    let l = t.lines.first()?;
    let d = l.get(..3)?;
    d.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| d.parse().ok())
        .flatten()
}

/// The RFC 3463 enhanced status code at the start of a reply's text.
pub fn enhanced_of(t: &TimelineEvent) -> Option<EnhancedCode> {
    let text = t.lines.first()?.get(4..)?;
    EnhancedCode::parse_prefix(text.as_bytes()).map(|(e, _)| e)
}

/// A client command as the timeline shows it (escaped).
pub struct Cmd<'a> {
    pub idx: usize,
    pub t: &'a TimelineEvent,
    /// Uppercased verb (borrowed when the client sent it in capitals).
    pub verb: Cow<'a, str>,
    /// The rest of the line after the verb (escaped).
    pub arg: &'a str,
}

impl<'a> Cmd<'a> {
    /// The command at timeline index `idx`, if `t` is one.
    fn of(idx: usize, t: &'a TimelineEvent) -> Option<Cmd<'a>> {
        if t.kind != TimelineKind::Command {
            return None;
        }
        let line = t.lines.first()?;
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        Some(Cmd {
            idx,
            t,
            verb: if verb.bytes().any(|b| b.is_ascii_lowercase()) {
                Cow::Owned(verb.to_ascii_uppercase())
            } else {
                Cow::Borrowed(verb)
            },
            arg,
        })
    }

    /// Timeline index and code of the (last) reply to this command.
    pub fn reply(&self, s: &Session) -> Option<(usize, u16)> {
        let r = self.t.reply?;
        Some((r, code_of(s.timeline.get(r)?)?))
    }
}

/// A session with the facts most rules read worked out once: its
/// commands (one pass over the timeline instead of one per rule) and the
/// EHLO reply that set its capabilities. Dereferences to the session.
pub struct Facts<'s> {
    session: &'s Session,
    commands: Vec<Cmd<'s>>,
    ehlo_reply: Option<(usize, usize)>,
}

impl<'s> Facts<'s> {
    pub fn new(session: &'s Session) -> Facts<'s> {
        let commands: Vec<Cmd<'s>> = session
            .timeline
            .iter()
            .enumerate()
            .filter_map(|(idx, t)| Cmd::of(idx, t))
            .collect();
        let ehlo_reply = commands
            .iter()
            .rev()
            .filter(|c| c.verb == "EHLO" || c.verb == "LHLO")
            .find_map(|c| {
                let (r, code) = c.reply(session)?;
                (code == 250).then_some((c.idx, r))
            });
        Facts {
            session,
            commands,
            ehlo_reply,
        }
    }

    /// The client's commands, in timeline order.
    pub fn commands(&self) -> std::slice::Iter<'_, Cmd<'s>> {
        self.commands.iter()
    }

    /// Timeline indexes of the last accepted EHLO/LHLO and of its reply.
    pub fn ehlo_reply(&self) -> Option<(usize, usize)> {
        self.ehlo_reply
    }

    /// The first command with one of these verbs.
    pub fn first_command(&self, verbs: &[&str]) -> Option<&Cmd<'s>> {
        self.commands().find(|c| verbs.contains(&c.verb.as_ref()))
    }
}

impl std::ops::Deref for Facts<'_> {
    type Target = Session;

    fn deref(&self) -> &Session {
        self.session
    }
}

/// The timeline index of the TLS start, if any.
pub fn tls_start(s: &Session) -> Option<usize> {
    s.timeline
        .iter()
        .position(|t| t.kind == TimelineKind::TlsStarted)
}

/// Submission ports, where cleartext means a user's credentials or mail.
pub fn is_submission_port(port: u16) -> bool {
    port == 587 || IMPLICIT_TLS_PORTS.contains(&port)
}

/// Domain of an address such as `<user@example.org>` (lowercase).
pub fn domain_of(addr: &str) -> Option<String> {
    let a = addr.trim().trim_start_matches('<');
    let a = a.split('>').next().unwrap_or(a);
    let (_, d) = a.rsplit_once('@')?;
    let d = d.trim().trim_end_matches('.');
    (!d.is_empty()).then(|| d.to_ascii_lowercase())
}

/// Index of the timeline item nearest at or after `frame` (anomalies carry
/// frames, not indexes).
pub fn event_at_frame(s: &Session, frame: u64, kind: Option<TimelineKind>) -> Option<usize> {
    s.timeline
        .iter()
        .position(|t| t.frame >= frame && kind.is_none_or(|k| t.kind == k))
}
