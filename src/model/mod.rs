//! What outputs show: sessions, transactions and timelines, built
//! incrementally from decoder events by [`SessionBuilder`].
//!
//! Invariants: the model holds no terminal code. Wire text is kept either
//! as [`WireText`] (raw bytes; `Display` escapes them, JSON gets lossy
//! UTF-8) or, in the timeline, already escaped for display. Secrets stay in
//! [`Secret`] and are masked unless an output explicitly reveals them.
//! Cloning a `Session` is cheap: message bytes are shared (`Arc`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Serialize, Serializer};

use crate::capture::Timestamp;
use crate::net::proxy::{ProxyProtocol, StepKind, Tunnel};
use crate::net::{ConnId, ConnMeta, Dir};
use crate::output::escape::escape_bytes;
use crate::smtp::auth::{Secret, SecretKind};
use crate::smtp::command::{Args, Command, Param, Verb};
use crate::smtp::ehlo::Capabilities;
use crate::smtp::event::{
    Anomaly, AuthPhase, Counters, EndReason, Event, EventKind, MessageEvent, Request, TransferKind,
};
use crate::smtp::lines::Terminator;
use crate::smtp::message::MessageSummary;
use crate::smtp::reply::{EnhancedCode, ReplyCode};
use crate::smtp::tls::{version_name, ClientHello};

/// Bytes from the wire. `Display` is escaped (safe for terminals);
/// serialization is lossy UTF-8 (JSON escapes control characters itself).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WireText(pub Vec<u8>);

impl WireText {
    pub fn from_str_lossy(s: &str) -> WireText {
        WireText(s.as_bytes().to_vec())
    }

    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl fmt::Display for WireText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_bytes(&self.0))
    }
}

impl Serialize for WireText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(&self.0))
    }
}

/// The proxy tunnel a session ran in: the TCP peer (`Session::server`) is
/// the proxy, and the SMTP server is the target the client asked it for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelInfo {
    pub protocol: ProxyProtocol,
    /// An IP address, or the host name the client had the proxy resolve.
    pub target: WireText,
    pub port: u16,
    pub user: Option<WireText>,
    pub password: Option<Secret>,
}

impl Session {
    /// The port of the SMTP service: the proxy's target's for a session
    /// through a tunnel, else the TCP server's.
    pub fn service_port(&self) -> u16 {
        self.tunnel.as_ref().map_or(self.server.port(), |t| t.port)
    }

    /// The mail service the session reached, for rules that compare
    /// sessions with the same server: one proxy serves many servers.
    pub fn service(&self) -> Service {
        Service {
            server: self.server,
            target: self.tunnel.as_ref().map(|t| (t.target.clone(), t.port)),
        }
    }
}

/// A TCP server, and for a session through a proxy (the server) the target
/// the client asked it for. Shown escaped, as "target:port via proxy" or
/// the server's address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Service {
    pub server: SocketAddr,
    pub target: Option<(WireText, u16)>,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Some((host, port)) => {
                write!(f, "{} via proxy {}", authority(host, *port), self.server)
            }
            None => write!(f, "{}", self.server),
        }
    }
}

/// `host:port` escaped for display, an IPv6 address in brackets.
fn authority(host: &WireText, port: u16) -> String {
    escape_bytes(&crate::net::proxy::authority(&host.0, port))
}

impl TunnelInfo {
    /// The target as `host:port`, escaped for display.
    pub fn authority(&self) -> String {
        authority(&self.target, self.port)
    }

