//! Multi-head attention on `Tensor::scaled_dot_product_attention` (tch has no Transformer module).
use super::dropout::dropout;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

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
        let att = if p > 0.0 && q.device() == Device::Cpu {
            // SDPA's CPU path draws its attention dropout serially: the same math, a parallel mask.
            attention_math(&q, &k, &v, mask.as_ref(), p)
        } else {
            Tensor::scaled_dot_product_attention(&q, &k, &v, mask, p, false, None, false)
        };
        att.transpose(1, 2).contiguous().view([b, lq, d]).apply(&self.out)
    }
}

/// softmax(q·kᵀ/√d, masked) · v with dropout `p` on the attention weights; `mask` true = attend.
fn attention_math(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, p: f64) -> Tensor {
    let dh = q.size().last().copied().unwrap_or(1);
    let scores = q.matmul(&k.transpose(-2, -1)) * (dh as f64).powf(-0.5);
    let scores = match mask {
        Some(m) => scores.masked_fill(&m.logical_not(), f64::NEG_INFINITY),
        None => scores,
    };
    dropout(&scores.softmax(-1, Kind::Float), p, true).matmul(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_path_equals_sdpa_without_dropout() {
        tch::manual_seed(1);
        let opts = (Kind::Float, Device::Cpu);
        let (q, k, v) =
            (Tensor::randn([2, 3, 5, 4], opts), Tensor::randn([2, 3, 7, 4], opts), Tensor::randn([2, 3, 7, 4], opts));
        let mask = Tensor::from_slice(&[
            true, true, true, false, false, false, false, true, true, true, true, true, true, false,
        ])
        .view([2, 1, 1, 7]);
        let a = attention_math(&q, &k, &v, Some(&mask), 0.0);
        let b = Tensor::scaled_dot_product_attention(&q, &k, &v, Some(&mask), 0.0, false, None, false);
        let d = (a - b).abs().max().double_value(&[]);
        assert!(d < 1e-5, "math path differs from SDPA by {d}");
    }
}
