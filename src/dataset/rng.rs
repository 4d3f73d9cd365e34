//! A tiny deterministic generator (SplitMix64) for shuffles and augmentations: every random
//! choice in training derives from `--seed`, independent of thread count.
use super::reservoir::{mix64, priority};

#[derive(Debug, Clone)]
pub struct SplitMix {
    state: u64,
}

impl SplitMix {
    /// A stream keyed by `seed` and the identity `parts` (epoch, row, copy, …).
    pub fn new(seed: u64, parts: &[u64]) -> Self {
        SplitMix { state: priority(seed, parts) }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-12);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            xs.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_shuffle_is_permutation() {
        let mut a = SplitMix::new(42, &[1, 2]);
        let mut b = SplitMix::new(42, &[1, 2]);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut xs: Vec<u32> = (0..50).collect();
        a.shuffle(&mut xs);
        let mut sorted = xs.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(xs, sorted);
        let u = SplitMix::new(1, &[]).uniform();
        assert!((0.0..1.0).contains(&u));
    }
}