    pub fn new(t: &Tunnel) -> TunnelInfo {
        TunnelInfo {
            protocol: t.protocol,
            target: WireText(t.target.host()),
            port: t.port,
            user: t.user.clone().map(WireText),
            // Kept as text, as AUTH secrets are; outputs escape it.
            password: t
                .password
                .as_ref()
                .map(|p| Secret::new(String::from_utf8_lossy(p))),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// STARTTLS listed in the EHLO reply.
    pub starttls_offered: bool,
    /// The client sent STARTTLS.
    pub starttls_command: bool,
    /// TLS began (220 to STARTTLS, or implicit).
    pub started: bool,
    pub implicit: bool,
    pub sni: Option<String>,
    /// Versions the ClientHello offered, by name.
    pub versions: Vec<String>,
    #[serde(skip)]
    pub client_hello: Option<ClientHello>,
    /// Bytes after TLS began [client->server, server->client].
    pub bytes: [u64; 2],
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuthInfo {
    /// Mechanism of the last attempt.
    pub mechanism: String,
    /// Every mechanism tried, in order.
    pub mechanisms: Vec<String>,
    pub user: Option<String>,
    pub authzid: Option<String>,
    /// None while the last attempt has no final reply.
    pub success: Option<bool>,
    pub attempts: u32,
    pub failures: u32,
    pub cancelled: u32,
    /// Masked when serialized; outputs reveal only on request.
    pub secret: Option<Secret>,
    pub secret_kind: Option<SecretKind>,
    pub ntlm_domain: Option<String>,
    pub ntlm_workstation: Option<String>,
    /// Every attempt in order, at most [`MAX_AUTH_HISTORY`].
    #[serde(skip)]
    pub history: Vec<AuthAttempt>,
    /// Attempts beyond the cap, counted.
    #[serde(skip)]
    pub history_dropped: u64,
}

/// Attempts kept per session in [`AuthInfo::history`]; later ones are
/// counted in `history_dropped`.
pub const MAX_AUTH_HISTORY: usize = 256;

/// One AUTH exchange as the analysis stage needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthAttempt {
    pub mechanism: String,
    pub user: Option<String>,
    /// Some(true) on 235, Some(false) on a failure reply, None otherwise.
    pub success: Option<bool>,
    pub cancelled: bool,
    pub code: Option<ReplyCode>,
    /// Timeline index of the AUTH command.
    pub event: Option<usize>,
    pub frame: u64,
    /// Frame of the final reply.
    pub reply_frame: Option<u64>,
    /// SASL responses the client sent (initial response included, `*`
    /// not): 0 when the exchange ended at the mechanism name.
    pub responses: u32,
    /// A hash of the credential material (user and secret), to tell a
    /// client repeating one stale credential from one trying many. Never
    /// shown: it only compares attempts.
    pub credential: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub address: WireText,
    pub params: Vec<Param>,
    pub code: Option<ReplyCode>,
    /// 250/251 (RFC 5321 §4.3.2).
    pub accepted: bool,
    pub enhanced: Option<EnhancedCode>,
    /// LMTP: the reply to the end of the message for this recipient
    /// (RFC 2033 §4.2); `None` in SMTP, where one reply covers all.
    pub delivery: Option<ReplyCode>,
}

#[derive(Clone, Debug, Default)]
pub struct Transaction {
    pub start: Timestamp,
    /// The sender the MAIL named; None when the capture did not show the
    /// MAIL (content arrived without one, kept anyway).
    pub mail_from: Option<WireText>,
    pub mail_params: Vec<Param>,
    /// The reply to that MAIL: 2xx for every transaction the server
    /// opened; None when it was never seen; a refusal only where a BDAT
    /// message had been sent before the reply came (pipelined, RFC 3030
    /// §4.2: its bytes go out whatever the reply).
    pub mail_code: Option<ReplyCode>,
    /// The first [`ModelConfig::max_recipients`] answered RCPTs, then
    /// those never answered (the server closed, the capture ended), with
    /// no code.
    pub rcpt_to: Vec<Recipient>,
    /// Every answered RCPT, listed or not.
    pub rcpt_count: u64,
    /// Of those, refused (anything but 250/251).
    pub rcpt_rejected: u64,
    pub transfer: Option<TransferKind>,
    /// Dot-unstuffed DATA size or sum of BDAT chunks.
    pub data_bytes: Option<u64>,
    /// Final reply to the message (after `.` or BDAT LAST).
    pub code: Option<ReplyCode>,
    pub enhanced: Option<EnhancedCode>,
    /// The final reply was positive.
    pub completed: bool,
    /// The message's end was seen without a gap.
    pub message_complete: bool,
    pub message_gap: bool,
    /// Message bytes (capped), kept only when the decoder was asked to
    /// (export, bodies, message view); shared, and dropped by the pipeline
    /// once exported.
    pub raw_message: Option<Arc<Vec<u8>>>,
    pub message: Option<MessageSummary>,
    /// What the DATA content looked like on the wire (line endings, 8-bit
    /// bytes, non-canonical end-of-data sequences with what follows them);
    /// counted while streaming, so rules need not keep the message.
    pub content: Option<crate::smtp::data::DataStats>,
    /// The seq of the MAIL command that opened it.
    pub mail_seq: Option<u32>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    Command,
    Reply,
    Greeting,
    /// A SASL response line (masked).
    AuthResponse,
    /// A DATA/BDAT message (summary, see `txn`).
    Message,
    TlsStarted,
    Gap,
    /// A message of the proxy handshake before the dialogue (decoded, one
    /// line; the password masked).
    Proxy,
}

/// One line of the dialogue as shown to people.
#[derive(Clone, Debug)]
pub struct TimelineEvent {
    pub ts: Timestamp,
    pub frame: u64,
    pub dir: Dir,
    pub kind: TimelineKind,
    /// Each wire line escaped for display (secrets masked).
    pub lines: Vec<String>,
    /// The exact terminator of each line.
    pub terms: Vec<Terminator>,
    /// The unmasked text when `lines` was masked; only revealed on request.
    pub secret: Option<Secret>,
    /// Request sequence number (commands, SASL responses).
    pub seq: Option<u32>,
    /// For a reply: timeline index of the request it answers.
    pub answers: Option<usize>,
    /// For a request: timeline index of its (last) reply.
    pub reply: Option<usize>,
    pub latency_ns: Option<i64>,
    pub pipelined: bool,
    /// For gap markers: bytes lost.
    pub gap_len: Option<u64>,
    /// For message markers: index into `transactions`.
    pub txn: Option<usize>,
    /// For proxy handshake lines: what the message does.
    pub proxy_step: Option<StepKind>,
}

#[derive(Clone, Debug)]
pub struct AnomalyRecord {
    pub ts: Timestamp,
    pub frame: u64,
    pub dir: Dir,
    pub anomaly: Anomaly,
}

/// Serialization is the output layer's job (`output::json`): the JSON
/// field names are a contract kept in one place.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: ConnId,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    /// Time of the last event applied (for in-progress views).
    pub last_ts: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub handshake_seen: bool,
    pub greeting: Option<WireText>,
    pub greeting_code: Option<ReplyCode>,
    pub helo: Option<WireText>,
    pub helo_verb: Option<Verb>,
    /// EHLO keyword lines as sent.
    pub extensions: Vec<String>,
    pub capabilities: Capabilities,
    pub tls: TlsInfo,
    /// Set when the dialogue ran inside a proxy tunnel.
    pub tunnel: Option<TunnelInfo>,
    pub auth: Option<AuthInfo>,
    pub transactions: Vec<Transaction>,
    pub timeline: Vec<TimelineEvent>,
    pub timeline_dropped: u64,
    pub gaps: u64,
    /// Closed, greeting seen, and no gaps: the whole dialogue is here.
    pub complete: bool,
    pub closed: bool,
    pub end_reason: Option<EndReason>,
    pub anomalies: Vec<AnomalyRecord>,
    pub anomalies_dropped: u64,
    pub counters: Counters,
    /// Findings from the analysis stage, as JSON objects; outputs copy
    /// them into `warnings`. The decoder and builder leave it empty.
    pub warnings: Vec<serde_json::Value>,
}

impl AuthAttempt {
    fn update(&mut self, phase: &AuthPhase, st: &crate::smtp::auth::SaslState, frame: u64) {
        match phase {
            AuthPhase::Succeeded => {
                self.success = Some(true);
                self.code = Some(ReplyCode::AUTH_OK);
                self.reply_frame = Some(frame);
            }
            AuthPhase::Failed { code } => {
                self.success = Some(false);
                self.code = Some(*code);
                self.reply_frame = Some(frame);
            }
            AuthPhase::Cancelled => self.cancelled = true,
            _ => {}
        }
        self.responses = st.responses;
        if st.user.is_some() {
            self.user = st.user.clone();
        }
        if st.user.is_some() || st.secret.is_some() {
            use std::hash::{Hash, Hasher};
            let mut h = rustc_hash::FxHasher::default();
            st.mechanism.hash(&mut h);
            st.user.hash(&mut h);
            st.secret.as_ref().map(Secret::reveal).hash(&mut h);
            self.credential = Some(h.finish());
        }
    }
}

/// Caps of the model.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub max_timeline: usize,
    pub max_anomalies: usize,
    pub max_transactions: usize,
    /// Recipients listed per transaction; the rest are only counted.
    pub max_recipients: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            max_timeline: 10_000,
            max_anomalies: 1_000,
            max_transactions: 1_000,
            max_recipients: 1_000,
        }
    }
}

