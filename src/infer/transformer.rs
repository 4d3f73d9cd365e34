//! Pre-norm Transformer encoder layer (`model::transformer`): x + MHA(LN1 x) with the key mask,
//! then x + FF(LN2 x) with an exact-GELU hidden layer.
use super::attention::MultiHeadAttention;
use super::ops::{gelu_inplace, LayerNorm, Linear, Scratch};
use super::weights::Weights;
use crate::error::Result;
use crate::model::{attention, transformer::Config};

#[derive(Debug, Clone)]
pub struct EncoderLayer {
    norm1: LayerNorm,
    attn: MultiHeadAttention,
    norm2: LayerNorm,
    ff1: Linear,
    ff2: Linear,
    dim: usize,
}

impl EncoderLayer {
    pub fn load(w: &Weights, prefix: &str, cfg: &Config) -> Result<Self> {
        let d = cfg.dim as usize;
        let ff = d * cfg.ff_mult as usize;
        let acfg = attention::Config { dim: cfg.dim, kv_dim: cfg.dim, heads: cfg.heads, dropout: cfg.dropout };
        Ok(EncoderLayer {
            norm1: LayerNorm::load(w, &format!("{prefix}.norm1"), d)?,
            attn: MultiHeadAttention::load(w, &format!("{prefix}.attn"), &acfg)?,
            norm2: LayerNorm::load(w, &format!("{prefix}.norm2"), d)?,
            ff1: Linear::load(w, &format!("{prefix}.ff1"), d, ff)?,
            ff2: Linear::load(w, &format!("{prefix}.ff2"), ff, d)?,
            dim: d,
        })
    }

    /// `x [rows, dim]` in place. Tokens past `rows` are padding: masked as keys, and their own
    /// outputs only reach masked poolings, so they are never computed.
    pub fn forward(&self, x: &mut [f32], mask: &[f32], rows: usize, s: &mut Scratch) {
        let d = self.dim;
        let mut y = s.take_for_overwrite(rows * d);
        self.norm1.forward(x, rows, &mut y);
        let mut a = s.take_for_overwrite(rows * d);
        self.attn.forward(&y, rows, &y, rows, Some(&mask[..rows]), &mut a, s);
        x[..rows * d].iter_mut().zip(&a).for_each(|(x, a)| *x += a);
        self.norm2.forward(x, rows, &mut y);
        let mut f = s.take_for_overwrite(rows * self.ff1.dout);
        self.ff1.forward(&y, rows, &mut f);
        gelu_inplace(&mut f);
        self.ff2.forward(&f, rows, &mut a);
        x[..rows * d].iter_mut().zip(&a).for_each(|(x, a)| *x += a);
        s.give(f);
        s.give(a);
        s.give(y);
    }
}
