//! One-vs-rest SVMs with linfa-svm, FlowCon-X's choice of kernel: RBF (C = 10, gamma "scale")
//! up to `rbf_max_rows` training rows, linear (C = 1) above. Each binary problem is fitted on
//! its own (rayon), the class with the largest decision value wins (ties → smaller id).
use super::matrix::Matrix;
use crate::error::{Error, Result};
use linfa::prelude::*;
use linfa_svm::Svm;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SvmKernel {
    Rbf,
    Linear,
}

#[derive(Debug, Clone)]
pub struct SvmOutcome {
    pub predicted: Vec<u32>,
    pub kernel: SvmKernel,
}

/// sklearn's `gamma="scale"` as linfa's Gaussian `eps` (= 1 / gamma = n_features · Var(X)).
fn gaussian_eps(x: &Matrix) -> f32 {
    let n = x.data.len().max(1) as f64;
    let mean = x.data.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.data.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let eps = x.cols as f64 * var;
    if eps > 1e-12 {
        eps as f32
    } else {
        1.0
    }
}

pub fn svm_ovr(
    train: &Matrix,
    train_y: &[u32],
    n_labels: usize,
    test: &Matrix,
    rbf_max_rows: usize,
) -> Result<SvmOutcome> {
    let kernel = if train.rows <= rbf_max_rows { SvmKernel::Rbf } else { SvmKernel::Linear };
    let present: Vec<u32> = (0..n_labels as u32).filter(|l| train_y.contains(l)).collect();
    if present.len() < 2 {
        // One class only: nothing to separate.
        let l = present.first().copied().unwrap_or(0);
        return Ok(SvmOutcome { predicted: vec![l; test.rows], kernel });
    }
    let records = Array2::from_shape_vec((train.rows, train.cols), train.data.clone())
        .map_err(|e| Error::Config(format!("svm input: {e}")))?;
    let eps = gaussian_eps(train);
    let decisions: Vec<Vec<f32>> = present
        .par_iter()
        .map(|&c| -> Result<Vec<f32>> {
            let targets: Array1<bool> = train_y.iter().map(|&y| y == c).collect();
            let ds = Dataset::new(records.clone(), targets);
            // No shrinking: linfa-svm 0.8.1 underflows an index in `do_shrinking` on real data.
            let params = Svm::<f32, bool>::params().eps(1e-3).shrinking(false);
            let params = match kernel {
                SvmKernel::Rbf => params.pos_neg_weights(10.0, 10.0).gaussian_kernel(eps),
                SvmKernel::Linear => params.pos_neg_weights(1.0, 1.0).linear_kernel(),
            };
            let model = params.fit(&ds).map_err(|e| Error::Model(format!("svm fit: {e}")))?;
            Ok((0..test.rows)
                .map(|i| model.weighted_sum(&ndarray::ArrayView1::from(test.row(i))) - model.rho)
                .collect())
        })
        .collect::<Result<_>>()?;
    let predicted = (0..test.rows)
        .map(|i| {
            let mut best = 0;
            for j in 1..present.len() {
                if decisions[j][i] > decisions[best][i] {
                    best = j;
                }
            }
            present[best]
        })
        .collect();
    Ok(SvmOutcome { predicted, kernel })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> (Matrix, Vec<u32>, Matrix, Vec<u32>) {
        // Three well-separated directions in 3-D with small deterministic offsets.
        let centres = [[1.0f32, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let mut tr = Vec::new();
        let mut ty = Vec::new();
        let mut te = Vec::new();
        let mut tey = Vec::new();
        for (c, centre) in centres.iter().enumerate() {
            for k in 0..12 {
                let off = ((k * 37 % 11) as f32 - 5.0) * 0.02;
                let v: Vec<f32> = centre.iter().enumerate().map(|(j, x)| x + off * (j as f32 - 1.0)).collect();
                if k < 9 {
                    tr.push(v);
                    ty.push(c as u32);
                } else {
                    te.push(v);
                    tey.push(c as u32);
                }
            }
        }
        (Matrix::from_rows(&tr).unwrap(), ty, Matrix::from_rows(&te).unwrap(), tey)
    }

    #[test]
    fn separates_blobs_with_both_kernels() {
        let (tr, ty, te, tey) = blobs();
        let rbf = svm_ovr(&tr, &ty, 3, &te, 10_000).unwrap();
        assert_eq!(rbf.kernel, SvmKernel::Rbf);
        assert_eq!(rbf.predicted, tey);
        let lin = svm_ovr(&tr, &ty, 3, &te, 5).unwrap();
        assert_eq!(lin.kernel, SvmKernel::Linear);
        assert_eq!(lin.predicted, tey);
    }

    #[test]
    fn single_class_predicts_it() {
        let (tr, _, te, _) = blobs();
        let out = svm_ovr(&tr, &vec![2; tr.rows], 3, &te, 10).unwrap();
        assert!(out.predicted.iter().all(|&p| p == 2));
    }
}
