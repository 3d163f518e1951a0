//! One direction of a TCP connection put back in order.
//!
//! Invariants:
//! - bytes are delivered exactly once, in stream order; what can never be
//!   delivered (a hole the capture lost) becomes one explicit gap of the
//!   hole's size, after which delivery resumes;
//! - out-of-order data held at any time is at most `max_ooo_bytes` bytes in
//!   at most `max_ooo_segments` segments; overflowing either turns the first
//!   hole into a gap (counted) rather than growing;
//! - sequence numbers are compared with wrapping arithmetic; positions are
//!   kept as 64-bit stream offsets so nothing wraps past the first 4 GiB.
//!
//! A hole is declared lost when the receiver acknowledged bytes beyond it
//! (it got them; the capture did not), when buffers overflow, or when the
//! connection ends.

use std::collections::BTreeMap;

use super::seq::Seq;
use crate::capture::Timestamp;

/// Out-of-order bytes held per direction by default.
pub const DEFAULT_MAX_OOO_BYTES: usize = 1024 * 1024;
/// Out-of-order segments held per direction by default.
pub const DEFAULT_MAX_OOO_SEGMENTS: usize = 2048;
/// Delivered bytes remembered per direction to check that a retransmission
/// repeats what was delivered (a difference is an evasion sign).
pub const RECENT_BYTES: usize = 1024;
/// Segments further than this from the expected sequence number are not
/// part of this stream (a stale 4-tuple, garbage): dropped and counted.
const MAX_WINDOW: i64 = 1 << 30;

#[derive(Clone, Debug)]
pub struct ReassemblyConfig {
    pub max_ooo_bytes: usize,
    pub max_ooo_segments: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_ooo_bytes: DEFAULT_MAX_OOO_BYTES,
            max_ooo_segments: DEFAULT_MAX_OOO_SEGMENTS,
        }
    }
}

/// What one direction reports, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    Data {
        bytes: &'a [u8],
        ts: Timestamp,
        frame: u64,
    },
    Gap {
        len: u64,
        ts: Timestamp,
        frame: u64,
    },
}

/// Reassembly counters for one direction (summed into the run's stats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamCounters {
    pub bytes_delivered: u64,
    pub out_of_order: u64,
    pub retransmitted: u64,
    /// Retransmissions whose bytes differ from what was delivered.
    pub conflicting_overlaps: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Times the out-of-order buffer was full and a hole was given up.
    pub ooo_overflows: u64,
    pub out_of_window: u64,
}

struct Held {
    data: Vec<u8>,
    ts: Timestamp,
    frame: u64,
}

/// One direction of a connection.
pub struct HalfStream {
    synced: bool,
    /// Sequence number of the next byte to deliver.
    next: Seq,
    /// Stream offset of `next`.
    offset: u64,
    held: BTreeMap<u64, Held>,
    held_bytes: usize,
    /// Last delivered bytes, ending at `offset` (lazily allocated).
    recent: Vec<u8>,
    /// Highest stream offset the peer acknowledged.
    peer_acked: u64,
    fin_at: Option<u64>,
    /// Delivery stopped: the consumer lost interest.
    muted: bool,
    /// Time and frame of the last segment seen, for gaps with nothing after.
    last_ts: Timestamp,
    last_frame: u64,
    pub counters: StreamCounters,
}

impl Default for HalfStream {
    fn default() -> Self {
        Self::new()
    }
}

impl HalfStream {
    pub fn new() -> Self {
        HalfStream {
            synced: false,
            next: Seq(0),
            offset: 0,
            held: BTreeMap::new(),
            held_bytes: 0,
            recent: Vec::new(),
            peer_acked: 0,
            fin_at: None,
            muted: false,
            last_ts: Timestamp::ZERO,
            last_frame: 0,
            counters: StreamCounters::default(),
        }
    }

    /// Stop buffering and delivering (sequence tracking goes on).
    pub fn mute(&mut self) {
        self.muted = true;
        self.held.clear();
        self.held_bytes = 0;
        self.recent = Vec::new();
    }

    /// The FIN has been reached: every byte before it was delivered.
    pub fn finished(&self) -> bool {
        self.fin_at.is_some_and(|f| self.offset >= f)
    }

    /// Bytes held out of order right now.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Stream offset of the next byte to deliver.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// A SYN from this direction fixes the initial sequence number.
    pub fn syn(&mut self, isn: Seq) {
        if !self.synced {
            self.synced = true;
            self.next = isn + 1;
        }
    }

