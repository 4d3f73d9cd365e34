//! Dropout with a parallel mask on CPU. libtorch's CPU `bernoulli_` draws every element serially
//! from one generator lock (about a fifth of a `small` training step on 2 cores); here each call
//! draws a 64-bit key (two 32-bit words) from libtorch's generator — so `tch::manual_seed` still
//! fixes every mask — and the mask is a counter-based hash of (key, element index), filled by
//! rayon. The result does not depend on the thread count. Other devices keep libtorch's dropout.
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

/// Elements per rayon task: large enough that scheduling is noise, small enough for 2+ tasks.
const CHUNK: usize = 1 << 16;

/// `xs` with each element zeroed with probability `p` and the rest scaled by `1 / (1 − p)`
/// (identity when `train` is false or `p` is 0).
pub fn dropout(xs: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p <= 0.0 {
        return xs.shallow_clone();
    }
    if xs.device() != Device::Cpu || xs.kind() != Kind::Float || p >= 1.0 {
        return xs.dropout(p, train);
    }
    xs * keep_mask(&xs.size(), p)
}

/// A `[shape]` float mask: `1 / (1 − p)` where kept, 0 where dropped.
fn keep_mask(shape: &[i64], p: f64) -> Tensor {
    let key = Tensor::randint(i64::MAX, [2], (Kind::Int64, Device::Cpu));
    let (k0, k1) = (key.int64_value(&[0]) as u32, key.int64_value(&[1]) as u32);
    let numel: i64 = shape.iter().product();
    let mask = Tensor::empty(shape, (Kind::Float, Device::Cpu));
    let n = usize::try_from(numel).unwrap_or(0);
    if n == 0 {
        return mask;
    }
    let keep = 1.0 - p;
    // Keep when the 32-bit hash is below keep · 2³².
    let threshold = (keep * 4_294_967_296.0).min(4_294_967_295.0) as u32;
    let scale = (1.0 / keep) as f32;
    // SAFETY: `mask` is a fresh contiguous float tensor of `n` elements owned here; the slice
    // does not outlive it and nothing else aliases it.
    let out = unsafe { std::slice::from_raw_parts_mut(mask.data_ptr() as *mut f32, n) };
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
        let base = (c * CHUNK) as u32;
        for (i, o) in chunk.iter_mut().enumerate() {
            let h = fmix32(fmix32(base.wrapping_add(i as u32) ^ k0).wrapping_add(k1));
            *o = if h < threshold { scale } else { 0.0 };
        }
    });
    mask
}

/// MurmurHash3's 32-bit finaliser: a bijection with full avalanche.
#[inline]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_about_one_minus_p_and_scales_kept_values() {
        tch::manual_seed(3);
        let m = keep_mask(&[300, 1000], 0.1);
        let kept = m.gt(0.0).to_kind(Kind::Float).mean(Kind::Float).double_value(&[]);
        assert!((kept - 0.9).abs() < 0.005, "kept share {kept}");
        let max = m.max().double_value(&[]);
        assert!((max - 1.0 / 0.9).abs() < 1e-6);
        // Unbiased: the mean of the mask is ≈ 1.
        assert!((m.mean(Kind::Float).double_value(&[]) - 1.0).abs() < 0.01);
    }

    #[test]
    fn seeded_and_independent_of_threads() {
        let draw = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            pool.install(|| {
                tch::manual_seed(11);
                (keep_mask(&[4, 70_000], 0.25), keep_mask(&[4, 70_000], 0.25))
            })
        };
        let (a1, b1) = draw(1);
        let (a2, b2) = draw(2);
        assert!(a1.equal(&a2) && b1.equal(&b2), "mask depends on the thread count");
        assert!(!a1.equal(&b1), "two calls drew the same mask");
    }

    #[test]
    fn gradient_is_masked_like_the_output() {
        tch::manual_seed(5);
        let x = Tensor::ones([64, 32], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let y = dropout(&x, 0.5, true);
        y.sum(Kind::Float).backward();
        let g = x.grad();
        assert!(g.equal(&y.detach()), "grad of sum(x·mask) must be the mask");
        assert!(dropout(&x, 0.5, false).equal(&x));
    }
}
