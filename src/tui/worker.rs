//! The pipeline thread: capture, reassembly and SMTP decoding run here and
//! reach the UI only as [`WorkerMsg`]s through a bounded channel.
//!
//! Caps and overflow: the channel holds [`CHANNEL_CAP`] messages; when the
//! UI falls behind, the worker blocks on send (for files this just slows
//! reading; live, the kernel buffer absorbs it and its drops are counted in
//! the status bar). Snapshots of open sessions are sent at most every
//! [`TICK`] and only for sessions that changed since the last one.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::capture::file::FileSource;
use crate::capture::Timestamp;
use crate::model::Session;
use crate::net::flow::{FlowConfig, FlowTable};
use crate::net::{ConnId, NetStats, StreamSink};
use crate::pipeline::{PipelineConfig, SmtpPipeline};

/// Messages in flight from the worker to the UI.
pub const CHANNEL_CAP: usize = 1024;
/// How often open-session snapshots, stats and progress are sent.
pub const TICK: Duration = Duration::from_millis(100);

/// What the worker tells the UI. The UI owns the model it draws.
#[derive(Debug)]
pub enum WorkerMsg {
    /// A snapshot of a session still in progress.
    SessionUpdated(Box<Session>),
    SessionFinished(Box<Session>),
    Stats(Box<SourceStats>),
    /// Raw bytes read and the total when known.
    Progress {
        read: u64,
        total: Option<u64>,
    },
    /// The source is exhausted; input errors, one line each.
    Done {
        errors: Vec<String>,
    },
    /// A message's bytes read again from the files (`Control::Reread`);
    /// `None` when they could not be found.
    MessageBytes {
        id: ConnId,
        txn: usize,
        raw: Option<Arc<Vec<u8>>>,
    },
}

#[derive(Clone, Debug, Default)]
pub struct SourceStats {
    pub net: NetStats,
    /// Live and replay: packets per second over the last tick.
    pub packets_per_sec: Option<f64>,
    pub kernel_dropped: Option<u64>,
}

/// From the UI to the worker.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// Replay: pause or resume.
    Pause(bool),
    /// Replay, while paused: run until the next dialogue event.
    Step,
    /// File mode: read a message whose bytes the UI dropped (its byte cap)
    /// again from the files, on a thread of its own.
    Reread { id: ConnId, txn: usize },
}

#[derive(Clone, Debug, Default)]
pub struct WorkerConfig {
    pub flow: FlowConfig,
    pub pipeline: PipelineConfig,
    /// Replay at the recorded pace times this factor.
    pub replay_speed: Option<f64>,
    /// The findings stage, run on each finished session before the UI gets it.
    pub analysis: crate::analysis::AnalysisConfig,
}

/// The UI's side of the worker. Dropping it stops the worker and joins it.
pub struct WorkerHandle {
    rx: Option<Receiver<WorkerMsg>>,
    ctl: Sender<Control>,
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<()>>,
    /// File mode: what a re-read needs.
    files: Option<(Vec<String>, WorkerConfig)>,
    /// Where answers from threads besides the worker go.
    aux: SyncSender<WorkerMsg>,
}

impl WorkerHandle {
    pub fn receiver(&self) -> &Receiver<WorkerMsg> {
        self.rx.as_ref().expect("receiver lives until drop")
    }

    pub fn control(&self, c: Control) {
        match (c, &self.files) {
            (Control::Reread { id, txn }, Some((files, cfg))) => {
                let (files, cfg, tx) = (files.clone(), cfg.clone(), self.aux.clone());
                // Detached: it ends with its one answer (or when the UI,
                // and so the channel, is gone).
                let _ = std::thread::Builder::new()
                    .name("smtpscope-reread".into())
                    .spawn(move || {
                        let raw = reread_message(&files, &cfg, id, txn);
                        let _ = tx.send(WorkerMsg::MessageBytes { id, txn, raw });
                    });
            }
            (Control::Reread { .. }, None) => {}
            _ => {
                let _ = self.ctl.send(c);
            }
        }
    }

