//! Multi-head attention (`model::attention`): per head `softmax(q kᵀ / √dh) v` over the kept
//! keys, heads concatenated, output projection. Each head's Kᵀ and V are packed (into reused
//! buffers) from the projected kv rows, and its scores and weighted sum run on the matmul kernel.
use super::math::softmax_rows;
use super::ops::{masked_softmax, Linear, Scratch};
use super::weights::Weights;
use crate::error::Result;
use crate::model::attention::Config;

#[derive(Debug, Clone)]
pub struct MultiHeadAttention {
    q: Linear,
    kv: Linear,
    out: Linear,
    heads: usize,
    dim: usize,
}

impl MultiHeadAttention {
    pub fn load(w: &Weights, prefix: &str, cfg: &Config) -> Result<Self> {
        let (d, dkv) = (cfg.dim as usize, cfg.kv_dim as usize);
        Ok(MultiHeadAttention {
            q: Linear::load(w, &format!("{prefix}.q"), d, d)?,
            kv: Linear::load(w, &format!("{prefix}.kv"), dkv, 2 * d)?,
            out: Linear::load(w, &format!("{prefix}.out"), d, d)?,
            heads: cfg.heads as usize,
            dim: d,
        })
    }

    /// `query [lq, dim]`, `kv_in [lk, kv_dim]`, `key_keep [lk]` (> 0 = attend) → `out [lq, dim]`.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        query: &[f32],
        lq: usize,
        kv_in: &[f32],
        lk: usize,
        key_keep: Option<&[f32]>,
        out: &mut [f32],
        s: &mut Scratch,
    ) {
        let (d, h) = (self.dim, self.heads);
        let dh = d / h;
        // A mask without holes (the usual prefix of real packets) needs no masking at all.
        let key_keep = key_keep.filter(|k| k[..lk].iter().any(|&v| v <= 0.0));
        let mut q = s.take_for_overwrite(lq * d);
        self.q.forward(query, lq, &mut q);
        // Scaling q once equals scaling every score.
        let scale = 1.0 / (dh as f32).sqrt();
        q.iter_mut().for_each(|v| *v *= scale);
        let mut kv = s.take_for_overwrite(lk * 2 * d);
        self.kv.forward(kv_in, lk, &mut kv);
        let mut scores = s.take_for_overwrite(lq * lk);
        let mut att = s.take_for_overwrite(lq * d);
        // Each head's Kᵀ [dh, lk] and V [lk, dh] packed for the matmul kernel.
        let (mut kt, mut vp) = (s.take_packed(), s.take_packed());
        for head in 0..h {
            kt.pack_strided(&kv[head * dh..], dh, lk, (1, 2 * d));
            kt.matmul_into(&q[head * dh..], d, lq, None, &mut scores, lk);
            match key_keep {
                None => softmax_rows(&mut scores, lk),
                Some(_) => scores.chunks_exact_mut(lk).for_each(|row| masked_softmax(row, key_keep)),
            }
            vp.pack_strided(&kv[d + head * dh..], lk, dh, (2 * d, 1));
            vp.matmul_into(&scores, lk, lq, None, &mut att[head * dh..], d);
        }
        s.give_packed(vp);
        s.give_packed(kt);
        self.out.forward(&att, lq, out);
        s.give(att);
        s.give(scores);
        s.give(kv);
        s.give(q);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::ops::tests::{max_diff, to_vec};
    use tch::{nn, Device, Kind, Tensor};

    #[test]
    fn masked_and_cross_attention_match_tch() {
        tch::manual_seed(6);
        let vs = nn::VarStore::new(Device::Cpu);
        let opts = (Kind::Float, Device::Cpu);
        // Cross attention with a different kv width, and a key mask with holes.
        let cfg = Config { dim: 24, kv_dim: 10, heads: 3, dropout: 0.1 };
        let mha = crate::model::attention::MultiHeadAttention::new(vs.root() / "a", &cfg);
        let host = MultiHeadAttention::load(&Weights::from_varstore(&vs), "a", &cfg).unwrap();
        let (lq, lk) = (5usize, 9usize);
        let q = Tensor::randn([1, lq as i64, 24], opts);
        let kv = Tensor::randn([1, lk as i64, 10], opts);
        let keep = [1.0f32, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
        let mask = Tensor::from_slice(&keep.map(|k| k > 0.0)).view([1, lk as i64]);
        let mut s = Scratch::default();
        for (m, km) in [(Some(&mask), Some(&keep[..])), (None, None)] {
            let want = to_vec(&mha.forward_t(&q, &kv, m, false));
            let mut out = vec![0f32; lq * 24];
            host.forward(&to_vec(&q), lq, &to_vec(&kv), lk, km, &mut out, &mut s);
            let d = max_diff(&out, &want);
            assert!(d < 1e-5, "attention differs by {d} (mask {})", km.is_some());
        }
        // Masked keys really are ignored: changing them leaves the output unchanged.
        let mut kv2 = to_vec(&kv);
        kv2[2 * 10..3 * 10].iter_mut().for_each(|v| *v += 100.0);
        let (mut a, mut b) = (vec![0f32; lq * 24], vec![0f32; lq * 24]);
        host.forward(&to_vec(&q), lq, &to_vec(&kv), lk, Some(&keep), &mut a, &mut s);
        host.forward(&to_vec(&q), lq, &kv2, lk, Some(&keep), &mut b, &mut s);
        assert_eq!(a, b);
    }
}
