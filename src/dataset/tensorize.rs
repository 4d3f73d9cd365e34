//! Model inputs from a processed row, computed from its real fields only:
//! a packet tensor `[max_packets, PACKET_FEATURES]` + validity mask, and a network-condition
//! series `[time_bins, COND_FEATURES]` built from the row's own packets in equal time bins plus
//! its `rtt_ms` / `jitter_ms` / `loss_rate`. A missing measurement is value 0 with its
//! "present" channel 0 (never a guessed number).
use crate::features::schema::FlowRow;
use crate::features::Welford;
use serde::{Deserialize, Serialize};

pub const PACKET_FEATURES: usize = 19;
pub const COND_FEATURES: usize = 14;

/// (value channel, presence channel) pairs: the value stays 0 after normalisation when absent.
const PACKET_MISSING: [(usize, usize); 0] = [];
/// The per-bin RTT proxy, then the row's measured columns in `MEASURED` order.
const COND_MISSING: [(usize, usize); 4] = [(5, 6), (8, 9), (10, 11), (12, 13)];
/// The row's measured columns, feeding `COND_MISSING[1..]`.
const MEASURED: [&str; 3] = ["rtt_ms", "jitter_ms", "loss_rate"];

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    pub max_packets: usize,
    pub time_bins: usize,
    /// Bytes per packet-size bucket of the size tokens (`RowFeatures::size_tokens`); 0 = no tokens.
    #[serde(default)]
    pub size_bucket: usize,
}

/// Sizes at or above this share the last bucket (the largest Ethernet frame is 1514 bytes).
const SIZE_TOKEN_CAP: usize = 1536;

impl FeatureConfig {
    /// Distinct size tokens: 0 (padding) and one per (direction, size bucket); 0 without tokens.
    pub fn size_vocab(&self) -> usize {
        match self.size_bucket {
            0 => 0,
            b => 1 + 2 * SIZE_TOKEN_CAP.div_ceil(b),
        }
    }

    /// The token of a packet of `size` bytes in direction `dir` (≥ 0 forward).
    fn size_token(&self, size: f64, dir: i8) -> i64 {
        let per_dir = SIZE_TOKEN_CAP.div_ceil(self.size_bucket);
        let bucket = ((size.max(0.0) as usize) / self.size_bucket).min(per_dir - 1);
        (1 + bucket + if dir >= 0 { 0 } else { per_dir }) as i64
    }
}

#[inline]
fn lg(x: f64) -> f32 {
    x.max(0.0).ln_1p() as f32
}

fn opt_lg(x: Option<f64>) -> (f32, bool) {
    match x {
        Some(v) if v.is_finite() => (lg(v), true),
        _ => (0.0, false),
    }
}

/// Raw (unnormalised) features of one row.
#[derive(Debug, Clone)]
pub struct RowFeatures {
    /// `[max_packets * PACKET_FEATURES]`, zero on padding.
    pub packets: Vec<f32>,
    /// 1.0 for real packets. A row without packets gets position 0 marked valid (all-zero token)
    /// so attention always has a key.
    pub mask: Vec<f32>,
    /// `[time_bins * COND_FEATURES]`
    pub cond: Vec<f32>,
    /// `[max_packets]` size tokens (0 on padding) when `size_bucket` > 0, else empty: a learnt
    /// vector per exact size range, which a linear map of the scaled size cannot express.
    pub size_tokens: Vec<i64>,
}

