//! Bidirectional multi-layer GRU (torch `nn::gru`, batch-first, eval mode), one sequence at a time.
//! Gates in torch's order (r, z, n): the input projections of all steps are one sgemm, the
//! recurrent mat-vec runs per step on the transposed `W_hh` (contiguous rows, vectorisable).
use super::ops::{sigmoid, Linear, Scratch};
use super::weights::Weights;
use crate::error::Result;

#[derive(Debug, Clone)]
struct Direction {
    /// `W_ih`, `b_ih`: input → 3·hidden gates.
    input: Linear,
    /// `W_hh` transposed to `[hidden, 3·hidden]`.
    whh_t: Vec<f32>,
    bhh: Vec<f32>,
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
                whh_t: super::ops::transpose(&w.get(&name("weight_hh"), g * hidden)?, g, hidden),
                bhh: w.get(&name("bias_hh"), g)?,
            })
        };
        let layers = (0..layers).map(|l| Ok([dir(l, "")?, dir(l, "_reverse")?])).collect::<Result<_>>()?;
        Ok(Gru { layers, hidden })
    }

    pub fn out_dim(&self) -> usize {
        2 * self.hidden
    }

    /// `x [steps, in_dim]` → `out [steps, 2·hidden]`, each row `[forward | backward]`.
    pub fn forward(&self, x: &[f32], steps: usize, out: &mut [f32], s: &mut Scratch) {
        let (hd, g) = (self.hidden, 3 * self.hidden);
        let mut gi = s.take(steps * g);
        let mut gh = s.take(g);
        let mut h = s.take(hd);
        let mut layer_in = s.take(0);
        for (li, dirs) in self.layers.iter().enumerate() {
            if li > 0 {
                // The next layer reads the previous layer's concatenated output.
                layer_in.clear();
                layer_in.extend_from_slice(&out[..steps * 2 * hd]);
            }
            let input: &[f32] = if li == 0 { x } else { &layer_in };
            for (d, dir) in dirs.iter().enumerate() {
                dir.input.forward(input, steps, &mut gi);
                h.iter_mut().for_each(|v| *v = 0.0);
                for step in 0..steps {
                    let t = if d == 0 { step } else { steps - 1 - step };
                    // gh = W_hh h + b_hh
                    gh.copy_from_slice(&dir.bhh);
                    for (&hk, wrow) in h.iter().zip(dir.whh_t.chunks_exact(g)) {
                        gh.iter_mut().zip(wrow).for_each(|(o, w)| *o += hk * w);
                    }
                    let git = &gi[t * g..(t + 1) * g];
                    for j in 0..hd {
                        let r = sigmoid(git[j] + gh[j]);
                        let z = sigmoid(git[hd + j] + gh[hd + j]);
                        let n = (git[2 * hd + j] + r * gh[2 * hd + j]).tanh();
                        h[j] = (1.0 - z) * n + z * h[j];
                    }
                    out[t * 2 * hd + d * hd..t * 2 * hd + (d + 1) * hd].copy_from_slice(&h);
                }
            }
        }
        s.give(layer_in);
        s.give(h);
        s.give(gh);
        s.give(gi);
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
            host.forward(&to_vec(&x), 11, &mut out, &mut Scratch::default());
            let d = max_diff(&out, &to_vec(&want));
            assert!(d < 1e-5, "{layers}-layer BiGRU differs by {d}");
        }
    }
}
