//! SMTP decoding on several worker threads, output in one deterministic
//! order.
//!
//! The reader hands each connection to one of several decoder workers
//! ([`default_shards`]: one per core but the reader's, 2 to [`MAX_SHARDS`];
//! by connection id), each an [`Offload`] running its own [`SmtpPipeline`].
//! Finished sessions meet on an output thread, which writes them in the
//! order the reader saw the connections close: exactly the order (and so
//! the bytes) a single decoder would produce, whatever the threads do.
//! Which connections are not SMTP the reader learns at once from a
//! [gate](SmtpPipeline::gate) of its own, so it stops reassembling them
//! where a single decoder would have it stop: the packet layer's counters
//! do not depend on the threads either.
//!
//! Queues: each worker's input is the bounded batch queue of [`Offload`];
//! their results go through a bounded channel of [`RESULT_QUEUE`] entries.
//! The close order is a list of connection ids (8 bytes per connection
//! closed, never more than the connections of the run), unbounded so that
//! the reader can never wait on the output thread. Sessions a worker
//! finishes before their turn wait in the output thread's `early` map; it
//! holds at most what one worker decodes while the other's partly filled
//! batch has not been sent, and drains as soon as that batch arrives.

use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use rustc_hash::FxHashMap;

use super::offload::Offload;
use super::{PipelineConfig, PipelineStats, SessionConsumer, SmtpPipeline};
use crate::capture::Timestamp;
use crate::model::Session;
use crate::net::{Chunk, CloseReason, ConnId, ConnMeta, Dir, Interest, StreamSink};

/// Decoder workers at most: each may hold its queue of batches (about
/// 3 MiB when full), so more would cost memory the 100 MiB budget does not
/// have.
pub const MAX_SHARDS: usize = 8;

/// Decoder workers for this machine: one per core but the reader's, at
/// least two (on two cores the reader, two decoders and the output share
/// them), at most [`MAX_SHARDS`].
pub fn default_shards() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .saturating_sub(1)
        .clamp(2, MAX_SHARDS)
}

/// Finished sessions (or "not SMTP" answers) waiting for the output thread.
pub const RESULT_QUEUE: usize = 256;

/// A worker's consumer: holds the session its pipeline finished while
/// handling one close, then passes it on with that connection's id.
pub struct ShardOut {
    tx: SyncSender<(ConnId, Option<Box<Session>>)>,
    finished: Option<Session>,
}

impl SessionConsumer for ShardOut {
    fn session(&mut self, s: Session) {
        self.finished = Some(s);
    }
}

type Shard = Offload<SmtpPipeline<ShardOut>>;

/// The reader's side: a [`StreamSink`] spreading connections over workers.
pub struct Sharded<C: SessionConsumer + Send + 'static> {
    /// Answers for the reader which connections the workers will decline,
    /// at the byte where they will: the workers' own answers come back a
    /// batch or more late, after a number of bytes that depends on timing
    /// (and so would the packet layer's counters).
    gate: SmtpPipeline<fn(Session)>,
    shards: Vec<Shard>,
    order: std::sync::mpsc::Sender<ConnId>,
    output: JoinHandle<C>,
}

