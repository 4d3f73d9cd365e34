//! `x · W + b` with `W` packed into 16-column panels, so a product with few rows (a flow has tens
//! of tokens) pays no per-call packing (matrixmultiply packs both operands on every call).
//! Register-blocked: R rows × P panels of accumulators, `k` in order. An FMA's latency is about
//! four to five of its issue slots, so a block needs 8–10 independent accumulators to keep both
//! FMA units busy: 6 rows × 1 panel (12), and for a flow's last rows (and single vectors) 1 row ×
//! 4 panels or 2 rows × 2 panels (8) — a lone row with 2 accumulators would run at a quarter of
//! the speed.

/// Columns per panel: two AVX registers.
pub const NR: usize = 16;

/// `W [k, n]` (row-major, i.e. a torch weight transposed) as `ceil(n/16)` panels of `[k, 16]`,
/// zero-padded past column `n`.
#[derive(Debug, Clone, Default)]
pub struct Packed {
    panels: Vec<f32>,
    pub k: usize,
    pub n: usize,
}

impl Packed {
    pub fn new(w: &[f32], k: usize, n: usize) -> Self {
        let mut p = Packed::default();
        p.pack_strided(w, k, n, (n, 1));
        p
    }

    /// Re-pack in place (buffer reused) from `w`, whose element `[kk, j]` is at
    /// `w[kk · rs + j · cs]`: a per-call operand such as an attention head's keys or values.
    pub fn pack_strided(&mut self, w: &[f32], k: usize, n: usize, (rs, cs): (usize, usize)) {
        let np = n.div_ceil(NR);
        self.panels.clear();
        self.panels.resize(np * k * NR, 0.0);
        for p in 0..np {
            let (c0, cn) = (p * NR, NR.min(n - p * NR));
            let panel = &mut self.panels[p * k * NR..(p + 1) * k * NR];
            if cs == 1 {
                // Rows of W contiguous (a weight, an attention head's values): slice copies.
                for (kk, dst) in panel.chunks_exact_mut(NR).enumerate() {
                    let src = &w[kk * rs + c0..kk * rs + c0 + cn];
                    if cn == NR {
                        // A fixed-size copy is two register moves, not a `memcpy` call.
                        dst.copy_from_slice(&src[..NR]);
                    } else {
                        dst[..cn].copy_from_slice(src);
                    }
                }
            } else {
                // Columns of W contiguous (an attention head's keys, read as Kᵀ): walk each
                // column once, reading its k values in order.
                for j in 0..cn {
                    let col = w[(c0 + j) * cs..].iter().step_by(rs);
                    for (dst, &v) in panel.chunks_exact_mut(NR).zip(col).take(k) {
                        dst[j] = v;
                    }
                }
            }
        }
        (self.k, self.n) = (k, n);
    }

    /// `out[r] = bias + x[r] · W` for `rows` rows of `x` (`x_stride` apart); `out` rows are `n` wide.
    pub fn matmul(&self, x: &[f32], x_stride: usize, rows: usize, bias: &[f32], out: &mut [f32]) {
        assert!(bias.len() == self.n, "matmul: bias size");
        self.matmul_into(x, x_stride, rows, Some(bias), out, self.n)
    }

    /// `out[r · out_stride ..][..n] = bias + x[r] · W` (no bias when `None`).
    pub fn matmul_into(
        &self,
        x: &[f32],
        x_stride: usize,
        rows: usize,
        bias: Option<&[f32]>,
        out: &mut [f32],
        out_stride: usize,
    ) {
        let n = self.n;
        if rows == 0 || n == 0 {
            return;
        }
        assert!((rows - 1) * x_stride + self.k <= x.len(), "matmul: x too short");
        assert!(out_stride >= n && (rows - 1) * out_stride + n <= out.len(), "matmul: out too short");
        assert!(bias.is_none_or(|b| b.len() >= n), "matmul: bias too short");
        let mut dst = Out { out, stride: out_stride, bias };
        if self.k == 0 {
            // Empty inner dimension: the product is 0 (no panel rows to walk).
            for r in 0..rows {
                for c0 in (0..n).step_by(NR) {
                    dst.store(r, c0, &[0.0; NR], n - c0);
                }
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports the enabled features; sizes checked above.
                return unsafe { matmul_fma(self, x, x_stride, rows, &mut dst) };
            }
        }
        matmul_plain(self, x, x_stride, rows, &mut dst)
    }
}

