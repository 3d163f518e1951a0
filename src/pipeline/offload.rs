//! Running a [`StreamSink`] on a second thread, so that reading and
//! reassembly use one core and SMTP decoding, MIME and output the other.
//!
//! Net events are forwarded in batches (payload bytes copied once into the
//! batch) over a bounded channel of [`QUEUE_BATCHES`] batches: a slow
//! consumer slows the reader down instead of growing memory. The reader
//! always hears [`Interest::Keep`]: what the consumer declines it drops
//! itself, and a reader that must stop reassembling declined connections
//! asks a gate of its own (see [`super::sharded`]), since an answer from
//! the worker would come late by a number of bytes that depends on timing.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::capture::Timestamp;
use crate::net::{Chunk, CloseReason, ConnId, ConnMeta, Dir, Interest, StreamSink};

/// Batches in flight between the two threads.
pub const QUEUE_BATCHES: usize = 8;
/// A batch is sent once it holds this many payload bytes...
pub const BATCH_BYTES: usize = 256 * 1024;
/// ...or this many events.
pub const BATCH_EVENTS: usize = 2048;

enum Ev {
    Open(Box<ConnMeta>),
    Data {
        id: ConnId,
        dir: Dir,
        ts: Timestamp,
        frame: u64,
        start: usize,
        len: usize,
    },
    Gap {
        id: ConnId,
        dir: Dir,
        ts: Timestamp,
        frame: u64,
        len: u64,
    },
    Close {
        id: ConnId,
        reason: CloseReason,
        ts: Timestamp,
    },
    Forget(ConnId),
}

#[derive(Default)]
struct Batch {
    events: Vec<Ev>,
    bytes: Vec<u8>,
}

impl Batch {
    /// Room for a full batch plus the one chunk that overflows it, so that
    /// filling it never reallocates (and copies) the bytes.
    fn sized() -> Batch {
        Batch {
            events: Vec::with_capacity(BATCH_EVENTS),
            bytes: Vec::with_capacity(BATCH_BYTES + MAX_CHUNK),
        }
    }
}

/// The largest chunk a sink is handed (a TCP payload fits in 64 KiB).
const MAX_CHUNK: usize = 64 * 1024;

/// The reader's side: a [`StreamSink`] that forwards to the worker thread.
pub struct Offload<S: StreamSink + Send + 'static> {
    tx: Option<SyncSender<Batch>>,
    /// Emptied batches coming back from the worker, reused as they are.
    recycled: Receiver<Batch>,
    batch: Batch,
    worker: Option<JoinHandle<S>>,
}

impl<S: StreamSink + Send + 'static> Offload<S> {
    /// Start the worker; `make` builds the sink on the worker thread (so it
    /// may hold things that must not cross threads, like a stdout lock).
    pub fn spawn<F>(make: F) -> Self
    where
        F: FnOnce() -> S + Send + 'static,
    {
        Self::spawn_with_close_hook(make, |_: &mut S, _: ConnId| {})
    }

    /// Like [`Offload::spawn`], and `after_close` runs on the worker after
    /// every connection's close has been handled by the sink (even for
    /// connections the sink declined), in close order.
    pub fn spawn_with_close_hook<F, H>(make: F, mut after_close: H) -> Self
    where
        F: FnOnce() -> S + Send + 'static,
        H: FnMut(&mut S, ConnId) + Send + 'static,
    {
        let (tx, rx) = sync_channel::<Batch>(QUEUE_BATCHES);
        // At most the batches in flight come back: the queue, the one the
        // worker holds, the one being filled.
        let (back_tx, recycled) = sync_channel::<Batch>(QUEUE_BATCHES + 2);
        let worker = std::thread::Builder::new()
            .name("smtp".into())
            .spawn(move || work(make(), rx, back_tx, &mut after_close))
            .expect("spawning the decoder thread");
        Offload {
            tx: Some(tx),
            recycled,
            batch: Batch::sized(),
            worker: Some(worker),
        }
    }

    fn push(&mut self, ev: Ev) {
        self.batch.events.push(ev);
        if self.batch.events.len() >= BATCH_EVENTS || self.batch.bytes.len() >= BATCH_BYTES {
            self.send();
        }
    }

    fn send(&mut self) {
        if self.batch.events.is_empty() {
            return;
        }
        let next = self.recycled.try_recv().unwrap_or_else(|_| Batch::sized());
        let batch = std::mem::replace(&mut self.batch, next);
        if let Some(tx) = &self.tx {
            // A worker that died (panicked) is reported by `finish`.
            let _ = tx.send(batch);
        }
    }

    /// Deliver what is batched, wait for the worker, and hand its sink back.
    pub fn finish(mut self) -> std::thread::Result<S> {
        self.send();
        drop(self.tx.take());
        match self.worker.take() {
            Some(w) => w.join(),
            None => Err(Box::new("worker already joined")),
        }
    }
}

