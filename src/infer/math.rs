//! Element-wise kernels written so LLVM vectorises them (no branches), each compiled twice:
//! baseline x86-64 and AVX2+FMA (picked at run time). Without fast-math LLVM keeps the IEEE
//! operation order, and `mul_add` is exactly rounded either way (an FMA instruction, or libm's
//! `fmaf` in the baseline build: slower, the same bits), so both builds give identical results.
//! `exp` is Cephes' `expf` polynomial and `erf` Norbert Juffa's `erff` (both ~1–2 ulp; the unit
//! tests check them against libm and torch).

/// `$name(args)` runs `$body` compiled for AVX2+FMA when the CPU has them, else the baseline build.
macro_rules! simd_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($arg: $ty),*) {
                    body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports the enabled features.
                    return unsafe { wide($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use simd_fn;

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// 1.5 · 2²³: adding it rounds to an integer held in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// eˣ for x ≤ 88 (x < −87.3 gives ~1e−38 instead of a subnormal).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.0);
    let t = x.mul_add(LOG2E, ROUND);
    let n = t - ROUND;
    let r = n.mul_add(2.121_944_4e-4, n.mul_add(-0.693_359_4, x));
    let mut p = 1.987_569_1e-4f32.mul_add(r, 1.398_2e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 1.666_666_5e-1);
    p = p.mul_add(r, 0.5);
    let y = p.mul_add(r * r, r) + 1.0;
    let e = (t.to_bits() as i32 - ROUND.to_bits() as i32 + 127) << 23;
    y * f32::from_bits(e as u32)
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // 2σ(2x) − 1; the absolute error stays ~1e−7 near 0.
    2.0 / (1.0 + exp(-2.0 * x)) - 1.0
}

/// erf(x), branch-free: both of Juffa's ranges are computed and one is selected. Juffa wrote
/// them for fused multiply-adds, as here.
#[inline(always)]
pub fn erf(a: f32) -> f32 {
    let t = a.abs();
    let s = a * a;
    // |a| > 0.9277: 1 − exp(poly(t))
    let mut r = (-1.728_534_7e-5f32).mul_add(t, 3.831_971_3e-4);
    let u = (-3.883_964_4e-3f32).mul_add(t, 2.425_462_2e-2);
    r = r.mul_add(s, u);
    r = r.mul_add(t, -1.067_778_8e-1);
    r = r.mul_add(t, -6.348_467e-1);
    r = r.mul_add(t, -1.287_175_1e-1);
    r = r.mul_add(t, -t);
    let big = (1.0 - exp(r)).copysign(a);
    // |a| ≤ 0.9277: odd polynomial
    let mut q = -5.967_617e-4f32;
    q = q.mul_add(s, 4.991_194_2e-3);
    q = q.mul_add(s, -2.676_813_5e-2);
    q = q.mul_add(s, 1.128_199_3e-1);
    q = q.mul_add(s, -3.761_253_4e-1);
    q = q.mul_add(s, 1.283_791_7e-1);
    let small = q.mul_add(a, a);
    if t > 0.927_734_4 {
        big
    } else {
        small
    }
}

#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The 8 lanes' partial sums added in a fixed pairwise order.
#[inline(always)]
fn sum_lanes(acc: [f32; 8]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Sum in 8 interleaved lanes (a fixed order, so deterministic) that vectorises.
#[inline(always)]
pub fn lane_sum(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    let mut s = sum_lanes(acc);
    for &v in rem {
        s += f(v);
    }
    s
}

/// Σ a·b in 8 interleaved lanes (a fixed order, so deterministic) that vectorises.
#[inline(always)]
pub fn lane_dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for ((s, &x), &y) in acc.iter_mut().zip(ca).zip(cb) {
            *s += x * y;
        }
    }
    let mut s = sum_lanes(acc);
    let tail = n - n % 8;
    for (&x, &y) in a[tail..].iter().zip(&b[tail..]) {
        s += x * y;
    }
    s
}

simd_fn! {
    /// `out[r] = bias + x[r] · w` for each `w.len()`-wide row of `x`.
    pub fn row_dots(x: &[f32], w: &[f32], bias: f32, out: &mut [f32]) {
        for (o, row) in out.iter_mut().zip(x.chunks_exact(w.len())) {
            *o = bias + lane_dot(row, w);
        }
    }
}

simd_fn! {
    /// `out = Σ_r w[r] · x[r]` over the `out.len()`-wide rows of `x`.
    pub fn weighted_rows(x: &[f32], w: &[f32], out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (&wr, row) in w.iter().zip(x.chunks_exact(out.len())) {
            out.iter_mut().zip(row).for_each(|(o, &v)| *o += wr * v);
        }
    }
}

simd_fn! {
    /// Layer norm of each `gamma.len()`-wide row of `x`: two passes (mean, then the centred
    /// variance) as torch does. The row loop sits inside so the AVX2 dispatch happens once.
    pub fn layer_norm_rows(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
        let d = gamma.len();
        for (x, out) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let n = d as f32;
            let mean = lane_sum(x, |v| v) / n;
            let var = lane_sum(x, |v| (v - mean) * (v - mean)) / n;
            let inv = 1.0 / (var + eps).sqrt();
            for (((o, &v), &g), &b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
                *o = ((v - mean) * inv).mul_add(g, b);
            }
        }
    }
}

