//! The SMTP session decoder: per-direction byte modes, command/reply
//! pairing (RFC 2920 pipelining), and the one transition function that
//! applies each reply to the session state (RFC 5321 §4.1.4, §4.3.2).
//!
//! Invariants:
//! - every byte fed is accounted for: framed into a line, consumed as
//!   DATA/BDAT/TLS content, or held (capped) until a reply decides what it
//!   is; nothing is invented, gaps are reported as gaps;
//! - every buffer has a cap from [`DecoderConfig`] and a counted overflow;
//! - client bytes after `DATA` or `STARTTLS` are held until the server's
//!   reply says whether they are content/TLS (354/220) or commands.

use std::collections::VecDeque;

use super::auth::{ResponseKind, SaslState, Secret};
use super::command::{Args, Command, Verb};
use super::data::DataDecoder;
use super::ehlo::Capabilities;
use super::event::*;
use super::lines::{Line, LineFramer, Terminator};
use super::mime::MimeSummarizer;
use super::reply::{EnhancedCode, Reply, ReplyCode, ReplyLine};
use super::tls::{self, HelloCollector, HelloProgress};
use crate::capture::Timestamp;
use crate::net::{Chunk, CloseReason, ConnMeta, Dir};

/// Limits of one session decoder. Every buffer the decoder keeps is bounded
/// by one of these.
#[derive(Clone, Debug)]
pub struct DecoderConfig {
    /// Longest command/reply line kept; longer lines are truncated and
    /// their full length counted.
    pub max_line_len: usize,
    /// Largest message (DATA or BDAT) kept for export; the full size is
    /// still counted and the summary covers all of it.
    pub max_message_bytes: usize,
    /// Keep message bytes in [`MessageEvent::raw`] (export, message view).
    /// When false no message bytes are accumulated at all: the summary is
    /// built while they stream past.
    pub keep_raw: bool,
    /// Requests waiting for replies (pipelining depth).
    pub max_pending: usize,
    /// Client bytes held after DATA/STARTTLS until the reply arrives.
    pub max_held_bytes: usize,
    /// Lines kept per multi-line reply.
    pub max_reply_lines: usize,
    /// Anomaly events per session; more are counted, not emitted.
    pub max_anomalies: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_line_len: 64 * 1024,
            max_message_bytes: 32 * 1024 * 1024,
            keep_raw: false,
            max_pending: 1024,
            max_held_bytes: 256 * 1024,
            max_reply_lines: 1000,
            max_anomalies: 1000,
        }
    }
}

/// RFC 5321 §4.5.3.1.4/.5: command and reply lines, 512 octets incl. CRLF.
const RFC_MAX_LINE: u64 = 510;

const C: usize = 0;
const S: usize = 1;

/// Why client bytes are being held.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum HoldFor {
    Data,
    StartTls,
}

/// Client bytes held after DATA/STARTTLS, with the segments they came in.
#[derive(Debug, Default)]
struct Held {
    buf: Vec<u8>,
    /// (ts, frame, start offset in buf) per fed chunk.
    segs: Vec<(Timestamp, u64, usize)>,
    dropped: u64,
}

#[derive(Debug)]
enum ClientMode {
    Lines,
    Hold(HoldFor, Held),
    Data(Box<DataDecoder>),
    Bdat {
        seq: u32,
        size: u64,
        remaining: u64,
        last: bool,
        gap: u64,
    },
    /// After the 220 to STARTTLS: plaintext here is injection evidence.
    TlsPending,
    Tls,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ServerMode {
    Lines,
    TlsPending,
    Tls,
}

#[derive(Clone, Debug)]
struct Pending {
    seq: u32,
    request: Request,
    /// For BDAT: the chunk's LAST flag (its reply ends the transaction).
    bdat_last: bool,
    end_ts: Timestamp,
}

/// A multi-line reply being assembled.
#[derive(Debug)]
struct ReplyAcc {
    code: ReplyCode,
    first_ts: Timestamp,
    first_frame: u64,
    lines: Vec<Vec<u8>>,
    raw: Vec<RawLine>,
    dropped: u64,
}

/// BDAT chunks of the current transaction, concatenated.
struct BdatMessage {
    seq: u32,
    /// Kept only with `DecoderConfig::keep_raw`.
    raw: Vec<u8>,
    mime: MimeSummarizer,
    size: u64,
    gap: bool,
    chunks: u32,
}

#[derive(Debug)]
struct AuthExchange {
    seq: u32,
    sasl: SaslState,
    /// A 334 arrived: the next client line is a SASL response.
    awaiting_response: bool,
}

/// Plaintext seen where TLS was expected.
#[derive(Debug, Default)]
struct Injection {
    evidence: Vec<u8>,
    len: u64,
    ts: Timestamp,
    frame: u64,
}

/// Held bytes to re-feed once a reply decided their meaning.
struct Replay {
    held: Held,
}

/// Decodes one SMTP connection. Feed it each direction's bytes in order;
/// it appends [`Event`]s to the caller's vector.
pub struct SessionDecoder {
    framers: [LineFramer; 2],
    core: Core,
}

struct Core {
    cfg: DecoderConfig,
    client_mode: ClientMode,
    server_mode: ServerMode,
    /// No bytes seen yet in this direction.
    fresh: [bool; 2],
    implicit_tls_port: bool,
    implicit_tls: bool,
    pending: VecDeque<Pending>,
    next_seq: u32,
    acc: Option<ReplyAcc>,
    greeting_seen: bool,
    any_reply: bool,
    /// The reply being handled is the 220 to STARTTLS.
    tls_after_reply: bool,
    caps: Capabilities,
    ehlo_seen: bool,
    auth: Option<AuthExchange>,
    // Transaction flags (RFC 3030 §2: DATA and BDAT cannot be mixed).
    data_in_txn: bool,
    bdat_in_txn: bool,
    bdat_last_seen: bool,
    /// The client greeted with LHLO (RFC 2033): the end of a message gets
    /// one reply per accepted recipient.
    lmtp: bool,
    /// Recipients accepted in this transaction.
    rcpt_accepted: u32,
    bdat_msg: Option<BdatMessage>,
    quit_acked: bool,
    injection: [Option<Injection>; 2],
    hello: HelloCollector,
    resync: [Option<(u64, u64)>; 2],
    /// Replies may be unmatched because a gap swallowed their requests.
    excuse_unsolicited: bool,
    pregreet_reported: bool,
    pipelining_reported: bool,
    anomalies: usize,
    counters: Counters,
    replay: Option<Replay>,
    last_ts: Timestamp,
    last_frame: u64,
}

impl SessionDecoder {
    pub fn new(cfg: &DecoderConfig, meta: &ConnMeta, implicit_tls_port: bool) -> Self {
        let _ = meta;
        SessionDecoder {
            framers: [
                LineFramer::new(cfg.max_line_len),
                LineFramer::new(cfg.max_line_len),
            ],
            core: Core {
                cfg: cfg.clone(),
                client_mode: ClientMode::Lines,
                server_mode: ServerMode::Lines,
                fresh: [true, true],
                implicit_tls_port,
                implicit_tls: false,
                pending: VecDeque::new(),
                next_seq: 0,
                acc: None,
                greeting_seen: false,
                any_reply: false,
                tls_after_reply: false,
                caps: Capabilities::default(),
                ehlo_seen: false,
                auth: None,
                data_in_txn: false,
                bdat_in_txn: false,
                bdat_last_seen: false,
                lmtp: false,
                rcpt_accepted: 0,
                bdat_msg: None,
                quit_acked: false,
                injection: [None, None],
                hello: HelloCollector::default(),
                resync: [None, None],
                excuse_unsolicited: false,
                pregreet_reported: false,
                pipelining_reported: false,
                anomalies: 0,
                counters: Counters::default(),
                replay: None,
                last_ts: meta.start,
                last_frame: meta.first_frame,
            },
        }
    }

