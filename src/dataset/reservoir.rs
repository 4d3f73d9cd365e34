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
///
/// The heap holds only keys and slot numbers, the items sit in `items`: a replacement then moves
/// 24 bytes per heap level instead of a whole row, and [`offer_with`](Self::offer_with) can
/// rebuild the evicted item in place, reusing its allocations.
#[derive(Debug, Clone)]
pub struct BottomK<T> {
    k: usize,
    heap: std::collections::BinaryHeap<((u64, u64), usize)>,
    items: Vec<T>,
    seen: u64,
}

impl<T> BottomK<T> {
    pub fn new(k: usize) -> Self {
        BottomK { k, heap: std::collections::BinaryHeap::new(), items: Vec::new(), seen: 0 }
    }

    /// Would an item with this priority be kept right now? Lets callers skip building it.
    #[inline]
    pub fn would_keep(&self, priority: u64, order: u64) -> bool {
        if self.k == 0 {
            return false;
        }
        self.heap.len() < self.k || self.heap.peek().is_some_and(|top| (priority, order) < top.0)
    }

    /// Count an item as seen without offering it (it would not be kept).
    pub fn count_seen(&mut self) {
        self.seen += 1;
    }

    pub fn offer(&mut self, priority: u64, order: u64, item: T) {
        self.offer_with(priority, order, || item, |slot, item| *slot = item());
    }

    /// Offer an item built only if it is kept: by `make` while the sample is not full, else by
    /// `refill`, which overwrites the evicted item (and may reuse its buffers).
    pub fn offer_with<M: FnOnce() -> T>(&mut self, priority: u64, order: u64, make: M, refill: impl FnOnce(&mut T, M)) {
        self.seen += 1;
        self.insert(priority, order, make, refill);
    }

    fn insert<M: FnOnce() -> T>(&mut self, priority: u64, order: u64, make: M, refill: impl FnOnce(&mut T, M)) {
        if !self.would_keep(priority, order) {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(((priority, order), self.items.len()));
            self.items.push(make());
        } else if let Some(mut top) = self.heap.peek_mut() {
            // Sifts down when `top` drops.
            refill(&mut self.items[top.1], make);
            top.0 = (priority, order);
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
        for (key, item) in other.into_entries() {
            self.insert(key.0, key.1, || item, |slot, item| *slot = item());
        }
    }

    /// Kept items with their keys, in slot order.
    fn into_entries(self) -> impl Iterator<Item = ((u64, u64), T)> {
        let mut keys = vec![(0, 0); self.items.len()];
        for (key, slot) in self.heap {
            keys[slot] = key;
        }
        keys.into_iter().zip(self.items)
    }

    /// Kept items sorted by their `order` key.
    pub fn into_sorted(self) -> Vec<T> {
        // Sort the small (key, slot) entries, not the items (rows are large to move).
        let mut entries = self.heap.into_vec();
        entries.sort_by_key(|e| (e.0 .1, e.0 .0));
        take_in_order(self.items, entries.into_iter().map(|e| e.1))
    }
}

/// `items` rearranged so that the i-th comes from `items[order[i]]` (`order` a permutation).
pub fn take_in_order<T>(items: Vec<T>, order: impl IntoIterator<Item = usize>) -> Vec<T> {
    let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| items[i].take()).collect()
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
