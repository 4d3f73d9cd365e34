//! Primitives on row-major f32 slices: linear layers on the packed kernel of `matmul`, layer norm,
//! exact GELU, GLU, softmax, L2 normalisation, and a pool of scratch buffers.
use super::matmul::Packed;
use super::weights::Weights;
use crate::error::Result;

/// `nn::Linear` (also a kernel-1 conv1d): weight transposed and packed once at load.
#[derive(Debug, Clone)]
pub struct Linear {
    w: Packed,
    bias: Vec<f32>,
    pub din: usize,
    pub dout: usize,
}

impl Linear {
    /// Weight `{prefix}.weight` `[out, in(, 1)]` and bias `{prefix}.bias` `[out]`.
    pub fn load(w: &Weights, prefix: &str, din: usize, dout: usize) -> Result<Self> {
        let weight = w.get(&format!("{prefix}.weight"), dout * din)?;
        let bias = w.get(&format!("{prefix}.bias"), dout)?;
        Ok(Self::from_parts(&weight, bias, din, dout))
    }

    /// From a torch-layout weight `[dout, din]` and bias.
    pub fn from_parts(weight: &[f32], bias: Vec<f32>, din: usize, dout: usize) -> Self {
        Linear { w: Packed::new(&transpose(weight, dout, din), din, dout), bias, din, dout }
    }

    /// `out[rows × dout] = x[rows × din] · Wᵀ + b`, `x` rows `x_stride` apart.
    pub fn forward_strided(&self, x: &[f32], x_stride: usize, rows: usize, out: &mut [f32]) {
        self.w.matmul(x, x_stride, rows, &self.bias, out)
    }

    pub fn forward(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        self.forward_strided(x, self.din, rows, out)
    }

    /// One input vector.
    pub fn forward_vec(&self, x: &[f32], out: &mut [f32]) {
        self.forward(x, 1, out)
    }
}

/// `[rows, cols]` → `[cols, rows]`.
pub fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = a[r * cols + c];
        }
    }
    t
}

/// `nn::LayerNorm` over the last dimension (eps 1e-5, tch's default).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

pub const LN_EPS: f32 = 1e-5;

impl LayerNorm {
    pub fn load(w: &Weights, prefix: &str, dim: usize) -> Result<Self> {
        Ok(LayerNorm { gamma: w.get(&format!("{prefix}.weight"), dim)?, beta: w.get(&format!("{prefix}.bias"), dim)? })
    }

    /// `out[r] = LN(x[r])` for `rows` rows.
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        let d = self.gamma.len();
        super::math::layer_norm_rows(&x[..rows * d], &self.gamma, &self.beta, LN_EPS, &mut out[..rows * d]);
    }
}

pub use super::math::gelu_inplace;

/// GLU over channels of each row: `u[r] = [a | b]` (width 2·h) → `a ⊙ σ(b)` (width h).
pub fn glu(u: &[f32], rows: usize, h: usize, out: &mut [f32]) {
    super::math::glu_rows(&u[..rows * 2 * h], h, &mut out[..rows * h]);
}

/// Softmax of `x` in place over the entries whose `keep` value is > 0; the others become exactly
/// 0 (a `-inf` masked score in torch). At least one entry must be kept.
pub fn masked_softmax(x: &mut [f32], keep: Option<&[f32]>) {
    let Some(keep) = keep else { return super::math::softmax_rows(x, x.len()) };
    let max = x.iter().zip(keep).filter(|(_, &k)| k > 0.0).fold(f32::NEG_INFINITY, |m, (&v, _)| m.max(v));
    super::math::exp_shifted(x, max);
    let mut sum = 0f32;
    for (v, &k) in x.iter_mut().zip(keep) {
        if k <= 0.0 {
            *v = 0.0;
        }
        sum += *v;
    }
    let inv = 1.0 / sum;
    x.iter_mut().for_each(|v| *v *= inv);
}

/// `x / max(‖x‖₂, 1e-12)`, as `pooling::l2_normalize`.
pub fn l2_normalize(x: &mut [f32]) {
    let n = x.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    x.iter_mut().for_each(|v| *v /= n);
}

/// Reusable f32 buffers: after the first few calls every `take` finds a buffer with enough
/// capacity, so the forward pass does not allocate.
#[derive(Debug, Default)]
pub struct Scratch {
    pool: Vec<Vec<f32>>,
    packs: Vec<Packed>,
}

