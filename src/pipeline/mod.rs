//! The glue from reassembled streams to finished SMTP sessions.
//!
//! [`SmtpPipeline`] is the packet layer's [`StreamSink`]: it decides which
//! connections are SMTP (port, or content for any other port), runs one
//! [`SessionDecoder`] and [`SessionBuilder`] per SMTP connection, and hands
//! each finished [`Session`] to a callback as the connection ends, so
//! memory does not grow with the number of finished sessions.
//!
//! Caps: bytes held per connection while its protocol is undecided are at
//! most [`MAX_DETECT_HOLD`], and over all undecided connections at most
//! [`MAX_DETECT_HOLD_TOTAL`] (a pipeline's `hold_budget`); a connection
//! that would go past either is judged not SMTP.

pub mod offload;
pub mod sharded;

use rustc_hash::FxHashMap;

use crate::capture::Timestamp;
use crate::model::{Session, SessionBuilder};
use crate::net::proxy::{self, Tunnel};
use crate::net::{Chunk, CloseReason, ConnId, ConnMeta, Dir, Interest, StreamSink};
use crate::smtp::detect::{is_implicit_tls_port, is_smtp_port, Detection, Detector};
use crate::smtp::event::Event;
use crate::smtp::{DecoderConfig, SessionDecoder};

/// Bytes of an undecided connection kept to replay into its decoder.
pub const MAX_DETECT_HOLD: usize = 4096;
/// Bytes held over all undecided connections of a pipeline: without it a
/// flood of connections each sending a little could hold
/// `MAX_DETECT_HOLD` times the flow cap (256 MiB).
pub const MAX_DETECT_HOLD_TOTAL: usize = 16 * 1024 * 1024;

#[derive(Clone, Debug, Default)]
pub struct PipelineConfig {
    pub decoder: DecoderConfig,
    /// `--port`: more ports that are SMTP without looking at content.
    pub extra_ports: Vec<u16>,
    /// `--only-ports`: no content detection.
    pub only_ports: bool,
}

/// Counters of the SMTP stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineStats {
    pub smtp_sessions: u64,
    /// Connections to an SMTP port that closed without a byte of payload
    /// (SYN scans, refused or unanswered connections): no session.
    pub silent: u64,
    /// Of those, recognised by content on a port not known as SMTP.
    pub detected_by_content: u64,
    pub not_smtp: u64,
    /// Of those, connections still undecided when [`MAX_DETECT_HOLD_TOTAL`]
    /// bytes were already held for others: judged on that alone.
    pub over_hold_budget: u64,
}

impl PipelineStats {
    /// The line the summary ends with when the hold budget ran out; `None`
    /// when it never did.
    pub fn budget_line(&self) -> Option<String> {
        (self.over_hold_budget > 0).then(|| {
            format!(
                "content detection: {} connections judged not SMTP while undecided, {} MiB already held for others (MAX_DETECT_HOLD_TOTAL)\n",
                self.over_hold_budget,
                MAX_DETECT_HOLD_TOTAL >> 20
            )
        })
    }
}

enum Held {
    Data(Dir, Timestamp, u64, Vec<u8>),
    Gap(Dir, Timestamp, u64, u64),
}

enum Conn {
    /// On an SMTP port, no payload yet: the decoder is made with the first
    /// byte, so that a SYN flood costs no more than the flow table entry.
    /// Also a proxy tunnel to an SMTP port with nothing inside it yet (a
    /// proxy checker may close it there: no session either).
    Quiet(Option<Box<Tunnel>>),
    /// Not on an SMTP port: the content will tell. `None` until the first
    /// payload or hole, so that a SYN flood to any port costs no more than
    /// the flow table entry either.
    Detecting(Option<Box<Detecting>>),
    Smtp(Box<Live>),
}

/// A connection whose protocol is not decided yet.
struct Detecting {
    detector: Detector,
    /// While a proxy handshake may be starting: the detector is fed once
    /// it is decided, from what is held.
    proxy: Option<Box<proxy::Handshake>>,
    /// A granted proxy CONNECT: `held` starts after the handshake.
    tunnel: Option<Box<Tunnel>>,
    held: Vec<Held>,
    held_bytes: usize,
}

impl Detecting {
    fn start() -> Box<Detecting> {
        Box::new(Detecting {
            detector: Detector::new(),
            proxy: Some(Box::default()),
            tunnel: None,
            held: Vec::new(),
            held_bytes: 0,
        })
    }
}

