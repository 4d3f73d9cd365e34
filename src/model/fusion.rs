//! Context fusion: packet tokens (queries) attend to condition tokens (keys/values); the result,
//! mean-pooled over real packets and concatenated with `z_app`, goes through an MLP →
//! L2-normalised `z_flow`, the embedding used for k-NN / classification.
use super::attention::{self, MultiHeadAttention};
use super::dropout::dropout;
use super::pooling::{l2_normalize, masked_mean};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub dim: i64,
    pub cond_dim: i64,
    pub heads: i64,
    pub app_dim: i64,
    pub emb_dim: i64,
    pub dropout: f64,
}

#[derive(Debug)]
pub struct ContextFusion {
    cross: MultiHeadAttention,
    norm: nn::LayerNorm,
    mlp1: nn::Linear,
    mlp2: nn::Linear,
    dropout: f64,
}

impl ContextFusion {
    pub fn new(vs: nn::Path, cfg: &Config) -> Self {
        let acfg = attention::Config { dim: cfg.dim, kv_dim: cfg.cond_dim, heads: cfg.heads, dropout: cfg.dropout };
        ContextFusion {
            cross: MultiHeadAttention::new(&vs / "cross", &acfg),
            norm: nn::layer_norm(&vs / "norm", vec![cfg.dim], Default::default()),
            mlp1: nn::linear(&vs / "mlp1", cfg.dim + cfg.app_dim, cfg.dim, Default::default()),
            mlp2: nn::linear(&vs / "mlp2", cfg.dim, cfg.emb_dim, Default::default()),
            dropout: cfg.dropout,
        }
    }

    /// `tokens [B, P, H]`, `mask [B, P]`, `cond_tokens [B, T, Dc]`, `z_app [B, E]` → `z_flow [B, E']`.
    pub fn forward_t(
        &self,
        tokens: &Tensor,
        mask: &Tensor,
        cond_tokens: &Tensor,
        z_app: &Tensor,
        train: bool,
    ) -> Tensor {
        let (_b, _p, _h) = tokens.size3().expect("tokens [B, P, H]");
        let ctx = (tokens + self.cross.forward_t(tokens, cond_tokens, None, train)).apply(&self.norm);
        let pooled = masked_mean(&ctx, mask);
        let h = Tensor::cat(&[pooled, z_app.shallow_clone()], 1).apply(&self.mlp1).gelu("none");
        let h = dropout(&h, self.dropout, train);
        l2_normalize(&h.apply(&self.mlp2))
    }
}