impl Scratch {
    /// A zeroed buffer of `n` values.
    pub fn take(&mut self, n: usize) -> Vec<f32> {
        let mut v = self.pool.pop().unwrap_or_default();
        v.clear();
        v.resize(n, 0.0);
        v
    }

    /// A buffer of `n` values the caller overwrites entirely before reading: only growth is
    /// zeroed, the rest keeps stale values (skips a memset of every activation per flow).
    pub fn take_for_overwrite(&mut self, n: usize) -> Vec<f32> {
        let mut v = self.pool.pop().unwrap_or_default();
        v.truncate(n);
        v.resize(n, 0.0);
        v
    }

    pub fn give(&mut self, v: Vec<f32>) {
        self.pool.push(v);
    }

    /// A packed operand to re-pack per call (its buffer reused).
    pub fn take_packed(&mut self) -> Packed {
        self.packs.pop().unwrap_or_default()
    }

    pub fn give_packed(&mut self, p: Packed) {
        self.packs.push(p);
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use tch::{Kind, Tensor};

    pub fn to_vec(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(&t.to_kind(Kind::Float).contiguous().view([-1])).unwrap()
    }

    /// Largest |a − b|, relative to the largest |b| when that exceeds 1: the random inputs follow
    /// libtorch's process-global generator, which concurrent tests also draw from, so magnitudes
    /// vary from run to run and an absolute float32 bound would be flaky.
    pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        let diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        diff / b.iter().map(|y| y.abs()).fold(1.0, f32::max)
    }

    #[test]
    fn gelu_and_layer_norm_match_torch() {
        tch::manual_seed(3);
        let x = Tensor::randn([7, 33], (Kind::Float, tch::Device::Cpu)) * 3.0;
        let xv = to_vec(&x);
        let mut g = xv.clone();
        gelu_inplace(&mut g);
        let d = max_diff(&g, &to_vec(&x.gelu("none")));
        assert!(d < 1e-6, "gelu differs by {d}");
        // A tanh-approximated GELU would differ by ~1e-4: the check can tell them apart.
        assert!(max_diff(&g, &to_vec(&x.gelu("tanh"))) > 1e-5);

        let gamma = Tensor::randn([33], (Kind::Float, tch::Device::Cpu));
        let beta = Tensor::randn([33], (Kind::Float, tch::Device::Cpu));
        let ln = LayerNorm { gamma: to_vec(&gamma), beta: to_vec(&beta) };
        let mut out = vec![0f32; xv.len()];
        ln.forward(&xv, 7, &mut out);
        let want = x.layer_norm([33], Some(&gamma), Some(&beta), 1e-5, false);
        let d = max_diff(&out, &to_vec(&want));
        assert!(d < 1e-5, "layer norm differs by {d}");
    }

    #[test]
    fn glu_softmax_and_linear_match_torch() {
        tch::manual_seed(4);
        let opts = (Kind::Float, tch::Device::Cpu);
        let u = Tensor::randn([5, 12], opts);
        let mut out = vec![0f32; 30];
        glu(&to_vec(&u), 5, 6, &mut out);
        assert!(max_diff(&out, &to_vec(&u.glu(1))) < 1e-6);

        let s = Tensor::randn([9], opts) * 4.0;
        let keep = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        let mut sv = to_vec(&s);
        masked_softmax(&mut sv, Some(&keep));
        let mask = Tensor::from_slice(&keep.map(|k| k == 0.0));
        let want = s.masked_fill(&mask, f64::NEG_INFINITY).softmax(0, Kind::Float);
        assert!(max_diff(&sv, &to_vec(&want)) < 1e-6);
        assert_eq!(sv[1], 0.0);

        let w = Tensor::randn([4, 6], opts);
        let b = Tensor::randn([4], opts);
        let x = Tensor::randn([3, 6], opts);
        let lin = Linear::from_parts(&to_vec(&w), to_vec(&b), 6, 4);
        let mut y = vec![0f32; 12];
        lin.forward(&to_vec(&x), 3, &mut y);
        assert!(max_diff(&y, &to_vec(&x.linear(&w, Some(&b)))) < 1e-5);
    }
}
