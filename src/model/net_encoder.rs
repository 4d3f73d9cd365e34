//! Network-condition encoder: per-bin projection → bidirectional GRU → attention pooling →
//! L2-normalised `z_net`.
use super::pooling::{self, l2_normalize, AttentionPool};
use serde::{Deserialize, Serialize};
use tch::nn::{self, RNN};
use tch::Tensor;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub in_dim: i64,
    /// GRU hidden size per direction.
    pub hidden: i64,
    pub gru_layers: i64,
    pub emb_dim: i64,
}

#[derive(Debug)]
pub struct NetEncoder {
    input: nn::Linear,
    gru: nn::GRU,
    pool: AttentionPool,
    proj: nn::Linear,
}

pub struct NetOutput {
    /// `[B, T, 2·hidden]`
    pub tokens: Tensor,
    pub z_net: Tensor,
}

impl NetEncoder {
    pub fn new(vs: nn::Path, cfg: &Config) -> Self {
        let rnn =
            nn::RNNConfig { bidirectional: true, num_layers: cfg.gru_layers, batch_first: true, ..Default::default() };
        let out = 2 * cfg.hidden;
        NetEncoder {
            input: nn::linear(&vs / "input", cfg.in_dim, cfg.hidden, Default::default()),
            gru: nn::gru(&vs / "gru", cfg.hidden, cfg.hidden, rnn),
            pool: AttentionPool::new(&vs / "pool", &pooling::Config { dim: out }),
            proj: nn::linear(&vs / "proj", out, cfg.emb_dim, Default::default()),
        }
    }

    /// `cond [B, T, C]`.
    pub fn forward(&self, cond: &Tensor) -> NetOutput {
        let (_b, _t, _c) = cond.size3().expect("cond [B, T, C]");
        let x = cond.apply(&self.input).gelu("none");
        let (tokens, _) = self.gru.seq(&x);
        let z = self.pool.forward(&tokens, None).apply(&self.proj);
        NetOutput { tokens, z_net: l2_normalize(&z) }
    }
}