    /// Capabilities from the last EHLO reply.
    pub fn capabilities(&self) -> &Capabilities {
        &self.core.caps
    }

    pub fn feed(&mut self, dir: Dir, chunk: Chunk<'_>, out: &mut Vec<Event>) {
        let d = dir.index();
        self.core.last_ts = chunk.ts;
        self.core.last_frame = chunk.frame;
        self.core.counters.bytes[d] += chunk.bytes.len() as u64;
        if chunk.bytes.is_empty() {
            return;
        }
        if self.core.fresh[d] {
            self.core.fresh[d] = false;
            self.core.first_bytes(dir, chunk, out);
        }
        match dir {
            Dir::ClientToServer => self.feed_client(chunk.ts, chunk.frame, chunk.bytes, out),
            Dir::ServerToClient => self.feed_server(chunk.ts, chunk.frame, chunk.bytes, out),
        }
    }

    pub fn gap(&mut self, dir: Dir, ts: Timestamp, frame: u64, len: u64, out: &mut Vec<Event>) {
        let d = dir.index();
        self.core.last_ts = ts;
        self.core.last_frame = frame;
        self.core.counters.gap_bytes[d] += len;
        self.core.fresh[d] = false;
        // A line cut by the gap is meaningless: drop it, resync later.
        let partial = self.framers[d].discard();
        let core = &mut self.core;
        let mut in_message = false;
        match dir {
            Dir::ClientToServer => match &mut core.client_mode {
                ClientMode::Lines => core.start_resync(C, partial),
                ClientMode::Hold(_, held) => held.dropped += len,
                ClientMode::Data(d) => {
                    // Stay in DATA: the terminator most likely still comes;
                    // the message is marked incomplete.
                    d.gap = true;
                    in_message = true;
                }
                ClientMode::Bdat { remaining, gap, .. } => {
                    in_message = true;
                    let lost = len.min(*remaining);
                    *remaining -= lost;
                    *gap += lost;
                    if let Some(m) = &mut core.bdat_msg {
                        m.gap = true;
                        m.size += lost;
                    }
                    let beyond = len - lost;
                    if *remaining == 0 {
                        core.bdat_chunk_done(ts, frame, out);
                        if beyond > 0 {
                            core.start_resync(C, 0);
                        }
                    }
                }
                ClientMode::TlsPending | ClientMode::Tls => core.counters.tls_bytes[C] += len,
            },
            Dir::ServerToClient => match core.server_mode {
                ServerMode::Lines => {
                    core.acc = None;
                    core.start_resync(S, partial);
                    // Replies were lost: what is pending can no longer be
                    // paired reliably.
                    core.counters.unanswered += core.pending.len() as u64;
                    core.pending.clear();
                }
                ServerMode::TlsPending | ServerMode::Tls => core.counters.tls_bytes[S] += len,
            },
        }
        core.excuse_unsolicited = true;
        out.push(Event {
            ts,
            frame,
            dir,
            kind: EventKind::Gap { len, in_message },
        });
    }

