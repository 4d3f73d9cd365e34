//! Fixed time windows over one packet stream (a capture or a flow): `[t0 + kW, t0 + (k+1)W)`
//! with `t0` the stream's first packet. Empty windows produce no row.
use crate::features::WindowBuilder;

/// Why a window closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// A packet arrived past the window's end.
    TimeAdvanced,
    /// The stream (capture or flow) ended.
    EndOfStream,
    /// The flow was idle past its timeout.
    Idle,
}

#[derive(Debug, Clone)]
pub struct TimeWindows {
    width_us: i64,
    t0: Option<i64>,
    index: i64,
    pub current: WindowBuilder,
}

impl TimeWindows {
    pub fn new(window_seconds: f64, max_packets: usize) -> Self {
        let width_us = ((window_seconds * 1e6).round() as i64).max(1);
        TimeWindows { width_us, t0: None, index: 0, current: WindowBuilder::new(max_packets) }
    }

    pub fn width_us(&self) -> i64 {
        self.width_us
    }

    /// Start time of the current window (µs), once a packet was seen.
    pub fn window_start_us(&self) -> Option<i64> {
        self.t0.map(|t0| t0.saturating_add(self.index.saturating_mul(self.width_us)))
    }

    /// End (exclusive, µs) of the current window, saturated; `i64::MAX` before the first packet.
    pub fn end_us(&self) -> i64 {
        match self.t0 {
            None => i64::MAX,
            Some(t0) => t0.saturating_add(self.index.saturating_add(1).saturating_mul(self.width_us)),
        }
    }

    /// Index of the current window.
    pub fn index(&self) -> i64 {
        self.index
    }

    /// Would a packet at `ts_us` fall past the current window? The caller then finishes the
    /// current window (if non-empty) and calls `advance(ts_us)` before pushing.
    #[inline]
    pub fn crosses(&self, ts_us: i64) -> bool {
        match self.t0 {
            None => false,
            Some(t0) => ts_us.saturating_sub(t0).div_euclid(self.width_us) > self.index,
        }
    }

    /// Move to the window holding `ts_us`, emptying the builder.
    pub fn advance(&mut self, ts_us: i64) {
        if let Some(t0) = self.t0 {
            self.index = ts_us.saturating_sub(t0).div_euclid(self.width_us).max(self.index);
        }
        self.current.reset();
    }

    /// Empty for reuse by another stream, keeping the builder's allocations.
    pub fn reset(&mut self) {
        self.t0 = None;
        self.index = 0;
        self.current.reset();
    }

    /// Add a packet to the current window (call `crosses`/`advance` first).
    #[inline]
    pub fn push(&mut self, ts_us: i64, len: u32, dir: i8) {
        if self.t0.is_none() {
            self.t0 = Some(ts_us);
        }
        self.current.push(ts_us, len, dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn windows_split_on_time() {
        let mut w = TimeWindows::new(1.0, 8);
        let mut rows = 0;
        for ts in [0i64, 500_000, 999_999, 1_000_000, 3_500_000] {
            if w.crosses(ts) {
                rows += 1;
                w.advance(ts);
            }
            w.push(ts, 100, 1);
        }
        assert_eq!(rows, 2);
        assert_eq!(w.index(), 3);
        assert_eq!(w.window_start_us(), Some(3_000_000));
        assert_eq!(w.current.packets(), 1);
    }

    #[test]
    fn extreme_timestamps_saturate_rather_than_wrap() {
        // pcapng interface offsets can put packets of one capture at opposite ends of the clock;
        // `later - first` used to wrap negative, so the later packet stayed in the first window.
        let mut w = TimeWindows::new(10.0, 8);
        let first = i64::MIN / 2 - 10;
        w.push(first, 100, 1);
        let later = i64::MAX / 2 + 10;
        assert!(w.crosses(later));
        w.advance(later);
        w.push(later, 100, -1);
        assert!(w.index() > 0 && w.window_start_us().is_some_and(|s| s > first));
        let row = w.current.finish("a", "s", 6, "c");
        assert_eq!(row.packet_lengths, vec![100.0]);
    }
}