/// One SMTP connection being decoded.
struct Live {
    decoder: SessionDecoder,
    builder: SessionBuilder,
    /// The net layer's roles were the wrong way round (mid-stream capture).
    swapped: bool,
}

impl Live {
    fn new(cfg: &DecoderConfig, meta: &ConnMeta, swapped: bool, tunnel: Option<&Tunnel>) -> Live {
        let meta = if swapped {
            ConnMeta {
                client: meta.server,
                server: meta.client,
                ..meta.clone()
            }
        } else {
            meta.clone()
        };
        // Through a proxy, the port that says TLS is the target's.
        let port = tunnel.map_or(meta.server.port(), |t| t.port);
        let mut builder = SessionBuilder::new(&meta);
        if let Some(t) = tunnel {
            builder.set_tunnel(t);
        }
        Live {
            decoder: SessionDecoder::new(cfg, &meta, is_implicit_tls_port(port)),
            builder,
            swapped,
        }
    }

    fn dir(&self, dir: Dir) -> Dir {
        if self.swapped {
            dir.reverse()
        } else {
            dir
        }
    }

    fn apply(&mut self, events: &mut Vec<Event>) {
        self.builder.apply_all(events.drain(..));
    }
}

/// The decoder of an SMTP-port connection, made on its first payload
/// (`Quiet` becomes `Smtp`); `None` for a connection still being detected.
fn wake<'c>(
    conn: &'c mut Conn,
    cfg: &DecoderConfig,
    stats: &mut PipelineStats,
    meta: &ConnMeta,
) -> Option<&'c mut Live> {
    if let Conn::Quiet(tunnel) = conn {
        stats.smtp_sessions += 1;
        let live = Live::new(cfg, meta, false, tunnel.as_deref());
        *conn = Conn::Smtp(Box::new(live));
    }
    match conn {
        Conn::Smtp(live) => Some(live),
        Conn::Quiet(_) | Conn::Detecting(_) => None,
    }
}

/// The detector's verdict on the held bytes, fed to it in order.
fn detect_held(detector: &mut Detector, held: &[Held]) -> Detection {
    let mut verdict = detector.verdict();
    for h in held {
        if let Held::Data(dir, _, _, bytes) = h {
            verdict = detector.feed(*dir, bytes);
        }
    }
    verdict
}

/// Drop the first `consumed[dir]` bytes of each direction from `held`:
/// what is left is the stream inside the tunnel. Returns its bytes.
fn after_handshake(held: &mut Vec<Held>, mut consumed: [usize; 2]) -> usize {
    let mut left = 0;
    held.retain_mut(|h| match h {
        Held::Data(dir, _, _, bytes) => {
            let skip = &mut consumed[dir.index()];
            let n = (*skip).min(bytes.len());
            *skip -= n;
            bytes.drain(..n);
            left += bytes.len();
            !bytes.is_empty()
        }
        Held::Gap(..) => true,
    });
    left
}

/// Where finished sessions go: any `FnMut(Session)`, or a type of its own
/// that the caller can take back with [`SmtpPipeline::into_consumer`].
pub trait SessionConsumer {
    fn session(&mut self, s: Session);
}

impl<F: FnMut(Session)> SessionConsumer for F {
    fn session(&mut self, s: Session) {
        self(s)
    }
}

/// Collecting sessions (tests, small captures).
impl SessionConsumer for Vec<Session> {
    fn session(&mut self, s: Session) {
        self.push(s)
    }
}

/// Net events in, finished sessions out through `on_session`.
pub struct SmtpPipeline<F: SessionConsumer> {
    cfg: PipelineConfig,
    conns: FxHashMap<ConnId, Conn>,
    events: Vec<Event>,
    on_session: F,
    pub stats: PipelineStats,
    /// Decide which connections are SMTP, decode none of them: only
    /// connections still undecided have an entry.
    detect_only: bool,
    /// `held_bytes` summed over the undecided connections.
    held_total: usize,
    /// The most `held_total` may reach ([`MAX_DETECT_HOLD_TOTAL`]).
    hold_budget: usize,
}

impl SmtpPipeline<fn(Session)> {
    /// A pipeline that only decides which connections are SMTP: it answers
    /// [`Interest::Ignore`] exactly where a decoding pipeline with the same
    /// configuration would, fed the same bytes, and decodes nothing.
    /// The reader can ask it instead of waiting for a decoder on another
    /// thread, so that what gets reassembled does not depend on timing.
    pub fn gate(cfg: PipelineConfig) -> Self {
        SmtpPipeline {
            detect_only: true,
            ..SmtpPipeline::new(cfg, drop)
        }
    }
}

