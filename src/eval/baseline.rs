//! The no-model baseline: a fixed-length summary of each processed row (counts, size/IAT
//! statistics, direction pattern, first signed packet sizes), standardised on the training rows,
//! classified by Euclidean k-NN on the same split as the embeddings. Only fields every row
//! carries are used (sequences, totals, protocol), so no value has to be made up.
use super::matrix::Matrix;
use crate::features::FlowRow;

/// Signed sizes of the first packets kept as features.
const FIRST_PACKETS: usize = 8;
pub const RAW_DIM: usize = 22 + FIRST_PACKETS;

fn stats(xs: &[f32]) -> (f32, f32, f32, f32, f32) {
    if xs.is_empty() {
        return (0.0, 0.0, 0.0, 0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = xs.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let mut s = xs.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    (mean as f32, var.sqrt() as f32, s[0], s[s.len() - 1], s[s.len() / 2])
}

fn mean(xs: impl Iterator<Item = f32>) -> f32 {
    let (mut s, mut n) = (0f64, 0usize);
    for x in xs {
        s += x as f64;
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        (s / n as f64) as f32
    }
}

/// The row's raw feature vector (length `RAW_DIM`). An empty sequence gives zeros for its
/// statistics; its length feature (0) says so.
pub fn raw_features(row: &FlowRow) -> Vec<f32> {
    let lens = &row.packet_lengths;
    let iats = &row.iat_values;
    let dirs = &row.directions;
    let n = lens.len();
    let (lm, ls, lmin, lmax, lmed) = stats(lens);
    let log_iats: Vec<f32> = iats.iter().map(|&v| v.max(0.0).ln_1p()).collect();
    let (im, is, _, imax, imed) = stats(&log_iats);
    let duration_ms: f32 = iats.iter().map(|v| v.max(0.0)).sum();
    let bytes: f32 = lens.iter().sum();
    let up = dirs.iter().filter(|&&d| d > 0).count() as f32;
    let changes = dirs.windows(2).filter(|w| w[0] != w[1]).count() as f32;
    let total = row.total_packets.max(0.0);
    let mut v = vec![
        (total as f32).ln_1p(),
        (row.total_fwd_packets.max(0.0) as f32).ln_1p(),
        (row.total_backward_packets.max(0.0) as f32).ln_1p(),
        if total > 0.0 { (row.total_fwd_packets / total) as f32 } else { 0.0 },
        (n as f32).ln_1p(),
        lm,
        ls,
        lmin,
        lmax,
        lmed,
        mean(lens.iter().zip(dirs).filter(|(_, &d)| d > 0).map(|(&l, _)| l)),
        mean(lens.iter().zip(dirs).filter(|(_, &d)| d < 0).map(|(&l, _)| l)),
        im,
        is,
        imax,
        imed,
        duration_ms.ln_1p(),
        (bytes / duration_ms.max(1.0) * 1000.0).ln_1p(),
        if n > 0 { up / n as f32 } else { 0.0 },
        if n > 1 { changes / (n - 1) as f32 } else { 0.0 },
        (row.protocol == 6) as u8 as f32,
        (row.protocol == 17) as u8 as f32,
    ];
    for i in 0..FIRST_PACKETS {
        v.push(match (lens.get(i), dirs.get(i)) {
            (Some(&l), Some(&d)) => l * d as f32,
            _ => 0.0,
        });
    }
    v
}

/// Per-column mean and standard deviation fitted on training rows.
#[derive(Debug, Clone)]
pub struct Standardizer {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Standardizer {
    pub fn fit(m: &Matrix) -> Self {
        let mean = m.column_means();
        let mut var = vec![0f64; m.cols];
        for i in 0..m.rows {
            for (j, v) in m.row(i).iter().enumerate() {
                var[j] += ((v - mean[j]) as f64).powi(2);
            }
        }
        let std = var
            .iter()
            .map(|v| {
                let s = (v / m.rows.max(1) as f64).sqrt() as f32;
                if s > 1e-9 {
                    s
                } else {
                    1.0 // constant column: centring alone
                }
            })
            .collect();
        Standardizer { mean, std }
    }

    pub fn apply(&self, m: &Matrix) -> Matrix {
        let mut out = m.clone();
        if out.cols > 0 {
            for r in out.data.chunks_mut(m.cols) {
                for (j, v) in r.iter_mut().enumerate() {
                    *v = (*v - self.mean[j]) / self.std[j];
                }
            }
        }
        out
    }
}

/// Raw feature matrix of rows.
pub fn raw_matrix<'a>(rows: impl Iterator<Item = &'a FlowRow>) -> Matrix {
    let mut data = Vec::new();
    let mut n = 0;
    for r in rows {
        data.extend(raw_features(r));
        n += 1;
    }
    Matrix { rows: n, cols: RAW_DIM, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_of_a_known_row() {
        let row = FlowRow {
            packet_lengths: vec![100.0, 300.0, 200.0],
            iat_values: vec![0.0, 1.0, 3.0],
            directions: vec![1, -1, 1],
            total_packets: 3.0,
            total_fwd_packets: 2.0,
            total_backward_packets: 1.0,
            protocol: 17,
            ..Default::default()
        };
        let v = raw_features(&row);
        assert_eq!(v.len(), RAW_DIM);
        assert!((v[3] - 2.0 / 3.0).abs() < 1e-6); // fwd share
        assert_eq!(v[5], 200.0); // size mean
        assert_eq!((v[7], v[8], v[9]), (100.0, 300.0, 200.0)); // min, max, median
        assert_eq!((v[10], v[11]), (150.0, 300.0)); // up / down mean size
        assert!((v[16] - 4f32.ln_1p()).abs() < 1e-6); // duration 4 ms
        assert!((v[18] - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(v[19], 1.0); // direction flips every packet
        assert_eq!((v[20], v[21]), (0.0, 1.0));
        assert_eq!(&v[22..26], &[100.0, -300.0, 200.0, 0.0]);
        assert!(raw_features(&FlowRow::default()).iter().all(|x| x.is_finite()));
    }

    #[test]
    fn standardizer_centres_and_scales() {
        let m = Matrix::from_rows(&[vec![1.0, 5.0], vec![3.0, 5.0]]).unwrap();
        let s = Standardizer::fit(&m);
        assert_eq!(s.apply(&m).data, vec![-1.0, 0.0, 1.0, 0.0]);
    }
}
