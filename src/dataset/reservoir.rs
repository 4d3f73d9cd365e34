//! Deterministic uniform sampling without replacement: every candidate gets a priority from a
//! keyed hash of (seed, stable identity); the k smallest priorities win (bottom-k sampling).
//! Partial samples from parallel workers merge exactly, so the result does not depend on the
//! thread count or the order in which work finished.

/// SplitMix64 finaliser: a fast, well-mixed 64-bit hash step.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Priority of an item identified by `parts` under `seed`.
pub fn priority(seed: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(mix64(seed), |h, &p| mix64(h ^ p))
}

/// Stable 64-bit hash of a string (FNV-1a), for identities such as file names.
pub fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Keeps the `k` items with the smallest `(priority, order)`; `order` breaks ties and is the
/// output order key.
#[derive(Debug, Clone)]
pub struct BottomK<T> {
    k: usize,
    heap: std::collections::BinaryHeap<Entry<T>>,
    seen: u64,
}

#[derive(Debug, Clone)]
struct Entry<T> {
    key: (u64, u64),
    item: T,
}
impl<T> PartialEq for Entry<T> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

impl<T> BottomK<T> {
    pub fn new(k: usize) -> Self {
        BottomK { k, heap: std::collections::BinaryHeap::new(), seen: 0 }
    }

    /// Would an item with this priority be kept right now? Lets callers skip building it.
    #[inline]
    pub fn would_keep(&self, priority: u64, order: u64) -> bool {
        if self.k == 0 {
            return false;
        }
        self.heap.len() < self.k || self.heap.peek().is_some_and(|top| (priority, order) < top.key)
    }

    /// Count an item as seen without offering it (it would not be kept).
    pub fn count_seen(&mut self) {
        self.seen += 1;
    }

    pub fn offer(&mut self, priority: u64, order: u64, item: T) {
        self.seen += 1;
        self.offer_unseen(priority, order, item);
    }

    fn offer_unseen(&mut self, priority: u64, order: u64, item: T) {
        if !self.would_keep(priority, order) {
            return;
        }
        self.heap.push(Entry { key: (priority, order), item });
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    pub fn seen(&self) -> u64 {
        self.seen
    }
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn merge(&mut self, other: BottomK<T>) {
        self.seen += other.seen;
        for e in other.heap {
            self.offer_unseen(e.key.0, e.key.1, e.item);
        }
    }

    /// Kept items sorted by their `order` key.
    pub fn into_sorted(self) -> Vec<T> {
        let mut v: Vec<Entry<T>> = self.heap.into_vec();
        v.sort_by_key(|e| (e.key.1, e.key.0));
        v.into_iter().map(|e| e.item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_equals_single_pass() {
        let seed = 42;
        let mut all = BottomK::new(10);
        let mut parts: Vec<BottomK<u64>> = (0..4).map(|_| BottomK::new(10)).collect();
        for i in 0..1000u64 {
            let p = priority(seed, &[i]);
            all.offer(p, i, i);
            parts[(i % 4) as usize].offer(p, i, i);
        }
        let mut merged = BottomK::new(10);
        for p in parts.into_iter().rev() {
            merged.merge(p);
        }
        assert_eq!(merged.seen(), 1000);
        assert_eq!(all.into_sorted(), merged.into_sorted());
    }

    #[test]
    fn roughly_uniform() {
        // Each of 100 items kept with probability 0.1: over 200 seeds every item is picked.
        let mut hits = [0u32; 100];
        for seed in 0..200 {
            let mut b = BottomK::new(10);
            for i in 0..100u64 {
                b.offer(priority(seed, &[i]), i, i);
            }
            for i in b.into_sorted() {
                hits[i as usize] += 1;
            }
        }
        assert!(hits.iter().all(|&h| (5..=45).contains(&h)), "{hits:?}");
    }
}