pub fn row_features(row: &FlowRow, cfg: &FeatureConfig) -> RowFeatures {
    let (p, t) = (cfg.max_packets, cfg.time_bins);
    let n = sequence_len(row).min(p);
    let mut packets = vec![0f32; p * PACKET_FEATURES];
    let mut mask = vec![0f32; p];
    let mut size_tokens = vec![0i64; if cfg.size_bucket > 0 { p } else { 0 }];
    let total_t: f64 = row.iat_values[..n].iter().map(|&x| x.max(0.0) as f64).sum();
    let (tcp, udp) = ((row.protocol == 6) as u8 as f32, (row.protocol == 17) as u8 as f32);
    let total = row.total_packets;
    let fwd_share = if total > 0.0 { (row.total_fwd_packets / total) as f32 } else { 0.0 };
    let flow_opts = [
        row.flow_bytes_per_s,
        row.flow_packets_per_s,
        row.packet_length_mean,
        row.packet_length_std,
        row.flow_iat_mean,
        row.flow_iat_std,
        row.flow_duration,
    ];
    let flow_missing = flow_opts.iter().any(|v| !v.is_some_and(f64::is_finite)) as u8 as f32;
    let flow_vals: Vec<f32> = flow_opts.iter().map(|&v| opt_lg(v).0).collect();
    let mut cum = 0.0f64;
    for i in 0..n {
        let size = row.packet_lengths[i].max(0.0) as f64;
        let iat = row.iat_values[i].max(0.0) as f64;
        let dir = if row.directions[i] >= 0 { 1.0f32 } else { -1.0 };
        cum += iat;
        let same_dir = (i > 0 && row.directions[i - 1] == row.directions[i]) as u8 as f32;
        let f = &mut packets[i * PACKET_FEATURES..(i + 1) * PACKET_FEATURES];
        f[0] = (size / 1500.0) as f32;
        f[1] = lg(iat);
        f[2] = dir;
        f[3] = i as f32 / p as f32;
        f[4] = if total_t > 0.0 { (cum / total_t) as f32 } else { 0.0 };
        f[5] = tcp;
        f[6] = udp;
        f[7] = dir * (size / 1500.0) as f32;
        f[8] = same_dir;
        f[9] = flow_vals[0];
        f[10] = flow_vals[1];
        f[11] = fwd_share;
        f[12] = lg(total);
        f[13..18].copy_from_slice(&flow_vals[2..7]);
        f[18] = flow_missing;
        mask[i] = 1.0;
        if let Some(t) = size_tokens.get_mut(i) {
            *t = cfg.size_token(size, row.directions[i]);
        }
    }
    if n == 0 {
        mask[0] = 1.0;
    }
    RowFeatures { packets, mask, cond: cond_series(row, n, total_t, t), size_tokens }
}

/// Per-bin traffic statistics of the row's first `n` packets over `bins` equal slices of its duration.
fn cond_series(row: &FlowRow, n: usize, total_t: f64, bins: usize) -> Vec<f32> {
    let mut out = vec![0f32; bins * COND_FEATURES];
    let width_ms = (total_t / bins as f64).max(1.0);
    let mut count = vec![0f64; bins];
    let mut bytes = vec![0f64; bins];
    let mut up = vec![0f64; bins];
    let mut iat = vec![Welford::new(); bins];
    let mut rtt = vec![Welford::new(); bins];
    let mut t = 0.0f64;
    for i in 0..n {
        let gap = row.iat_values[i].max(0.0) as f64;
        t += gap;
        let b = if total_t > 0.0 { ((t / total_t * bins as f64) as usize).min(bins - 1) } else { 0 };
        count[b] += 1.0;
        bytes[b] += row.packet_lengths[i].max(0.0) as f64;
        up[b] += (row.directions[i] >= 0) as u8 as f64;
        if i > 0 {
            iat[b].push(gap);
            // request → response turn: the gap is an RTT sample (as features::window::rtt_proxy_ms)
            if row.directions[i - 1] > 0 && row.directions[i] < 0 {
                rtt[b].push(gap);
            }
        }
    }
    let (rtt_v, rtt_p) = opt_lg(row.rtt_ms);
    let (jit_v, jit_p) = opt_lg(row.jitter_ms);
    let (loss_v, loss_p) = match row.loss_rate {
        Some(v) if v.is_finite() => (v.clamp(0.0, 1.0) as f32, true),
        _ => (0.0, false),
    };
    for b in 0..bins {
        let f = &mut out[b * COND_FEATURES..(b + 1) * COND_FEATURES];
        let secs = width_ms / 1000.0;
        f[0] = lg(count[b] / secs);
        f[1] = lg(bytes[b] / secs);
        f[2] = if count[b] > 0.0 { (up[b] / count[b]) as f32 } else { 0.0 };
        f[3] = iat[b].mean().map(lg).unwrap_or(0.0);
        f[4] = iat[b].std().map(lg).unwrap_or(0.0);
        if let Some(m) = rtt[b].mean() {
            f[5] = lg(m);
            f[6] = 1.0;
        }
        f[7] = (count[b] > 0.0) as u8 as f32;
        f[8] = rtt_v;
        f[9] = rtt_p as u8 as f32;
        f[10] = jit_v;
        f[11] = jit_p as u8 as f32;
        f[12] = loss_v;
        f[13] = loss_p as u8 as f32;
    }
    out
}

