//! `x · W + b` with `W` packed once at load into 16-column panels, so a product with few rows
//! (a flow has tens of tokens) pays no per-call packing (matrixmultiply packs both operands on
//! every call). Register-blocked: 4 rows × 16 columns of accumulators, `k` in order.

/// Columns per panel: two AVX registers.
pub const NR: usize = 16;
/// Rows per register block (4 × 2 accumulators + 2 weight vectors + 1 broadcast of 16 registers).
#[cfg(target_arch = "x86_64")]
const MR: usize = 4;

/// `W [k, n]` (row-major, i.e. a torch weight transposed) as `ceil(n/16)` panels of `[k, 16]`,
/// zero-padded past column `n`.
#[derive(Debug, Clone)]
pub struct Packed {
    panels: Vec<f32>,
    pub k: usize,
    pub n: usize,
}

impl Packed {
    pub fn new(w: &[f32], k: usize, n: usize) -> Self {
        let np = n.div_ceil(NR);
        let mut panels = vec![0f32; np * k * NR];
        for p in 0..np {
            for kk in 0..k {
                for j in 0..NR.min(n - p * NR) {
                    panels[(p * k + kk) * NR + j] = w[kk * n + p * NR + j];
                }
            }
        }
        Packed { panels, k, n }
    }

    /// `out[r] = bias + x[r] · W` for `rows` rows of `x` (`x_stride` apart); `out` rows are `n` wide.
    pub fn matmul(&self, x: &[f32], x_stride: usize, rows: usize, bias: &[f32], out: &mut [f32]) {
        assert!(rows == 0 || (rows - 1) * x_stride + self.k <= x.len(), "matmul: x too short");
        assert!(out.len() >= rows * self.n && bias.len() == self.n, "matmul: out / bias size");
        if self.k == 0 {
            // Empty inner dimension: the product is 0 (no panel rows to walk).
            out[..rows * self.n].chunks_exact_mut(self.n.max(1)).for_each(|o| o.copy_from_slice(bias));
            return;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports the enabled features.
                return unsafe { matmul_fma(self, x, x_stride, rows, bias, out) };
            }
        }
        matmul_plain(self, x, x_stride, rows, bias, out)
    }
}

/// AVX2/FMA kernel: LLVM does not keep a 4×16 accumulator block in registers on its own.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn matmul_fma(w: &Packed, x: &[f32], xs: usize, rows: usize, bias: &[f32], out: &mut [f32]) {
    let mut r = 0;
    while r < rows {
        if rows - r >= MR {
            fma_block::<MR>(w, x, xs, r, bias, out);
            r += MR;
        } else {
            fma_block::<1>(w, x, xs, r, bias, out);
            r += 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_block<const R: usize>(w: &Packed, x: &[f32], xs: usize, r0: usize, bias: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let (k, n) = (w.k, w.n);
    // SAFETY (pointer reads below): `matmul` checked that rows r0..r0+R of x hold k values each,
    // and each panel holds k·NR values.
    let xp: [*const f32; R] = std::array::from_fn(|i| x[(r0 + i) * xs..].as_ptr());
    for (p, panel) in w.panels.chunks_exact(k * NR).enumerate() {
        let pp = panel.as_ptr();
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for kk in 0..k {
            let w0 = _mm256_loadu_ps(pp.add(kk * NR));
            let w1 = _mm256_loadu_ps(pp.add(kk * NR + 8));
            for i in 0..R {
                let xv = _mm256_set1_ps(*xp[i].add(kk));
                acc[i][0] = _mm256_fmadd_ps(xv, w0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(xv, w1, acc[i][1]);
            }
        }
        let c0 = p * NR;
        let cn = NR.min(n - c0);
        for (i, a) in acc.iter().enumerate() {
            let mut tmp = [0f32; NR];
            _mm256_storeu_ps(tmp.as_mut_ptr(), a[0]);
            _mm256_storeu_ps(tmp.as_mut_ptr().add(8), a[1]);
            let o = &mut out[(r0 + i) * n + c0..(r0 + i) * n + c0 + cn];
            for ((o, &a), &b) in o.iter_mut().zip(&tmp).zip(&bias[c0..c0 + cn]) {
                *o = a + b;
            }
        }
    }
}

/// Portable fallback.
fn matmul_plain(w: &Packed, x: &[f32], xs: usize, rows: usize, bias: &[f32], out: &mut [f32]) {
    let (k, n) = (w.k, w.n);
    for r in 0..rows {
        let xr = &x[r * xs..r * xs + k];
        for (p, panel) in w.panels.chunks_exact(k * NR).enumerate() {
            let mut acc = [0f32; NR];
            for (&xv, wk) in xr.iter().zip(panel.chunks_exact(NR)) {
                acc.iter_mut().zip(wk).for_each(|(a, &w)| *a += xv * w);
            }
            let c0 = p * NR;
            let cn = NR.min(n - c0);
            for ((o, &a), &b) in out[r * n + c0..r * n + c0 + cn].iter_mut().zip(&acc).zip(&bias[c0..c0 + cn]) {
                *o = a + b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_matmul_matches_naive_for_ragged_sizes() {
        for (rows, k, n) in [(1, 3, 5), (7, 19, 64), (9, 64, 128), (4, 16, 17), (0, 4, 4), (3, 0, 5), (2, 5, 0)] {
            let x: Vec<f32> = (0..rows * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
            let w: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32 - 48.0) / 30.0).collect();
            let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.1).collect();
            let mut out = vec![0f32; rows * n];
            Packed::new(&w, k, n).matmul(&x, k, rows, &b, &mut out);
            for r in 0..rows {
                for c in 0..n {
                    let want: f64 =
                        b[c] as f64 + (0..k).map(|i| x[r * k + i] as f64 * w[i * n + c] as f64).sum::<f64>();
                    assert!((out[r * n + c] as f64 - want).abs() < 1e-4, "({rows},{k},{n}) [{r},{c}]");
                }
            }
        }
    }
}