    pub fn close(&mut self, reason: CloseReason, ts: Timestamp, out: &mut Vec<Event>) {
        self.core.last_ts = ts;
        let frame = self.core.last_frame;
        // Unterminated last lines are still what was sent. The server's
        // goes first: it may answer DATA/STARTTLS and release held bytes.
        if self.core.server_mode == ServerMode::Lines {
            if let Some(line) = self.framers[S].flush(ts, frame) {
                self.core.server_line(&line, out);
            }
        }
        if let Some(replay) = self.core.replay.take() {
            self.replay_client(replay, out);
        }
        // Content sent after DATA and no reply ever seen (the server side
        // was not captured or never answered): the client meant it as the
        // message, so decode it as one, terminator and later commands
        // included, rather than lose the rest of the dialogue.
        if matches!(&self.core.client_mode, ClientMode::Hold(HoldFor::Data, h) if !h.buf.is_empty())
        {
            if let ClientMode::Hold(_, held) =
                std::mem::replace(&mut self.core.client_mode, ClientMode::Lines)
            {
                let seq = self
                    .core
                    .pending
                    .iter()
                    .rev()
                    .find(|p| p.request == (Request::Command { verb: Verb::Data }))
                    .map(|p| p.seq)
                    .unwrap_or(0);
                let mut dec = DataDecoder::new(self.core.cfg.max_message_bytes);
                dec.keep_raw = self.core.cfg.keep_raw;
                dec.seq = seq;
                self.core.client_mode = ClientMode::Data(Box::new(dec));
                let (start_ts, start_frame) =
                    held.segs.first().map(|s| (s.0, s.1)).unwrap_or((ts, frame));
                out.push(Event {
                    ts: start_ts,
                    frame: start_frame,
                    dir: Dir::ClientToServer,
                    kind: EventKind::DataStart { seq },
                });
                self.replay_client(Replay { held }, out);
            }
        }
        if matches!(self.core.client_mode, ClientMode::Lines) {
            if let Some(line) = self.framers[C].flush(ts, frame) {
                self.core.client_line(&line, out);
            }
        }
        let core = &mut self.core;
        if let Some(acc) = core.acc.take() {
            // A multi-line reply cut off: report what arrived.
            core.complete_reply(acc, ts, frame, out);
        }
        match std::mem::replace(&mut core.client_mode, ClientMode::Lines) {
            ClientMode::Data(d) => core.message_from_data(*d, false, ts, frame, out),
            ClientMode::Hold(HoldFor::Data, held) if !held.buf.is_empty() => {
                // Content sent after DATA with no reply ever seen: it was
                // meant as the message; keep it as an incomplete one.
                let mut d = DataDecoder::new(core.cfg.max_message_bytes);
                d.keep_raw = core.cfg.keep_raw;
                d.seq = core
                    .pending
                    .iter()
                    .rev()
                    .find(|p| p.request == (Request::Command { verb: Verb::Data }))
                    .map(|p| p.seq)
                    .unwrap_or(0);
                d.feed(&held.buf);
                core.message_from_data(d, false, ts, frame, out);
            }
            ClientMode::Hold(HoldFor::StartTls, held) if !held.buf.is_empty() => {
                core.anomaly(
                    ts,
                    frame,
                    Dir::ClientToServer,
                    Anomaly::PlaintextAfterStartTls {
                        bytes: held.buf.len() as u64,
                        evidence: evidence(&held.buf),
                    },
                    out,
                );
            }
            _ => {}
        }
        if let Some(m) = core.bdat_msg.take() {
            core.emit_bdat_message(m, false, ts, frame, out);
        }
        for d in [C, S] {
            core.flush_injection(d, out);
            core.finish_resync(d, ts, frame, out);
        }
        core.counters.unanswered += core.pending.len() as u64;
        core.pending.clear();
        let end = if core.quit_acked {
            EndReason::Quit
        } else {
            EndReason::from_close(reason)
        };
        out.push(Event {
            ts,
            frame,
            dir: Dir::ServerToClient,
            kind: EventKind::SessionEnd(SessionEnd {
                reason: end,
                close: reason,
                counters: core.counters.clone(),
            }),
        });
    }

    fn feed_client(&mut self, ts: Timestamp, frame: u64, mut input: &[u8], out: &mut Vec<Event>) {
        while !input.is_empty() {
            let used = match &mut self.core.client_mode {
                ClientMode::Lines => {
                    let f = self.framers[C].frame(input, ts, frame);
                    if let Some(line) = f.line {
                        self.core.client_line(&line, out);
                    }
                    f.consumed
                }
                ClientMode::Hold(_, held) => {
                    let room = self.core.cfg.max_held_bytes.saturating_sub(held.buf.len());
                    let keep = room.min(input.len());
                    if keep > 0 {
                        held.segs.push((ts, frame, held.buf.len()));
                        held.buf.extend_from_slice(&input[..keep]);
                    }
                    held.dropped += (input.len() - keep) as u64;
                    input.len()
                }
                ClientMode::Data(d) => {
                    let n = d.feed(input);
                    if d.is_done() {
                        self.core.data_done(ts, frame, out);
                    }
                    n
                }
                ClientMode::Bdat { remaining, .. } => {
                    let n = (*remaining).min(input.len() as u64) as usize;
                    *remaining -= n as u64;
                    let done = *remaining == 0;
                    if let Some(m) = &mut self.core.bdat_msg {
                        let chunk = &input[..n];
                        if self.core.cfg.keep_raw {
                            let room = self.core.cfg.max_message_bytes.saturating_sub(m.raw.len());
                            m.raw.extend_from_slice(&chunk[..n.min(room)]);
                        }
                        m.mime.feed(chunk);
                        m.size += n as u64;
                    }
                    if done {
                        self.core.bdat_chunk_done(ts, frame, out);
                    }
                    n
                }
                ClientMode::TlsPending => {
                    self.core
                        .tls_pending(Dir::ClientToServer, ts, frame, input, out)
                }
                ClientMode::Tls => self
                    .core
                    .tls_bytes(Dir::ClientToServer, ts, frame, input, out),
            };
            input = &input[used..];
        }
    }

    fn feed_server(&mut self, ts: Timestamp, frame: u64, mut input: &[u8], out: &mut Vec<Event>) {
        while !input.is_empty() {
            let used = match self.core.server_mode {
                ServerMode::Lines => {
                    let f = self.framers[S].frame(input, ts, frame);
                    if let Some(line) = f.line {
                        self.core.server_line(&line, out);
                    }
                    f.consumed
                }
                ServerMode::TlsPending => {
                    self.core
                        .tls_pending(Dir::ServerToClient, ts, frame, input, out)
                }
                ServerMode::Tls => self
                    .core
                    .tls_bytes(Dir::ServerToClient, ts, frame, input, out),
            };
            input = &input[used..];
            if let Some(replay) = self.core.replay.take() {
                self.replay_client(replay, out);
            }
        }
    }

    /// Re-feed held client bytes in whatever mode the reply selected.
    fn replay_client(&mut self, replay: Replay, out: &mut Vec<Event>) {
        let Held { buf, segs, dropped } = replay.held;
        for (i, &(ts, frame, start)) in segs.iter().enumerate() {
            let end = segs.get(i + 1).map(|s| s.2).unwrap_or(buf.len());
            self.feed_client(ts, frame, &buf[start..end], out);
        }
        if dropped > 0 {
            let (ts, frame) = segs
                .last()
                .map(|s| (s.0, s.1))
                .unwrap_or((self.core.last_ts, self.core.last_frame));
            self.core.anomaly(
                ts,
                frame,
                Dir::ClientToServer,
                Anomaly::HeldBytesOverflow { dropped },
                out,
            );
            self.gap(Dir::ClientToServer, ts, frame, dropped, out);
        }
    }
}

impl Core {
    fn anomaly(&mut self, ts: Timestamp, frame: u64, dir: Dir, a: Anomaly, out: &mut Vec<Event>) {
        if self.anomalies >= self.cfg.max_anomalies {
            self.counters.anomalies_dropped += 1;
            return;
        }
        self.anomalies += 1;
        out.push(Event {
            ts,
            frame,
            dir,
            kind: EventKind::Anomaly(a),
        });
    }

