//! One flow window → one canonical row. Statistics cover every packet of the window
//! (Welford); the sequences hold the first `max_packets`.
use super::schema::FlowRow;
use super::welford::Welford;

/// Network-condition buckets from documented thresholds (README, "Columns").
/// A missing signal does not vote; with none present the condition is `unknown`.
pub fn condition_label(rtt_ms: Option<f64>, jitter_ms: Option<f64>, loss_rate: Option<f64>) -> &'static str {
    // (rtt ms, jitter ms, loss share) upper bounds for good / moderate / degraded; above → bad.
    const LIMITS: [(f64, f64, f64); 3] = [(50.0, 10.0, 0.01), (100.0, 30.0, 0.03), (200.0, 50.0, 0.05)];
    const NAMES: [&str; 4] = ["good", "moderate", "degraded", "bad"];
    if rtt_ms.is_none() && jitter_ms.is_none() && loss_rate.is_none() {
        return "unknown";
    }
    let level = |v: Option<f64>, pick: fn(&(f64, f64, f64)) -> f64| -> usize {
        match v {
            Some(x) if x.is_finite() => LIMITS.iter().position(|l| x < pick(l)).unwrap_or(3),
            _ => 0,
        }
    };
    let worst = level(rtt_ms, |l| l.0).max(level(jitter_ms, |l| l.1)).max(level(loss_rate, |l| l.2));
    NAMES[worst]
}

/// RTT proxy from a packet sequence: the median gap between an uplink (+1) packet and the
/// downlink (−1) packet right after it (a request → response turn). `None` without such a turn.
pub fn rtt_proxy_ms(iats: &[f32], dirs: &[i8]) -> Option<f64> {
    let mut gaps: Vec<f64> =
        (1..dirs.len().min(iats.len())).filter(|&i| dirs[i - 1] > 0 && dirs[i] < 0).map(|i| iats[i] as f64).collect();
    median(&mut gaps)
}

/// Jitter proxy (RFC 3550 style, unsmoothed): mean absolute difference of successive
/// inter-arrival times of the downlink packets; all packets if fewer than 3 are downlink.
/// `None` with fewer than 3 packets.
pub fn jitter_proxy_ms(iats: &[f32], dirs: &[i8]) -> Option<f64> {
    let n = iats.len().min(dirs.len());
    let down = dirs[..n].iter().filter(|&&d| d < 0).count();
    let only_down = down >= 3;
    let mut last_t: Option<f64> = None;
    let mut last_gap: Option<f64> = None;
    let mut acc = Welford::new();
    let mut t = 0.0f64;
    for i in 0..n {
        t += iats[i] as f64;
        if only_down && dirs[i] >= 0 {
            continue;
        }
        if let Some(lt) = last_t {
            let gap = t - lt;
            if let Some(lg) = last_gap {
                acc.push((gap - lg).abs());
            }
            last_gap = Some(gap);
        }
        last_t = Some(t);
    }
    acc.mean()
}

fn median(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let m = xs.len() / 2;
    Some(if xs.len() % 2 == 1 { xs[m] } else { (xs[m - 1] + xs[m]) / 2.0 })
}

/// One packet of the window's sequences; the three values live together so that a push
/// touches one buffer (split into columns only for rows actually built).
#[derive(Debug, Clone, Copy)]
struct SeqEntry {
    len: f32,
    iat: f32,
    dir: i8,
}

/// Accumulates one window's packets.
#[derive(Debug, Clone)]
pub struct WindowBuilder {
    max_packets: usize,
    seq: Vec<SeqEntry>,
    first_us: i64,
    last_us: i64,
    packets: u64,
    fwd: u64,
    bytes: u64,
    len_stats: Welford,
    iat_stats: Welford,
    // TCP retransmission counting, filled by packet sources that see sequence numbers.
    loss_events: u64,
    loss_eligible: u64,
}