impl<S: StreamSink + Send + 'static> StreamSink for Offload<S> {
    fn open(&mut self, conn: &ConnMeta) -> Interest {
        self.push(Ev::Open(Box::new(conn.clone())));
        Interest::Keep
    }

    fn data(&mut self, conn: &ConnMeta, dir: Dir, chunk: Chunk<'_>) -> Interest {
        let start = self.batch.bytes.len();
        self.batch.bytes.extend_from_slice(chunk.bytes);
        self.push(Ev::Data {
            id: conn.id,
            dir,
            ts: chunk.ts,
            frame: chunk.frame,
            start,
            len: chunk.bytes.len(),
        });
        Interest::Keep
    }

    fn gap(&mut self, conn: &ConnMeta, dir: Dir, ts: Timestamp, frame: u64, len: u64) {
        self.push(Ev::Gap {
            id: conn.id,
            dir,
            ts,
            frame,
            len,
        });
    }

    fn forget(&mut self, conn: ConnId) {
        self.push(Ev::Forget(conn));
    }

    fn close(&mut self, conn: &ConnMeta, reason: CloseReason, ts: Timestamp) {
        self.push(Ev::Close {
            id: conn.id,
            reason,
            ts,
        });
    }
}

/// The worker: replay batches into the real sink, in order.
fn work<S: StreamSink>(
    mut sink: S,
    rx: Receiver<Batch>,
    back: SyncSender<Batch>,
    after_close: &mut dyn FnMut(&mut S, ConnId),
) -> S {
    let mut conns: FxHashMap<ConnId, ConnMeta> = FxHashMap::default();
    let mut ignored: FxHashSet<ConnId> = FxHashSet::default();
    for mut batch in rx {
        for ev in batch.events.drain(..) {
            match ev {
                Ev::Open(meta) => {
                    if sink.open(&meta) == Interest::Ignore {
                        ignored.insert(meta.id);
                    }
                    conns.insert(meta.id, *meta);
                }
                Ev::Data {
                    id,
                    dir,
                    ts,
                    frame,
                    start,
                    len,
                } => {
                    if ignored.contains(&id) {
                        continue;
                    }
                    if let Some(meta) = conns.get(&id) {
                        let bytes = &batch.bytes[start..start + len];
                        if sink.data(meta, dir, Chunk { ts, frame, bytes }) == Interest::Ignore {
                            ignored.insert(id);
                        }
                    }
                }
                Ev::Gap {
                    id,
                    dir,
                    ts,
                    frame,
                    len,
                } => {
                    if !ignored.contains(&id) {
                        if let Some(meta) = conns.get(&id) {
                            sink.gap(meta, dir, ts, frame, len);
                        }
                    }
                }
                Ev::Forget(id) => {
                    if ignored.insert(id) {
                        sink.forget(id);
                    }
                }
                Ev::Close { id, reason, ts } => {
                    ignored.remove(&id);
                    if let Some(meta) = conns.remove(&id) {
                        sink.close(&meta, reason, ts);
                    }
                    after_close(&mut sink, id);
                }
            }
        }
        batch.bytes.clear();
        // Full (more in flight than expected) or the reader is gone:
        // the batch is simply freed.
        let _ = back.try_send(batch);
    }
    sink
}