    fn alloc_seq(&mut self) -> u32 {
        let s = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        s
    }

    fn push_pending(&mut self, p: Pending, out: &mut Vec<Event>) {
        if self.pending.len() >= self.cfg.max_pending {
            // The oldest can no longer be paired with its reply.
            self.pending.pop_front();
            self.counters.unanswered += 1;
            let (ts, frame) = (p.end_ts, self.last_frame);
            self.anomaly(
                ts,
                frame,
                Dir::ClientToServer,
                Anomaly::PendingOverflow { dropped: 1 },
                out,
            );
        }
        self.pending.push_back(p);
    }

    /// The first bytes of a direction decide implicit TLS (RFC 8314 §3.3).
    fn first_bytes(&mut self, dir: Dir, chunk: Chunk<'_>, out: &mut Vec<Event>) {
        let looks_tls = tls::starts_tls_stream(chunk.bytes)
            .unwrap_or(matches!(chunk.bytes.first(), Some(0x16)));
        let nothing_decoded = self.counters.lines == [0, 0];
        if looks_tls && nothing_decoded && !self.implicit_tls {
            self.begin_implicit_tls(chunk.ts, chunk.frame, out);
        } else if !looks_tls && self.implicit_tls_port && nothing_decoded && !self.implicit_tls {
            self.anomaly(
                chunk.ts,
                chunk.frame,
                dir,
                Anomaly::PlaintextOnImplicitTlsPort,
                out,
            );
        }
    }

    fn begin_implicit_tls(&mut self, ts: Timestamp, frame: u64, out: &mut Vec<Event>) {
        self.implicit_tls = true;
        self.client_mode = ClientMode::Tls;
        self.server_mode = ServerMode::Tls;
        out.push(Event {
            ts,
            frame,
            dir: Dir::ClientToServer,
            kind: EventKind::TlsStarted { implicit: true },
        });
    }

    fn raw_line(line: &Line<'_>) -> RawLine {
        RawLine {
            bytes: line.bytes.to_vec(),
            term: line.term,
            len: line.len,
            truncated: line.truncated,
        }
    }

    /// Framing facts common to both directions.
    fn line_anomalies(&mut self, dir: Dir, line: &Line<'_>, secret: bool, out: &mut Vec<Event>) {
        let (ts, frame) = (line.end_ts, line.end_frame);
        let ev = |b: &[u8]| if secret { Vec::new() } else { evidence(b) };
        if matches!(line.term, Terminator::Lf | Terminator::Cr) {
            self.anomaly(
                ts,
                frame,
                dir,
                Anomaly::BareLineTerminator {
                    term: line.term,
                    line: ev(line.bytes),
                },
                out,
            );
        }
        if memchr::memchr(0, line.bytes).is_some() {
            self.anomaly(
                ts,
                frame,
                dir,
                Anomaly::NulInLine {
                    line: ev(line.bytes),
                },
                out,
            );
        }
        if line.truncated {
            self.anomaly(
                ts,
                frame,
                dir,
                Anomaly::LineOverCap {
                    len: line.len,
                    cap: self.cfg.max_line_len,
                },
                out,
            );
        } else if line.len > RFC_MAX_LINE && !secret {
            // SASL lines may be longer (RFC 4954 §4: 12288).
            self.anomaly(ts, frame, dir, Anomaly::LineTooLong { len: line.len }, out);
        }
    }

    fn start_resync(&mut self, d: usize, partial: u64) {
        let (lines, bytes) = self.resync[d].unwrap_or((0, 0));
        self.resync[d] = Some((lines, bytes + partial));
    }

    fn finish_resync(&mut self, d: usize, ts: Timestamp, frame: u64, out: &mut Vec<Event>) {
        if let Some((lines, bytes)) = self.resync[d].take() {
            if lines > 0 || bytes > 0 {
                let dir = if d == C {
                    Dir::ClientToServer
                } else {
                    Dir::ServerToClient
                };
                self.anomaly(ts, frame, dir, Anomaly::ResyncSkipped { lines, bytes }, out);
            }
        }
    }

    // ---- client side ----