    /// Stop flag shared with the source (live capture polls it).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblocks a worker waiting on a full channel.
        drop(self.rx.take());
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

fn spawn(stop: Arc<AtomicBool>, body: impl FnOnce(Driver) + Send + 'static) -> WorkerHandle {
    let (tx, rx) = mpsc::sync_channel(CHANNEL_CAP);
    let (ctl_tx, ctl_rx) = mpsc::channel();
    let stop2 = stop.clone();
    let aux = tx.clone();
    let join = std::thread::Builder::new()
        .name("smtpscope-pipeline".into())
        .spawn(move || body(Driver::new(tx, ctl_rx, stop2)))
        .expect("spawning the pipeline thread");
    WorkerHandle {
        rx: Some(rx),
        ctl: ctl_tx,
        stop,
        join: Some(join),
        files: None,
        aux,
    }
}

/// Decode the files again for connection `id` alone (the others are
/// declined at open, so they are not reassembled) and return the bytes
/// of its transaction `txn`. Connection ids are assigned in the order the
/// flow table first sees connections, so with the same files and flow
/// configuration `id` names the same connection.
pub fn reread_message(
    files: &[String],
    cfg: &WorkerConfig,
    id: ConnId,
    txn: usize,
) -> Option<Arc<Vec<u8>>> {
    struct Only<'p, F: FnMut(Session)> {
        id: ConnId,
        inner: &'p mut SmtpPipeline<F>,
    }
    impl<F: FnMut(Session)> StreamSink for Only<'_, F> {
        fn open(&mut self, conn: &crate::net::ConnMeta) -> crate::net::Interest {
            if conn.id == self.id {
                self.inner.open(conn)
            } else {
                crate::net::Interest::Ignore
            }
        }
        fn data(
            &mut self,
            conn: &crate::net::ConnMeta,
            dir: crate::net::Dir,
            chunk: crate::net::Chunk<'_>,
        ) -> crate::net::Interest {
            self.inner.data(conn, dir, chunk)
        }
        fn gap(
            &mut self,
            conn: &crate::net::ConnMeta,
            dir: crate::net::Dir,
            ts: Timestamp,
            frame: u64,
            len: u64,
        ) {
            self.inner.gap(conn, dir, ts, frame, len)
        }
        fn close(
            &mut self,
            conn: &crate::net::ConnMeta,
            reason: crate::net::CloseReason,
            ts: Timestamp,
        ) {
            self.inner.close(conn, reason, ts)
        }
    }
    let mut found = None;
    let mut pcfg = cfg.pipeline.clone();
    pcfg.decoder.keep_raw = true;
    let mut p = SmtpPipeline::new(pcfg, |s: Session| {
        if s.id == id {
            found = s
                .transactions
                .into_iter()
                .nth(txn)
                .and_then(|t| t.raw_message);
        }
    });
    let mut only = Only { id, inner: &mut p };
    crate::run::read_files(files, cfg.flow.clone(), &mut only);
    drop(p);
    found
}

/// Read capture files (at full speed, or paced for replay).
pub fn spawn_files(files: Vec<String>, cfg: WorkerConfig) -> WorkerHandle {
    let reread = (files.clone(), cfg.clone());
    let mut handle = spawn(Arc::new(AtomicBool::new(false)), move |mut d| {
        if let Some(speed) = cfg.replay_speed {
            d.pacer = Some(Pacer {
                speed: if speed > 0.0 { speed } else { 1.0 },
                base: None,
            });
        }
        d.run_files(&files, cfg)
    });
    handle.files = Some(reread);
    handle
}

/// Capture live from an interface; the source is opened before the TUI
/// starts so that its errors print normally.
#[cfg(feature = "live")]
pub fn spawn_live(
    mut source: crate::capture::live::LiveSource,
    stop: Arc<AtomicBool>,
    cfg: WorkerConfig,
) -> WorkerHandle {
    // The source polls the flag it was opened with; quitting sets it.
    spawn(stop, move |d| d.run_live(&mut source, cfg))
}

/// Replay pacing: packet `ts` is due at `base.1 + (ts - base.0) / speed`.
struct Pacer {
    speed: f64,
    base: Option<(Timestamp, Instant)>,
}

impl Pacer {
    fn due(&mut self, ts: Timestamp) -> Instant {
        let (t0, w0) = *self.base.get_or_insert((ts, Instant::now()));
        let nanos = (ts.since(t0).max(0) as f64 / self.speed) as u64;
        w0 + Duration::from_nanos(nanos)
    }
}

