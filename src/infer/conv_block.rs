//! Gated temporal conv block (`model::conv_block`): LN → ×mask → depthwise conv → pointwise conv
//! → GLU → residual → ×mask. Only the first `rows` tokens are computed: every later token is
//! padding, zero at the conv input (like the conv's own zero padding) and zeroed at the output.
use super::ops::{glu, LayerNorm, Linear, Scratch};
use super::weights::Weights;
use crate::error::Result;
use crate::model::conv_block::Config;

#[derive(Debug, Clone)]
pub struct GatedConvBlock {
    norm: LayerNorm,
    /// Depthwise taps transposed to `[kernel, dim]`: one contiguous row per tap.
    dw_taps: Vec<f32>,
    dw_bias: Vec<f32>,
    pointwise: Linear,
    dim: usize,
    kernel: usize,
}

impl GatedConvBlock {
    pub fn load(w: &Weights, prefix: &str, cfg: &Config) -> Result<Self> {
        let (dim, kernel) = (cfg.dim as usize, cfg.kernel as usize);
        Ok(GatedConvBlock {
            norm: LayerNorm::load(w, &format!("{prefix}.norm"), dim)?,
            dw_taps: super::ops::transpose(&w.get(&format!("{prefix}.depthwise.weight"), dim * kernel)?, dim, kernel),
            dw_bias: w.get(&format!("{prefix}.depthwise.bias"), dim)?,
            pointwise: Linear::load(w, &format!("{prefix}.pointwise"), dim, 2 * dim)?,
            dim,
            kernel,
        })
    }

    /// `x [rows, dim]` updated in place; `mask[t]` is 1.0 for real tokens.
    pub fn forward(&self, x: &mut [f32], mask: &[f32], rows: usize, s: &mut Scratch) {
        let (h, k) = (self.dim, self.kernel);
        let pad = k / 2;
        let mut y = s.take_for_overwrite(rows * h);
        self.norm.forward(x, rows, &mut y);
        for (yr, &m) in y.chunks_exact_mut(h).zip(mask) {
            yr.iter_mut().for_each(|v| *v *= m);
        }
        // Depthwise conv, time-major: out[t, c] = b[c] + Σ_j w[c, j] · y[t + j − pad, c].
        let mut z = s.take_for_overwrite(rows * h);
        for (t, zr) in z.chunks_exact_mut(h).enumerate() {
            zr.copy_from_slice(&self.dw_bias);
            for j in 0..k {
                let Some(src) = (t + j).checked_sub(pad).filter(|&u| u < rows) else { continue };
                super::math::mul_acc(zr, &y[src * h..(src + 1) * h], &self.dw_taps[j * h..(j + 1) * h]);
            }
        }
        let mut u = s.take_for_overwrite(rows * 2 * h);
        self.pointwise.forward(&z, rows, &mut u);
        glu(&u, rows, h, &mut y);
        for ((xr, yr), &m) in x[..rows * h].chunks_exact_mut(h).zip(y.chunks_exact(h)).zip(mask) {
            for (a, &b) in xr.iter_mut().zip(yr) {
                *a = (*a + b) * m;
            }
        }
        s.give(u);
        s.give(z);
        s.give(y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::ops::tests::{max_diff, to_vec};
    use tch::{nn, Device, Kind, Tensor};

    #[test]
    fn conv_block_matches_tch_with_padding() {
        tch::manual_seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = Config { dim: 16, kernel: 5, dropout: 0.1 };
        let block = crate::model::conv_block::GatedConvBlock::new(vs.root() / "c", &cfg);
        // Random norm weights too (they start at 1/0).
        tch::no_grad(|| {
            for (_, mut v) in vs.variables() {
                v.copy_(&Tensor::randn(v.size(), (Kind::Float, Device::Cpu)));
            }
        });
        let (l, real) = (12usize, 7usize);
        let mut maskv = vec![0f32; l];
        maskv[..real].iter_mut().for_each(|m| *m = 1.0);
        let x = Tensor::randn([1, l as i64, 16], (Kind::Float, Device::Cpu));
        let mask = Tensor::from_slice(&maskv.iter().map(|&m| m > 0.0).collect::<Vec<_>>()).view([1, l as i64]);
        let want = to_vec(&block.forward_t(&x, &mask, false));
        let host = GatedConvBlock::load(&Weights::from_varstore(&vs), "c", &cfg).unwrap();
        let mut xv = to_vec(&x);
        let mut s = Scratch::default();
        host.forward(&mut xv, &maskv, real, &mut s);
        let d = max_diff(&xv[..real * 16], &want[..real * 16]);
        assert!(d < 1e-5, "conv block differs by {d}");
        assert!(want[real * 16..].iter().all(|&v| v == 0.0), "tch zeroes padding after the block");
        // The whole sequence (padding included) gives the same real rows.
        let mut full = to_vec(&x);
        host.forward(&mut full, &maskv, l, &mut s);
        assert!(max_diff(&full, &want) < 1e-5);
    }
}