    fn client_line(&mut self, line: &Line<'_>, out: &mut Vec<Event>) {
        self.counters.lines[C] += 1;
        let (ts, frame) = (line.end_ts, line.end_frame);

        // RFC 4954 §4: after a 334, the client line is a SASL response.
        if let Some(auth) = self.auth.as_mut().filter(|a| a.awaiting_response) {
            auth.awaiting_response = false;
            let kind = auth.sasl.on_response(line.bytes);
            let seq_auth = auth.seq;
            let state = auth.sasl.clone();
            self.line_anomalies(Dir::ClientToServer, line, true, out);
            let phase = match kind {
                ResponseKind::Cancel => AuthPhase::Cancelled,
                _ => AuthPhase::Response,
            };
            out.push(Event {
                ts,
                frame,
                dir: Dir::ClientToServer,
                kind: EventKind::Auth(AuthStep {
                    seq: seq_auth,
                    phase,
                    state,
                    response: Some(Secret::new(String::from_utf8_lossy(line.bytes))),
                    term: Some(line.term),
                    challenge: None,
                }),
            });
            if kind == ResponseKind::Undecodable {
                self.anomaly(
                    ts,
                    frame,
                    Dir::ClientToServer,
                    Anomaly::AuthUndecodable,
                    out,
                );
            }
            self.push_pending(
                Pending {
                    seq: seq_auth,
                    request: Request::AuthResponse,
                    bdat_last: false,
                    end_ts: ts,
                },
                out,
            );
            return;
        }

        let command = Command::parse(line.bytes);
        if let Some((lines, bytes)) = self.resync[C].as_mut() {
            // After a gap, skip until a line is a known command.
            if !command.verb.is_known() {
                *lines += 1;
                *bytes += line.len + line.term.bytes().len() as u64;
                return;
            }
            self.finish_resync(C, ts, frame, out);
        }
        self.counters.commands += 1;
        let is_auth = command.verb == Verb::Auth;
        self.line_anomalies(Dir::ClientToServer, line, is_auth, out);

        if !self.greeting_seen && !self.any_reply && !self.pregreet_reported {
            self.pregreet_reported = true;
            self.anomaly(
                ts,
                frame,
                Dir::ClientToServer,
                Anomaly::Pregreet {
                    line: evidence(line.bytes),
                },
                out,
            );
        }
        let pipelined = !self.pending.is_empty();
        if pipelined && self.greeting_seen && !self.caps.pipelining && !self.pipelining_reported {
            self.pipelining_reported = true;
            self.anomaly(
                ts,
                frame,
                Dir::ClientToServer,
                Anomaly::PipeliningWithoutCapability {
                    line: evidence(if is_auth { b"AUTH" } else { line.bytes }),
                },
                out,
            );
        }
        let seq = self.alloc_seq();
        let raw = if is_auth {
            // The initial response is secret material: keep only framing.
            RawLine {
                bytes: mask_auth_line(line.bytes),
                term: line.term,
                len: line.len,
                truncated: line.truncated,
            }
        } else {
            Self::raw_line(line)
        };
        out.push(Event {
            ts,
            frame,
            dir: Dir::ClientToServer,
            kind: EventKind::Command(CommandEvent {
                seq,
                command: command.clone(),
                raw,
                pipelined,
                end_ts: ts,
            }),
        });
        if let Verb::Other(v) = &command.verb {
            self.anomaly(
                ts,
                frame,
                Dir::ClientToServer,
                Anomaly::UnknownCommand { verb: v.clone() },
                out,
            );
        }
        for dev in &command.deviations {
            self.anomaly(
                ts,
                frame,
                Dir::ClientToServer,
                Anomaly::CommandSyntax {
                    deviation: dev.clone(),
                    line: if is_auth {
                        Vec::new()
                    } else {
                        evidence(line.bytes)
                    },
                },
                out,
            );
        }
        let mut bdat_last = false;
        match (&command.verb, &command.args) {
            // RFC 5321 §4.1.1.4 / RFC 2920 §3.1: bytes after DATA wait for
            // the reply to learn whether they are content.
            (Verb::Data, _) => {
                if self.bdat_in_txn {
                    self.anomaly(
                        ts,
                        frame,
                        Dir::ClientToServer,
                        Anomaly::DataAndBdatMixed,
                        out,
                    );
                }
                self.client_mode = ClientMode::Hold(HoldFor::Data, Held::default());
            }
            // RFC 3207 §4: STARTTLS must end a pipeline group; anything
            // after it before the 220 is held as possible injection.
            (Verb::StartTls, _) => {
                self.client_mode = ClientMode::Hold(HoldFor::StartTls, Held::default());
            }
            (Verb::Bdat, Args::Bdat { size, last }) => {
                bdat_last = *last;
                if !self.caps.chunking {
                    self.anomaly(
                        ts,
                        frame,
                        Dir::ClientToServer,
                        Anomaly::BdatWithoutChunking,
                        out,
                    );
                }
                if self.data_in_txn {
                    self.anomaly(
                        ts,
                        frame,
                        Dir::ClientToServer,
                        Anomaly::DataAndBdatMixed,
                        out,
                    );
                }
                if self.bdat_last_seen {
                    self.anomaly(ts, frame, Dir::ClientToServer, Anomaly::BdatAfterLast, out);
                }
                // A BDAT line with anything but a size and LAST is a syntax
                // error: the server answers 501 without reading a chunk
                // (RFC 3030 §2 grammar), so no bytes are taken as one.
                let malformed = command
                    .deviations
                    .iter()
                    .any(|d| matches!(d, crate::smtp::command::CommandDeviation::BdatBadArgs));
                match size.filter(|_| !malformed) {
                    Some(n) => {
                        if n == 0 && !*last {
                            self.anomaly(
                                ts,
                                frame,
                                Dir::ClientToServer,
                                Anomaly::BdatZeroWithoutLast,
                                out,
                            );
                        }
                        self.bdat_in_txn = true;
                        self.bdat_last_seen |= *last;
                        if self.bdat_msg.is_none() {
                            self.bdat_msg = Some(BdatMessage {
                                seq,
                                raw: Vec::new(),
                                mime: MimeSummarizer::new(),
                                size: 0,
                                gap: false,
                                chunks: 0,
                            });
                        }
                        // RFC 3030 §2 / §4: exactly n octets follow, read
                        // even if the server rejects the command.
                        self.client_mode = ClientMode::Bdat {
                            seq,
                            size: n,
                            remaining: n,
                            last: *last,
                            gap: 0,
                        };
                    }
                    None => {
                        // Unknown length: the server cannot frame it either
                        // (it answers 501); stay in line mode.
                        self.anomaly(
                            ts,
                            frame,
                            Dir::ClientToServer,
                            Anomaly::BdatBadSize {
                                line: evidence(line.bytes),
                            },
                            out,
                        );
                    }
                }
            }
            (
                Verb::Auth,
                Args::Auth {
                    mechanism,
                    initial_response,
                },
            ) => {
                let ir = initial_response
                    .as_ref()
                    .map(|s| s.reveal().as_bytes().to_vec());
                let sasl = SaslState::start(mechanism, ir.as_deref());
                if sasl.undecodable > 0 {
                    self.anomaly(
                        ts,
                        frame,
                        Dir::ClientToServer,
                        Anomaly::AuthUndecodable,
                        out,
                    );
                }
                out.push(Event {
                    ts,
                    frame,
                    dir: Dir::ClientToServer,
                    kind: EventKind::Auth(AuthStep {
                        seq,
                        phase: AuthPhase::Started,
                        state: sasl.clone(),
                        response: initial_response.clone(),
                        term: None,
                        challenge: None,
                    }),
                });
                self.auth = Some(AuthExchange {
                    seq,
                    sasl,
                    awaiting_response: false,
                });
            }
            _ => {}
        }
        if command.verb == Verb::Lhlo {
            self.lmtp = true;
        }
        // BDAT LAST ends the message: in LMTP, one reply per recipient
        // (RFC 2033 §4.2 with RFC 3030).
        let replies = if bdat_last { self.final_replies() } else { 1 };
        for _ in 0..replies {
            self.push_pending(
                Pending {
                    seq,
                    request: Request::Command {
                        verb: command.verb.clone(),
                    },
                    bdat_last,
                    end_ts: ts,
                },
                out,
            );
        }
        // A zero-length chunk is complete at once.
        if matches!(self.client_mode, ClientMode::Bdat { remaining: 0, .. }) {
            self.bdat_chunk_done(ts, frame, out);
        }
    }

