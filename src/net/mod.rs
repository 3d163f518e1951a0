//! Link, IP and TCP decoding, the flow table and TCP stream reassembly.
//!
//! This stage turns packets into ordered byte streams. It knows nothing of
//! SMTP: it hands a [`StreamSink`] per-connection events (open, in-order data
//! per direction with the timestamp and frame that carried it, explicit gaps,
//! close). The sink may answer [`Interest::Ignore`] so that connections it
//! does not care about cost little more than header decoding.
//!
//! [`proxy`] reads a proxy handshake at the start of such a stream, so that
//! the stream inside the tunnel can be handed on from its first byte.

pub mod flow;
pub mod ip;
pub mod link;
pub mod proxy;
pub mod reassembly;
pub mod seq;
pub mod stats;

use std::net::SocketAddr;

use crate::capture::Timestamp;

pub use flow::{FlowConfig, FlowTable};
pub use stats::NetStats;

/// Which way bytes travel on a connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dir {
    ClientToServer,
    ServerToClient,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn reverse(self) -> Dir {
        match self {
            Dir::ClientToServer => Dir::ServerToClient,
            Dir::ServerToClient => Dir::ClientToServer,
        }
    }
}

/// Identifies one TCP connection for the whole run: unique even when a
/// 4-tuple is reused, and assigned in the order connections are first seen,
/// so it is deterministic for a given capture.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ConnId(pub u64);

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How the client and server roles of a connection were decided.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RoleSource {
    /// The SYN (or SYN-ACK) was seen.
    Handshake,
    /// No handshake: the side on a well-known or configured server port.
    Port,
    /// No handshake, no known port: the side that sent the first segment.
    FirstSender,
}

/// What the flow table knows of a connection when it reports an event.
#[derive(Clone, Debug)]
pub struct ConnMeta {
    pub id: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Timestamp of the first packet seen on the connection.
    pub start: Timestamp,
    /// Frame number of the first packet seen on the connection.
    pub first_frame: u64,
    pub roles: RoleSource,
}

impl ConnMeta {
    pub fn handshake_seen(&self) -> bool {
        self.roles == RoleSource::Handshake
    }
}

/// Why a connection ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CloseReason {
    /// Both directions sent FIN.
    Fin,
    Rst,
    /// No packet for longer than the idle timeout (capture time).
    IdleTimeout,
    /// Evicted to stay under the flow-table cap.
    Evicted,
    /// The capture ended with the connection still open.
    EndOfCapture,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Fin => "fin",
            CloseReason::Rst => "rst",
            CloseReason::IdleTimeout => "timeout",
            CloseReason::Evicted => "evicted",
            CloseReason::EndOfCapture => "end-of-capture",
        }
    }
}

/// A sink's answer: keep reassembling this connection, or stop.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Interest {
    Keep,
    Ignore,
}

/// A run of in-order stream bytes for one direction.
#[derive(Copy, Clone, Debug)]
pub struct Chunk<'a> {
    /// Capture time of the segment that completed these bytes.
    pub ts: Timestamp,
    /// Frame number of that segment.
    pub frame: u64,
    pub bytes: &'a [u8],
}

/// The consumer of reassembled streams (the SMTP pipeline, a connection
/// lister, a test). Events for one connection arrive in causal order:
/// `open`, then `data`/`gap` for either direction, then exactly one `close`.
pub trait StreamSink {
    fn open(&mut self, conn: &ConnMeta) -> Interest;
    fn data(&mut self, conn: &ConnMeta, dir: Dir, chunk: Chunk<'_>) -> Interest;
    /// `len` bytes of this direction were never seen (lost, not captured,
    /// or dropped under the out-of-order cap); data resumes after them.
    fn gap(&mut self, conn: &ConnMeta, dir: Dir, ts: Timestamp, frame: u64, len: u64);
    fn close(&mut self, conn: &ConnMeta, reason: CloseReason, ts: Timestamp);
    /// Something ahead of this sink declined the connection: no more of its
    /// bytes will come, only its close. State held for it may go now.
    fn forget(&mut self, _conn: ConnId) {}
}
