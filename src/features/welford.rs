//! Mean and variance in constant memory (Welford's method).

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    pub fn new() -> Self {
        Self::default()
    }
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }
    pub fn count(&self) -> u64 {
        self.n
    }
    /// Mean, or `None` with no samples.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }
    /// Population standard deviation (FlowCon-X uses numpy's default ddof=0).
    pub fn std(&self) -> Option<f64> {
        (self.n > 0).then(|| (self.m2 / self.n as f64).max(0.0).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn matches_two_pass_formula() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut w = Welford::new();
        xs.iter().for_each(|&x| w.push(x));
        assert_eq!(w.mean(), Some(5.0));
        assert!((w.std().unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(Welford::new().mean(), None);
    }
}
