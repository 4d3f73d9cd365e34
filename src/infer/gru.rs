//! Bidirectional multi-layer GRU (torch `nn::gru`, batch-first, eval mode) over sequences of one
//! length, advanced together. Gates in torch's order (r, z, n): the input projections of all
//! steps are one matmul, the recurrent product of all sequences one per step.
use super::math::{sigmoid, simd_fn, tanh};
use super::ops::{Linear, Scratch};
use super::weights::Weights;
use crate::error::Result;

#[derive(Debug, Clone)]
struct Direction {
    /// `W_ih`, `b_ih`: input → 3·hidden gates.
    input: Linear,
    /// `W_hh`, `b_hh`: hidden state → 3·hidden gates, one product per step.
    recurrent: Linear,
}

#[derive(Debug, Clone)]
pub struct Gru {
    /// `[layer][direction]`
    layers: Vec<[Direction; 2]>,
    hidden: usize,
}

impl Gru {
    /// Parameters `{prefix}.weight_ih_l{k}{_reverse}` etc., as tch's `nn::gru` names them.
    pub fn load(w: &Weights, prefix: &str, in_dim: usize, hidden: usize, layers: usize) -> Result<Self> {
        let g = 3 * hidden;
        let dir = |layer: usize, suffix: &str| -> Result<Direction> {
            let din = if layer == 0 { in_dim } else { 2 * hidden };
            let name = |kind: &str| format!("{prefix}.{kind}_l{layer}{suffix}");
            let wih = w.get(&name("weight_ih"), g * din)?;
            let bih = w.get(&name("bias_ih"), g)?;
            Ok(Direction {
                input: Linear::from_parts(&wih, bih, din, g),
                recurrent: Linear::from_parts(
                    &w.get(&name("weight_hh"), g * hidden)?,
                    w.get(&name("bias_hh"), g)?,
                    hidden,
                    g,
                ),
            })
        };
        let layers = (0..layers).map(|l| Ok([dir(l, "")?, dir(l, "_reverse")?])).collect::<Result<_>>()?;
        Ok(Gru { layers, hidden })
    }

    pub fn out_dim(&self) -> usize {
        2 * self.hidden
    }

    /// `seqs` sequences of `steps` rows each, stacked: `x [seqs·steps, in_dim]` → `out
    /// [seqs·steps, 2·hidden]`, each row `[forward | backward]`. The sequences advance together,
    /// so each step's recurrent product is one `[seqs, hidden]` matmul instead of `seqs`
    /// latency-bound mat-vecs; every row is computed exactly as alone (the kernel does not depend
    /// on the block a row lands in).
    pub fn forward(&self, x: &[f32], seqs: usize, steps: usize, out: &mut [f32], s: &mut Scratch) {
        let (hd, g) = (self.hidden, 3 * self.hidden);
        let rows = seqs * steps;
        let mut gi = s.take_for_overwrite(rows * g);
        let mut gh = s.take_for_overwrite(seqs * g);
        let mut h = s.take(seqs * hd);
        let mut layer_in = s.take(0);
        for (li, dirs) in self.layers.iter().enumerate() {
            if li > 0 {
                // The next layer reads the previous layer's concatenated output.
                layer_in.clear();
                layer_in.extend_from_slice(&out[..rows * 2 * hd]);
            }
            let input: &[f32] = if li == 0 { x } else { &layer_in };
            for (d, dir) in dirs.iter().enumerate() {
                dir.input.forward(input, rows, &mut gi);
                h.iter_mut().for_each(|v| *v = 0.0);
                for step in 0..steps {
                    let t = if d == 0 { step } else { steps - 1 - step };
                    dir.recurrent.forward(&h, seqs, &mut gh);
                    for (q, (hq, ghq)) in h.chunks_exact_mut(hd).zip(gh.chunks_exact(g)).enumerate() {
                        let r = q * steps + t;
                        update(&gi[r * g..(r + 1) * g], ghq, hq);
                        out[r * 2 * hd + d * hd..r * 2 * hd + (d + 1) * hd].copy_from_slice(hq);
                    }
                }
            }
        }
        s.give(layer_in);
        s.give(h);
        s.give(gh);
        s.give(gi);
    }
}

simd_fn! {
    /// One GRU step from the gate pre-activations `gi = W_ih x + b_ih`, `gh = W_hh h + b_hh`:
    /// r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h' = (1 − z) ⊙ n + z ⊙ h.
    fn update(gi: &[f32], gh: &[f32], h: &mut [f32]) {
        let hd = h.len();
        let (gi_r, gi) = gi.split_at(hd);
        let (gi_z, gi_n) = gi.split_at(hd);
        let (gh_r, gh) = gh.split_at(hd);
        let (gh_z, gh_n) = gh.split_at(hd);
        // Equal lengths up front: no bounds checks in the loop, so it vectorises.
        let (gi_z, gi_n, gh_r, gh_z, gh_n) = (&gi_z[..hd], &gi_n[..hd], &gh_r[..hd], &gh_z[..hd], &gh_n[..hd]);
        for j in 0..hd {
            let r = sigmoid(gi_r[j] + gh_r[j]);
            let z = sigmoid(gi_z[j] + gh_z[j]);
            let n = tanh(gi_n[j] + r * gh_n[j]);
            h[j] = (1.0 - z) * n + z * h[j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::ops::tests::{max_diff, to_vec};
    use tch::nn::RNN;
    use tch::{nn, Device, Kind, Tensor};

    #[test]
    fn bigru_matches_tch_one_and_two_layers() {
        for layers in [1usize, 2] {
            tch::manual_seed(7 + layers as i64);
            let vs = nn::VarStore::new(Device::Cpu);
            let cfg = nn::RNNConfig {
                bidirectional: true,
                num_layers: layers as i64,
                batch_first: true,
                ..Default::default()
            };
            let gru = nn::gru(vs.root() / "gru", 6, 8, cfg);
            let x = Tensor::randn([1, 11, 6], (Kind::Float, Device::Cpu));
            let (want, _) = gru.seq(&x);
            let host = Gru::load(&Weights::from_varstore(&vs), "gru", 6, 8, layers).unwrap();
            let mut out = vec![0f32; 11 * 16];
            let mut s = Scratch::default();
            host.forward(&to_vec(&x), 1, 11, &mut out, &mut s);
            let d = max_diff(&out, &to_vec(&want));
            assert!(d < 1e-5, "{layers}-layer BiGRU differs by {d}");
            // Three sequences together (this one in the middle) give it bit for bit.
            let x3 = Tensor::cat(&[x.flip([1]), x.shallow_clone(), x.neg()], 0);
            let mut out3 = vec![0f32; 3 * 11 * 16];
            host.forward(&to_vec(&x3), 3, 11, &mut out3, &mut s);
            assert_eq!(&out3[11 * 16..2 * 11 * 16], &out[..]);
        }
    }
}