impl<F: SessionConsumer> SmtpPipeline<F> {
    pub fn new(cfg: PipelineConfig, on_session: F) -> Self {
        SmtpPipeline {
            cfg,
            conns: FxHashMap::default(),
            events: Vec::new(),
            on_session,
            stats: PipelineStats::default(),
            detect_only: false,
            held_total: 0,
            hold_budget: MAX_DETECT_HOLD_TOTAL,
        }
    }

    /// [`SmtpPipeline::new`] holding at most `bytes` over all undecided
    /// connections (tests).
    #[doc(hidden)]
    pub fn with_hold_budget(mut self, bytes: usize) -> Self {
        self.hold_budget = bytes;
        self
    }

    /// An undecided connection holding `held` bytes is gone: judged not
    /// SMTP.
    fn undecided_gone(&mut self, held: usize) {
        self.held_total -= held;
        self.stats.not_smtp += 1;
    }

    /// The consumer, once every connection has been closed.
    pub fn into_consumer(self) -> F {
        self.on_session
    }

    pub fn consumer_mut(&mut self) -> &mut F {
        &mut self.on_session
    }

    /// Sessions still open, for live views.
    pub fn open_sessions(&self) -> impl Iterator<Item = &Session> {
        self.conns.values().filter_map(|c| match c {
            Conn::Smtp(live) => Some(live.builder.session()),
            Conn::Detecting(_) | Conn::Quiet(_) => None,
        })
    }

    /// The detector said SMTP: start a decoder and replay what was held.
    fn promote(
        &mut self,
        meta: &ConnMeta,
        swapped: bool,
        held: Vec<Held>,
        tunnel: Option<&Tunnel>,
    ) {
        if self.detect_only {
            self.conns.remove(&meta.id);
            return;
        }
        self.stats.smtp_sessions += 1;
        self.stats.detected_by_content += 1;
        let mut live = Box::new(Live::new(&self.cfg.decoder, meta, swapped, tunnel));
        for h in held {
            match h {
                Held::Data(dir, ts, frame, bytes) => live.decoder.feed(
                    live.dir(dir),
                    Chunk {
                        ts,
                        frame,
                        bytes: &bytes,
                    },
                    &mut self.events,
                ),
                Held::Gap(dir, ts, frame, len) => {
                    live.decoder
                        .gap(live.dir(dir), ts, frame, len, &mut self.events)
                }
            }
        }
        live.apply(&mut self.events);
        self.conns.insert(meta.id, Conn::Smtp(live));
    }
}

impl<F: SessionConsumer> StreamSink for SmtpPipeline<F> {
    fn open(&mut self, conn: &ConnMeta) -> Interest {
        if is_smtp_port(conn.server.port(), &self.cfg.extra_ports) {
            if !self.detect_only {
                self.conns.insert(conn.id, Conn::Quiet(None));
            }
            return Interest::Keep;
        }
        if self.cfg.only_ports {
            self.stats.not_smtp += 1;
            return Interest::Ignore;
        }
        self.conns.insert(conn.id, Conn::Detecting(None));
        Interest::Keep
    }