/// Per-channel mean/std fitted on the training rows only; stored in the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub packet_mean: Vec<f32>,
    pub packet_std: Vec<f32>,
    pub cond_mean: Vec<f32>,
    pub cond_std: Vec<f32>,
    /// `Some(cap)` when every training row's totals, means, rates and duration described exactly
    /// its own packet sequence, of at most `cap` packets (as in `fiveg_flows.csv`). A row whose
    /// columns cover other packets (a 10 s capture window of 800 packets keeps only its first
    /// ones in the sequence) then gets them recomputed from its first `cap` packets, so the
    /// model sees what it was trained on. `None`: the columns are used as given.
    #[serde(default)]
    pub stats_over_sequence: Option<usize>,
}

fn finish(ws: &[Welford]) -> (Vec<f32>, Vec<f32>) {
    let mean = ws.iter().map(|w| w.mean().unwrap_or(0.0) as f32).collect();
    // Constant channels (e.g. one protocol only) keep scale 1 instead of dividing by ~0.
    let std = ws.iter().map(|w| w.std().filter(|s| *s > 1e-6).unwrap_or(1.0) as f32).collect();
    (mean, std)
}

impl Normalizer {
    pub fn fit<'a>(rows: impl Iterator<Item = &'a FlowRow>, cfg: &FeatureConfig) -> Self {
        let mut pw = vec![Welford::new(); PACKET_FEATURES];
        let mut cw = vec![Welford::new(); COND_FEATURES];
        let (mut scope, mut longest) = (true, 0usize);
        for row in rows {
            scope &= describes_sequence(row, usize::MAX);
            longest = longest.max(sequence_len(row));
            let f = row_features(row, cfg);
            for (i, m) in f.mask.iter().enumerate() {
                if *m > 0.0 {
                    for (c, w) in pw.iter_mut().enumerate() {
                        w.push(f.packets[i * PACKET_FEATURES + c] as f64);
                    }
                }
            }
            for chunk in f.cond.chunks(COND_FEATURES) {
                for (c, w) in cw.iter_mut().enumerate() {
                    w.push(chunk[c] as f64);
                }
            }
        }
        let (packet_mean, packet_std) = finish(&pw);
        let (cond_mean, cond_std) = finish(&cw);
        let stats_over_sequence = scope.then_some(longest).filter(|&n| n > 0);
        Normalizer { packet_mean, packet_std, cond_mean, cond_std, stats_over_sequence }
    }

    /// The model inputs of `row`: its features, normalised.
    pub fn features(&self, row: &FlowRow, cfg: &FeatureConfig) -> RowFeatures {
        let mut f = match self.stats_over_sequence {
            Some(cap) if !describes_sequence(row, cap) => row_features(&sequence_row(row, cap), cfg),
            _ => row_features(row, cfg),
        };
        self.apply(&mut f);
        f
    }

    /// Normalise in place; padding stays 0 and absent measurements stay 0.
    pub fn apply(&self, f: &mut RowFeatures) {
        for (i, m) in f.mask.iter().enumerate() {
            let x = &mut f.packets[i * PACKET_FEATURES..(i + 1) * PACKET_FEATURES];
            if *m > 0.0 {
                normalize(x, &self.packet_mean, &self.packet_std, &PACKET_MISSING);
            } else {
                x.iter_mut().for_each(|v| *v = 0.0);
            }
        }
        // A measurement no training row carried (its presence channel's mean is 0) has untrained
        // weights behind it: it counts as absent, as it did for every row the model learned from.
        // Else e.g. the `jitter_ms` of capture rows would shift their embeddings at random.
        let unseen = COND_MISSING.map(|pair| !self.trained_on(pair));
        for x in f.cond.chunks_mut(COND_FEATURES) {
            normalize(x, &self.cond_mean, &self.cond_std, &COND_MISSING);
            for (&(v, p), _) in COND_MISSING.iter().zip(unseen).filter(|(_, u)| *u) {
                x[v] = 0.0;
                x[p] = 0.0;
            }
        }
    }

    /// Did any training row carry this (value, presence) measurement? Its presence channel's
    /// training mean is the share of rows that had it.
    fn trained_on(&self, (_, presence): (usize, usize)) -> bool {
        self.cond_mean[presence] > 0.0
    }

    /// Measured columns no training row carried: the model ignores them.
    pub fn ignored_columns(&self) -> Vec<&'static str> {
        MEASURED
            .into_iter()
            .zip(&COND_MISSING[1..])
            .filter(|(_, &pair)| !self.trained_on(pair))
            .map(|(n, _)| n)
            .collect()
    }

    /// Does `row` carry a value in one of the `ignored_columns`?
    pub fn carries_ignored(&self, row: &FlowRow) -> bool {
        [row.rtt_ms, row.jitter_ms, row.loss_rate]
            .into_iter()
            .zip(&COND_MISSING[1..])
            .any(|(v, &pair)| v.is_some_and(f64::is_finite) && !self.trained_on(pair))
    }
}

