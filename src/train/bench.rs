//! Throughput of one training step (forward + losses + backward + AdamW step) per model preset.
use super::memory::MemoryBank;
use super::trainer::{compute_losses, LossContext, LossWeights};
use crate::dataset::batch::Batch;
use crate::dataset::labels::LabelMaps;
use crate::dataset::tensorize::Normalizer;
use crate::error::Result;
use crate::features::schema::FlowRow;
use crate::model::{FlowConX, ModelConfig, ModelSize};
use std::time::Instant;
use tch::{nn, nn::OptimizerConfig, Device};

pub struct BenchResult {
    pub size: ModelSize,
    pub parameters: i64,
    pub samples_per_s: f64,
}

/// FlowCon-X's default loss weights (so every loss term is part of the timed step).
pub fn default_weights() -> LossWeights {
    LossWeights {
        app: 0.35,
        proto: 0.10,
        dis: 0.25,
        adv: 0.15,
        pair: 0.0,
        flow_service: 0.0,
        flow_pair: 0.0,
        flow_app: 0.0,
        outlier: 0.0,
        service_ce: 0.5,
    }
}

/// `rows` are cycled to fill one batch of `batch` rows; one warm-up step, then `steps` timed.
pub fn bench_preset(
    size: ModelSize,
    rows: &[FlowRow],
    batch: usize,
    steps: usize,
    device: Device,
) -> Result<BenchResult> {
    tch::manual_seed(0);
    let picked: Vec<&FlowRow> = rows.iter().cycle().take(batch).collect();
    let labels = LabelMaps::fit(rows.iter());
    let cfg = ModelConfig::preset(size, labels.services.len(), labels.conditions.len(), 1.0);
    let norm = Normalizer::fit(rows.iter(), &cfg.features);
    let vs = nn::VarStore::new(device);
    let model = FlowConX::new(vs.root(), &cfg);
    let mut opt = nn::AdamW::default().build(&vs, 3e-4)?;
    let bank = MemoryBank::new(labels.services.len(), 512, cfg.emb_dim(), device);
    let weights = default_weights();
    let ctx = LossContext {
        weights: &weights,
        temperature: 0.07,
        negative_margin: 0.2,
        positive_target: 0.75,
        outlier_margin: 0.0,
    };
    let mut run = || {
        // Featurisation is part of the timed step, as in training.
        let b = Batch::build(&picked, &cfg.features, &norm, &labels, device);
        let out = model.forward_t(&b, true);
        let (loss, _) = compute_losses(&out, &b, &bank, &ctx, None);
        opt.backward_step_clip_norm(&loss, 1.0);
    };
    run();
    let start = Instant::now();
    for _ in 0..steps {
        run();
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let parameters = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    Ok(BenchResult { size, parameters, samples_per_s: (steps * batch) as f64 / secs })
}
