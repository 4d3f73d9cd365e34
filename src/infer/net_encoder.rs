//! Network-condition encoder (`model::net_encoder`): projection → GELU → BiGRU → attention
//! pooling (no mask) → projection → L2 norm.
use super::gru::Gru;
use super::ops::{gelu_inplace, l2_normalize, Linear, Scratch};
use super::pooling::AttentionPool;
use super::weights::Weights;
use crate::error::Result;
use crate::model::net_encoder::Config;

#[derive(Debug, Clone)]
pub struct NetEncoder {
    input: Linear,
    gru: Gru,
    pool: AttentionPool,
    proj: Linear,
}

impl NetEncoder {
    pub fn load(w: &Weights, prefix: &str, cfg: &Config) -> Result<Self> {
        let g = cfg.hidden as usize;
        Ok(NetEncoder {
            input: Linear::load(w, &format!("{prefix}.input"), cfg.in_dim as usize, g)?,
            gru: Gru::load(w, &format!("{prefix}.gru"), g, g, cfg.gru_layers as usize)?,
            pool: AttentionPool::load(w, &format!("{prefix}.pool"), 2 * g)?,
            proj: Linear::load(w, &format!("{prefix}.proj"), 2 * g, cfg.emb_dim as usize)?,
        })
    }

    /// Width of the condition tokens.
    pub fn token_dim(&self) -> usize {
        self.gru.out_dim()
    }

    /// `cond [steps, in_dim]` → `tokens [steps, 2·hidden]` and `z_net`.
    pub fn forward(&self, cond: &[f32], steps: usize, tokens: &mut [f32], z_net: &mut [f32], s: &mut Scratch) {
        let mut x = s.take_for_overwrite(steps * self.input.dout);
        self.input.forward(cond, steps, &mut x);
        gelu_inplace(&mut x);
        self.gru.forward(&x, steps, tokens, s);
        let mut pooled = s.take(self.token_dim());
        self.pool.forward(tokens, steps, None, &mut pooled, s);
        self.proj.forward_vec(&pooled, z_net);
        l2_normalize(z_net);
        s.give(pooled);
        s.give(x);
    }
}