/// Where a product's rows go.
struct Out<'a> {
    out: &'a mut [f32],
    stride: usize,
    bias: Option<&'a [f32]>,
}

impl Out<'_> {
    /// Columns `c0..c0 + cn` of row `r` from a panel's 16 accumulated values.
    #[inline(always)]
    fn store(&mut self, r: usize, c0: usize, acc: &[f32; NR], cn: usize) {
        let cn = cn.min(NR);
        let o = r * self.stride + c0;
        let dst = &mut self.out[o..o + cn];
        match self.bias {
            Some(b) => dst.iter_mut().zip(acc).zip(&b[c0..c0 + cn]).for_each(|((d, &a), &b)| *d = a + b),
            None => dst.copy_from_slice(&acc[..cn]),
        }
    }
}

/// AVX2/FMA kernel: rows in blocks of 6 (1 panel at a time); the last 1–2 rows take several
/// panels at once.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn matmul_fma(w: &Packed, x: &[f32], xs: usize, rows: usize, dst: &mut Out<'_>) {
    let np = w.n.div_ceil(NR);
    let mut r = 0;
    while r < rows {
        // 6 × 1 needs 12 accumulators + 2 weights + 1 broadcast of AVX2's 16 registers (~2%
        // faster per flow than 4 × 1 in `examples/bench_host.rs`); 3 rows × 2 panels, also 12
        // accumulators, needs 19 and its spills made the model ~40% slower.
        match rows - r {
            1 => panels::<1, 4>(w, x, xs, r, np, dst),
            2 => panels::<2, 2>(w, x, xs, r, np, dst),
            3 => panels::<3, 1>(w, x, xs, r, np, dst),
            4 => panels::<4, 1>(w, x, xs, r, np, dst),
            5 => panels::<5, 1>(w, x, xs, r, np, dst),
            _ => panels::<6, 1>(w, x, xs, r, np, dst),
        }
        r += (rows - r).min(6);
    }
}

/// Rows `r0..r0 + R` against every panel, `P` panels per block, then the leftover panels one by one.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn panels<const R: usize, const P: usize>(
    w: &Packed,
    x: &[f32],
    xs: usize,
    r0: usize,
    np: usize,
    dst: &mut Out<'_>,
) {
    let mut p = 0;
    while p + P <= np {
        fma_block::<R, P>(w, x, xs, r0, p, dst);
        p += P;
    }
    while p < np {
        fma_block::<R, 1>(w, x, xs, r0, p, dst);
        p += 1;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_block<const R: usize, const P: usize>(
    w: &Packed,
    x: &[f32],
    xs: usize,
    r0: usize,
    p0: usize,
    dst: &mut Out<'_>,
) {
    use std::arch::x86_64::*;
    let (k, n) = (w.k, w.n);
    // SAFETY (pointer reads below): `matmul_into` checked that rows r0..r0+R of x hold k values
    // each, and each panel holds k·NR values.
    let xp: [*const f32; R] = std::array::from_fn(|i| x[(r0 + i) * xs..].as_ptr());
    let pp: [*const f32; P] = std::array::from_fn(|j| w.panels[(p0 + j) * k * NR..].as_ptr());
    let mut acc = [[[_mm256_setzero_ps(); 2]; P]; R];
    for kk in 0..k {
        let xv: [__m256; R] = std::array::from_fn(|i| _mm256_set1_ps(*xp[i].add(kk)));
        for j in 0..P {
            let w0 = _mm256_loadu_ps(pp[j].add(kk * NR));
            let w1 = _mm256_loadu_ps(pp[j].add(kk * NR + 8));
            for i in 0..R {
                acc[i][j][0] = _mm256_fmadd_ps(xv[i], w0, acc[i][j][0]);
                acc[i][j][1] = _mm256_fmadd_ps(xv[i], w1, acc[i][j][1]);
            }
        }
    }
    let mut tmp = [0f32; NR];
    for (i, row) in acc.iter().enumerate() {
        for (j, a) in row.iter().enumerate() {
            let c0 = (p0 + j) * NR;
            if n - c0 >= NR {
                // A whole panel: bias added and stored in registers (no copy through `tmp`).
                let o = (r0 + i) * dst.stride + c0;
                let out = dst.out[o..o + NR].as_mut_ptr();
                let (mut a0, mut a1) = (a[0], a[1]);
                if let Some(b) = dst.bias {
                    let b = &b[c0..c0 + NR];
                    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(b.as_ptr()));
                    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(b.as_ptr().add(8)));
                }
                _mm256_storeu_ps(out, a0);
                _mm256_storeu_ps(out.add(8), a1);
                continue;
            }
            _mm256_storeu_ps(tmp.as_mut_ptr(), a[0]);
            _mm256_storeu_ps(tmp.as_mut_ptr().add(8), a[1]);
            dst.store(r0 + i, c0, &tmp, n - c0);
        }
    }
}