    fn data_done(&mut self, ts: Timestamp, frame: u64, out: &mut Vec<Event>) {
        let ClientMode::Data(d) = std::mem::replace(&mut self.client_mode, ClientMode::Lines)
        else {
            return;
        };
        let seq = d.seq;
        let gap = d.gap;
        self.message_from_data(*d, !gap, ts, frame, out);
        // The final reply answers the end of data (RFC 5321 §4.1.1.4);
        // in LMTP one reply per accepted recipient (RFC 2033 §4.2).
        for _ in 0..self.final_replies() {
            self.push_pending(
                Pending {
                    seq,
                    request: Request::DataEnd,
                    bdat_last: false,
                    end_ts: ts,
                },
                out,
            );
        }
    }

    /// Replies that end a message: one, or in LMTP one per recipient.
    fn final_replies(&self) -> u32 {
        if self.lmtp {
            self.rcpt_accepted.max(1)
        } else {
            1
        }
    }

    fn message_from_data(
        &mut self,
        mut d: DataDecoder,
        complete: bool,
        ts: Timestamp,
        frame: u64,
        out: &mut Vec<Event>,
    ) {
        let dir = Dir::ClientToServer;
        for nc in std::mem::take(&mut d.stats.non_canonical) {
            self.anomaly(ts, frame, dir, Anomaly::NonCanonicalEndOfData(nc), out);
        }
        let st = &d.stats;
        if st.bare_cr + st.bare_lf + st.nul > 0 {
            let a = Anomaly::MessageLineEndings {
                bare_cr: st.bare_cr,
                bare_lf: st.bare_lf,
                nul: st.nul,
            };
            self.anomaly(ts, frame, dir, a, out);
        }
        if st.long_lines > 0 {
            let a = Anomaly::MessageLongLines {
                count: st.long_lines,
            };
            self.anomaly(ts, frame, dir, a, out);
        }
        let truncated = d.truncated() || !complete;
        let ev = MessageEvent {
            seq: d.seq,
            kind: TransferKind::Data,
            size: d.size,
            truncated,
            gap: d.gap,
            stats: std::mem::take(&mut d.stats),
            raw: std::mem::take(&mut d.message),
            raw_kept: d.keep_raw,
            summary: d.take_summary(!complete),
            chunks: 0,
        };
        out.push(Event {
            ts,
            frame,
            dir,
            kind: if complete {
                EventKind::MessageComplete(ev)
            } else {
                EventKind::MessageIncomplete(ev)
            },
        });
    }

    fn bdat_chunk_done(&mut self, ts: Timestamp, frame: u64, out: &mut Vec<Event>) {
        let ClientMode::Bdat {
            seq,
            size,
            last,
            gap,
            ..
        } = std::mem::replace(&mut self.client_mode, ClientMode::Lines)
        else {
            return;
        };
        // Latency of the BDAT reply runs from the chunk's last byte.
        if let Some(p) = self.pending.iter_mut().rev().find(|p| p.seq == seq) {
            p.end_ts = ts;
        }
        if let Some(m) = &mut self.bdat_msg {
            m.chunks += 1;
        }
        out.push(Event {
            ts,
            frame,
            dir: Dir::ClientToServer,
            kind: EventKind::BdatChunk(BdatChunkEvent {
                seq,
                size,
                last,
                gap_bytes: gap,
            }),
        });
        if last {
            if let Some(m) = self.bdat_msg.take() {
                let complete = !m.gap;
                self.emit_bdat_message(m, complete, ts, frame, out);
            }
        }
    }

    fn emit_bdat_message(
        &mut self,
        m: BdatMessage,
        complete: bool,
        ts: Timestamp,
        frame: u64,
        out: &mut Vec<Event>,
    ) {
        let keep = self.cfg.keep_raw;
        let truncated = (keep && (m.raw.len() as u64) < m.size) || !complete;
        let ev = MessageEvent {
            seq: m.seq,
            kind: TransferKind::Bdat,
            size: m.size,
            truncated,
            gap: m.gap,
            stats: Default::default(),
            raw: m.raw,
            raw_kept: keep,
            summary: m.mime.finish(!complete),
            chunks: m.chunks,
        };
        out.push(Event {
            ts,
            frame,
            dir: Dir::ClientToServer,
            kind: if complete {
                EventKind::MessageComplete(ev)
            } else {
                EventKind::MessageIncomplete(ev)
            },
        });
    }

    // ---- TLS ----

    /// After STARTTLS/220: plaintext before the first TLS record is
    /// evidence of command (client) or response (server) injection.
    fn tls_pending(
        &mut self,
        dir: Dir,
        ts: Timestamp,
        frame: u64,
        input: &[u8],
        out: &mut Vec<Event>,
    ) -> usize {
        let d = dir.index();
        let tls_start = tls::starts_tls_stream(input).unwrap_or(matches!(input[0], 0x16 | 0x15));
        if tls_start {
            self.flush_injection(d, out);
            match dir {
                Dir::ClientToServer => self.client_mode = ClientMode::Tls,
                Dir::ServerToClient => self.server_mode = ServerMode::Tls,
            }
            return 0;
        }
        // Plaintext: take it line by line so a TLS record right after an
        // injected line is still recognized.
        let n = memchr::memchr(b'\n', input)
            .map(|i| i + 1)
            .unwrap_or(input.len());
        let inj = self.injection[d].get_or_insert_with(|| Injection {
            ts,
            frame,
            ..Injection::default()
        });
        let room = MAX_EVIDENCE.saturating_sub(inj.evidence.len());
        inj.evidence.extend_from_slice(&input[..n.min(room)]);
        inj.len += n as u64;
        n
    }

