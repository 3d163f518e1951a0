//! The typed events a [`SessionDecoder`](super::SessionDecoder) emits.
//!
//! Events are facts: what was said, how it was framed, what it answered,
//! and named anomalies with their evidence. No severities here; the
//! analysis stage decides what matters.

use serde::Serialize;

use super::auth::{SaslState, Secret};
use super::command::{Command, CommandDeviation, Verb};
use super::data::{DataStats, NonCanonicalEod};
use super::lines::Terminator;
use super::message::MessageSummary;
use super::reply::{Reply, ReplyCode};
use super::tls::ClientHello;
use crate::capture::Timestamp;
use crate::net::{CloseReason, Dir};

/// One decoder event. `ts`/`frame` are those of the segment that completed
/// the fact (e.g. the segment carrying a line's terminator).
#[derive(Clone, Debug)]
pub struct Event {
    pub ts: Timestamp,
    pub frame: u64,
    pub dir: Dir,
    pub kind: EventKind,
}

/// A line exactly as framed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawLine {
    /// Content without terminator, capped at the configured line length.
    pub bytes: Vec<u8>,
    pub term: Terminator,
    /// Full length on the wire without terminator.
    pub len: u64,
    pub truncated: bool,
}

#[derive(Clone, Debug)]
pub enum EventKind {
    Command(CommandEvent),
    Reply(ReplyEvent),
    Auth(AuthStep),
    /// The server accepted DATA with 354; content follows.
    DataStart {
        seq: u32,
    },
    /// The end of the message was seen (`<CRLF>.<CRLF>` or the BDAT LAST
    /// chunk) with no gap inside.
    MessageComplete(MessageEvent),
    /// The message ended without its terminator (connection closed, gap,
    /// RSET during BDAT) or had a gap inside.
    MessageIncomplete(MessageEvent),
    BdatChunk(BdatChunkEvent),
    /// TLS begins: after the 220 to STARTTLS, or implicit from the start.
    TlsStarted {
        implicit: bool,
    },
    TlsClientHello(ClientHello),
    /// `len` bytes of this direction were never seen.
    Gap {
        len: u64,
        /// The gap fell inside DATA/BDAT content.
        in_message: bool,
    },
    Anomaly(Anomaly),
    SessionEnd(SessionEnd),
}

#[derive(Clone, Debug)]
pub struct CommandEvent {
    /// Sequence number of this client request (commands, SASL responses);
    /// replies refer to it.
    pub seq: u32,
    pub command: Command,
    pub raw: RawLine,
    /// Sent while earlier requests were still unanswered (RFC 2920).
    pub pipelined: bool,
    /// Time of the line's last byte (latency is measured from it).
    pub end_ts: Timestamp,
}

/// What a reply answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    Command {
        verb: Verb,
    },
    /// The end of DATA content (the reply after `<CRLF>.<CRLF>`).
    DataEnd,
    /// A SASL response line during AUTH.
    AuthResponse,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub seq: u32,
    pub request: Request,
    /// Reply's first-line time minus the request's last-byte time.
    pub latency_ns: i64,
}