/// Which timeline item a request's reply should link to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
enum ReqKey {
    Command(u32),
    DataEnd(u32),
    Auth(u32),
}

/// Applies decoder events one by one; `session()` is a consistent view of
/// a session still in progress, `finish()` the final one.
pub struct SessionBuilder {
    s: Session,
    cfg: ModelConfig,
    /// Commands waiting for their reply, by seq (at most
    /// [`MAX_AWAITING_REPLY`]: the decoder gives up on older ones too).
    commands: BTreeMap<u32, Command>,
    /// Timeline index of each request.
    req_index: FxHashMap<ReqKey, usize>,
    /// The transaction MAIL opened and no final reply/RSET closed yet.
    open_txn: Option<usize>,
    /// A MAIL sent after the open transaction's message and not (yet)
    /// answered: its seq and sender.
    unanswered_mail: Option<(u32, Option<WireText>)>,
    /// The transaction a message opened for such a MAIL (its seq), so
    /// that the MAIL's reply, if it comes after all, does not open another.
    opened_for_mail: BTreeMap<u32, usize>,
    /// The transaction of each message awaiting its final reply, by the
    /// seq of the request that reply answers.
    message_txn: BTreeMap<u32, usize>,
    /// The seqs of the MAIL commands sent, and of the RSET and greeting
    /// commands that end a transaction (the last few thousand of each).
    mails: BTreeMap<u32, ()>,
    resets: BTreeMap<u32, ()>,
    /// The seq of the BDAT LAST command whose message is being sent.
    bdat_last: Option<u32>,
    /// Seq of the last AUTH response line (its reply links to it).
    last_auth_response: Option<usize>,
    /// EHLO/HELO/LHLO commands waiting for their reply: verb and name.
    hellos: BTreeMap<u32, (Verb, String)>,
    /// LMTP: the message whose per-recipient replies are arriving (its
    /// request seq, transaction, replies so far).
    lmtp_final: Option<(u32, usize, usize)>,
}