/// Largest value of a row (−∞ when empty), in 8 lanes.
#[inline(always)]
fn lane_max(x: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for (a, &v) in m.iter_mut().zip(c) {
            *a = a.max(v);
        }
    }
    rem.iter().fold(m.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)), |a, &b| a.max(b))
}

simd_fn! {
    /// Softmax of each `cols`-wide row of `x`, every entry kept. Attention rows are short (tens
    /// of keys): shifting each row by its max, then one `exp` pass over the whole block keeps
    /// the expensive part in full vectors instead of per-row scalar tails.
    pub fn softmax_rows(x: &mut [f32], cols: usize) {
        if cols == 0 {
            return;
        }
        for row in x.chunks_exact_mut(cols) {
            let max = lane_max(row);
            row.iter_mut().for_each(|v| *v -= max);
        }
        x.iter_mut().for_each(|v| *v = exp(*v));
        for row in x.chunks_exact_mut(cols) {
            let inv = 1.0 / lane_sum(row, |v| v);
            row.iter_mut().for_each(|v| *v *= inv);
        }
    }
}

simd_fn! {
    /// Exact GELU (torch `gelu("none")`) in place.
    pub fn gelu_inplace(x: &mut [f32]) {
        x.iter_mut().for_each(|v| *v = gelu(*v));
    }
}

simd_fn! {
    /// `x[i] = exp(x[i] − max)`.
    pub fn exp_shifted(x: &mut [f32], max: f32) {
        x.iter_mut().for_each(|v| *v = exp(*v - max));
    }
}

simd_fn! {
    /// GLU of each `2·h`-wide row `[a | b]` of `u`: `a ⊙ σ(b)` into the `h`-wide rows of `out`.
    pub fn glu_rows(u: &[f32], h: usize, out: &mut [f32]) {
        for (ur, or) in u.chunks_exact(2 * h).zip(out.chunks_exact_mut(h)) {
            let (a, b) = ur.split_at(h);
            for ((o, &a), &b) in or.iter_mut().zip(a).zip(b) {
                *o = a * sigmoid(b);
            }
        }
    }
}

simd_fn! {
    /// `acc += a ⊙ b`.
    pub fn mul_acc(acc: &mut [f32], a: &[f32], b: &[f32]) {
        for ((o, &a), &b) in acc.iter_mut().zip(a).zip(b) {
            *o += a * b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_erf_tanh_match_libm() {
        let (mut de, mut df, mut dt, mut ds) = (0f32, 0f32, 0f32, 0f32);
        for i in -200_000..=200_000 {
            let x = i as f32 * 4.5e-4; // [−90, 90]
            let e = libm::expf(x.min(88.0));
            if x > -87.0 {
                de = de.max((exp(x) - e).abs() / e);
            }
            let y = x / 10.0; // [−9, 9]
            df = df.max((erf(y) - libm::erff(y)).abs());
            dt = dt.max((tanh(y) - libm::tanhf(y)).abs());
            ds = ds.max((sigmoid(y) - 1.0 / (1.0 + libm::expf(-y))).abs());
        }
        assert!(de < 3e-7, "exp relative error {de}");
        assert!(df < 2e-7, "erf error {df}");
        assert!(dt < 3e-7, "tanh error {dt}");
        assert!(ds < 2e-7, "sigmoid error {ds}");
        assert!(exp(-1000.0) < 1e-37 && exp(-1000.0) >= 0.0);
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(-20.0), -1.0);
    }

    #[test]
    fn wide_and_baseline_builds_agree() {
        // The dispatched build against the plain inline function, element by element.
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.013).collect();
        let mut g = xs.clone();
        gelu_inplace(&mut g);
        assert!(g.iter().zip(&xs).all(|(a, &x)| a.to_bits() == gelu(x).to_bits()));
        let mut e = xs.clone();
        exp_shifted(&mut e, 1.0);
        assert!(e.iter().zip(&xs).all(|(a, &x)| a.to_bits() == exp(x - 1.0).to_bits()));
    }

    #[test]
    fn row_dots_and_weighted_rows() {
        // Widths that are and are not multiples of the 8 lanes.
        for d in [1usize, 8, 13, 64] {
            let x: Vec<f32> = (0..3 * d).map(|i| ((i * 7) % 11) as f32 * 0.25 - 1.0).collect();
            let w: Vec<f32> = (0..d).map(|i| ((i * 5) % 9) as f32 * 0.5 - 2.0).collect();
            let mut dots = vec![0f32; 3];
            row_dots(&x, &w, 0.5, &mut dots);
            for (r, &got) in dots.iter().enumerate() {
                let want: f64 = 0.5 + (0..d).map(|j| x[r * d + j] as f64 * w[j] as f64).sum::<f64>();
                assert!((got as f64 - want).abs() < 1e-5, "d {d} row {r}: {got} vs {want}");
            }
            let mut sum = vec![9f32; d];
            weighted_rows(&x, &[1.0, -2.0, 0.5], &mut sum);
            for (j, &got) in sum.iter().enumerate() {
                let want = x[j] - 2.0 * x[d + j] + 0.5 * x[2 * d + j];
                assert!((got - want).abs() < 1e-5, "d {d} column {j}");
            }
        }
    }
}