    /// A segment from this direction (`seq` is the first payload byte's
    /// sequence number, i.e. after the SYN if it carried one).
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        cfg: &ReassemblyConfig,
        seq: Seq,
        payload: &[u8],
        fin: bool,
        ts: Timestamp,
        frame: u64,
        emit: &mut dyn FnMut(Delivery<'_>),
    ) {
        self.last_ts = ts;
        self.last_frame = frame;
        if !self.synced {
            // Picked up mid-stream: this segment is where the stream starts.
            self.synced = true;
            self.next = seq;
        }
        let rel = seq.diff(self.next);
        if !(-MAX_WINDOW..=MAX_WINDOW).contains(&rel) {
            self.counters.out_of_window += 1;
            return;
        }
        let start = self.offset as i64 + rel;
        let end = start + payload.len() as i64;
        if fin && end >= 0 {
            let end = end as u64;
            // The first FIN wins; a later, different one is ignored.
            self.fin_at.get_or_insert(end);
        }
        if payload.is_empty() {
            return;
        }
        if end <= self.offset as i64 {
            self.counters.retransmitted += 1;
            if start >= 0 {
                self.check_overlap(start as u64, payload);
            }
            return;
        }
        let (start, payload) = if start < self.offset as i64 {
            self.counters.retransmitted += 1;
            let cut = (self.offset as i64 - start) as usize;
            if start >= 0 {
                self.check_overlap(start as u64, &payload[..cut]);
            }
            (self.offset, &payload[cut..])
        } else {
            (start as u64, payload)
        };
        if self.muted {
            self.advance_to(start + payload.len() as u64);
            return;
        }
        if start == self.offset {
            self.deliver(payload, ts, frame, emit);
            self.drain(emit);
        } else {
            self.counters.out_of_order += 1;
            self.hold(cfg, start, payload, ts, frame, emit);
        }
    }

