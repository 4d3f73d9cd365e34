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
    /// Size tokens with a learnt vector each, added to the input projection; 0 = none.
    #[serde(default)]
    pub size_vocab: i64,
    /// Packet positions with a learnt vector each, added likewise; 0 = none.
    #[serde(default)]
    pub positions: i64,
}

#[derive(Debug)]
pub struct AppEncoder {
    input: nn::Linear,
    size_emb: Option<nn::Embedding>,
    pos_emb: Option<Tensor>,
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
            // Zero at the start, so a size or position never seen in training adds nothing.
            size_emb: (cfg.size_vocab > 0).then(|| {
                let ecfg = nn::EmbeddingConfig { ws_init: nn::Init::Const(0.0), ..Default::default() };
                nn::embedding(&vs / "size_emb", cfg.size_vocab, h, ecfg)
            }),
            pos_emb: (cfg.positions > 0).then(|| vs.zeros("pos_emb", &[cfg.positions, h])),
            convs: (0..cfg.conv_blocks).map(|i| conv_block::GatedConvBlock::new(&vs / "conv" / i, &ccfg)).collect(),
            layers: (0..cfg.layers).map(|i| transformer::EncoderLayer::new(&vs / "layer" / i, &tcfg)).collect(),
            norm: nn::layer_norm(&vs / "norm", vec![h], Default::default()),
            pool: AttentionPool::new(&vs / "pool", &pooling::Config { dim: h }),
            proj1: nn::linear(&vs / "proj1", h, h, Default::default()),
            proj2: nn::linear(&vs / "proj2", h, cfg.emb_dim, Default::default()),
        }
    }

    /// `packets [B, P, F]`, `size_tokens [B, P]` i64 (with a size embedding), `mask [B, P]` bool.
    pub fn forward_t(&self, packets: &Tensor, size_tokens: Option<&Tensor>, mask: &Tensor, train: bool) -> AppOutput {
        let (_b, p, _f) = packets.size3().expect("packets [B, P, F]");
        let mut x = packets.apply(&self.input);
        if let (Some(e), Some(t)) = (&self.size_emb, size_tokens) {
            x += t.apply(e);
        }
        if let Some(pe) = &self.pos_emb {
            x += pe.narrow(0, 0, p).unsqueeze(0);
        }
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