#[derive(Clone, Debug)]
pub struct ReplyEvent {
    pub reply: Reply,
    /// Every line as framed, code included.
    pub raw: Vec<RawLine>,
    /// `None` for the greeting and for unsolicited replies.
    pub answers: Option<Answer>,
    pub greeting: bool,
    /// Frame and time of the first line (the event's own ts/frame are the
    /// last line's).
    pub first_ts: Timestamp,
    pub first_frame: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum AuthPhase {
    Started,
    /// A 334 challenge; text is base64 as sent.
    Challenge,
    /// A client SASL response line (the line itself is secret material).
    Response,
    /// The client sent `*`.
    Cancelled,
    Succeeded,
    Failed {
        code: ReplyCode,
    },
}

#[derive(Clone, Debug)]
pub struct AuthStep {
    pub seq: u32,
    pub phase: AuthPhase,
    /// The exchange as decoded so far.
    pub state: SaslState,
    /// The wire line of a client response, masked by default.
    pub response: Option<Secret>,
    /// The raw framing of that response line (content not kept: it is
    /// secret material; see `response`).
    pub term: Option<Terminator>,
    pub challenge: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferKind {
    Data,
    Bdat,
}

#[derive(Clone, Debug)]
pub struct MessageEvent {
    /// Seq of the DATA command or of the first BDAT command.
    pub seq: u32,
    pub kind: TransferKind,
    /// Message bytes (dot-unstuffed DATA or concatenated BDAT chunks),
    /// at most `max_message_bytes`; empty unless `raw_kept`.
    pub raw: Vec<u8>,
    /// The decoder kept the bytes (`DecoderConfig::keep_raw`).
    pub raw_kept: bool,
    /// Headers and MIME tree, summarized while the bytes streamed past
    /// (whole message, no cap).
    pub summary: MessageSummary,
    /// Full message size, counted beyond the cap.
    pub size: u64,
    /// The message is not all here: gap or early end, or (when kept) `raw`
    /// is shorter than `size`.
    pub truncated: bool,
    pub gap: bool,
    /// DATA content statistics (default for BDAT).
    pub stats: DataStats,
    pub chunks: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BdatChunkEvent {
    pub seq: u32,
    /// Announced size.
    pub size: u64,
    pub last: bool,
    /// Bytes of this chunk lost in a gap.
    pub gap_bytes: u64,
}

/// Why the session ended, SMTP first: a QUIT answered by 221 is `Quit`
/// whatever TCP did afterwards.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    Quit,
    Fin,
    Rst,
    Timeout,
    Evicted,
    EndOfCapture,
}

impl EndReason {
    pub fn from_close(r: CloseReason) -> EndReason {
        match r {
            CloseReason::Fin => EndReason::Fin,
            CloseReason::Rst => EndReason::Rst,
            CloseReason::IdleTimeout => EndReason::Timeout,
            CloseReason::Evicted => EndReason::Evicted,
            CloseReason::EndOfCapture => EndReason::EndOfCapture,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Quit => "quit",
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::Timeout => "timeout",
            EndReason::Evicted => "evicted",
            EndReason::EndOfCapture => "end-of-capture",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Bytes per direction [client->server, server->client].
    pub bytes: [u64; 2],
    pub lines: [u64; 2],
    /// Bytes after TLS started, per direction.
    pub tls_bytes: [u64; 2],
    pub gap_bytes: [u64; 2],
    pub commands: u64,
    pub replies: u64,
    /// Requests never answered.
    pub unanswered: u64,
    /// Anomalies not emitted because of the per-session cap.
    pub anomalies_dropped: u64,
}

#[derive(Clone, Debug)]
pub struct SessionEnd {
    pub reason: EndReason,
    pub close: CloseReason,
    pub counters: Counters,
}

/// A named protocol fact that deviates from the RFCs or from what the
/// session negotiated. Analysis turns these into findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Anomaly {
    /// A command or reply line ended in a bare LF or bare CR.
    BareLineTerminator {
        term: Terminator,
        #[serde(serialize_with = "ser_bytes")]
        line: Vec<u8>,
    },
    /// A NUL byte inside a command or reply line.
    NulInLine {
        #[serde(serialize_with = "ser_bytes")]
        line: Vec<u8>,
    },
    /// Longer than the decoder's line cap: kept truncated.
    LineOverCap {
        len: u64,
        cap: usize,
    },
    /// Longer than RFC 5321 §4.5.3.1.4/.5 allows (512 octets incl. CRLF).
    LineTooLong {
        len: u64,
    },
    UnknownCommand {
        verb: String,
    },
    CommandSyntax {
        deviation: CommandDeviation,
        #[serde(serialize_with = "ser_bytes")]
        line: Vec<u8>,
    },
    /// Client bytes before the server greeting (RFC 5321 §4.3.1).
    Pregreet {
        #[serde(serialize_with = "ser_bytes")]
        line: Vec<u8>,
    },
    /// A command sent before the previous reply arrived, without
    /// PIPELINING advertised (RFC 2920).
    PipeliningWithoutCapability {
        #[serde(serialize_with = "ser_bytes")]
        line: Vec<u8>,
    },
    /// Client bytes sent after DATA before the server's reply (RFC 2920
    /// §3.1); `accepted` tells whether the 354 made them message content.
    DataBeforeReply {
        bytes: u64,
        accepted: bool,
        #[serde(serialize_with = "ser_bytes")]
        evidence: Vec<u8>,
    },
    /// Client bytes after STARTTLS and before the TLS handshake (CVE-2011-0411
    /// class), or server bytes after its 220 and before TLS.
    PlaintextAfterStartTls {
        bytes: u64,
        #[serde(serialize_with = "ser_bytes")]
        evidence: Vec<u8>,
    },
    /// Client commands pipelined after a STARTTLS that the server then
    /// refused (RFC 3207 §4: STARTTLS must end a pipeline group).
    PipelinedAfterStartTls {
        bytes: u64,
        #[serde(serialize_with = "ser_bytes")]
        evidence: Vec<u8>,
    },
    /// Implicit-TLS port but the session started in plaintext.
    PlaintextOnImplicitTlsPort,
    /// A multi-line reply whose lines carry different codes (§4.2.1).
    ReplyCodeMismatch {
        first: ReplyCode,
        line: ReplyCode,
    },
    /// Code outside RFC 5321 §4.2's `%x32-35 %x30-35 %x30-39`.
    ReplyCodeOutOfRange {
        code: ReplyCode,
    },
    /// A server line that is not a reply line.
    UnparsableReply {
        #[serde(serialize_with = "ser_bytes")]
        line: Vec<u8>,
    },
    /// A reply with no request waiting for it.
    UnsolicitedReply {
        code: ReplyCode,
        during_data: bool,
    },
    /// Reply lines beyond the per-reply cap were dropped.
    ReplyTooManyLines {
        dropped: u64,
    },
    NonCanonicalEndOfData(NonCanonicalEod),
    /// Bare CR / bare LF / NUL counts inside one message.
    MessageLineEndings {
        bare_cr: u64,
        bare_lf: u64,
        nul: u64,
    },
    /// Message text lines over 1000 octets (RFC 5321 §4.5.3.1.6).
    MessageLongLines {
        count: u64,
    },
    BdatWithoutChunking,
    DataAndBdatMixed,
    BdatAfterLast,
    BdatBadSize {
        #[serde(serialize_with = "ser_bytes")]
        line: Vec<u8>,
    },
    BdatZeroWithoutLast,
    /// A SASL response that is not base64.
    AuthUndecodable,
    /// Too many requests waiting for replies; the oldest were dropped.
    PendingOverflow {
        dropped: u64,
    },
    /// Client bytes held while waiting for a DATA/STARTTLS reply exceeded
    /// the cap; the excess was treated as a gap.
    HeldBytesOverflow {
        dropped: u64,
    },
    /// Lines skipped after a gap until the stream parsed again.
    ResyncSkipped {
        lines: u64,
        bytes: u64,
    },
}

/// Evidence bytes kept in anomalies are capped at this length.
pub const MAX_EVIDENCE: usize = 512;

pub fn evidence(b: &[u8]) -> Vec<u8> {
    b[..b.len().min(MAX_EVIDENCE)].to_vec()
}

/// Wire bytes in serialized anomalies: escaped text (see
/// [`crate::output::escape`]), never raw control characters.
pub fn ser_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::output::escape::escape_bytes(b))
}