/// Packets in the row's sequence (the shortest of its three per-packet lists).
pub fn sequence_len(row: &FlowRow) -> usize {
    row.packet_lengths.len().min(row.iat_values.len()).min(row.directions.len())
}

/// The row with its sequences cut to their first `n` packets; every other field as it was.
pub fn prefix(row: &FlowRow, n: usize) -> FlowRow {
    let n = sequence_len(row).min(n);
    let mut out = row.clone();
    out.packet_lengths.truncate(n);
    out.iat_values.truncate(n);
    out.directions.truncate(n);
    out
}

/// Do the row's columns describe exactly its sequence, and is that at most `cap` packets?
pub fn describes_sequence(row: &FlowRow, cap: usize) -> bool {
    let n = sequence_len(row);
    n <= cap && row.total_packets == n as f64
}

/// The row cut to its first `cap` packets, with totals, means, population standard deviations,
/// duration (sum of IATs, first IAT 0) and rates (over max(duration, 1 ms)) of those packets:
/// the definitions of `fiveg_flows.csv` (checked against its rows in the tests). RTT, jitter and
/// loss stay as measured.
pub fn sequence_row(row: &FlowRow, cap: usize) -> FlowRow {
    let mut out = prefix(row, cap);
    let n = out.packet_lengths.len();
    let (mut len, mut iat) = (Welford::new(), Welford::new());
    out.packet_lengths.iter().for_each(|&v| len.push(v as f64));
    out.iat_values.iter().for_each(|&v| iat.push(v as f64));
    let fwd = out.directions.iter().filter(|&&d| d > 0).count() as f64;
    let duration: f64 = out.iat_values.iter().map(|&v| v as f64).sum();
    let secs = duration.max(1.0) / 1000.0;
    let bytes: f64 = out.packet_lengths.iter().map(|&v| v as f64).sum();
    out.total_packets = n as f64;
    out.total_fwd_packets = fwd;
    out.total_backward_packets = n as f64 - fwd;
    out.packet_length_mean = len.mean();
    out.packet_length_std = len.std();
    out.flow_iat_mean = iat.mean();
    out.flow_iat_std = iat.std();
    out.flow_duration = (n > 0).then_some(duration);
    out.flow_bytes_per_s = (n > 0).then_some(bytes / secs);
    out.flow_packets_per_s = (n > 0).then_some(n as f64 / secs);
    out
}