impl<C: SessionConsumer + Send + 'static> Sharded<C> {
    pub fn spawn(cfg: PipelineConfig, consumer: C) -> Self {
        Self::with_shards(cfg, consumer, default_shards())
    }

    /// [`Sharded::spawn`] with `shards` decoder workers (at least one).
    pub fn with_shards(cfg: PipelineConfig, consumer: C, shards: usize) -> Self {
        let gate = SmtpPipeline::gate(cfg.clone());
        let (results_tx, results_rx) = sync_channel(RESULT_QUEUE);
        let (order_tx, order_rx) = channel();
        let shards = (0..shards.max(1))
            .map(|_| {
                let cfg = cfg.clone();
                let tx = results_tx.clone();
                Offload::spawn_with_close_hook(
                    move || SmtpPipeline::new(cfg, ShardOut { tx, finished: None }),
                    |p: &mut SmtpPipeline<ShardOut>, id: ConnId| {
                        let out = p.consumer_mut();
                        let s = out.finished.take().map(Box::new);
                        // The output thread only stops once every worker
                        // is done, so this send cannot fail unless it died.
                        let _ = out.tx.send((id, s));
                    },
                )
            })
            .collect();
        drop(results_tx);
        let output = std::thread::Builder::new()
            .name("smtp-output".into())
            .spawn(move || merge(consumer, order_rx, results_rx))
            .expect("spawning the output thread");
        Sharded {
            gate,
            shards,
            order: order_tx,
            output,
        }
    }

    fn shard(&mut self, id: ConnId) -> &mut Shard {
        let n = self.shards.len();
        &mut self.shards[(id.0 % n as u64) as usize]
    }

    /// Wait for every worker and the output thread; the consumer comes back
    /// with the workers' counters summed.
    pub fn finish(self) -> std::thread::Result<(C, PipelineStats)> {
        // The gate judges first on the budget over all connections.
        let mut stats = PipelineStats {
            over_hold_budget: self.gate.stats.over_hold_budget,
            ..PipelineStats::default()
        };
        let mut failed = None;
        for shard in self.shards {
            match shard.finish() {
                Ok(p) => {
                    stats.smtp_sessions += p.stats.smtp_sessions;
                    stats.detected_by_content += p.stats.detected_by_content;
                    stats.not_smtp += p.stats.not_smtp;
                    stats.silent += p.stats.silent;
                }
                Err(e) => failed = Some(e),
            }
        }
        drop(self.order);
        let consumer = self.output.join()?;
        match failed {
            Some(e) => Err(e),
            None => Ok((consumer, stats)),
        }
    }
}

/// Write sessions in close order, holding early ones until their turn.
fn merge<C: SessionConsumer>(
    mut consumer: C,
    order: Receiver<ConnId>,
    results: Receiver<(ConnId, Option<Box<Session>>)>,
) -> C {
    let mut early: FxHashMap<ConnId, Option<Box<Session>>> = FxHashMap::default();
    for id in order {
        let result = loop {
            if let Some(r) = early.remove(&id) {
                break Some(r);
            }
            match results.recv() {
                Ok((got, r)) if got == id => break Some(r),
                Ok((got, r)) => {
                    early.insert(got, r);
                }
                // Every worker is gone (one died): nothing more will come.
                Err(_) => break None,
            }
        };
        if let Some(Some(s)) = result {
            consumer.session(*s);
        }
    }
    consumer
}

/// Every event goes to the gate and to the connection's worker (the worker
/// also sees the bytes on which the gate declines, and declines there too).
/// The reader hears the gate's answer: a worker's [`Offload`] always says
/// keep.
impl<C: SessionConsumer + Send + 'static> StreamSink for Sharded<C> {
    fn open(&mut self, conn: &ConnMeta) -> Interest {
        self.shard(conn.id).open(conn);
        self.gate.open(conn)
    }

    fn data(&mut self, conn: &ConnMeta, dir: Dir, chunk: Chunk<'_>) -> Interest {
        let gate = self.gate.data(conn, dir, chunk);
        let shard = self.shard(conn.id);
        shard.data(conn, dir, chunk);
        if gate == Interest::Ignore {
            // The worker declines on the same bytes, unless the gate ran
            // out of its hold budget first (the worker holds only its
            // share): then it must not keep what it held until the close.
            shard.forget(conn.id);
        }
        gate
    }

    fn gap(&mut self, conn: &ConnMeta, dir: Dir, ts: Timestamp, frame: u64, len: u64) {
        self.gate.gap(conn, dir, ts, frame, len);
        self.shard(conn.id).gap(conn, dir, ts, frame, len)
    }

    fn close(&mut self, conn: &ConnMeta, reason: CloseReason, ts: Timestamp) {
        self.gate.close(conn, reason, ts);
        self.shard(conn.id).close(conn, reason, ts);
        let _ = self.order.send(conn.id);
    }
}