    fn data(&mut self, conn: &ConnMeta, dir: Dir, chunk: Chunk<'_>) -> Interest {
        let Some(state) = self.conns.get_mut(&conn.id) else {
            // A gate keeps no entry for what it judged SMTP; a connection
            // judged not SMTP gets no more data.
            return if self.detect_only {
                Interest::Keep
            } else {
                Interest::Ignore
            };
        };
        match state {
            Conn::Smtp(_) | Conn::Quiet(_) => {
                if let Some(live) = wake(state, &self.cfg.decoder, &mut self.stats, conn) {
                    let d = live.dir(dir);
                    live.decoder.feed(d, chunk, &mut self.events);
                    live.apply(&mut self.events);
                }
                Interest::Keep
            }
            Conn::Detecting(slot) => {
                let Detecting {
                    detector,
                    proxy,
                    tunnel,
                    held,
                    held_bytes,
                } = &mut **slot.get_or_insert_with(Detecting::start);
                let before = *held_bytes;
                *held_bytes += chunk.bytes.len();
                // A gate replays nothing: it holds bytes only while a proxy
                // handshake may need them again.
                if !self.detect_only || proxy.is_some() {
                    held.push(Held::Data(dir, chunk.ts, chunk.frame, chunk.bytes.to_vec()));
                }
                let verdict = match proxy {
                    Some(handshake) => {
                        match handshake.feed_at(dir, chunk.ts, chunk.frame, chunk.bytes) {
                            proxy::Verdict::Undecided => Detection::Undecided,
                            proxy::Verdict::No => {
                                *proxy = None;
                                detect_held(detector, held)
                            }
                            proxy::Verdict::Tunnel(t) => {
                                *proxy = None;
                                *held_bytes = after_handshake(held, t.consumed);
                                let smtp_port = is_smtp_port(t.port, &self.cfg.extra_ports);
                                if smtp_port && held.is_empty() {
                                    // The proxy was asked for an SMTP port, and
                                    // nothing came through the tunnel yet.
                                    self.held_total -= before;
                                    if self.detect_only {
                                        self.conns.remove(&conn.id);
                                    } else {
                                        *state = Conn::Quiet(Some(Box::new(t)));
                                    }
                                    return Interest::Keep;
                                }
                                *tunnel = Some(Box::new(t));
                                if smtp_port {
                                    Detection::Smtp
                                } else {
                                    detect_held(detector, held)
                                }
                            }
                        }
                    }
                    None => detector.feed(dir, chunk.bytes),
                };
                if self.detect_only && proxy.is_none() {
                    held.clear();
                }
                self.held_total = self.held_total + *held_bytes - before;
                match verdict {
                    Detection::Smtp => {
                        self.held_total -= *held_bytes;
                        // A proxy settles the roles: its client spoke first.
                        let swapped = tunnel.is_none() && detector.roles_swapped();
                        let held = std::mem::take(held);
                        let tunnel = tunnel.take();
                        self.promote(conn, swapped, held, tunnel.as_deref());
                        Interest::Keep
                    }
                    Detection::Undecided
                        if *held_bytes <= MAX_DETECT_HOLD
                            && self.held_total <= self.hold_budget =>
                    {
                        Interest::Keep
                    }
                    _ => {
                        let held = *held_bytes;
                        if verdict == Detection::Undecided && held <= MAX_DETECT_HOLD {
                            self.stats.over_hold_budget += 1;
                        }
                        self.conns.remove(&conn.id);
                        self.undecided_gone(held);
                        Interest::Ignore
                    }
                }
            }
        }
    }

    fn gap(&mut self, conn: &ConnMeta, dir: Dir, ts: Timestamp, frame: u64, len: u64) {
        match self.conns.get_mut(&conn.id) {
            Some(state @ (Conn::Smtp(_) | Conn::Quiet(_))) => {
                if let Some(live) = wake(state, &self.cfg.decoder, &mut self.stats, conn) {
                    let d = live.dir(dir);
                    live.decoder.gap(d, ts, frame, len, &mut self.events);
                    live.apply(&mut self.events);
                }
            }
            Some(Conn::Detecting(slot)) => {
                let d = slot.get_or_insert_with(Detecting::start);
                d.held.push(Held::Gap(dir, ts, frame, len));
                // A handshake with a hole in it cannot be followed.
                if d.proxy.take().is_some() {
                    detect_held(&mut d.detector, &d.held);
                }
                if self.detect_only {
                    d.held.clear();
                }
            }
            None => {}
        }
    }

    fn forget(&mut self, conn: ConnId) {
        if let Some(Conn::Detecting(d)) = self.conns.get(&conn) {
            let held = d.as_ref().map_or(0, |d| d.held_bytes);
            self.conns.remove(&conn);
            self.undecided_gone(held);
        }
    }

