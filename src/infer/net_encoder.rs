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
    /// `seqs` condition series of `steps` rows each, stacked → their GRU tokens `[seqs·steps,
    /// token_dim]` and unit-length `z_net [seqs, emb_dim]`, each as computed alone.
    pub fn forward(
        &self,
        cond: &[f32],
        seqs: usize,
        steps: usize,
        tokens: &mut [f32],
        z_net: &mut [f32],
        s: &mut Scratch,
    ) {
        let (rows, td) = (seqs * steps, self.token_dim());
        let mut x = s.take_for_overwrite(rows * self.input.dout);
        self.input.forward(cond, rows, &mut x);
        gelu_inplace(&mut x);
        self.gru.forward(&x, seqs, steps, tokens, s);
        let mut pooled = s.take(seqs * td);
        for (q, p) in pooled.chunks_exact_mut(td).enumerate() {
            self.pool.forward(&tokens[q * steps * td..(q + 1) * steps * td], steps, None, p, s);
        }
        self.proj.forward(&pooled, seqs, z_net);
        z_net.chunks_exact_mut(self.proj.dout).for_each(l2_normalize);
        s.give(pooled);
        s.give(x);
    }
}