fn normalize(x: &mut [f32], mean: &[f32], std: &[f32], missing: &[(usize, usize)]) {
    // Bit i: measurement i of `missing` is present (read before the presence channels change).
    let present = missing.iter().enumerate().fold(0u32, |m, (i, &(_, p))| m | ((x[p] > 0.0) as u32) << i);
    for ((v, m), s) in x.iter_mut().zip(mean).zip(std) {
        *v = (*v - m) / s;
    }
    for (i, &(v, _)) in missing.iter().enumerate() {
        if present & (1 << i) == 0 {
            x[v] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> FlowRow {
        FlowRow {
            service: "streaming".into(),
            packet_lengths: vec![100.0, 1500.0, 60.0, 1500.0],
            iat_values: vec![0.0, 10.0, 20.0, 10.0],
            directions: vec![1, -1, 1, -1],
            rtt_ms: Some(10.0),
            total_packets: 4.0,
            total_fwd_packets: 2.0,
            total_backward_packets: 2.0,
            protocol: 6,
            ..Default::default()
        }
    }

    #[test]
    fn packet_and_condition_features_from_real_fields() {
        let cfg = FeatureConfig { max_packets: 6, time_bins: 4, size_bucket: 0 };
        let f = row_features(&row(), &cfg);
        assert_eq!(f.mask, vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        let pk = |i: usize, c: usize| f.packets[i * PACKET_FEATURES + c];
        assert_eq!(pk(1, 0), 1.0);
        assert!((pk(1, 1) - 11f32.ln()).abs() < 1e-6);
        assert_eq!(pk(1, 2), -1.0);
        assert_eq!(pk(3, 4), 1.0);
        assert_eq!(pk(2, 4), 0.75);
        assert_eq!((pk(0, 5), pk(0, 6)), (1.0, 0.0));
        assert_eq!(pk(0, 11), 0.5);
        assert_eq!(pk(0, 18), 1.0, "flow stats missing in this row");
        assert!(f.packets[4 * PACKET_FEATURES..].iter().all(|&v| v == 0.0));
        // 40 ms over 4 bins of 10 ms: packets at t=0,10,30,40 → bins 0,1,3,3.
        let c = |b: usize, k: usize| f.cond[b * COND_FEATURES + k];
        assert_eq!((c(0, 7), c(1, 7), c(2, 7), c(3, 7)), (1.0, 1.0, 0.0, 1.0));
        assert!((c(3, 0) - (200f32).ln_1p()).abs() < 1e-4, "2 packets / 10 ms");
        assert_eq!(c(1, 6), 1.0, "uplink → downlink turn in bin 1");
        assert_eq!((c(0, 9), c(0, 11), c(0, 13)), (1.0, 0.0, 0.0), "jitter and loss absent");
        assert!(f.size_tokens.is_empty(), "no size tokens unless asked");
    }

    #[test]
    fn size_tokens_per_direction_and_bucket() {
        let cfg = FeatureConfig { max_packets: 6, time_bins: 4, size_bucket: 16 };
        assert_eq!(cfg.size_vocab(), 1 + 2 * 96);
        let mut r = row();
        r.packet_lengths = vec![100.0, 1500.0, 15.0, 9000.0];
        let f = row_features(&r, &cfg);
        // Forward sizes 100 → bucket 6, 15 → 0; backward 1500 → 93 (+96); 9000 caps at 95 (+96).
        assert_eq!(f.size_tokens, vec![7, 1 + 93 + 96, 1, 1 + 95 + 96, 0, 0]);
        assert!(f.size_tokens.iter().all(|&t| (t as usize) < cfg.size_vocab()));
    }

    #[test]
    fn normalisation_keeps_padding_and_missing_at_zero() {
        let cfg = FeatureConfig { max_packets: 6, time_bins: 4, size_bucket: 0 };
        let mut r2 = row();
        r2.rtt_ms = None;
        r2.packet_lengths[0] = 400.0;
        let norm = Normalizer::fit([row(), r2.clone()].iter(), &cfg);
        let mut f = row_features(&r2, &cfg);
        norm.apply(&mut f);
        assert!(f.packets[4 * PACKET_FEATURES..].iter().all(|&v| v == 0.0));
        assert_eq!(f.cond[8], 0.0, "absent rtt stays 0");
        assert!(f.packets.iter().chain(&f.cond).all(|v| v.is_finite()));
    }

    /// Real rows of `fiveg_flows.csv`: its columns describe each row's own sequence.
    fn sample_rows() -> Vec<FlowRow> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/samples/processed/fiveg_flows_sample.csv");
        crate::features::schema::read_rows(std::path::Path::new(path)).unwrap() // ok: bundled test fixture
    }

    #[test]
    fn sequence_row_reproduces_the_columns_of_real_rows() {
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-3 * a.abs().max(1.0),
            (a, b) => a == b,
        };
        let rows = sample_rows();
        assert!(rows.len() > 100);
        for (i, r) in rows.iter().enumerate() {
            let s = sequence_row(r, 64);
            assert_eq!(s.packet_lengths, r.packet_lengths, "row {i}");
            assert_eq!(
                (s.total_packets, s.total_fwd_packets, s.total_backward_packets),
                (r.total_packets, r.total_fwd_packets, r.total_backward_packets),
                "row {i}"
            );
            for (what, a, b) in [
                ("length mean", s.packet_length_mean, r.packet_length_mean),
                ("length std", s.packet_length_std, r.packet_length_std),
                ("iat mean", s.flow_iat_mean, r.flow_iat_mean),
                ("iat std", s.flow_iat_std, r.flow_iat_std),
                ("duration", s.flow_duration, r.flow_duration),
                ("bytes/s", s.flow_bytes_per_s, r.flow_bytes_per_s),
                ("packets/s", s.flow_packets_per_s, r.flow_packets_per_s),
            ] {
                assert!(close(a, b), "row {i} {what}: {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn window_columns_are_recomputed_over_the_sequence_when_training_rows_were_so() {
        let cfg = FeatureConfig { max_packets: 8, time_bins: 4, size_bucket: 0 };
        let rows = sample_rows();
        let norm = Normalizer::fit(rows.iter(), &cfg);
        let longest = rows.iter().map(|r| r.packet_lengths.len()).max().unwrap(); // ok: fixture has rows
        assert_eq!(norm.stats_over_sequence, Some(longest));
        // A capture window: the same first packets, but columns over 800 packets in 10 s.
        let mut window = rows[0].clone();
        window.total_packets = 800.0;
        window.total_fwd_packets = 300.0;
        window.total_backward_packets = 500.0;
        window.flow_duration = Some(10_000.0);
        window.flow_packets_per_s = Some(80.0);
        // Equal up to the rounding of the CSV's columns.
        let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(diff(&norm.features(&window, &cfg).packets, &norm.features(&rows[0], &cfg).packets) < 1e-5);
        // Training rows whose columns cover more than their sequence: columns used as given.
        let norm = Normalizer::fit([window.clone(), rows[0].clone()].iter(), &cfg);
        assert_eq!(norm.stats_over_sequence, None);
        assert!(diff(&norm.features(&window, &cfg).packets, &norm.features(&rows[0], &cfg).packets) > 0.1);
    }

    #[test]
    fn measurements_absent_from_training_are_ignored_at_inference() {
        // Training rows carry rtt_ms but never jitter_ms or loss_rate (as fiveg_flows.csv);
        // a capture row that has all three must look to the model like one with rtt_ms only.
        let cfg = FeatureConfig { max_packets: 6, time_bins: 4, size_bucket: 0 };
        let mut r2 = row();
        r2.packet_lengths[0] = 400.0;
        let norm = Normalizer::fit([row(), r2].iter(), &cfg);
        let mut measured = row();
        measured.jitter_ms = Some(30.0);
        measured.loss_rate = Some(0.02);
        assert_eq!(norm.features(&measured, &cfg).cond, norm.features(&row(), &cfg).cond);
        assert_eq!(norm.ignored_columns(), vec!["jitter_ms", "loss_rate"]);
        assert!(norm.carries_ignored(&measured) && !norm.carries_ignored(&row()));
        // Once training has seen them, they count.
        let norm = Normalizer::fit([measured.clone(), row()].iter(), &cfg);
        assert_ne!(norm.features(&measured, &cfg).cond, norm.features(&row(), &cfg).cond);
        assert!(norm.ignored_columns().is_empty() && !norm.carries_ignored(&measured));
    }
}