    fn close(&mut self, conn: &ConnMeta, reason: CloseReason, ts: Timestamp) {
        match self.conns.remove(&conn.id) {
            Some(Conn::Smtp(mut live)) => {
                live.decoder.close(reason, ts, &mut self.events);
                live.apply(&mut self.events);
                self.on_session.session(live.builder.finish());
            }
            Some(Conn::Detecting(d)) => self.undecided_gone(d.map_or(0, |d| d.held_bytes)),
            Some(Conn::Quiet(_)) => self.stats.silent += 1,
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TimelineKind;
    use crate::net::proxy::ProxyProtocol;
    use crate::net::RoleSource;
    use Dir::{ClientToServer as Cl, ServerToClient as Sv};

    const SOCKS5_HELLO: &[u8] = b"\x05\x01\x00";
    const SOCKS5_CHOSEN: &[u8] = b"\x05\x00";
    const SOCKS5_GRANTED: &[u8] = b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00";

    /// A CONNECT request to 192.0.2.7 on `port`.
    fn connect(port: u16) -> Vec<u8> {
        let mut r = b"\x05\x01\x00\x01\xc0\x00\x02\x07".to_vec();
        r.extend_from_slice(&port.to_be_bytes());
        r
    }

    /// The sessions of one connection to port 1080 carrying `steps`.
    fn run(steps: &[(Dir, &[u8])]) -> (Vec<Session>, PipelineStats) {
        let meta = ConnMeta {
            id: ConnId(1),
            client: "198.51.100.1:40000".parse().unwrap(),
            server: "198.51.100.2:1080".parse().unwrap(),
            start: Timestamp::from_nanos(1_700_000_000_000_000_000),
            first_frame: 1,
            roles: RoleSource::Handshake,
        };
        let mut p = SmtpPipeline::new(PipelineConfig::default(), Vec::new());
        p.open(&meta);
        for (i, (dir, bytes)) in steps.iter().enumerate() {
            let chunk = Chunk {
                ts: meta.start.add_nanos(i as i64 * 1000),
                frame: i as u64 + 2,
                bytes,
            };
            p.data(&meta, *dir, chunk);
        }
        p.close(&meta, CloseReason::Fin, meta.start.add_nanos(1_000_000));
        let stats = p.stats.clone();
        (p.into_consumer(), stats)
    }

    #[test]
    fn test_smtp_through_socks5_to_an_smtp_port_is_decoded_from_the_greeting() {
        let request = connect(25);
        // The proxy's reply and the greeting in one segment.
        let granted_and_greeting = [SOCKS5_GRANTED, b"220 mx ESMTP\r\n"].concat();
        let (sessions, stats) = run(&[
            (Cl, SOCKS5_HELLO),
            (Sv, SOCKS5_CHOSEN),
            (Cl, &request),
            (Sv, &granted_and_greeting),
            (Cl, b"EHLO client.example\r\n"),
            (Sv, b"250 mx\r\n"),
            (Cl, b"QUIT\r\n"),
            (Sv, b"221 bye\r\n"),
        ]);
        assert_eq!(stats.smtp_sessions, 1);
        let s = &sessions[0];
        let t = s.tunnel.as_ref().expect("the tunnel is recorded");
        assert_eq!(
            (t.protocol, t.target.lossy(), t.port),
            (ProxyProtocol::Socks5, "192.0.2.7".into(), 25)
        );
        assert_eq!(s.service_port(), 25);
        assert_eq!(
            s.greeting.as_ref().map(|g| g.lossy()),
            Some("mx ESMTP".into())
        );
        assert_eq!(
            s.helo.as_ref().map(|h| h.lossy()),
            Some("client.example".into())
        );
        // Only the tunnel's bytes are the dialogue's.
        assert_eq!(s.counters.bytes, [27, 31]);
        assert!(s.complete);
    }

    /// The handshake opens the timeline, one proxy line per message, each
    /// timed by the segment that completed it, before the greeting.
    #[test]
    fn test_proxy_handshake_opens_the_timeline() {
        let request = connect(25);
        let (sessions, _) = run(&[
            (Cl, SOCKS5_HELLO),
            (Sv, SOCKS5_CHOSEN),
            (Cl, &request),
            (Sv, &[SOCKS5_GRANTED, b"220 mx ESMTP\r\n"].concat()),
        ]);
        let lines: Vec<(TimelineKind, Dir, u64, String)> = sessions[0]
            .timeline
            .iter()
            .map(|t| (t.kind, t.dir, t.frame, t.lines.join("|")))
            .collect();
        let proxy = |dir, frame, text: &str| (TimelineKind::Proxy, dir, frame, text.to_string());
        assert_eq!(
            lines,
            [
                proxy(Cl, 2, "SOCKS5 hello: methods no authentication"),
                proxy(Sv, 3, "SOCKS5 method chosen: no authentication"),
                proxy(Cl, 4, "SOCKS5 CONNECT 192.0.2.7:25"),
                proxy(Sv, 5, "SOCKS5 reply: succeeded, bound to 0.0.0.0:0"),
                (TimelineKind::Greeting, Sv, 5, "220 mx ESMTP".to_string()),
            ]
        );
    }

    /// A 407 with a stated length, then the same request with credentials
    /// on the same connection: the second CONNECT opens the tunnel.
    #[test]
    fn test_http_connect_asked_again_after_407_is_followed() {
        let page = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 5\r\n\r\ndeny\n";
        let (sessions, _) = run(&[
            (Cl, b"CONNECT mx:25 HTTP/1.1\r\n\r\n"),
            (Sv, page),
            (
                Cl,
                // Basic base64("bob:pw").
                b"CONNECT mx:25 HTTP/1.1\r\nProxy-Authorization: Basic Ym9iOnB3\r\n\r\n",
            ),
            (Sv, b"HTTP/1.1 200 OK\r\n\r\n220 mx ESMTP\r\n"),
            (Cl, b"QUIT\r\n"),
        ]);
        let s = &sessions[0];
        let t = s.tunnel.as_ref().expect("the tunnel is recorded");
        assert_eq!(t.user.as_ref().map(|u| u.lossy()), Some("bob".into()));
        let proxy: Vec<String> = s
            .timeline
            .iter()
            .filter(|t| t.kind == TimelineKind::Proxy)
            .map(|t| t.lines.join("|"))
            .collect();
        assert_eq!(
            proxy,
            [
                "CONNECT mx:25 HTTP/1.1",
                "HTTP/1.1 407 Proxy Authentication Required",
                "CONNECT mx:25 HTTP/1.1 [Proxy-Authorization: Basic, user bob password ********]",
                "HTTP/1.1 200 OK",
            ]
        );
        let login = &s.timeline[2];
        assert_eq!(
            login.secret.as_ref().map(|x| x.reveal()),
            Some("CONNECT mx:25 HTTP/1.1 [Proxy-Authorization: Basic, user bob password pw]")
        );
        assert_eq!(s.counters.bytes, [6, 14]);
    }

    #[test]
    fn test_smtp_through_socks5_to_another_port_is_found_by_content() {
        let request = connect(8025);
        let (sessions, _) = run(&[
            (Cl, &[SOCKS5_HELLO, &request].concat()),
            (Sv, &[SOCKS5_CHOSEN, SOCKS5_GRANTED].concat()),
            (Sv, b"220 mx ESMTP\r\n"),
            (Cl, b"HELO c.example\r\n"),
            (Sv, b"250 mx\r\n"),
        ]);
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].service_port(), 8025);
        assert_eq!(
            sessions[0].helo.as_ref().map(|h| h.lossy()),
            Some("c.example".into())
        );
    }

