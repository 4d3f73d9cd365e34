//! Application encoder (`model::app_encoder`): input projection → conv blocks → Transformer
//! layers → LN → masked attention pooling → proj1 → GELU → proj2 → L2 norm.
use super::conv_block::GatedConvBlock;
use super::ops::{gelu_inplace, l2_normalize, LayerNorm, Linear, Scratch};
use super::pooling::AttentionPool;
use super::transformer::EncoderLayer;
use super::weights::Weights;
use crate::error::Result;
use crate::model::{app_encoder::Config, conv_block, transformer};

#[derive(Debug, Clone)]
pub struct AppEncoder {
    input: Linear,
    /// `[size_vocab, hidden]` and `[positions, hidden]`, when the model learnt them.
    size_emb: Option<Vec<f32>>,
    pos_emb: Option<Vec<f32>>,
    convs: Vec<GatedConvBlock>,
    layers: Vec<EncoderLayer>,
    norm: LayerNorm,
    pool: AttentionPool,
    proj1: Linear,
    proj2: Linear,
    pub hidden: usize,
}

impl AppEncoder {
    pub fn load(w: &Weights, prefix: &str, cfg: &Config) -> Result<Self> {
        let h = cfg.hidden as usize;
        let ccfg = conv_block::Config { dim: cfg.hidden, kernel: cfg.kernel, dropout: cfg.dropout };
        let tcfg =
            transformer::Config { dim: cfg.hidden, heads: cfg.heads, ff_mult: cfg.ff_mult, dropout: cfg.dropout };
        Ok(AppEncoder {
            input: Linear::load(w, &format!("{prefix}.input"), cfg.in_dim as usize, h)?,
            size_emb: match cfg.size_vocab as usize {
                0 => None,
                v => Some(w.get(&format!("{prefix}.size_emb.weight"), v * h)?),
            },
            pos_emb: match cfg.positions as usize {
                0 => None,
                n => Some(w.get(&format!("{prefix}.pos_emb"), n * h)?),
            },
            convs: (0..cfg.conv_blocks)
                .map(|i| GatedConvBlock::load(w, &format!("{prefix}.conv.{i}"), &ccfg))
                .collect::<Result<_>>()?,
            layers: (0..cfg.layers)
                .map(|i| EncoderLayer::load(w, &format!("{prefix}.layer.{i}"), &tcfg))
                .collect::<Result<_>>()?,
            norm: LayerNorm::load(w, &format!("{prefix}.norm"), h)?,
            pool: AttentionPool::load(w, &format!("{prefix}.pool"), h)?,
            proj1: Linear::load(w, &format!("{prefix}.proj1"), h, h)?,
            proj2: Linear::load(w, &format!("{prefix}.proj2"), h, cfg.emb_dim as usize)?,
            hidden: h,
        })
    }

    /// `packets [rows, in_dim]` (normalised), `size_tokens [rows]` (with a size embedding),
    /// `mask [rows]` → `tokens [rows, hidden]` and `z_app`.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        packets: &[f32],
        size_tokens: &[i64],
        mask: &[f32],
        rows: usize,
        tokens: &mut [f32],
        z_app: &mut [f32],
        s: &mut Scratch,
    ) {
        let h = self.hidden;
        let mut x = s.take_for_overwrite(rows * h);
        self.input.forward(packets, rows, &mut x);
        if let Some(e) = &self.size_emb {
            let vocab = e.len() / h;
            for (xr, &t) in x.chunks_exact_mut(h).zip(&size_tokens[..rows]) {
                // Tokens come from `FeatureConfig::size_token`, always < vocab; clamp all the same.
                let t = (t.max(0) as usize).min(vocab - 1);
                xr.iter_mut().zip(&e[t * h..(t + 1) * h]).for_each(|(a, b)| *a += b);
            }
        }
        if let Some(pe) = &self.pos_emb {
            x.iter_mut().zip(pe).for_each(|(a, b)| *a += b);
        }
        for c in &self.convs {
            c.forward(&mut x, mask, rows, s);
        }
        for l in &self.layers {
            l.forward(&mut x, mask, rows, s);
        }
        self.norm.forward(&x, rows, tokens);
        let mut pooled = s.take(h);
        self.pool.forward(&tokens[..rows * h], rows, Some(&mask[..rows]), &mut pooled, s);
        let mut p1 = s.take(h);
        self.proj1.forward_vec(&pooled, &mut p1);
        gelu_inplace(&mut p1);
        self.proj2.forward_vec(&p1, z_app);
        l2_normalize(z_app);
        s.give(p1);
        s.give(pooled);
        s.give(x);
    }
}