/// Requests remembered while their reply is awaited; beyond it the oldest
/// is forgotten (a burst of commands that are never answered).
pub const MAX_AWAITING_REPLY: usize = 4096;

fn remember<V>(map: &mut BTreeMap<u32, V>, seq: u32, v: V) {
    map.insert(seq, v);
    if map.len() > MAX_AWAITING_REPLY {
        map.pop_first();
    }
}

impl SessionBuilder {
    pub fn new(meta: &ConnMeta) -> Self {
        Self::with_config(meta, ModelConfig::default())
    }

    pub fn with_config(meta: &ConnMeta, cfg: ModelConfig) -> Self {
        SessionBuilder {
            s: Session {
                id: meta.id,
                start: meta.start,
                end: None,
                last_ts: meta.start,
                client: meta.client,
                server: meta.server,
                handshake_seen: meta.handshake_seen(),
                greeting: None,
                greeting_code: None,
                helo: None,
                helo_verb: None,
                extensions: Vec::new(),
                capabilities: Capabilities::default(),
                tls: TlsInfo::default(),
                tunnel: None,
                auth: None,
                transactions: Vec::new(),
                timeline: Vec::new(),
                timeline_dropped: 0,
                gaps: 0,
                complete: false,
                closed: false,
                end_reason: None,
                anomalies: Vec::new(),
                anomalies_dropped: 0,
                counters: Counters::default(),
                warnings: Vec::new(),
            },
            cfg,
            commands: BTreeMap::new(),
            req_index: FxHashMap::default(),
            open_txn: None,
            unanswered_mail: None,
            opened_for_mail: BTreeMap::new(),
            message_txn: BTreeMap::new(),
            mails: BTreeMap::new(),
            resets: BTreeMap::new(),
            bdat_last: None,
            last_auth_response: None,
            hellos: BTreeMap::new(),
            lmtp_final: None,
        }
    }

    /// The dialogue runs inside this proxy tunnel: its handshake opens
    /// the timeline.
    pub fn set_tunnel(&mut self, t: &Tunnel) {
        self.s.tunnel = Some(TunnelInfo::new(t));
        for step in &t.steps {
            let mut item = Self::item_at((step.ts, step.frame, step.dir), TimelineKind::Proxy);
            item.lines
                .push(escape_bytes(&step.line_with(Secret::MASK.as_bytes())));
            item.secret = step.revealed().map(|r| Secret::new(escape_bytes(&r)));
            item.proxy_step = Some(step.kind);
            self.push_timeline(item);
        }
    }

    /// The session as it stands (for live views).
    pub fn session(&self) -> &Session {
        &self.s
    }

    pub fn finish(mut self) -> Session {
        self.unanswered_recipients();
        self.s
    }

    /// RCPTs never answered are listed in the transaction of the MAIL they
    /// followed, with no code: the client asked for them.
    fn unanswered_recipients(&mut self) {
        let rcpts = std::mem::take(&mut self.commands)
            .into_iter()
            .filter(|(_, c)| c.verb == Verb::Rcpt);
        for (seq, cmd) in rcpts {
            let Args::Path { address, params } = cmd.args else {
                continue;
            };
            let max = self.cfg.max_recipients;
            if let Some(t) = self
                .txn_before(seq)
                .and_then(|i| self.s.transactions.get_mut(i))
                .filter(|t| t.rcpt_to.len() < max)
            {
                t.rcpt_to.push(Recipient {
                    address: WireText::from_str_lossy(&address),
                    params,
                    code: None,
                    accepted: false,
                    enhanced: None,
                    delivery: None,
                });
            }
        }
    }

    pub fn apply_all(&mut self, events: impl IntoIterator<Item = Event>) {
        for e in events {
            self.apply(e);
        }
    }

    fn push_timeline(&mut self, t: TimelineEvent) -> Option<usize> {
        if self.s.timeline.len() >= self.cfg.max_timeline {
            self.s.timeline_dropped += 1;
            return None;
        }
        self.s.timeline.push(t);
        Some(self.s.timeline.len() - 1)
    }