    fn flush_injection(&mut self, d: usize, out: &mut Vec<Event>) {
        if let Some(inj) = self.injection[d].take() {
            let dir = if d == C {
                Dir::ClientToServer
            } else {
                Dir::ServerToClient
            };
            self.anomaly(
                inj.ts,
                inj.frame,
                dir,
                Anomaly::PlaintextAfterStartTls {
                    bytes: inj.len,
                    evidence: inj.evidence,
                },
                out,
            );
        }
    }

    fn tls_bytes(
        &mut self,
        dir: Dir,
        ts: Timestamp,
        frame: u64,
        input: &[u8],
        out: &mut Vec<Event>,
    ) -> usize {
        self.counters.tls_bytes[dir.index()] += input.len() as u64;
        if dir == Dir::ClientToServer && !self.hello.is_finished() {
            if let HelloProgress::Parsed(h) = self.hello.feed(input) {
                out.push(Event {
                    ts,
                    frame,
                    dir,
                    kind: EventKind::TlsClientHello(h),
                });
            }
        }
        input.len()
    }

    // ---- server side ----

    fn server_line(&mut self, line: &Line<'_>, out: &mut Vec<Event>) {
        self.counters.lines[S] += 1;
        let (ts, frame) = (line.end_ts, line.end_frame);
        let Some(rl) = ReplyLine::parse(line.bytes) else {
            if self.resync[S].is_some() {
                if let Some((l, b)) = self.resync[S].as_mut() {
                    *l += 1;
                    *b += line.len + line.term.bytes().len() as u64;
                }
            } else {
                self.line_anomalies(Dir::ServerToClient, line, false, out);
                self.anomaly(
                    ts,
                    frame,
                    Dir::ServerToClient,
                    Anomaly::UnparsableReply {
                        line: evidence(line.bytes),
                    },
                    out,
                );
            }
            return;
        };
        self.finish_resync(S, ts, frame, out);
        self.line_anomalies(Dir::ServerToClient, line, false, out);
        if rl.bad_separator {
            self.anomaly(
                ts,
                frame,
                Dir::ServerToClient,
                Anomaly::UnparsableReply {
                    line: evidence(line.bytes),
                },
                out,
            );
        }
        let acc = self.acc.get_or_insert_with(|| ReplyAcc {
            code: rl.code,
            first_ts: line.start_ts,
            first_frame: line.start_frame,
            lines: Vec::new(),
            raw: Vec::new(),
            dropped: 0,
        });
        let mismatch = (rl.code != acc.code).then_some(acc.code);
        if acc.lines.len() < self.cfg.max_reply_lines {
            acc.lines.push(rl.text.to_vec());
            acc.raw.push(Self::raw_line(line));
        } else {
            acc.dropped += 1;
        }
        if let Some(first) = mismatch {
            // RFC 5321 §4.2.1: every line of a multi-line reply carries the
            // same code.
            self.anomaly(
                ts,
                frame,
                Dir::ServerToClient,
                Anomaly::ReplyCodeMismatch {
                    first,
                    line: rl.code,
                },
                out,
            );
        }
        if !rl.continued {
            let acc = self.acc.take().expect("accumulator exists");
            self.complete_reply(acc, ts, frame, out);
        }
    }

    fn complete_reply(&mut self, acc: ReplyAcc, ts: Timestamp, frame: u64, out: &mut Vec<Event>) {
        self.counters.replies += 1;
        let dir = Dir::ServerToClient;
        if !acc.code.in_rfc_range() {
            self.anomaly(
                ts,
                frame,
                dir,
                Anomaly::ReplyCodeOutOfRange { code: acc.code },
                out,
            );
        }
        if acc.dropped > 0 {
            self.anomaly(
                ts,
                frame,
                dir,
                Anomaly::ReplyTooManyLines {
                    dropped: acc.dropped,
                },
                out,
            );
        }
        let enhanced = acc
            .lines
            .first()
            .and_then(|t| EnhancedCode::parse_prefix(t))
            .map(|(c, _)| c);
        let reply = Reply {
            code: acc.code,
            enhanced,
            lines: acc.lines,
            lines_dropped: acc.dropped,
        };
        // RFC 5321 §4.3.1: the first reply is the greeting (220, or 554/421
        // refusing service), not an answer to anything.
        let is_greeting =
            !self.any_reply && (self.pending.is_empty() || matches!(reply.code.0, 220 | 421 | 554));
        self.any_reply = true;
        let mut answers = None;
        if is_greeting {
            self.greeting_seen = true;
        } else if let Some(p) = self.pending.pop_front() {
            answers = Some(Answer {
                seq: p.seq,
                request: p.request.clone(),
                latency_ns: acc.first_ts.since(p.end_ts),
            });
            self.transition(&p, &reply, ts, frame, out);
        } else if !self.excuse_unsolicited {
            let during_data = matches!(
                self.client_mode,
                ClientMode::Data(_) | ClientMode::Bdat { .. }
            );
            self.anomaly(
                ts,
                frame,
                dir,
                Anomaly::UnsolicitedReply {
                    code: reply.code,
                    during_data,
                },
                out,
            );
        }
        out.push(Event {
            ts,
            frame,
            dir,
            kind: EventKind::Reply(ReplyEvent {
                reply,
                raw: acc.raw,
                answers,
                greeting: is_greeting,
                first_ts: acc.first_ts,
                first_frame: acc.first_frame,
            }),
        });
        if std::mem::take(&mut self.tls_after_reply) {
            out.push(Event {
                ts,
                frame,
                dir: Dir::ServerToClient,
                kind: EventKind::TlsStarted { implicit: false },
            });
        }
    }

