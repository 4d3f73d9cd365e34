//! The model's service head (`service_head`: a linear layer on `z_flow`, trained with the service
//! cross-entropy) as a second open-set score: the energy `log Σ_k exp(logit_k)` of a flow's
//! service logits (Liu et al., "Energy-based Out-of-distribution Detection", 2020). Known flows
//! score high; the prototype cosine stays the open-set KPI and `classify`'s default rule.
use super::matrix::Matrix;
use crate::error::{Error, Result};
use crate::infer::weights::Weights;

#[derive(Debug, Clone)]
pub struct ServiceHead {
    /// `[services, dim]`, row-major (torch's `Linear` weight).
    weight: Vec<f32>,
    bias: Vec<f32>,
    dim: usize,
}

impl ServiceHead {
    pub fn new(weight: Vec<f32>, bias: Vec<f32>, dim: usize) -> Result<Self> {
        if dim == 0 || bias.is_empty() || weight.len() != bias.len() * dim {
            return Err(Error::Config(format!(
                "service head: {} weights for {} services of {dim} dims",
                weight.len(),
                bias.len()
            )));
        }
        Ok(ServiceHead { weight, bias, dim })
    }

    /// `service_head.weight` / `.bias` of a checkpoint's weights (`services` × `dim`).
    pub fn load(w: &Weights, services: usize, dim: usize) -> Result<Self> {
        ServiceHead::new(w.get("service_head.weight", services * dim)?, w.get("service_head.bias", services)?, dim)
    }

    fn check(&self, z: &Matrix) -> Result<()> {
        if z.cols != self.dim {
            return Err(Error::Config(format!("service head: {} dims, embeddings have {}", self.dim, z.cols)));
        }
        Ok(())
    }

    /// The service logits of one embedding, in f64.
    fn logits(&self, x: &[f32]) -> Vec<f64> {
        self.weight
            .chunks_exact(self.dim)
            .zip(&self.bias)
            .map(|(w, &b)| b as f64 + w.iter().zip(x).map(|(&w, &v)| w as f64 * v as f64).sum::<f64>())
            .collect()
    }

    /// The energy score of each row of `z` (unit-length `z_flow`, `dim` wide).
    pub fn energy(&self, z: &Matrix) -> Result<Vec<f32>> {
        self.check(z)?;
        Ok((0..z.rows)
            .map(|i| {
                let logits = self.logits(z.row(i));
                let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (max + logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln()) as f32
            })
            .collect())
    }

    /// The head's service (index into the checkpoint's service list) for each row of `z`; the
    /// first of equal logits.
    pub fn predict(&self, z: &Matrix) -> Result<Vec<u32>> {
        self.check(z)?;
        Ok((0..z.rows)
            .map(|i| {
                let l = self.logits(z.row(i));
                (0..l.len()).fold(0, |best, k| if l[k] > l[best] { k } else { best }) as u32
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_is_the_logsumexp_of_the_logits() {
        // Two services on 2-d embeddings: logits (2 + x0, −1 + x1).
        let head = ServiceHead::new(vec![1.0, 0.0, 0.0, 1.0], vec![2.0, -1.0], 2).unwrap();
        let z = Matrix::from_rows(&[vec![1.0, 0.0], vec![0.0, 1.0]]).unwrap();
        let e = head.energy(&z).unwrap();
        let want = [(3f64.exp() + (-1f64).exp()).ln(), (2f64.exp() + 0f64.exp()).ln()];
        for (got, want) in e.iter().zip(want) {
            assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
        }
        // Large logits do not overflow.
        let big = ServiceHead::new(vec![0.0; 4], vec![1000.0, 1000.0], 2).unwrap();
        let e = big.energy(&z).unwrap();
        assert!((e[0] as f64 - (1000.0 + 2f64.ln())).abs() < 1e-3);
        assert!(head.energy(&Matrix::from_rows(&[vec![1.0, 0.0, 0.0]]).unwrap()).is_err());
        assert!(ServiceHead::new(vec![1.0; 3], vec![0.0, 0.0], 2).is_err());
        // Argmax of the logits: (3, −1) → 0, (2, 0) → 0; and a row nearer service 1.
        let z2 = Matrix::from_rows(&[vec![1.0, 0.0], vec![0.0, 1.0], vec![-1.0, 4.0]]).unwrap();
        assert_eq!(head.predict(&z2).unwrap(), vec![0, 0, 1]);
    }
}