/// Portable fallback.
fn matmul_plain(w: &Packed, x: &[f32], xs: usize, rows: usize, dst: &mut Out<'_>) {
    let (k, n) = (w.k, w.n);
    for r in 0..rows {
        let xr = &x[r * xs..r * xs + k];
        for (p, panel) in w.panels.chunks_exact(k * NR).enumerate() {
            let mut acc = [0f32; NR];
            for (&xv, wk) in xr.iter().zip(panel.chunks_exact(NR)) {
                acc.iter_mut().zip(wk).for_each(|(a, &w)| *a += xv * w);
            }
            dst.store(r, p * NR, &acc, n - p * NR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [−2, 2].
    fn vals(n: usize, m: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * m % 101) as f32 - 50.0) / 25.0).collect()
    }

    #[test]
    fn packed_matmul_matches_naive_for_ragged_sizes() {
        // Every row block (1–6 rows, and 7 and 9 = a block of 6 and a remainder) against 1–9
        // panels, with and without bias, into a wider output row.
        let shapes =
            [(1, 3, 5), (2, 19, 64), (3, 64, 128), (4, 16, 17), (5, 16, 17), (6, 7, 96), (7, 19, 64), (9, 64, 144)];
        for (rows, k, n) in shapes.into_iter().chain([(0, 4, 4), (3, 0, 5), (2, 5, 0)]) {
            let (x, w, b) = (vals(rows * k, 37), vals(k * n, 53), vals(n, 7));
            for (bias, stride) in [(Some(&b[..]), n), (None, n + 3)] {
                let mut out = vec![f32::NAN; rows * stride];
                Packed::new(&w, k, n).matmul_into(&x, k, rows, bias, &mut out, stride);
                for r in 0..rows {
                    for c in 0..n {
                        let b0 = bias.map_or(0.0, |b| b[c] as f64);
                        let want = b0 + (0..k).map(|i| x[r * k + i] as f64 * w[i * n + c] as f64).sum::<f64>();
                        let got = out[r * stride + c] as f64;
                        assert!((got - want).abs() < 1e-4, "({rows},{k},{n}) [{r},{c}] {got} vs {want}");
                    }
                    assert!(out[r * stride + n..(r + 1) * stride].iter().all(|v| v.is_nan()), "wrote past n");
                }
            }
        }
    }

    #[test]
    fn pack_strided_reads_a_transposed_operand() {
        // Kᵀ of a [4, 3] matrix stored with row stride 5 (as an attention head inside a wider row).
        let (lk, dh, rs) = (4, 3, 5);
        let kmat = vals(lk * rs, 11);
        let mut p = Packed::new(&[1.0], 1, 1);
        p.pack_strided(&kmat, dh, lk, (1, rs));
        let q = vals(2 * dh, 3);
        let mut out = vec![0f32; 2 * lk];
        p.matmul_into(&q, dh, 2, None, &mut out, lk);
        for r in 0..2 {
            for j in 0..lk {
                let want: f32 = (0..dh).map(|c| q[r * dh + c] * kmat[j * rs + c]).sum();
                assert!((out[r * lk + j] - want).abs() < 1e-5);
            }
        }
    }
}
