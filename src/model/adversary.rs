//! Condition adversary behind a gradient-reversal layer: it learns to predict the network
//! condition from `z_app` while the reversed gradient pushes `z_app` to forget it.
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

/// Identity forward, gradient × (−λ) backward. tch has no custom autograd functions, so:
/// `y = −λ·x + ((1+λ)·x).detach()` — the value is x, only the first term carries gradient.
pub fn grad_reverse(xs: &Tensor, lambda: f64) -> Tensor {
    xs * (-lambda) + (xs * (1.0 + lambda)).detach()
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub in_dim: i64,
    pub hidden: i64,
    pub classes: i64,
    /// Gradient-reversal strength.
    pub lambda: f64,
}

#[derive(Debug)]
pub struct ConditionAdversary {
    l1: nn::Linear,
    l2: nn::Linear,
    lambda: f64,
}

impl ConditionAdversary {
    pub fn new(vs: nn::Path, cfg: &Config) -> Self {
        ConditionAdversary {
            l1: nn::linear(&vs / "l1", cfg.in_dim, cfg.hidden, Default::default()),
            l2: nn::linear(&vs / "l2", cfg.hidden, cfg.classes, Default::default()),
            lambda: cfg.lambda,
        }
    }

    /// `z [B, E]` → condition logits `[B, classes]`.
    pub fn forward(&self, z: &Tensor) -> Tensor {
        grad_reverse(z, self.lambda).apply(&self.l1).relu().apply(&self.l2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn gradient_reversal_flips_sign_and_keeps_values() {
        let x = Tensor::from_slice(&[1.0f32, -2.0, 3.0]).set_requires_grad(true);
        let y = grad_reverse(&x, 0.5);
        assert_eq!(Vec::<f32>::try_from(&y.detach()).unwrap(), vec![1.0, -2.0, 3.0]);
        let w = Tensor::from_slice(&[2.0f32, 3.0, -1.0]);
        (&y * &w).sum(Kind::Float).backward();
        // d/dx of sum(w·x) is w; reversed and scaled: −0.5·w.
        assert_eq!(Vec::<f32>::try_from(&x.grad()).unwrap(), vec![-1.0, -1.5, 0.5]);
    }
}