    /// The peer acknowledged up to `ack` (exclusive).
    pub fn peer_ack(&mut self, ack: Seq, emit: &mut dyn FnMut(Delivery<'_>)) {
        if !self.synced {
            return;
        }
        let rel = ack.diff(self.next);
        if rel > 0 && rel <= MAX_WINDOW {
            self.peer_acked = self.peer_acked.max(self.offset + rel as u64);
            self.give_up_acked_holes(emit);
        }
    }

    /// The connection is over: give up every hole and deliver what is held.
    /// A hole between the last byte seen and the FIN is a gap too.
    pub fn flush(&mut self, emit: &mut dyn FnMut(Delivery<'_>)) {
        while let Some((&start, _)) = self.held.first_key_value() {
            self.gap_to(start, emit);
            self.drain(emit);
        }
        if let Some(fin) = self.fin_at {
            if !self.muted {
                self.gap_to(fin, emit);
            }
        }
    }

    fn hold(
        &mut self,
        cfg: &ReassemblyConfig,
        start: u64,
        payload: &[u8],
        ts: Timestamp,
        frame: u64,
        emit: &mut dyn FnMut(Delivery<'_>),
    ) {
        // Keep the longer of two segments that start at the same place.
        if let Some(old) = self.held.get(&start) {
            if old.data.len() >= payload.len() {
                self.counters.retransmitted += 1;
                if old.data[..payload.len()] != *payload {
                    self.counters.conflicting_overlaps += 1;
                }
                return;
            }
            self.held_bytes -= old.data.len();
        }
        while !self.held.is_empty()
            && (self.held_bytes + payload.len() > cfg.max_ooo_bytes
                || self.held.len() >= cfg.max_ooo_segments)
        {
            self.counters.ooo_overflows += 1;
            let first = *self.held.keys().next().unwrap_or(&start);
            if first > start {
                // The new segment is the earliest: it will be delivered
                // right after the gap below.
                break;
            }
            self.gap_to(first, emit);
            self.drain(emit);
        }
        if start == self.offset {
            self.deliver(payload, ts, frame, emit);
            self.drain(emit);
            return;
        }
        if self.held_bytes + payload.len() > cfg.max_ooo_bytes
            || self.held.len() >= cfg.max_ooo_segments
        {
            // Still no room: this segment is ahead of everything held.
            self.counters.ooo_overflows += 1;
            self.gap_to(start, emit);
            self.deliver(payload, ts, frame, emit);
            self.drain(emit);
            return;
        }
        self.held_bytes += payload.len();
        self.held.insert(
            start,
            Held {
                data: payload.to_vec(),
                ts,
                frame,
            },
        );
        self.give_up_acked_holes(emit);
    }

    /// A hole below bytes the peer has acknowledged will never be filled.
    fn give_up_acked_holes(&mut self, emit: &mut dyn FnMut(Delivery<'_>)) {
        while let Some((&start, _)) = self.held.first_key_value() {
            if start > self.peer_acked || start <= self.offset {
                break;
            }
            self.gap_to(start, emit);
            self.drain(emit);
        }
    }

    /// Deliver held segments that are now in order.
    fn drain(&mut self, emit: &mut dyn FnMut(Delivery<'_>)) {
        while let Some(entry) = self.held.first_entry() {
            let start = *entry.key();
            if start > self.offset {
                break;
            }
            let held = entry.remove();
            self.held_bytes -= held.data.len();
            let end = start + held.data.len() as u64;
            if end <= self.offset {
                self.counters.retransmitted += 1;
                self.check_overlap(start, &held.data);
                continue;
            }
            let cut = (self.offset - start) as usize;
            if cut > 0 {
                self.check_overlap(start, &held.data[..cut]);
            }
            self.deliver(&held.data[cut..], held.ts, held.frame, emit);
        }
    }

    fn gap_to(&mut self, target: u64, emit: &mut dyn FnMut(Delivery<'_>)) {
        if target <= self.offset {
            return;
        }
        let len = target - self.offset;
        let (ts, frame) = self
            .held
            .get(&target)
            .map(|h| (h.ts, h.frame))
            .unwrap_or((self.last_ts, self.last_frame));
        self.counters.gaps += 1;
        self.counters.gap_bytes += len;
        emit(Delivery::Gap { len, ts, frame });
        self.advance_to(target);
        // Bytes before the gap are no longer adjacent to what follows.
        self.recent.clear();
    }

    fn advance_to(&mut self, target: u64) {
        if target > self.offset {
            self.next = self.next + (target - self.offset) as u32;
            self.offset = target;
        }
    }

    fn deliver(
        &mut self,
        bytes: &[u8],
        ts: Timestamp,
        frame: u64,
        emit: &mut dyn FnMut(Delivery<'_>),
    ) {
        if bytes.is_empty() {
            return;
        }
        self.remember(bytes);
        self.advance_to(self.offset + bytes.len() as u64);
        self.counters.bytes_delivered += bytes.len() as u64;
        emit(Delivery::Data { bytes, ts, frame });
    }

    /// Keep the last [`RECENT_BYTES`] delivered; the buffer holds up to twice
    /// that so the shift happens once per RECENT_BYTES appended.
    fn remember(&mut self, bytes: &[u8]) {
        if bytes.len() >= RECENT_BYTES {
            self.recent.clear();
            self.recent
                .extend_from_slice(&bytes[bytes.len() - RECENT_BYTES..]);
            return;
        }
        if self.recent.len() + bytes.len() > 2 * RECENT_BYTES {
            let keep = RECENT_BYTES
                .saturating_sub(bytes.len())
                .min(self.recent.len());
            let from = self.recent.len() - keep;
            self.recent.copy_within(from.., 0);
            self.recent.truncate(keep);
        }
        self.recent.extend_from_slice(bytes);
    }

    /// Compare retransmitted bytes at stream offset `start` with what was
    /// delivered there, as far as we still remember it.
    fn check_overlap(&mut self, start: u64, bytes: &[u8]) {
        // A 1-byte segment just below the window is a keep-alive probe whose
        // byte is garbage by design (RFC 9293 §3.8.4).
        if bytes.len() <= 1 {
            return;
        }
        let remembered_from = self.offset - self.recent.len() as u64;
        let end = start + bytes.len() as u64;
        let lo = start.max(remembered_from);
        let hi = end.min(self.offset);
        if lo >= hi {
            return;
        }
        let ours = &self.recent[(lo - remembered_from) as usize..(hi - remembered_from) as usize];
        let theirs = &bytes[(lo - start) as usize..(hi - start) as usize];
        if ours != theirs {
            self.counters.conflicting_overlaps += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Out {
        Data(Vec<u8>),
        Gap(u64),
    }

    fn run(stream: &mut HalfStream, segs: &[(u32, &[u8])]) -> Vec<Out> {
        let cfg = ReassemblyConfig::default();
        let mut out = Vec::new();
        for (seq, data) in segs {
            stream.segment(&cfg, Seq(*seq), data, false, Timestamp::ZERO, 0, &mut |d| {
                push(&mut out, d)
            });
        }
        out
    }

    fn push(out: &mut Vec<Out>, d: Delivery<'_>) {
        match d {
            Delivery::Data { bytes, .. } => match out.last_mut() {
                Some(Out::Data(v)) => v.extend_from_slice(bytes),
                _ => out.push(Out::Data(bytes.to_vec())),
            },
            Delivery::Gap { len, .. } => out.push(Out::Gap(len)),
        }
    }

    #[test]
    fn test_in_order_and_out_of_order_deliver_the_same_bytes() {
        let mut s = HalfStream::new();
        s.syn(Seq(99));
        let out = run(&mut s, &[(100, b"HEL"), (106, b"WORLD"), (103, b"LO ")]);
        assert_eq!(out, vec![Out::Data(b"HELLO WORLD".to_vec())]);
        assert_eq!(s.counters.out_of_order, 1);
    }

    #[test]
    fn test_sequence_wrap_keeps_order() {
        let mut s = HalfStream::new();
        s.syn(Seq(u32::MAX - 2));
        let out = run(&mut s, &[(u32::MAX - 1, b"ab"), (0, b"cd"), (2, b"ef")]);
        assert_eq!(out, vec![Out::Data(b"abcdef".to_vec())]);
    }

    #[test]
    fn test_retransmission_dropped_and_conflict_counted() {
        let mut s = HalfStream::new();
        s.syn(Seq(0));
        let out = run(
            &mut s,
            &[(1, b"hello"), (1, b"hello"), (1, b"jello"), (3, b"llo!!")],
        );
        assert_eq!(out, vec![Out::Data(b"hello!!".to_vec())]);
        assert_eq!(s.counters.retransmitted, 3);
        assert_eq!(s.counters.conflicting_overlaps, 1);
    }

    #[test]
    fn test_hole_acknowledged_by_peer_becomes_gap() {
        let mut s = HalfStream::new();
        s.syn(Seq(0));
        let mut out = run(&mut s, &[(1, b"abc"), (10, b"xyz")]);
        assert_eq!(out, vec![Out::Data(b"abc".to_vec())]);
        s.peer_ack(Seq(13), &mut |d| push(&mut out, d));
        assert_eq!(
            out,
            vec![
                Out::Data(b"abc".to_vec()),
                Out::Gap(6),
                Out::Data(b"xyz".to_vec())
            ]
        );
    }

    #[test]
    fn test_flush_turns_remaining_holes_into_gaps() {
        let mut s = HalfStream::new();
        s.syn(Seq(0));
        let mut out = run(&mut s, &[(5, b"bb"), (10, b"cc")]);
        s.flush(&mut |d| push(&mut out, d));
        assert_eq!(
            out,
            vec![
                Out::Gap(4),
                Out::Data(b"bb".to_vec()),
                Out::Gap(3),
                Out::Data(b"cc".to_vec())
            ]
        );
    }

    #[test]
    fn test_ooo_cap_gives_up_hole_instead_of_growing() {
        let cfg = ReassemblyConfig {
            max_ooo_bytes: 4,
            max_ooo_segments: 100,
        };
        let mut s = HalfStream::new();
        s.syn(Seq(0));
        let mut out = Vec::new();
        for (seq, d) in [(3u32, &b"aa"[..]), (5, b"bb"), (7, b"cc")] {
            s.segment(&cfg, Seq(seq), d, false, Timestamp::ZERO, 0, &mut |x| {
                push(&mut out, x)
            });
            assert!(s.held_bytes() <= 4);
        }
        assert_eq!(out, vec![Out::Gap(2), Out::Data(b"aabbcc".to_vec())]);
        assert!(s.counters.ooo_overflows >= 1);
    }

    #[test]
    fn test_midstream_pickup_starts_at_first_segment() {
        let mut s = HalfStream::new();
        let out = run(&mut s, &[(5000, b"250 ok\r\n"), (5008, b"more")]);
        assert_eq!(out, vec![Out::Data(b"250 ok\r\nmore".to_vec())]);
    }

    #[test]
    fn test_fin_marks_finished_after_all_bytes() {
        let cfg = ReassemblyConfig::default();
        let mut s = HalfStream::new();
        s.syn(Seq(0));
        let mut sink = |_: Delivery<'_>| {};
        s.segment(&cfg, Seq(4), b"d", true, Timestamp::ZERO, 0, &mut sink);
        assert!(!s.finished());
        s.segment(&cfg, Seq(1), b"abc", false, Timestamp::ZERO, 0, &mut sink);
        assert!(s.finished());
    }
}