    fn item(ev: &Event, kind: TimelineKind) -> TimelineEvent {
        Self::item_at((ev.ts, ev.frame, ev.dir), kind)
    }

    fn item_at((ts, frame, dir): (Timestamp, u64, Dir), kind: TimelineKind) -> TimelineEvent {
        TimelineEvent {
            ts,
            frame,
            dir,
            kind,
            lines: Vec::new(),
            terms: Vec::new(),
            secret: None,
            seq: None,
            answers: None,
            reply: None,
            latency_ns: None,
            pipelined: false,
            gap_len: None,
            txn: None,
            proxy_step: None,
        }
    }

    pub fn apply(&mut self, ev: Event) {
        self.s.last_ts = self.s.last_ts.max(ev.ts);
        let head = (ev.ts, ev.frame, ev.dir);
        match ev.kind {
            EventKind::Command(ref c) => {
                let mut t = Self::item(&ev, TimelineKind::Command);
                let mut text = escape_bytes(&c.raw.bytes);
                if c.raw.truncated {
                    text.push_str(&format!(" [... {} bytes]", c.raw.len));
                }
                t.lines.push(text);
                t.terms.push(c.raw.term);
                if let Args::Auth {
                    initial_response: Some(ir),
                    ..
                } = &c.command.args
                {
                    let shown = escape_bytes(&c.raw.bytes);
                    let revealed =
                        shown.replace(Secret::MASK, &escape_bytes(ir.reveal().as_bytes()));
                    t.secret = Some(Secret::new(revealed));
                }
                t.seq = Some(c.seq);
                t.pipelined = c.pipelined;
                let idx = self.push_timeline(t);
                if let Some(i) = idx {
                    self.req_index.insert(ReqKey::Command(c.seq), i);
                }
                match &c.command.args {
                    Args::Hello { domain } if c.command.verb.is_hello() => {
                        // The first greeting names the client at once (the
                        // reply may never be captured); a later one only
                        // when the server accepts it (see `on_answer`), so
                        // a rejected bare EHLO does not wipe the name.
                        if self.s.helo.is_none() {
                            self.s.helo = Some(WireText::from_str_lossy(domain));
                            self.s.helo_verb = Some(c.command.verb.clone());
                        }
                        remember(
                            &mut self.hellos,
                            c.seq,
                            (c.command.verb.clone(), domain.clone()),
                        );
                    }
                    _ => {}
                }
                if c.command.verb == Verb::StartTls {
                    self.s.tls.starttls_command = true;
                }
                if matches!(c.command.verb, Verb::Mail | Verb::Rcpt | Verb::Bdat) {
                    remember(&mut self.commands, c.seq, c.command.clone());
                }
                match (&c.command.verb, &c.command.args) {
                    (Verb::Mail, _) => {
                        remember(&mut self.mails, c.seq, ());
                        self.mail_sent(c.seq, &c.command);
                    }
                    (Verb::Rset | Verb::Helo | Verb::Ehlo | Verb::Lhlo, _) => {
                        remember(&mut self.resets, c.seq, ());
                    }
                    (Verb::Bdat, Args::Bdat { last: true, .. }) => self.bdat_last = Some(c.seq),
                    _ => {}
                }
            }
            EventKind::Reply(ref r) => {
                let kind = if r.greeting {
                    TimelineKind::Greeting
                } else {
                    TimelineKind::Reply
                };
                let mut t = Self::item(&ev, kind);
                t.ts = r.first_ts;
                t.frame = r.first_frame;
                for l in &r.raw {
                    t.lines.push(escape_bytes(&l.bytes));
                    t.terms.push(l.term);
                }
                let key = r.answers.as_ref().map(|a| match a.request {
                    Request::Command { .. } => ReqKey::Command(a.seq),
                    Request::DataEnd => ReqKey::DataEnd(a.seq),
                    Request::AuthResponse => ReqKey::Auth(a.seq),
                });
                let req_idx = match key {
                    Some(ReqKey::Auth(_)) => self.last_auth_response,
                    Some(k) => self.req_index.get(&k).copied(),
                    None => None,
                };
                t.answers = req_idx;
                t.latency_ns = r.answers.as_ref().map(|a| a.latency_ns);
                let idx = self.push_timeline(t);
                if let (Some(ri), Some(i)) = (req_idx, idx) {
                    // The first reply (LMTP sends one per recipient).
                    self.s.timeline[ri].reply.get_or_insert(i);
                }
                if r.greeting {
                    self.s.greeting =
                        Some(WireText(r.reply.lines.first().cloned().unwrap_or_default()));
                    self.s.greeting_code = Some(r.reply.code);
                }
                if let Some(a) = &r.answers {
                    self.on_answer(a.seq, &a.request, &r.reply, ev.ts);
                }
            }
            EventKind::Auth(ref step) => {
                let auth_command = match step.phase {
                    AuthPhase::Started => self
                        .s
                        .timeline
                        .iter()
                        .rposition(|t| t.kind == TimelineKind::Command),
                    _ => None,
                };
                let auth = self.s.auth.get_or_insert_with(AuthInfo::default);
                let st = &step.state;
                match &step.phase {
                    AuthPhase::Started => {
                        auth.attempts += 1;
                        auth.mechanism = st.mechanism.clone();
                        auth.mechanisms.push(st.mechanism.clone());
                        auth.success = None;
                        if auth.history.len() < MAX_AUTH_HISTORY {
                            auth.history.push(AuthAttempt {
                                mechanism: st.mechanism.clone(),
                                event: auth_command,
                                frame: ev.frame,
                                ..AuthAttempt::default()
                            });
                        } else {
                            auth.history_dropped += 1;
                        }
                    }
                    AuthPhase::Succeeded => auth.success = Some(true),
                    AuthPhase::Failed { .. } => {
                        auth.failures += 1;
                        auth.success = Some(false);
                    }
                    AuthPhase::Cancelled => auth.cancelled += 1,
                    AuthPhase::Challenge | AuthPhase::Response => {}
                }
                if auth.history_dropped == 0 {
                    if let Some(a) = auth.history.last_mut() {
                        a.update(&step.phase, st, ev.frame);
                    }
                }
                if st.user.is_some() {
                    auth.user = st.user.clone();
                }
                if st.authzid.is_some() {
                    auth.authzid = st.authzid.clone();
                }
                if st.secret.is_some() {
                    auth.secret = st.secret.clone();
                    auth.secret_kind = st.secret_kind;
                }
                if st.ntlm_domain.is_some() {
                    auth.ntlm_domain = st.ntlm_domain.clone();
                    auth.ntlm_workstation = st.ntlm_workstation.clone();
                }
                if matches!(step.phase, AuthPhase::Response | AuthPhase::Cancelled) {
                    let mut t = Self::item(&ev, TimelineKind::AuthResponse);
                    let resp = step
                        .response
                        .as_ref()
                        .map(|r| r.reveal())
                        .unwrap_or_default();
                    if resp == "*" {
                        t.lines.push("*".into());
                    } else {
                        t.lines.push(Secret::MASK.into());
                        t.secret = Some(Secret::new(escape_bytes(resp.as_bytes())));
                    }
                    t.terms.push(step.term.unwrap_or(Terminator::None));
                    t.seq = Some(step.seq);
                    self.last_auth_response = self.push_timeline(t);
                }
            }
            EventKind::DataStart { .. } | EventKind::BdatChunk(_) => {}
            EventKind::MessageComplete(m) => self.on_message(head, m, true),
            EventKind::MessageIncomplete(m) => self.on_message(head, m, false),
            EventKind::TlsStarted { implicit } => {
                self.s.tls.started = true;
                self.s.tls.implicit = implicit;
                let t = Self::item(&ev, TimelineKind::TlsStarted);
                self.push_timeline(t);
            }
            EventKind::TlsClientHello(h) => {
                self.s.tls.sni = h.sni.clone();
                let versions = if h.supported_versions.is_empty() {
                    vec![h.legacy_version]
                } else {
                    h.supported_versions.clone()
                };
                self.s.tls.versions = versions.into_iter().map(version_name).collect();
                self.s.tls.client_hello = Some(h);
            }
            EventKind::Gap { len, .. } => {
                self.s.gaps += 1;
                let mut t = Self::item(&ev, TimelineKind::Gap);
                t.gap_len = Some(len);
                self.push_timeline(t);
            }
            EventKind::Anomaly(a) => {
                if self.s.anomalies.len() >= self.cfg.max_anomalies {
                    self.s.anomalies_dropped += 1;
                } else {
                    self.s.anomalies.push(AnomalyRecord {
                        ts: ev.ts,
                        frame: ev.frame,
                        dir: ev.dir,
                        anomaly: a,
                    });
                }
            }
            EventKind::SessionEnd(end) => {
                self.s.end = Some(ev.ts);
                self.s.closed = true;
                self.s.end_reason = Some(end.reason);
                self.s.tls.bytes = end.counters.tls_bytes;
                self.s.anomalies_dropped += end.counters.anomalies_dropped;
                self.s.counters = end.counters;
                // Seen from the greeting to a real close: a connection cut
                // by the capture's end, a timeout or eviction was not.
                self.s.complete = self.s.gaps == 0
                    && self.s.greeting.is_some()
                    && matches!(
                        end.reason,
                        EndReason::Quit | EndReason::Fin | EndReason::Rst
                    );
            }
        }
    }

