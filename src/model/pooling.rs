//! Masked attention pooling: a learned score per token, softmax over real tokens only.
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub dim: i64,
}

#[derive(Debug)]
pub struct AttentionPool {
    score: nn::Linear,
}

impl AttentionPool {
    pub fn new(vs: nn::Path, cfg: &Config) -> Self {
        AttentionPool { score: nn::linear(&vs / "score", cfg.dim, 1, Default::default()) }
    }

    /// `xs [B, L, D]`, `mask [B, L]` bool → `[B, D]`.
    pub fn forward(&self, xs: &Tensor, mask: Option<&Tensor>) -> Tensor {
        let (b, l, _) = xs.size3().expect("xs [B, L, D]");
        let mut s = xs.apply(&self.score).view([b, l]);
        if let Some(m) = mask {
            s = s.masked_fill(&m.logical_not(), f64::NEG_INFINITY);
        }
        let w = s.softmax(-1, Kind::Float).unsqueeze(-1);
        (xs * w).sum_dim_intlist(1, false, Kind::Float)
    }
}

/// Mean over real tokens: `xs [B, L, D]`, `mask [B, L]` bool → `[B, D]`.
pub fn masked_mean(xs: &Tensor, mask: &Tensor) -> Tensor {
    let m = mask.to_kind(Kind::Float).unsqueeze(-1);
    (xs * &m).sum_dim_intlist(1, false, Kind::Float) / m.sum_dim_intlist(1, false, Kind::Float).clamp_min(1.0)
}

/// L2-normalise the last dimension.
pub fn l2_normalize(xs: &Tensor) -> Tensor {
    xs / xs.norm_scalaropt_dim(2.0, [-1], true).clamp_min(1e-12)
}
