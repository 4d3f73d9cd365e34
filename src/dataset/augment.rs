//! Network-condition augmentations (as FlowCon-X did): the same flow seen through another network —
//! IATs scaled (slower/faster path), jittered, and packets lost. Every draw comes from the seed;
//! augmented rows are only ever added on request (`--augment-count`) and reported as such.
use super::rng::SplitMix;
use super::tensorize::{describes_sequence, prefix, sequence_len, sequence_row};
use crate::features::schema::FlowRow;

/// One augmented copy of `row`. Sizes and directions of kept packets are unchanged.
pub fn augment_row(row: &FlowRow, rng: &mut SplitMix) -> FlowRow {
    let scale = rng.range(0.6, 1.8);
    let loss = rng.range(0.0, 0.05);
    let n = sequence_len(row);
    let mean_iat =
        if n > 1 { row.iat_values[1..n].iter().map(|&x| x.max(0.0) as f64).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
    let sigma = 0.15 * mean_iat * scale;
    let mut out = FlowRow {
        packet_lengths: Vec::with_capacity(n),
        iat_values: Vec::with_capacity(n),
        directions: Vec::with_capacity(n),
        ..row.clone()
    };
    let mut carried = 0.0f64;
    for i in 0..n {
        let mut gap =
            if i == 0 { 0.0 } else { row.iat_values[i].max(0.0) as f64 * scale + (rng.normal() * sigma).abs() };
        gap += carried;
        // The first packet is kept so the flow never vanishes; a lost packet's gap moves to the next.
        if i > 0 && rng.uniform() < loss {
            carried = gap;
            continue;
        }
        carried = 0.0;
        out.packet_lengths.push(row.packet_lengths[i]);
        out.iat_values.push(gap as f32);
        out.directions.push(row.directions[i]);
    }
    let kept = out.packet_lengths.len() as f64;
    let share = if n > 0 { kept / n as f64 } else { 1.0 };
    let duration: f64 = out.iat_values.iter().map(|&x| x as f64).sum();
    let bytes: f64 = out.packet_lengths.iter().map(|&x| x as f64).sum();
    out.total_packets = row.total_packets * share;
    out.total_fwd_packets = row.total_fwd_packets * share;
    out.total_backward_packets = row.total_backward_packets * share;
    out.flow_duration = row.flow_duration.map(|d| d * scale);
    out.flow_iat_mean = row.flow_iat_mean.map(|d| d * scale / share.max(1e-9));
    out.flow_iat_std = row.flow_iat_std.map(|d| d * scale);
    let secs = (duration / 1000.0).max(1e-3);
    out.flow_bytes_per_s = row.flow_bytes_per_s.map(|_| bytes / secs);
    out.flow_packets_per_s = row.flow_packets_per_s.map(|_| kept / secs);
    out.rtt_ms = row.rtt_ms.map(|r| r * scale);
    out.jitter_ms = row.jitter_ms.map(|j| j * scale + sigma);
    out.loss_rate = row.loss_rate.map(|l| (l + loss).min(1.0));
    out
}

/// Shortest prefix `crop_row` keeps (the fewest packets of a `fiveg_flows.csv` flow).
pub const MIN_CROP: usize = 5;

/// The flow's first k packets, k uniform in [min(`MIN_CROP`, n), n]: the same flow seen through
/// a shorter window. Columns that described exactly the sequence (as in `fiveg_flows.csv`) are
/// recomputed over the prefix; columns that covered more packets (CESNET's whole-flow counts)
/// are kept as they are.
pub fn crop_row(row: &FlowRow, rng: &mut SplitMix) -> FlowRow {
    let n = sequence_len(row);
    let lo = n.min(MIN_CROP);
    let k = lo + (rng.next_u64() % (n - lo + 1) as u64) as usize;
    if describes_sequence(row, n) {
        sequence_row(row, k)
    } else {
        prefix(row, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 40 packets of 100..139 bytes, 5 ms apart, every `up`-th one uplink; columns: the count.
    fn flow(up: usize) -> FlowRow {
        FlowRow {
            packet_lengths: (0..40).map(|i| 100.0 + i as f32).collect(),
            iat_values: (0..40).map(|i| if i == 0 { 0.0 } else { 5.0 }).collect(),
            directions: (0..40).map(|i| if i % up == 0 { 1 } else { -1 }).collect(),
            total_packets: 40.0,
            ..Default::default()
        }
    }

    #[test]
    fn augmentation_is_seeded_and_keeps_missing_measurements_missing() {
        let row = FlowRow { rtt_ms: Some(20.0), ..flow(2) };
        let a = augment_row(&row, &mut SplitMix::new(3, &[0]));
        let b = augment_row(&row, &mut SplitMix::new(3, &[0]));
        assert_eq!(a, b);
        assert_eq!(a.iat_values[0], 0.0);
        assert_eq!(a.packet_lengths[0], 100.0);
        assert!(a.packet_lengths.len() <= 40 && a.packet_lengths.len() >= 30);
        assert!(a.jitter_ms.is_none() && a.loss_rate.is_none());
        assert_ne!(a.rtt_ms, row.rtt_ms);
    }

    #[test]
    fn crops_are_seeded_prefixes_with_their_own_columns() {
        let row = flow(3);
        let mut lens = std::collections::BTreeSet::new();
        for k in 0..64 {
            let c = crop_row(&row, &mut SplitMix::new(9, &[k]));
            assert_eq!(c, crop_row(&row, &mut SplitMix::new(9, &[k])));
            let n = c.packet_lengths.len();
            assert!((MIN_CROP..=40).contains(&n));
            assert_eq!(c.packet_lengths[..], row.packet_lengths[..n]);
            assert_eq!(c.total_packets, n as f64);
            assert_eq!(c.flow_duration, Some(5.0 * (n - 1) as f64));
            lens.insert(n);
        }
        assert!(lens.len() > 10, "prefix lengths vary: {lens:?}");
        // Whole-flow columns (more packets than the sequence) stay; a short flow stays whole.
        let wide = FlowRow { total_packets: 500.0, ..row.clone() };
        assert_eq!(crop_row(&wide, &mut SplitMix::new(1, &[0])).total_packets, 500.0);
        let short = FlowRow {
            packet_lengths: vec![1.0; 3],
            iat_values: vec![0.0; 3],
            directions: vec![1; 3],
            total_packets: 3.0,
            ..row
        };
        assert_eq!(crop_row(&short, &mut SplitMix::new(1, &[0])).packet_lengths.len(), 3);
    }
}