    /// Apply a reply to the request it answers (transactions, EHLO).
    fn on_answer(
        &mut self,
        seq: u32,
        req: &Request,
        reply: &crate::smtp::reply::Reply,
        ts: Timestamp,
    ) {
        let code = reply.code;
        if let Some((s0, ti, k)) = self.lmtp_final {
            if s0 == seq
                && matches!(
                    req,
                    Request::DataEnd | Request::Command { verb: Verb::Bdat }
                )
            {
                self.lmtp_delivery(ti, k, code);
                self.lmtp_final = Some((s0, ti, k + 1));
                return;
            }
        }
        if let Some((verb, domain)) = self.hellos.remove(&seq) {
            if code.is_positive() {
                self.s.helo = Some(WireText::from_str_lossy(&domain));
                self.s.helo_verb = Some(verb);
            }
        }
        match req {
            Request::Command {
                verb: Verb::Ehlo | Verb::Lhlo,
            } if code.is_positive() => {
                let caps = Capabilities::from_lines(reply.lines.iter().map(Vec::as_slice));
                self.s.extensions = caps.raw.clone();
                self.s.tls.starttls_offered |= caps.starttls;
                self.s.capabilities = caps;
            }
            // RFC 5321 §4.1.1.2: an accepted MAIL opens a transaction.
            Request::Command { verb: Verb::Mail } => {
                if self
                    .unanswered_mail
                    .as_ref()
                    .is_some_and(|(s, _)| *s == seq)
                {
                    self.unanswered_mail = None;
                }
                let cmd = self.commands.remove(&seq);
                if let Some(i) = self.opened_for_mail.remove(&seq) {
                    // Its message came first (pipelined past DATA): the
                    // transaction it opened is this MAIL's, refused or not.
                    if let Some(t) = self.s.transactions.get_mut(i) {
                        t.mail_code = Some(code);
                        if let Some(Args::Path { params, .. }) = cmd.as_ref().map(|c| &c.args) {
                            t.mail_params = params.clone();
                        }
                    }
                } else if !code.is_positive() {
                    // A nested MAIL refused while a transaction is open:
                    // the RCPTs after it still belong to that transaction.
                    // Any other refused MAIL stays a boundary: RCPTs after
                    // it belong to no transaction.
                    if self.open_txn.is_some() {
                        self.mails.remove(&seq);
                    }
                } else if self.s.transactions.len() < self.cfg.max_transactions
                    && self.s.transactions.len() < self.cfg.max_transactions
                {
                    let (from, params) = match cmd.as_ref().map(|c| &c.args) {
                        Some(Args::Path { address, params }) => {
                            (Some(WireText::from_str_lossy(address)), params.clone())
                        }
                        _ => (None, Vec::new()),
                    };
                    self.s.transactions.push(Transaction {
                        start: ts,
                        mail_from: from,
                        mail_params: params,
                        mail_code: Some(code),
                        mail_seq: Some(seq),
                        ..Transaction::default()
                    });
                    self.open_txn = Some(self.s.transactions.len() - 1);
                }
            }
            Request::Command { verb: Verb::Rcpt } => {
                let cmd = self.commands.remove(&seq);
                if let (
                    Some(i),
                    Some(Command {
                        args: Args::Path { address, params },
                        ..
                    }),
                ) = (self.txn_before(seq).or(self.open_txn), cmd)
                {
                    let accepted = matches!(code.0, 250 | 251);
                    let t = &mut self.s.transactions[i];
                    t.rcpt_count += 1;
                    t.rcpt_rejected += u64::from(!accepted);
                    if t.rcpt_to.len() < self.cfg.max_recipients {
                        t.rcpt_to.push(Recipient {
                            address: WireText::from_str_lossy(&address),
                            params,
                            code: Some(code),
                            accepted,
                            enhanced: reply.enhanced,
                            delivery: None,
                        });
                    }
                }
            }
            Request::Command { verb: Verb::Rset } if code.is_positive() => self.open_txn = None,
            Request::Command {
                verb: Verb::Helo | Verb::Ehlo | Verb::Lhlo,
            } if code.is_positive() => self.open_txn = None,
            // The final reply ends the transaction either way (§4.1.1.4).
            Request::DataEnd => self.message_reply(seq, reply),
            Request::Command { verb: Verb::Bdat } => {
                let last = matches!(
                    self.commands.remove(&seq),
                    Some(Command {
                        args: Args::Bdat { last: true, .. },
                        ..
                    })
                );
                if last {
                    self.message_reply(seq, reply);
                }
            }
            _ => {}
        }
    }

