//! Pre-norm Transformer encoder layer with a key-padding mask.
use super::attention::{self, MultiHeadAttention};
use super::dropout::dropout;
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub dim: i64,
    pub heads: i64,
    pub ff_mult: i64,
    pub dropout: f64,
}

#[derive(Debug)]
pub struct EncoderLayer {
    norm1: nn::LayerNorm,
    attn: MultiHeadAttention,
    norm2: nn::LayerNorm,
    ff1: nn::Linear,
    ff2: nn::Linear,
    dropout: f64,
}

impl EncoderLayer {
    pub fn new(vs: nn::Path, cfg: &Config) -> Self {
        let acfg = attention::Config { dim: cfg.dim, kv_dim: cfg.dim, heads: cfg.heads, dropout: cfg.dropout };
        let ff = cfg.dim * cfg.ff_mult;
        EncoderLayer {
            norm1: nn::layer_norm(&vs / "norm1", vec![cfg.dim], Default::default()),
            attn: MultiHeadAttention::new(&vs / "attn", &acfg),
            norm2: nn::layer_norm(&vs / "norm2", vec![cfg.dim], Default::default()),
            ff1: nn::linear(&vs / "ff1", cfg.dim, ff, Default::default()),
            ff2: nn::linear(&vs / "ff2", ff, cfg.dim, Default::default()),
            dropout: cfg.dropout,
        }
    }

    /// `xs [B, L, H]`, `mask [B, L]` bool (true = real token) → `[B, L, H]`.
    pub fn forward_t(&self, xs: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        let (_b, _l, _h) = xs.size3().expect("xs [B, L, H]");
        let y = xs.apply(&self.norm1);
        let xs = xs + dropout(&self.attn.forward_t(&y, &y, Some(mask), train), self.dropout, train);
        let y = dropout(&xs.apply(&self.norm2).apply(&self.ff1).gelu("none"), self.dropout, train).apply(&self.ff2);
        &xs + dropout(&y, self.dropout, train)
    }
}
