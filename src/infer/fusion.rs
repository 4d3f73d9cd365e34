//! Context fusion (`model::fusion`): packet tokens attend to condition tokens, residual + LN,
//! masked mean over real packets, `[pooled | z_app]` → mlp1 → GELU → mlp2 → L2 norm = `z_flow`.
use super::attention::MultiHeadAttention;
use super::ops::{gelu_inplace, l2_normalize, LayerNorm, Linear, Scratch};
use super::pooling::masked_mean;
use super::weights::Weights;
use crate::error::Result;
use crate::model::{attention, fusion::Config};

#[derive(Debug, Clone)]
pub struct ContextFusion {
    cross: MultiHeadAttention,
    norm: LayerNorm,
    mlp1: Linear,
    mlp2: Linear,
    dim: usize,
}

impl ContextFusion {
    pub fn load(w: &Weights, prefix: &str, cfg: &Config) -> Result<Self> {
        let d = cfg.dim as usize;
        let acfg = attention::Config { dim: cfg.dim, kv_dim: cfg.cond_dim, heads: cfg.heads, dropout: cfg.dropout };
        Ok(ContextFusion {
            cross: MultiHeadAttention::load(w, &format!("{prefix}.cross"), &acfg)?,
            norm: LayerNorm::load(w, &format!("{prefix}.norm"), d)?,
            mlp1: Linear::load(w, &format!("{prefix}.mlp1"), d + cfg.app_dim as usize, d)?,
            mlp2: Linear::load(w, &format!("{prefix}.mlp2"), d, cfg.emb_dim as usize)?,
            dim: d,
        })
    }

    /// `tokens [rows, dim]` (only real rows matter: the mean is masked), `cond [steps, cond_dim]`.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        tokens: &[f32],
        mask: &[f32],
        rows: usize,
        cond: &[f32],
        steps: usize,
        z_app: &[f32],
        z_flow: &mut [f32],
        s: &mut Scratch,
    ) {
        let d = self.dim;
        let mut ctx = s.take_for_overwrite(rows * d);
        self.cross.forward(tokens, rows, cond, steps, None, &mut ctx, s);
        ctx.iter_mut().zip(tokens).for_each(|(c, t)| *c += t);
        let mut normed = s.take_for_overwrite(rows * d);
        self.norm.forward(&ctx, rows, &mut normed);
        let mut cat = s.take(d + z_app.len());
        masked_mean(&normed, rows, mask, &mut cat[..d]);
        cat[d..].copy_from_slice(z_app);
        let mut hdn = s.take(d);
        self.mlp1.forward_vec(&cat, &mut hdn);
        gelu_inplace(&mut hdn);
        self.mlp2.forward_vec(&hdn, z_flow);
        l2_normalize(z_flow);
        s.give(hdn);
        s.give(cat);
        s.give(normed);
        s.give(ctx);
    }
}
