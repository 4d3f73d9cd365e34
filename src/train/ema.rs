//! Exponential moving average of the weights (Polyak averaging). On 1.5k training rows the
//! weights of one step are noisy; the average is what gets evaluated and saved.
use tch::{nn, Tensor};

pub struct Ema {
    decay: f64,
    updates: u64,
    /// (live variable, its running average), in `VarStore::variables()` order.
    pairs: Vec<(Tensor, Tensor)>,
}

impl Ema {
    /// The average starts at the current weights (fresh or resumed).
    pub fn new(vs: &nn::VarStore, decay: f64) -> Ema {
        let pairs = tch::no_grad(|| {
            let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
            // HashMap order is not stable; the pairing must be.
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            vars.into_iter().map(|(_, t)| (t.shallow_clone(), t.detach().copy())).collect()
        });
        Ema { decay, updates: 0, pairs }
    }

    /// The decay used for update `n` (from 1): `min(decay, (1 + n) / (10 + n))`, so the first
    /// steps are not dominated by the initial weights.
    pub fn decay_at(&self, n: u64) -> f64 {
        self.decay.min((1.0 + n as f64) / (10.0 + n as f64))
    }

    /// After an optimiser step: average ← d·average + (1 − d)·weights.
    pub fn update(&mut self) {
        self.updates += 1;
        let w = 1.0 - self.decay_at(self.updates);
        tch::no_grad(|| {
            for (var, avg) in &mut self.pairs {
                let _ = avg.lerp_(var, w);
            }
        });
    }

    /// Puts the averaged weights into the model; returns the live ones for `restore`.
    pub fn swap_in(&self) -> Vec<Tensor> {
        tch::no_grad(|| {
            self.pairs
                .iter()
                .map(|(var, avg)| {
                    let live = var.detach().copy();
                    var.shallow_clone().copy_(avg);
                    live
                })
                .collect()
        })
    }

    /// Puts the live weights saved by `swap_in` back.
    pub fn restore(&self, live: Vec<Tensor>) {
        tch::no_grad(|| {
            for ((var, _), saved) in self.pairs.iter().zip(live) {
                var.shallow_clone().copy_(&saved);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn average_follows_the_warmed_up_decay_and_swaps_both_ways() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().zeros("w", &[2]);
        let mut ema = Ema::new(&vs, 0.9);
        assert!((ema.decay_at(1) - 2.0 / 11.0).abs() < 1e-12);
        assert_eq!(ema.decay_at(1000), 0.9);
        // Weights jump to 1: average = 1 − d1 = 9/11.
        tch::no_grad(|| {
            let _ = w.shallow_clone().fill_(1.0);
        });
        ema.update();
        // Then to 3: average = d2·9/11 + (1 − d2)·3 with d2 = 3/12.
        tch::no_grad(|| {
            let _ = w.shallow_clone().fill_(3.0);
        });
        ema.update();
        let want = 0.25 * 9.0 / 11.0 + 0.75 * 3.0;
        let live = ema.swap_in();
        let got = Vec::<f32>::try_from(&w).unwrap();
        assert!(got.iter().all(|v| (*v as f64 - want).abs() < 1e-6), "{got:?} vs {want}");
        ema.restore(live);
        assert_eq!(Vec::<f32>::try_from(&w).unwrap(), vec![3.0, 3.0]);
        assert_eq!(w.kind(), Kind::Float);
    }
}
