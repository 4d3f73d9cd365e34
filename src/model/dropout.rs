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
    // SAFETY: `mask` is a fresh contiguous float tensor of `n` elements owned here; the slice
    // does not outlive it and nothing else aliases it.
    let out = unsafe { std::slice::from_raw_parts_mut(mask.data_ptr() as *mut f32, n) };
    fill_mask(out, (k0, k1), p);
    mask
}

/// Writes the mask for `key` into `out`; a pure function of (key, index, p), so the rayon split
/// cannot change it.
fn fill_mask(out: &mut [f32], (k0, k1): (u32, u32), p: f64) {
    let keep = 1.0 - p;
    // Keep when the 32-bit hash is below keep · 2³².
    let threshold = (keep * 4_294_967_296.0).min(4_294_967_295.0) as u32;
    let scale = (1.0 / keep) as f32;
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
        let base = (c * CHUNK) as u32;
        for (i, o) in chunk.iter_mut().enumerate() {
            let h = fmix32(fmix32(base.wrapping_add(i as u32) ^ k0).wrapping_add(k1));
            *o = if h < threshold { scale } else { 0.0 };
        }
    });
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

    // libtorch's generator is process-global and other tests draw from it concurrently, so the
    // thread-count check uses fixed keys rather than `manual_seed`.
    #[test]
    fn same_key_same_mask_at_any_thread_count() {
        let draw = |threads: usize, key: (u32, u32)| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            let mut out = vec![0f32; 4 * 70_000];
            pool.install(|| fill_mask(&mut out, key, 0.25));
            out
        };
        let a1 = draw(1, (11, 12));
        assert_eq!(a1, draw(2, (11, 12)), "mask depends on the thread count");
        assert_eq!(a1, draw(3, (11, 12)), "mask depends on the thread count");
        assert_ne!(a1, draw(2, (11, 13)), "two keys drew the same mask");
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