    #[test]
    fn test_socks5_to_the_implicit_tls_port_is_implicit_tls() {
        let request = connect(465);
        let (sessions, _) = run(&[
            (Cl, SOCKS5_HELLO),
            (Sv, SOCKS5_CHOSEN),
            (Cl, &request),
            (Sv, SOCKS5_GRANTED),
            (Cl, b"\x16\x03\x01\x00\x05hello"),
        ]);
        assert!(sessions[0].tls.implicit);
    }

    #[test]
    fn test_smtp_through_http_connect_with_the_greeting_in_the_200s_segment() {
        let (sessions, _) = run(&[
            (
                Cl,
                b"CONNECT mx.example:587 HTTP/1.1\r\nHost: mx.example:587\r\n\r\n",
            ),
            (
                Sv,
                b"HTTP/1.1 200 Connection established\r\n\r\n220 mx ESMTP\r\n",
            ),
            (Cl, b"EHLO c.example\r\n"),
            (Sv, b"250 mx\r\n"),
        ]);
        let s = &sessions[0];
        let t = s.tunnel.as_ref().expect("the tunnel is recorded");
        assert_eq!(
            (t.protocol, t.target.lossy(), s.service_port()),
            (ProxyProtocol::HttpConnect, "mx.example".into(), 587)
        );
        assert_eq!(
            s.greeting.as_ref().map(|g| g.lossy()),
            Some("mx ESMTP".into())
        );
        assert_eq!(s.counters.bytes, [16, 22]);
    }

    /// The proxy password is kept as sent and escaped once, by the output
    /// that shows it (the model escaped it too, so one backslash came out
    /// as four).
    #[test]
    fn test_proxy_password_is_escaped_once_when_shown() {
        let (sessions, _) = run(&[
            (
                Cl,
                // Basic base64("u:a\\b\x1b").
                b"CONNECT mx:25 HTTP/1.1\r\nProxy-Authorization: Basic dTphXGIb\r\n\r\n",
            ),
            (Sv, b"HTTP/1.1 200 OK\r\n\r\n220 mx\r\n"),
        ]);
        let t = sessions[0].tunnel.as_ref().unwrap();
        assert_eq!(t.password.as_ref().map(|p| p.reveal()), Some("a\\b\x1b"));
        let opts = crate::output::OutputOptions {
            show_secrets: true,
            ..Default::default()
        };
        let header = crate::output::text::header(&sessions[0], &opts);
        assert!(header.contains("password=a\\\\b\\x1b]"), "{header}");
    }

