//! Multi-head attention on `Tensor::scaled_dot_product_attention` (tch has no Transformer module).
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Query / output width.
    pub dim: i64,
    /// Width of the key/value inputs (= `dim` for self-attention).
    pub kv_dim: i64,
    pub heads: i64,
    pub dropout: f64,
}

#[derive(Debug)]
pub struct MultiHeadAttention {
    q: nn::Linear,
    kv: nn::Linear,
    out: nn::Linear,
    heads: i64,
    dropout: f64,
}

impl MultiHeadAttention {
    pub fn new(vs: nn::Path, cfg: &Config) -> Self {
        assert!(cfg.dim % cfg.heads == 0, "attention width {} not divisible by {} heads", cfg.dim, cfg.heads);
        MultiHeadAttention {
            q: nn::linear(&vs / "q", cfg.dim, cfg.dim, Default::default()),
            kv: nn::linear(&vs / "kv", cfg.kv_dim, 2 * cfg.dim, Default::default()),
            out: nn::linear(&vs / "out", cfg.dim, cfg.dim, Default::default()),
            heads: cfg.heads,
            dropout: cfg.dropout,
        }
    }

    /// `query [B, Lq, D]`, `kv [B, Lk, Dkv]`, `key_mask [B, Lk]` bool (true = attend) → `[B, Lq, D]`.
    pub fn forward_t(&self, query: &Tensor, kv: &Tensor, key_mask: Option<&Tensor>, train: bool) -> Tensor {
        let (b, lq, d) = query.size3().expect("query [B, Lq, D]");
        let (_, lk, _) = kv.size3().expect("kv [B, Lk, Dkv]");
        let h = self.heads;
        let dh = d / h;
        let q = query.apply(&self.q).view([b, lq, h, dh]).transpose(1, 2);
        let kv = kv.apply(&self.kv).view([b, lk, 2, h, dh]).permute([2, 0, 3, 1, 4]);
        let (k, v) = (kv.get(0), kv.get(1));
        let mask = key_mask.map(|m| m.view([b, 1, 1, lk]));
        let p = if train { self.dropout } else { 0.0 };
        let att = Tensor::scaled_dot_product_attention(&q, &k, &v, mask, p, false, None, false);
        att.transpose(1, 2).contiguous().view([b, lq, d]).apply(&self.out)
    }
}
