//! A bounded map for cross-session state: at most `cap` keys; when full,
//! the least recently touched eighth is evicted at once (LRU-ish, so an
//! insert costs O(1) amortized) and the evictions are counted.

use std::hash::Hash;

use rustc_hash::FxHashMap;

/// Clients (or servers) tracked per cross-session table.
pub const MAX_TRACKED: usize = 4096;

pub struct Tracker<K, V> {
    map: FxHashMap<K, (u64, V)>,
    cap: usize,
    tick: u64,
    evicted: u64,
}

impl<K: Hash + Eq + Clone, V: Default> Tracker<K, V> {
    pub fn new(cap: usize) -> Self {
        Tracker {
            map: FxHashMap::default(),
            cap: cap.max(1),
            tick: 0,
            evicted: 0,
        }
    }

    /// The entry for `key`, created if absent, marked as just used.
    pub fn entry(&mut self, key: &K) -> &mut V {
        self.tick += 1;
        if !self.map.contains_key(key) && self.map.len() >= self.cap {
            self.evict();
        }
        let tick = self.tick;
        let e = self
            .map
            .entry(key.clone())
            .or_insert_with(|| (tick, V::default()));
        e.0 = tick;
        &mut e.1
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|e| &e.1)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    fn evict(&mut self) {
        let mut ticks: Vec<u64> = self.map.values().map(|e| e.0).collect();
        let n = (self.cap / 8).max(1);
        ticks.select_nth_unstable(n - 1);
        let limit = ticks[n - 1];
        let before = self.map.len();
        self.map.retain(|_, e| e.0 > limit);
        self.evicted += (before - self.map.len()) as u64;
    }
}

impl<K: Hash + Eq + Clone, V: Default> Default for Tracker<K, V> {
    fn default() -> Self {
        Tracker::new(MAX_TRACKED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_tracker_stays_under_cap_and_keeps_recent_keys() {
        let mut t: Tracker<u32, u32> = Tracker::new(16);
        for i in 0..1000 {
            *t.entry(&i) += 1;
            *t.entry(&0) += 1; // kept hot
        }
        assert!(t.len() <= 16);
        assert!(t.get(&0).is_some());
        assert!(t.get(&999).is_some());
        assert!(t.evicted() >= 1000 - 16);
    }
}
