//! Temporal conv block: layer norm → depthwise 1-D conv → pointwise conv to 2·H → GLU gate →
//! dropout → residual. Padding is zeroed before the conv so it never leaks into real packets.
use super::dropout::dropout;
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub dim: i64,
    pub kernel: i64,
    pub dropout: f64,
}

#[derive(Debug)]
pub struct GatedConvBlock {
    norm: nn::LayerNorm,
    depthwise: nn::Conv1D,
    pointwise: nn::Conv1D,
    dropout: f64,
}

impl GatedConvBlock {
    pub fn new(vs: nn::Path, cfg: &Config) -> Self {
        let dw = nn::ConvConfig { padding: cfg.kernel / 2, groups: cfg.dim, ..Default::default() };
        GatedConvBlock {
            norm: nn::layer_norm(&vs / "norm", vec![cfg.dim], Default::default()),
            depthwise: nn::conv1d(&vs / "depthwise", cfg.dim, cfg.dim, cfg.kernel, dw),
            pointwise: nn::conv1d(&vs / "pointwise", cfg.dim, 2 * cfg.dim, 1, Default::default()),
            dropout: cfg.dropout,
        }
    }

    /// `xs [B, L, H]`, `mask [B, L]` bool → `[B, L, H]`.
    pub fn forward_t(&self, xs: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        let (_b, _l, _h) = xs.size3().expect("xs [B, L, H]");
        let m = mask.to_kind(Kind::Float).unsqueeze(-1);
        let y = (xs.apply(&self.norm) * &m).transpose(1, 2);
        let y = y.apply(&self.depthwise).apply(&self.pointwise).glu(1).transpose(1, 2);
        (xs + dropout(&y, self.dropout, train)) * m
    }
}