    /// The reply that ends a message; in LMTP the first of one per
    /// accepted recipient, the rest taken by `on_answer`.
    fn message_reply(&mut self, seq: u32, reply: &crate::smtp::reply::Reply) {
        let idx = self.final_reply(seq, reply);
        if let (Some(i), Some(Verb::Lhlo)) = (idx, &self.s.helo_verb) {
            self.lmtp_delivery(i, 0, reply.code);
            self.lmtp_final = Some((seq, i, 1));
        }
    }

    /// LMTP: reply `k` to the end of transaction `ti`'s message is the
    /// result for its k-th accepted recipient (RFC 2033 §4.2); the message
    /// counts as completed when any recipient got it.
    fn lmtp_delivery(&mut self, ti: usize, k: usize, code: ReplyCode) {
        let Some(t) = self.s.transactions.get_mut(ti) else {
            return;
        };
        if let Some(r) = t.rcpt_to.iter_mut().filter(|r| r.accepted).nth(k) {
            r.delivery = Some(code);
        }
        t.completed |= code.is_positive();
    }

    fn final_reply(&mut self, seq: u32, reply: &crate::smtp::reply::Reply) -> Option<usize> {
        // The transaction this message went to; under pipelining the open
        // one may already be the next (a BDAT message sent before the
        // previous message's reply came).
        let idx = match self.message_txn.remove(&seq) {
            Some(i) => {
                if self.open_txn == Some(i) {
                    self.open_txn = None;
                }
                Some(i)
            }
            None => self.open_txn.take().or_else(|| {
                // The message event may have created an orphan transaction.
                self.s
                    .transactions
                    .last()
                    .filter(|t| t.code.is_none() && t.data_bytes.is_some())
                    .map(|_| self.s.transactions.len() - 1)
            }),
        };
        if let Some(t) = idx.and_then(|i| self.s.transactions.get_mut(i)) {
            t.code = Some(reply.code);
            t.enhanced = reply.enhanced;
            t.completed = reply.code.is_positive();
        }
        idx
    }