    /// The state machine: apply a reply to the request it answers.
    fn transition(
        &mut self,
        p: &Pending,
        reply: &Reply,
        ts: Timestamp,
        frame: u64,
        out: &mut Vec<Event>,
    ) {
        let code = reply.code;
        self.excuse_unsolicited = false;
        match (&p.request, code.0) {
            // RFC 5321 §4.1.1.1: a 250 to EHLO lists the extensions; a new
            // EHLO/HELO resets the session like RSET (§4.1.4).
            (
                Request::Command {
                    verb: Verb::Ehlo | Verb::Lhlo,
                },
                250,
            ) => {
                self.caps = Capabilities::from_lines(reply.lines.iter().map(Vec::as_slice));
                self.ehlo_seen = true;
                self.reset_transaction();
            }
            (Request::Command { verb: Verb::Helo }, 250) => {
                self.caps = Capabilities::default();
                self.reset_transaction();
            }
            // §4.1.1.2: MAIL 250 opens a transaction.
            (Request::Command { verb: Verb::Mail }, 250) => self.reset_transaction(),
            // §4.1.1.3: 250 or 251 accepts the recipient.
            (Request::Command { verb: Verb::Rcpt }, 250 | 251) => self.rcpt_accepted += 1,
            // §4.1.1.5: RSET aborts the transaction.
            (Request::Command { verb: Verb::Rset }, 250) => {
                self.reset_transaction();
                if let Some(m) = self.bdat_msg.take() {
                    self.emit_bdat_message(m, false, ts, frame, out);
                }
            }
            // §4.1.1.4: 354 makes the held bytes message content.
            (Request::Command { verb: Verb::Data }, 354) => {
                self.data_in_txn = true;
                if let ClientMode::Hold(HoldFor::Data, held) =
                    std::mem::replace(&mut self.client_mode, ClientMode::Lines)
                {
                    let mut dec = DataDecoder::new(self.cfg.max_message_bytes);
                    dec.keep_raw = self.cfg.keep_raw;
                    dec.seq = p.seq;
                    self.client_mode = ClientMode::Data(Box::new(dec));
                    out.push(Event {
                        ts,
                        frame,
                        dir: Dir::ServerToClient,
                        kind: EventKind::DataStart { seq: p.seq },
                    });
                    if !held.buf.is_empty() {
                        let a = Anomaly::DataBeforeReply {
                            bytes: held.buf.len() as u64 + held.dropped,
                            accepted: true,
                            evidence: evidence(&held.buf),
                        };
                        self.anomaly(ts, frame, Dir::ClientToServer, a, out);
                    }
                    self.replay = Some(Replay { held });
                }
            }
            // DATA rejected (503/554/451...): held bytes were commands.
            (Request::Command { verb: Verb::Data }, _) => {
                if let ClientMode::Hold(HoldFor::Data, held) =
                    std::mem::replace(&mut self.client_mode, ClientMode::Lines)
                {
                    if !held.buf.is_empty() {
                        let a = Anomaly::DataBeforeReply {
                            bytes: held.buf.len() as u64 + held.dropped,
                            accepted: false,
                            evidence: evidence(&held.buf),
                        };
                        self.anomaly(ts, frame, Dir::ClientToServer, a, out);
                    }
                    self.replay = Some(Replay { held });
                }
            }
            // The final reply to the message ends the transaction either
            // way (§4.1.1.4); so does the reply to BDAT LAST (RFC 3030 §2).
            (Request::DataEnd, _) => self.reset_transaction(),
            (Request::Command { verb: Verb::Bdat }, _) if p.bdat_last => self.reset_transaction(),
            // RFC 3207 §4: after 220 both sides speak TLS.
            (
                Request::Command {
                    verb: Verb::StartTls,
                },
                220,
            ) => {
                self.server_mode = ServerMode::TlsPending;
                let prev = std::mem::replace(&mut self.client_mode, ClientMode::TlsPending);
                // Reported after the 220 itself (see `reply`): the
                // timeline reads STARTTLS, 220, TLS.
                self.tls_after_reply = true;
                if let ClientMode::Hold(HoldFor::StartTls, held) = prev {
                    self.replay = Some(Replay { held });
                }
            }
            (
                Request::Command {
                    verb: Verb::StartTls,
                },
                _,
            ) => {
                if let ClientMode::Hold(HoldFor::StartTls, held) =
                    std::mem::replace(&mut self.client_mode, ClientMode::Lines)
                {
                    if !held.buf.is_empty() {
                        let a = Anomaly::PipelinedAfterStartTls {
                            bytes: held.buf.len() as u64 + held.dropped,
                            evidence: evidence(&held.buf),
                        };
                        self.anomaly(ts, frame, Dir::ClientToServer, a, out);
                    }
                    self.replay = Some(Replay { held });
                }
            }
            // RFC 4954 §4: 334 continues the exchange, 235 ends it well,
            // anything else ends it badly (501 after `*`).
            (Request::Command { verb: Verb::Auth } | Request::AuthResponse, c) => {
                let Some(auth) = self.auth.as_mut() else {
                    return;
                };
                let phase = match c {
                    334 => {
                        let text = reply.lines.first().cloned().unwrap_or_default();
                        auth.sasl.on_challenge(&text);
                        auth.awaiting_response = true;
                        AuthPhase::Challenge
                    }
                    235 => AuthPhase::Succeeded,
                    _ => AuthPhase::Failed { code },
                };
                let done = phase != AuthPhase::Challenge;
                let challenge = (phase == AuthPhase::Challenge)
                    .then(|| reply.lines.first().cloned().unwrap_or_default());
                out.push(Event {
                    ts,
                    frame,
                    dir: Dir::ServerToClient,
                    kind: EventKind::Auth(AuthStep {
                        seq: auth.seq,
                        phase,
                        state: auth.sasl.clone(),
                        response: None,
                        term: None,
                        challenge,
                    }),
                });
                if done {
                    self.auth = None;
                }
            }
            (Request::Command { verb: Verb::Quit }, 221) => self.quit_acked = true,
            _ => {}
        }
    }

    fn reset_transaction(&mut self) {
        self.rcpt_accepted = 0;
        self.data_in_txn = false;
        self.bdat_in_txn = false;
        self.bdat_last_seen = false;
    }
}

/// `AUTH MECH <initial-response>` with the response replaced by the mask.
fn mask_auth_line(line: &[u8]) -> Vec<u8> {
    let mut words = 0;
    let mut in_word = false;
    for (i, &b) in line.iter().enumerate() {
        let space = b == b' ' || b == b'\t';
        if !space && !in_word {
            words += 1;
            if words == 3 {
                let mut v = line[..i].to_vec();
                v.extend_from_slice(Secret::MASK.as_bytes());
                return v;
            }
        }
        in_word = !space;
    }
    line.to_vec()
}

#[cfg(test)]
mod tests;
