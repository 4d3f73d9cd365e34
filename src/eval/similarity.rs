//! Mean pairwise cosine within and across labels, FlowCon-X's `intra`/`inter` (mean over all
//! unordered pairs i < j), from per-label sums of the unit vectors instead of an N×N matrix:
//! Σ_{i<j, same label} vᵢ·vⱼ = Σ_c (|S_c|² − Σ_{i∈c} |vᵢ|²) / 2 and the cross-label sum is
//! (|S|² − Σ_c |S_c|²) / 2, where S_c is the sum of label c's vectors and S of all vectors.
use super::matrix::Matrix;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct IntraInter {
    /// Mean cosine over pairs with the same label (`None` when no label has two rows).
    pub intra: Option<f64>,
    /// Mean cosine over pairs with different labels (`None` with a single label).
    pub inter: Option<f64>,
}

/// `emb` rows must be L2-normalised (cosine = dot product).
pub fn intra_inter(emb: &Matrix, labels: &[u32], n_labels: usize) -> IntraInter {
    let d = emb.cols;
    let mut sums = vec![0f64; n_labels * d];
    let mut counts = vec![0u64; n_labels];
    let mut self_dots = vec![0f64; n_labels];
    for (i, &l) in labels.iter().enumerate() {
        let l = l as usize;
        counts[l] += 1;
        let row = emb.row(i);
        self_dots[l] += row.iter().map(|&v| v as f64 * v as f64).sum::<f64>();
        sums[l * d..(l + 1) * d].iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
    }
    let mut total = vec![0f64; d];
    let (mut intra_sum, mut intra_pairs, mut sq_norms) = (0f64, 0f64, 0f64);
    for c in 0..n_labels {
        let s = &sums[c * d..(c + 1) * d];
        let sq = s.iter().map(|v| v * v).sum::<f64>();
        sq_norms += sq;
        total.iter_mut().zip(s).for_each(|(t, v)| *t += v);
        let n = counts[c] as f64;
        intra_sum += (sq - self_dots[c]) / 2.0;
        intra_pairs += n * (n - 1.0) / 2.0;
    }
    let n_all = labels.len() as f64;
    let same_sq: f64 = counts.iter().map(|&c| (c as f64) * (c as f64)).sum();
    let inter_pairs = (n_all * n_all - same_sq) / 2.0;
    let inter_sum = (total.iter().map(|v| v * v).sum::<f64>() - sq_norms) / 2.0;
    IntraInter {
        intra: (intra_pairs > 0.0).then(|| intra_sum / intra_pairs),
        inter: (inter_pairs > 0.0).then(|| inter_sum / inter_pairs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over pairs, the definition.
    fn brute(emb: &Matrix, labels: &[u32]) -> (f64, f64) {
        let (mut a, mut na, mut b, mut nb) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..emb.rows {
            for j in i + 1..emb.rows {
                let dot: f64 = emb.row(i).iter().zip(emb.row(j)).map(|(x, y)| (*x as f64) * (*y as f64)).sum();
                if labels[i] == labels[j] {
                    a += dot;
                    na += 1.0;
                } else {
                    b += dot;
                    nb += 1.0;
                }
            }
        }
        (a / na, b / nb)
    }

    #[test]
    fn known_values() {
        // Label 0: two identical vectors (cos 1); label 1: orthogonal pair (cos 0).
        // Cross pairs: e1·e1 = 1 (twice), e1·e2 = 0 (twice) → inter 0.5.
        let e = Matrix::from_rows(&[vec![1.0, 0.0], vec![1.0, 0.0], vec![1.0, 0.0], vec![0.0, 1.0]]).unwrap();
        let r = intra_inter(&e, &[0, 0, 1, 1], 2);
        assert!((r.intra.unwrap() - 0.5).abs() < 1e-9); // (1 + 0) / 2 pairs
        assert!((r.inter.unwrap() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn matches_brute_force() {
        let rows: Vec<Vec<f32>> =
            (0..23).map(|i| (0..5).map(|j| ((i * 7 + j * 3) % 11) as f32 - 5.0).collect()).collect();
        let e = Matrix::from_rows(&rows).unwrap().normalized();
        let labels: Vec<u32> = (0..23).map(|i| (i % 3) as u32).collect();
        let r = intra_inter(&e, &labels, 3);
        let (a, b) = brute(&e, &labels);
        assert!((r.intra.unwrap() - a).abs() < 1e-6, "{r:?} vs {a}");
        assert!((r.inter.unwrap() - b).abs() < 1e-6);
    }

    #[test]
    fn single_label_has_no_inter() {
        let e = Matrix::from_rows(&[vec![1.0], vec![1.0]]).unwrap();
        let r = intra_inter(&e, &[0, 0], 1);
        assert_eq!(r.inter, None);
        assert_eq!(r.intra, Some(1.0));
    }
}