    /// A MAIL with no transaction open, or once the open one has its
    /// message, starts another (RFC 5321 §4.1.1.2): a message sent before
    /// its reply, or with no reply at all (the server closed, the capture
    /// ended), goes to a transaction for this MAIL. A MAIL before the
    /// message is a nested MAIL, refused with 503 while the transaction
    /// goes on.
    fn mail_sent(&mut self, seq: u32, mail: &Command) {
        let from = match &mail.args {
            Args::Path { address, .. } => Some(WireText::from_str_lossy(address)),
            _ => None,
        };
        match self.open_txn {
            Some(i)
                if self
                    .s
                    .transactions
                    .get(i)
                    .is_some_and(|t| t.message.is_none()) => {}
            _ => {
                self.open_txn = None;
                self.unanswered_mail = Some((seq, from));
            }
        }
    }

    /// The transaction of the last MAIL sent before request `seq`, unless
    /// RSET or a new greeting came between them.
    fn txn_before(&self, seq: u32) -> Option<usize> {
        let (&mail, _) = self.mails.range(..seq).next_back()?;
        if self.resets.range(mail..seq).next().is_some() {
            return None;
        }
        self.s
            .transactions
            .iter()
            .rposition(|t| t.mail_seq == Some(mail))
    }

    fn on_message(&mut self, head: (Timestamp, u64, Dir), m: MessageEvent, complete: bool) {
        let idx = match self.open_txn {
            Some(i) => Some(i),
            None if self.s.transactions.len() < self.cfg.max_transactions => {
                // No transaction the server opened: the message still gets
                // one (a capture that began mid-transaction, or a MAIL
                // never answered), with the sender that MAIL named.
                let (mail_seq, mail_from) = self.unanswered_mail.take().unzip();
                self.s.transactions.push(Transaction {
                    start: head.0,
                    mail_from: mail_from.flatten(),
                    mail_seq,
                    ..Transaction::default()
                });
                let i = self.s.transactions.len() - 1;
                if let Some(seq) = mail_seq {
                    remember(&mut self.opened_for_mail, seq, i);
                }
                self.open_txn = Some(i);
                Some(i)
            }
            None => None,
        };
        let mut t = Self::item_at(head, TimelineKind::Message);
        t.txn = idx;
        t.seq = Some(m.seq);
        let ti = self.push_timeline(t);
        if let Some(ti) = ti {
            self.req_index.insert(ReqKey::DataEnd(m.seq), ti);
        }
        let Some(i) = idx else { return };
        // The final reply answers DATA's end, or the LAST BDAT chunk.
        let answered = match m.kind {
            TransferKind::Bdat => self.bdat_last.take().unwrap_or(m.seq),
            _ => m.seq,
        };
        remember(&mut self.message_txn, answered, i);
        let tx = &mut self.s.transactions[i];
        tx.transfer = Some(m.kind);
        tx.data_bytes = Some(m.size);
        tx.message_complete = complete;
        tx.message_gap = m.gap;
        tx.message = Some(m.summary);
        tx.content = Some(m.stats);
        tx.raw_message = m.raw_kept.then(|| Arc::new(m.raw));
    }
}