    #[test]
    fn test_empty_tunnel_to_an_smtp_port_is_silent_not_a_session() {
        let request = connect(25);
        let (sessions, stats) = run(&[
            (Cl, SOCKS5_HELLO),
            (Sv, SOCKS5_CHOSEN),
            (Cl, &request),
            (Sv, SOCKS5_GRANTED),
        ]);
        assert!(sessions.is_empty());
        assert_eq!((stats.smtp_sessions, stats.silent), (0, 1));
    }

    #[test]
    fn test_refused_socks_or_other_tunnelled_protocols_are_not_smtp() {
        let request = connect(25);
        let refused = b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00";
        let (sessions, stats) = run(&[
            (Cl, SOCKS5_HELLO),
            (Sv, SOCKS5_CHOSEN),
            (Cl, &request),
            (Sv, refused),
        ]);
        assert!(sessions.is_empty());
        assert_eq!(stats.not_smtp, 1);
        let request = connect(80);
        let (sessions, _) = run(&[
            (Cl, SOCKS5_HELLO),
            (Sv, SOCKS5_CHOSEN),
            (Cl, &request),
            (Sv, SOCKS5_GRANTED),
            (Cl, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ]);
        assert!(sessions.is_empty());
    }

    /// The pipeline's answer to each step on a connection to `port`, up to
    /// the first `Ignore` (after which the packet layer sends no more).
    fn answers<F: SessionConsumer>(
        mut p: SmtpPipeline<F>,
        port: u16,
        steps: &[(Dir, &[u8])],
    ) -> Vec<Interest> {
        answers_on(&mut p, port, steps)
    }

    fn answers_on<F: SessionConsumer>(
        p: &mut SmtpPipeline<F>,
        port: u16,
        steps: &[(Dir, &[u8])],
    ) -> Vec<Interest> {
        let meta = ConnMeta {
            id: ConnId(7),
            client: "198.51.100.1:40000".parse().unwrap(),
            server: std::net::SocketAddr::new([198, 51, 100, 2].into(), port),
            start: Timestamp::from_nanos(1_700_000_000_000_000_000),
            first_frame: 1,
            roles: RoleSource::Handshake,
        };
        let mut out = vec![p.open(&meta)];
        for (i, (dir, bytes)) in steps.iter().enumerate() {
            if out.last() == Some(&Interest::Ignore) {
                break;
            }
            let ts = meta.start.add_nanos(i as i64 * 1000);
            if bytes.is_empty() {
                // An empty step stands for a hole of 100 bytes.
                p.gap(&meta, *dir, ts, i as u64 + 2, 100);
                continue;
            }
            let chunk = Chunk {
                ts,
                frame: i as u64 + 2,
                bytes,
            };
            out.push(p.data(&meta, *dir, chunk));
        }
        out
    }

    #[test]
    fn test_gate_declines_exactly_where_the_decoder_does() {
        let smtp_request = connect(25);
        let web_request = connect(80);
        let greeting_then_ehlo: &[(Dir, &[u8])] = &[
            (Sv, b"220 mx ESMTP\r\n"),
            (Cl, b"EHLO c\r\n"),
            (Sv, b"250 mx\r\n"),
        ];
        let big = vec![b'x'; 3000];
        type Steps<'a> = Vec<(Dir, &'a [u8])>;
        let cases: Vec<(u16, Steps)> = vec![
            (25, greeting_then_ehlo.to_vec()),
            (2626, greeting_then_ehlo.to_vec()),
            (
                8080,
                vec![
                    (Cl, b"GET / HTTP/1.1\r\n\r\n"),
                    (Sv, b"HTTP/1.1 200 OK\r\n"),
                ],
            ),
            (9000, vec![(Cl, &big), (Cl, &big), (Cl, &big)]),
            (9000, vec![(Cl, b"\x16\x03\x01\x00\x05hello")]),
            (9000, vec![(Sv, b"220 mx"), (Sv, b""), (Sv, b" ESMTP\r\n")]),
            (
                1080,
                vec![
                    (Cl, SOCKS5_HELLO),
                    (Sv, SOCKS5_CHOSEN),
                    (Cl, &smtp_request),
                    (Sv, SOCKS5_GRANTED),
                    (Sv, b"220 mx ESMTP\r\n"),
                ],
            ),
            (
                1080,
                vec![
                    (Cl, SOCKS5_HELLO),
                    (Sv, SOCKS5_CHOSEN),
                    (Cl, &web_request),
                    (Sv, SOCKS5_GRANTED),
                    (Cl, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                ],
            ),
            (
                1080,
                vec![(Cl, SOCKS5_HELLO), (Cl, b""), (Sv, SOCKS5_CHOSEN)],
            ),
        ];
        let only_ports = PipelineConfig {
            only_ports: true,
            ..PipelineConfig::default()
        };
        let mut declined = 0;
        for cfg in [PipelineConfig::default(), only_ports] {
            for (port, steps) in &cases {
                let decoder = answers(SmtpPipeline::new(cfg.clone(), Vec::new()), *port, steps);
                let gate = answers(SmtpPipeline::gate(cfg.clone()), *port, steps);
                assert_eq!(gate, decoder, "port {port}: {steps:?}");
                declined += usize::from(decoder.contains(&Interest::Ignore));
            }
        }
        // Not a comparison of two pipelines that never decline.
        assert!(declined >= 10, "{declined}");
    }

    /// The detection state after a server line that decides nothing yet.
    fn undecided<F: SessionConsumer>(mut p: SmtpPipeline<F>) -> Box<Detecting> {
        // Not a proxy handshake; 220 without a line end yet.
        let steps: &[(Dir, &[u8])] = &[(Sv, b"220 mx ready but"), (Sv, b" still talking")];
        answers_on(&mut p, 9000, steps);
        match p.conns.remove(&ConnId(7)) {
            Some(Conn::Detecting(Some(d))) => d,
            _ => panic!("the connection should still be undecided"),
        }
    }

    /// Three undecided connections against a budget of 100 bytes, 60 each.
    fn hold_budget_case<F: SessionConsumer>(p: SmtpPipeline<F>) {
        let mut p = p.with_hold_budget(100);
        let meta = |id: u64| ConnMeta {
            id: ConnId(id),
            client: std::net::SocketAddr::new([198, 51, 100, 1].into(), 40000 + id as u16),
            server: "198.51.100.2:9000".parse().unwrap(),
            start: Timestamp::from_nanos(1_700_000_000_000_000_000),
            first_frame: 1,
            roles: RoleSource::Handshake,
        };
        // Undecided: a greeting line not ended yet.
        let line = [b"220 mx ".as_slice(), &[b'a'; 53]].concat();
        let chunk = || Chunk {
            ts: Timestamp::from_nanos(1_700_000_000_000_000_000),
            frame: 2,
            bytes: &line,
        };
        let (a, b, c) = (meta(1), meta(2), meta(3));
        let _ = (p.open(&a), p.open(&b), p.open(&c));
        assert_eq!(p.data(&a, Sv, chunk()), Interest::Keep);
        // 120 bytes held in all would pass the budget.
        assert_eq!(p.data(&b, Sv, chunk()), Interest::Ignore);
        assert_eq!(p.stats.over_hold_budget, 1);
        assert_eq!(p.held_total, 60);
        p.close(&a, CloseReason::Fin, a.start);
        assert_eq!(p.held_total, 0);
        assert_eq!(p.data(&c, Sv, chunk()), Interest::Keep);
        p.forget(c.id);
        assert_eq!(p.held_total, 0);
        assert!(p.conns.is_empty());
        // b when declined, a at its end, c when forgotten.
        assert_eq!(p.stats.not_smtp, 3);
    }

    #[test]
    fn test_undecided_bytes_are_capped_over_all_connections() {
        hold_budget_case(SmtpPipeline::new(PipelineConfig::default(), Vec::new()));
        hold_budget_case(SmtpPipeline::gate(PipelineConfig::default()));
    }

    #[test]
    fn test_gate_holds_no_bytes_once_no_proxy_can_need_them() {
        let d = undecided(SmtpPipeline::gate(PipelineConfig::default()));
        assert!(d.proxy.is_none());
        assert!(d.held.is_empty());
        assert_eq!(d.held_bytes, 30);
        // A decoding pipeline holds them to replay.
        let d = undecided(SmtpPipeline::new(PipelineConfig::default(), Vec::new()));
        assert_eq!(d.held.len(), 2);
        assert_eq!(d.held_bytes, 30);
    }
}
