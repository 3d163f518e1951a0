//! The glue from reassembled streams to finished SMTP sessions.
//!
//! [`SmtpPipeline`] is the packet layer's [`StreamSink`]: it decides which
//! connections are SMTP (port, or content for any other port), runs one
//! [`SessionDecoder`] and [`SessionBuilder`] per SMTP connection, and hands
//! each finished [`Session`] to a callback as the connection ends, so
//! memory does not grow with the number of finished sessions.
//!
//! Caps: bytes held per connection while its protocol is undecided are at
//! most [`MAX_DETECT_HOLD`]; past it the connection is judged not SMTP.

pub mod offload;
pub mod sharded;

use rustc_hash::FxHashMap;

use crate::capture::Timestamp;
use crate::model::{Session, SessionBuilder};
use crate::net::{Chunk, CloseReason, ConnId, ConnMeta, Dir, Interest, StreamSink};
use crate::smtp::detect::{is_implicit_tls_port, is_smtp_port, Detection, Detector};
use crate::smtp::event::Event;
use crate::smtp::{DecoderConfig, SessionDecoder};

/// Bytes of an undecided connection kept to replay into its decoder.
pub const MAX_DETECT_HOLD: usize = 4096;

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
}

enum Held {
    Data(Dir, Timestamp, u64, Vec<u8>),
    Gap(Dir, Timestamp, u64, u64),
}

enum Conn {
    /// On an SMTP port, no payload yet: the decoder is made with the first
    /// byte, so that a SYN flood costs no more than the flow table entry.
    Quiet,
    Detecting {
        detector: Detector,
        held: Vec<Held>,
        held_bytes: usize,
    },
    Smtp(Box<Live>),
}

/// One SMTP connection being decoded.
struct Live {
    decoder: SessionDecoder,
    builder: SessionBuilder,
    /// The net layer's roles were the wrong way round (mid-stream capture).
    swapped: bool,
}

impl Live {
    fn new(cfg: &DecoderConfig, meta: &ConnMeta, swapped: bool) -> Live {
        let meta = if swapped {
            ConnMeta {
                client: meta.server,
                server: meta.client,
                ..meta.clone()
            }
        } else {
            meta.clone()
        };
        Live {
            decoder: SessionDecoder::new(cfg, &meta, is_implicit_tls_port(meta.server.port())),
            builder: SessionBuilder::new(&meta),
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
    if matches!(conn, Conn::Quiet) {
        stats.smtp_sessions += 1;
        *conn = Conn::Smtp(Box::new(Live::new(cfg, meta, false)));
    }
    match conn {
        Conn::Smtp(live) => Some(live),
        Conn::Quiet | Conn::Detecting { .. } => None,
    }
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
}

impl<F: SessionConsumer> SmtpPipeline<F> {
    pub fn new(cfg: PipelineConfig, on_session: F) -> Self {
        SmtpPipeline {
            cfg,
            conns: FxHashMap::default(),
            events: Vec::new(),
            on_session,
            stats: PipelineStats::default(),
        }
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
            Conn::Detecting { .. } | Conn::Quiet => None,
        })
    }

    /// The detector said SMTP: start a decoder and replay what was held.
    fn promote(&mut self, meta: &ConnMeta, swapped: bool, held: Vec<Held>) {
        self.stats.smtp_sessions += 1;
        self.stats.detected_by_content += 1;
        let mut live = Box::new(Live::new(&self.cfg.decoder, meta, swapped));
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
            self.conns.insert(conn.id, Conn::Quiet);
            return Interest::Keep;
        }
        if self.cfg.only_ports {
            self.stats.not_smtp += 1;
            return Interest::Ignore;
        }
        self.conns.insert(
            conn.id,
            Conn::Detecting {
                detector: Detector::new(),
                held: Vec::new(),
                held_bytes: 0,
            },
        );
        Interest::Keep
    }

    fn data(&mut self, conn: &ConnMeta, dir: Dir, chunk: Chunk<'_>) -> Interest {
        let Some(state) = self.conns.get_mut(&conn.id) else {
            return Interest::Ignore;
        };
        match state {
            Conn::Smtp(_) | Conn::Quiet => {
                if let Some(live) = wake(state, &self.cfg.decoder, &mut self.stats, conn) {
                    let d = live.dir(dir);
                    live.decoder.feed(d, chunk, &mut self.events);
                    live.apply(&mut self.events);
                }
                Interest::Keep
            }
            Conn::Detecting {
                detector,
                held,
                held_bytes,
            } => {
                let verdict = detector.feed(dir, chunk.bytes);
                *held_bytes += chunk.bytes.len();
                held.push(Held::Data(dir, chunk.ts, chunk.frame, chunk.bytes.to_vec()));
                match verdict {
                    Detection::Smtp => {
                        let swapped = detector.roles_swapped();
                        let held = std::mem::take(held);
                        self.promote(conn, swapped, held);
                        Interest::Keep
                    }
                    Detection::Undecided if *held_bytes <= MAX_DETECT_HOLD => Interest::Keep,
                    _ => {
                        self.conns.remove(&conn.id);
                        self.stats.not_smtp += 1;
                        Interest::Ignore
                    }
                }
            }
        }
    }

    fn gap(&mut self, conn: &ConnMeta, dir: Dir, ts: Timestamp, frame: u64, len: u64) {
        match self.conns.get_mut(&conn.id) {
            Some(state @ (Conn::Smtp(_) | Conn::Quiet)) => {
                if let Some(live) = wake(state, &self.cfg.decoder, &mut self.stats, conn) {
                    let d = live.dir(dir);
                    live.decoder.gap(d, ts, frame, len, &mut self.events);
                    live.apply(&mut self.events);
                }
            }
            Some(Conn::Detecting { held, .. }) => held.push(Held::Gap(dir, ts, frame, len)),
            None => {}
        }
    }

    fn close(&mut self, conn: &ConnMeta, reason: CloseReason, ts: Timestamp) {
        match self.conns.remove(&conn.id) {
            Some(Conn::Smtp(mut live)) => {
                live.decoder.close(reason, ts, &mut self.events);
                live.apply(&mut self.events);
                self.on_session.session(live.builder.finish());
            }
            Some(Conn::Detecting { .. }) => self.stats.not_smtp += 1,
            Some(Conn::Quiet) => self.stats.silent += 1,
            None => {}
        }
    }
}