struct Driver {
    tx: SyncSender<WorkerMsg>,
    ctl: Receiver<Control>,
    stop: Arc<AtomicBool>,
    /// (timeline length, last event time) last sent per open session.
    sent: FxHashMap<ConnId, (usize, Timestamp)>,
    last_tick: Instant,
    packets_at_tick: u64,
    paused: bool,
    /// Stepping: the event count to move past.
    step_from: Option<u64>,
    finished: Rc<Cell<u64>>,
    pacer: Option<Pacer>,
    kernel_dropped: Option<u64>,
    progress: (u64, Option<u64>),
}

impl Driver {
    fn new(tx: SyncSender<WorkerMsg>, ctl: Receiver<Control>, stop: Arc<AtomicBool>) -> Driver {
        Driver {
            tx,
            ctl,
            stop,
            sent: FxHashMap::default(),
            last_tick: Instant::now(),
            packets_at_tick: 0,
            paused: false,
            step_from: None,
            finished: Rc::new(Cell::new(0)),
            pacer: None,
            kernel_dropped: None,
            progress: (0, None),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn send(&self, m: WorkerMsg) {
        if self.tx.send(m).is_err() {
            // The UI is gone.
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn pipeline(
        &self,
        mut cfg: PipelineConfig,
        analysis: crate::analysis::AnalysisConfig,
    ) -> SmtpPipeline<impl FnMut(Session)> {
        // The message view shows bodies and exports .eml files: keep the
        // bytes (the UI's store caps what it retains).
        cfg.decoder.keep_raw = true;
        let tx = self.tx.clone();
        let stop = self.stop.clone();
        let finished = self.finished.clone();
        let mut analyzer = crate::analysis::Analyzer::new(analysis);
        SmtpPipeline::new(cfg, move |mut s| {
            analyzer.session(&mut s);
            finished.set(finished.get() + 1);
            if tx.send(WorkerMsg::SessionFinished(Box::new(s))).is_err() {
                stop.store(true, Ordering::Relaxed);
            }
        })
    }

    /// Dialogue events so far: what single-stepping counts.
    fn event_count<F: FnMut(Session)>(&self, p: &SmtpPipeline<F>) -> u64 {
        self.finished.get()
            + p.open_sessions()
                .map(|s| s.timeline.len() as u64)
                .sum::<u64>()
    }

    fn handle(&mut self, c: Control, count: u64) {
        match c {
            Control::Pause(p) => {
                self.paused = p;
                if let Some(pacer) = &mut self.pacer {
                    // Resume from here, not from where the pause began.
                    pacer.base = None;
                }
            }
            Control::Step => {
                self.paused = true;
                self.step_from = Some(count);
            }
            // Handled by the handle, never sent here.
            Control::Reread { .. } => {}
        }
    }

    /// Pause, step and replay pacing; false when the run should end.
    fn before_packet<F: FnMut(Session)>(
        &mut self,
        ts: Timestamp,
        p: &SmtpPipeline<F>,
        table: &FlowTable,
    ) -> bool {
        loop {
            while let Ok(c) = self.ctl.try_recv() {
                let n = self.event_count(p);
                self.handle(c, n);
            }
            if self.stopped() {
                return false;
            }
            if self.step_from.is_some() {
                return true;
            }
            if self.paused {
                self.tick(p, table, false);
                match self.ctl.recv_timeout(Duration::from_millis(50)) {
                    Ok(c) => {
                        let n = self.event_count(p);
                        self.handle(c, n);
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return false,
                }
                continue;
            }
            if let Some(pacer) = &mut self.pacer {
                let due = pacer.due(ts);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep((due - now).min(Duration::from_millis(20)));
                    self.tick(p, table, false);
                    continue;
                }
            }
            return true;
        }
    }

    fn after_packet<F: FnMut(Session)>(&mut self, p: &SmtpPipeline<F>, table: &FlowTable) {
        if let Some(from) = self.step_from {
            if self.event_count(p) != from {
                self.step_from = None;
                if let Some(pacer) = &mut self.pacer {
                    pacer.base = None;
                }
                self.tick(p, table, true);
                return;
            }
        }
        self.tick(p, table, false);
    }

    fn tick<F: FnMut(Session)>(&mut self, p: &SmtpPipeline<F>, table: &FlowTable, force: bool) {
        let elapsed = self.last_tick.elapsed();
        if !force && elapsed < TICK {
            return;
        }
        self.last_tick = Instant::now();
        let mut open = rustc_hash::FxHashSet::default();
        for s in p.open_sessions() {
            let mark = (s.timeline.len(), s.last_ts);
            open.insert(s.id);
            if self.sent.get(&s.id) != Some(&mark) {
                self.sent.insert(s.id, mark);
                self.send(WorkerMsg::SessionUpdated(Box::new(s.clone())));
            }
        }
        self.sent.retain(|id, _| open.contains(id));
        let net = table.stats();
        let rate = if self.pacer.is_some() || self.kernel_dropped.is_some() {
            let secs = elapsed.as_secs_f64().max(1e-3);
            Some(net.packets.saturating_sub(self.packets_at_tick) as f64 / secs)
        } else {
            None
        };
        self.packets_at_tick = net.packets;
        self.send(WorkerMsg::Stats(Box::new(SourceStats {
            net,
            packets_per_sec: rate,
            kernel_dropped: self.kernel_dropped,
        })));
        let (read, total) = self.progress;
        self.send(WorkerMsg::Progress { read, total });
    }

    fn finish<F: FnMut(Session)>(
        &mut self,
        mut p: SmtpPipeline<F>,
        mut table: FlowTable,
        errors: Vec<String>,
    ) {
        if !self.stopped() {
            table.finish(&mut p as &mut dyn StreamSink);
        }
        self.tick(&p, &table, true);
        self.send(WorkerMsg::Done { errors });
    }

    fn run_files(mut self, files: &[String], cfg: WorkerConfig) {
        let mut p = self.pipeline(cfg.pipeline, cfg.analysis);
        let mut table = FlowTable::new(cfg.flow);
        let mut errors = Vec::new();
        let total = files
            .iter()
            .map(|f| {
                (f != "-")
                    .then(|| std::fs::metadata(f).ok().map(|m| m.len()))
                    .flatten()
            })
            .sum::<Option<u64>>();
        let mut done_bytes = 0;
        self.progress = (0, total);
        'files: for path in files {
            let mut src = match FileSource::open(path) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            let counter = src.progress_counter();
            let mut stopped = None;
            loop {
                match src.next_packet() {
                    Ok(Some(pkt)) => {
                        if !self.before_packet(pkt.ts, &p, &table) {
                            break 'files;
                        }
                        table.process(&pkt, &mut p);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        stopped = Some(e.to_string());
                        break;
                    }
                }
                self.progress = (done_bytes + counter.load(Ordering::Relaxed), total);
                self.after_packet(&p, &table);
            }
            // Damaged blocks skipped on the way come before where it stopped.
            errors.extend(src.take_skipped().map(|e| e.to_string()));
            errors.extend(stopped);
            done_bytes += counter.load(Ordering::Relaxed);
            self.progress = (done_bytes, total);
        }
        self.finish(p, table, errors);
    }

    #[cfg(feature = "live")]
    fn run_live(mut self, source: &mut crate::capture::live::LiveSource, cfg: WorkerConfig) {
        use crate::capture::live::LivePoll;
        let mut p = self.pipeline(cfg.pipeline, cfg.analysis);
        let mut table = FlowTable::new(cfg.flow);
        let mut errors = Vec::new();
        self.kernel_dropped = Some(0);
        loop {
            match source.poll() {
                Ok(LivePoll::Packet) => {
                    let pkt = source.packet();
                    if !self.before_packet(pkt.ts, &p, &table) {
                        break;
                    }
                    table.process(&pkt, &mut p);
                }
                // A quiet interface still gets its last packets on screen.
                Ok(LivePoll::Idle) => {
                    if self.stopped() {
                        break;
                    }
                }
                Ok(LivePoll::End) => break,
                Err(e) => {
                    errors.push(e.to_string());
                    break;
                }
            }
            if self.last_tick.elapsed() >= TICK {
                self.kernel_dropped = Some(source.stats().kernel_dropped);
            }
            self.after_packet(&p, &table);
        }
        let _ = source.flush();
        self.finish(p, table, errors);
    }
}
