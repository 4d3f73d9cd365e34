//! Application encoder: packet tokens → input projection → gated temporal conv blocks →
//! Transformer layer(s) → masked attention pooling → projection → L2-normalised `z_app`.
use super::pooling::{self, l2_normalize, AttentionPool};
use super::{conv_block, transformer};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub in_dim: i64,
    pub hidden: i64,
    pub heads: i64,
    pub conv_blocks: i64,
    pub kernel: i64,
    pub layers: i64,
    pub ff_mult: i64,
    pub emb_dim: i64,
    pub dropout: f64,
}

#[derive(Debug)]
pub struct AppEncoder {
    input: nn::Linear,
    convs: Vec<conv_block::GatedConvBlock>,
    layers: Vec<transformer::EncoderLayer>,
    norm: nn::LayerNorm,
    pool: AttentionPool,
    proj1: nn::Linear,
    proj2: nn::Linear,
}

/// Token states (for fusion) and the embedding.
pub struct AppOutput {
    pub tokens: Tensor,
    pub z_app: Tensor,
}

impl AppEncoder {
    pub fn new(vs: nn::Path, cfg: &Config) -> Self {
        let h = cfg.hidden;
        let ccfg = conv_block::Config { dim: h, kernel: cfg.kernel, dropout: cfg.dropout };
        let tcfg = transformer::Config { dim: h, heads: cfg.heads, ff_mult: cfg.ff_mult, dropout: cfg.dropout };
        AppEncoder {
            input: nn::linear(&vs / "input", cfg.in_dim, h, Default::default()),
            convs: (0..cfg.conv_blocks).map(|i| conv_block::GatedConvBlock::new(&vs / "conv" / i, &ccfg)).collect(),
            layers: (0..cfg.layers).map(|i| transformer::EncoderLayer::new(&vs / "layer" / i, &tcfg)).collect(),
            norm: nn::layer_norm(&vs / "norm", vec![h], Default::default()),
            pool: AttentionPool::new(&vs / "pool", &pooling::Config { dim: h }),
            proj1: nn::linear(&vs / "proj1", h, h, Default::default()),
            proj2: nn::linear(&vs / "proj2", h, cfg.emb_dim, Default::default()),
        }
    }

    /// `packets [B, P, F]`, `mask [B, P]` bool.
    pub fn forward_t(&self, packets: &Tensor, mask: &Tensor, train: bool) -> AppOutput {
        let (_b, _p, _f) = packets.size3().expect("packets [B, P, F]");
        let mut x = packets.apply(&self.input);
        for c in &self.convs {
            x = c.forward_t(&x, mask, train);
        }
        for l in &self.layers {
            x = l.forward_t(&x, mask, train);
        }
        let tokens = x.apply(&self.norm);
        let pooled = self.pool.forward(&tokens, Some(mask));
        let z = pooled.apply(&self.proj1).gelu("none").apply(&self.proj2);
        AppOutput { tokens, z_app: l2_normalize(&z) }
    }
}
