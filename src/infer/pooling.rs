//! Masked attention pooling and masked mean (`model::pooling`).
use super::ops::{masked_softmax, Scratch};
use super::weights::Weights;
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct AttentionPool {
    score_w: Vec<f32>,
    score_b: f32,
}

impl AttentionPool {
    pub fn load(w: &Weights, prefix: &str, dim: usize) -> Result<Self> {
        Ok(AttentionPool {
            score_w: w.get(&format!("{prefix}.score.weight"), dim)?,
            score_b: w.get(&format!("{prefix}.score.bias"), 1)?[0],
        })
    }

    /// `xs [rows, dim]`, `keep [rows]` (> 0 = real token) → `out [dim]`: Σ softmax(score) · x.
    pub fn forward(&self, xs: &[f32], rows: usize, keep: Option<&[f32]>, out: &mut [f32], s: &mut Scratch) {
        let d = self.score_w.len();
        let mut w = s.take(rows);
        super::math::row_dots(&xs[..rows * d], &self.score_w, self.score_b, &mut w);
        masked_softmax(&mut w, keep);
        super::math::weighted_rows(&xs[..rows * d], &w, &mut out[..d]);
        s.give(w);
    }
}

/// Mean of the real rows of `xs [rows, dim]` (count clamped at 1, as tch's `masked_mean`).
pub fn masked_mean(xs: &[f32], rows: usize, mask: &[f32], out: &mut [f32]) {
    let d = out.len();
    super::math::weighted_rows(&xs[..rows * d], &mask[..rows], out);
    let c = mask[..rows].iter().sum::<f32>().max(1.0);
    out.iter_mut().for_each(|o| *o /= c);
}