impl WindowBuilder {
    pub fn new(max_packets: usize) -> Self {
        WindowBuilder {
            max_packets,
            seq: Vec::new(),
            first_us: 0,
            last_us: 0,
            packets: 0,
            fwd: 0,
            bytes: 0,
            len_stats: Welford::new(),
            iat_stats: Welford::new(),
            loss_events: 0,
            loss_eligible: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.packets == 0
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }
    pub fn first_us(&self) -> i64 {
        self.first_us
    }

    /// Add a packet: timestamp in µs, size in bytes, direction ±1. Times must not go backwards
    /// by more than capture jitter; a negative gap is clamped to 0.
    #[inline]
    pub fn push(&mut self, ts_us: i64, len: u32, dir: i8) {
        let iat_ms = if self.packets == 0 {
            self.first_us = ts_us;
            0.0
        } else {
            ts_us.saturating_sub(self.last_us).max(0) as f64 / 1000.0
        };
        if self.packets == 0 || ts_us > self.last_us {
            self.last_us = ts_us;
        }
        self.packets += 1;
        if dir > 0 {
            self.fwd += 1;
        }
        self.bytes += len as u64;
        self.len_stats.push(len as f64);
        self.iat_stats.push(iat_ms);
        if self.seq.len() < self.max_packets {
            self.seq.push(SeqEntry { len: len as f32, iat: iat_ms as f32, dir: if dir > 0 { 1 } else { -1 } });
        }
    }

    /// Record, for a TCP data segment, whether it was a retransmission.
    pub fn note_tcp_segment(&mut self, retransmission: bool) {
        self.loss_eligible += 1;
        if retransmission {
            self.loss_events += 1;
        }
    }

    /// Build the row; labels and protocol come from the caller.
    pub fn finish(&self, app: &str, service: &str, protocol: u8, capture: &str) -> FlowRow {
        let mut row = FlowRow::default();
        self.finish_into(app, service, protocol, capture, &mut row);
        row
    }

    /// [`finish`](Self::finish) into an existing row, reusing its buffers.
    pub fn finish_into(&self, app: &str, service: &str, protocol: u8, capture: &str, row: &mut FlowRow) {
        let duration_ms = self.last_us.saturating_sub(self.first_us).max(0) as f64 / 1000.0;
        // FlowCon-X's convention: rates over max(duration, 1 ms).
        let secs = duration_ms.max(1.0) / 1000.0;
        row.packet_lengths.clear();
        row.packet_lengths.extend(self.seq.iter().map(|e| e.len));
        row.iat_values.clear();
        row.iat_values.extend(self.seq.iter().map(|e| e.iat));
        row.directions.clear();
        row.directions.extend(self.seq.iter().map(|e| e.dir));
        let rtt = rtt_proxy_ms(&row.iat_values, &row.directions);
        let jitter = jitter_proxy_ms(&row.iat_values, &row.directions);
        let loss = (self.loss_eligible > 0).then(|| self.loss_events as f64 / self.loss_eligible as f64);
        for (dst, src) in [
            (&mut row.app, app),
            (&mut row.service, service),
            (&mut row.condition, condition_label(rtt, jitter, loss)),
            (&mut row.capture, capture),
        ] {
            dst.clear();
            dst.push_str(src);
        }
        row.rtt_ms = rtt;
        row.jitter_ms = jitter;
        row.loss_rate = loss;
        row.total_packets = self.packets as f64;
        row.total_fwd_packets = self.fwd as f64;
        row.total_backward_packets = (self.packets - self.fwd) as f64;
        row.packet_length_mean = self.len_stats.mean();
        row.packet_length_std = self.len_stats.std();
        row.flow_iat_mean = self.iat_stats.mean();
        row.flow_iat_std = self.iat_stats.std();
        row.flow_duration = Some(duration_ms);
        row.flow_bytes_per_s = Some(self.bytes as f64 / secs);
        row.flow_packets_per_s = Some(self.packets as f64 / secs);
        row.protocol = protocol;
    }

    /// Empty the builder for the next window, keeping allocations.
    pub fn reset(&mut self) {
        let mut seq = std::mem::take(&mut self.seq);
        seq.clear();
        *self = WindowBuilder { seq, ..WindowBuilder::new(self.max_packets) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_flowconx_conventions() {
        // The first fiveg_flows.csv row: stats over the sequence, IAT mean includes the first 0.
        let mut w = WindowBuilder::new(128);
        let lens = [94, 94, 66, 66, 90, 90, 66, 66];
        let iats_ms = [0.0, 0.0, 12.114, 0.0, 14.447, 0.0, 1.708, 0.0];
        let dirs = [1, 1, -1, -1, -1, -1, 1, 1];
        let mut t = 0i64;
        for i in 0..8 {
            t += (iats_ms[i] * 1000.0f64).round() as i64;
            w.push(t, lens[i], dirs[i]);
        }
        let r = w.finish("vlc_spotify", "streaming", 6, "c");
        assert!((r.packet_length_mean.unwrap() - 79.0).abs() < 1e-9);
        assert!((r.packet_length_std.unwrap() - 13.0767).abs() < 1e-4);
        assert!((r.flow_iat_mean.unwrap() - 3.53362).abs() < 1e-4);
        assert!((r.flow_iat_std.unwrap() - 5.6843).abs() < 1e-4);
        assert!((r.flow_duration.unwrap() - 28.269).abs() < 1e-9);
        assert!((r.flow_bytes_per_s.unwrap() - 22356.6).abs() < 0.1);
        assert_eq!((r.total_fwd_packets, r.total_backward_packets), (4.0, 4.0));
        // One uplink→downlink turn, 12.114 ms after the uplink packet.
        assert!((r.rtt_ms.unwrap() - 12.114).abs() < 1e-3);
        assert_eq!(r.loss_rate, None);
    }

    #[test]
    fn sequences_capped_stats_cover_all() {
        let mut w = WindowBuilder::new(2);
        for i in 0..5 {
            w.push(i * 1000, 100 + i as u32, 1);
        }
        let r = w.finish("a", "s", 17, "c");
        assert_eq!(r.packet_lengths.len(), 2);
        assert_eq!(r.total_packets, 5.0);
        assert_eq!(r.packet_length_mean, Some(102.0));
        // single packet: rates over 1 ms
        let mut w = WindowBuilder::new(4);
        w.push(5, 74, 1);
        let r = w.finish("a", "s", 6, "c");
        assert_eq!(r.flow_bytes_per_s, Some(74000.0));
        assert_eq!(r.flow_packets_per_s, Some(1000.0));
    }

    #[test]
    fn condition_thresholds() {
        assert_eq!(condition_label(None, None, None), "unknown");
        assert_eq!(condition_label(Some(10.0), None, None), "good");
        assert_eq!(condition_label(Some(10.0), Some(20.0), None), "moderate");
        assert_eq!(condition_label(Some(150.0), Some(1.0), Some(0.0)), "degraded");
        assert_eq!(condition_label(Some(10.0), None, Some(0.2)), "bad");
    }

    #[test]
    fn jitter_of_regular_stream_is_zero() {
        let iats = [0.0, 20.0, 20.0, 20.0];
        let dirs = [-1, -1, -1, -1];
        assert_eq!(jitter_proxy_ms(&iats, &dirs), Some(0.0));
        let iats = [0.0, 10.0, 30.0, 10.0];
        assert_eq!(jitter_proxy_ms(&iats, &dirs), Some(20.0));
        assert_eq!(jitter_proxy_ms(&iats[..2], &dirs[..2]), None);
    }
}
