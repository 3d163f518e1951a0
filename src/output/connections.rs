//! The connection list: what the packet layer found, one line per TCP
//! connection as it ends (endpoints, times, bytes each way, gaps, how it
//! ended). Streaming: nothing is kept once a connection is printed.

use rustc_hash::FxHashMap;
use std::io::{self, Write};

use crate::capture::Timestamp;
use crate::net::{Chunk, CloseReason, ConnId, ConnMeta, Dir, Interest, StreamSink};

#[derive(Default)]
struct Tally {
    bytes: [u64; 2],
    gaps: u64,
    gap_bytes: u64,
    last: Timestamp,
}

/// A [`StreamSink`] that prints each connection when it closes.
pub struct ConnectionLister<W: Write> {
    out: W,
    open: FxHashMap<ConnId, Tally>,
    /// First write error; later events are dropped once output failed.
    pub error: Option<io::Error>,
    pub printed: u64,
}

impl<W: Write> ConnectionLister<W> {
    pub fn new(out: W) -> Self {
        ConnectionLister {
            out,
            open: FxHashMap::default(),
            error: None,
            printed: 0,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> StreamSink for ConnectionLister<W> {
    fn open(&mut self, conn: &ConnMeta) -> Interest {
        self.open.insert(
            conn.id,
            Tally {
                last: conn.start,
                ..Tally::default()
            },
        );
        Interest::Keep
    }

    fn data(&mut self, conn: &ConnMeta, dir: Dir, chunk: Chunk<'_>) -> Interest {
        if let Some(t) = self.open.get_mut(&conn.id) {
            t.bytes[dir.index()] += chunk.bytes.len() as u64;
            t.last = t.last.max(chunk.ts);
        }
        Interest::Keep
    }

    fn gap(&mut self, conn: &ConnMeta, _dir: Dir, _ts: Timestamp, _frame: u64, len: u64) {
        if let Some(t) = self.open.get_mut(&conn.id) {
            t.gaps += 1;
            t.gap_bytes += len;
        }
    }

    fn close(&mut self, conn: &ConnMeta, reason: CloseReason, ts: Timestamp) {
        let t = self.open.remove(&conn.id).unwrap_or_default();
        if self.error.is_some() {
            return;
        }
        let end = t.last.max(ts);
        let gaps = if t.gaps > 0 {
            format!(" gaps={} ({} bytes)", t.gaps, t.gap_bytes)
        } else {
            String::new()
        };
        let r = writeln!(
            self.out,
            "{:>6} {} {} -> {} {:>10.6}s c->s {} B  s->c {} B  {}{}{}",
            conn.id,
            conn.start.rfc3339(),
            conn.client,
            conn.server,
            end.since(conn.start) as f64 / 1e9,
            t.bytes[0],
            t.bytes[1],
            reason.as_str(),
            if conn.handshake_seen() {
                ""
            } else {
                " (no handshake)"
            },
            gaps
        );
        match r {
            Ok(()) => self.printed += 1,
            Err(e) => self.error = Some(e),
        }
    }
}
