//! The training loop: AdamW (decoupled weight decay on weights only, not on norms or biases),
//! gradient-norm clipping, cosine learning rate, a per-class memory bank, deterministic batch
//! order from the seed; a checkpoint and `history.json` after every epoch.
use super::checkpoint::{self, embed_with, CheckpointMeta, EmbeddingMatrix, Reference, StoredSplit};
use super::ema::Ema;
use super::knn::{accuracy, knn_predict};
use super::loss;
use super::memory::MemoryBank;
use super::DeviceChoice;
use crate::dataset::augment::{augment_row, crop_row};
use crate::dataset::batch::Batch;
use crate::dataset::labels::LabelMaps;
use crate::dataset::load::{load_rows, LoadConfig};
use crate::dataset::reservoir::priority;
use crate::dataset::rng::SplitMix;
use crate::dataset::split::{captures_of, split_rows, Split, SplitConfig};
use crate::dataset::tensorize::Normalizer;
use crate::error::{Error, Result};
use crate::features::schema::FlowRow;
use crate::model::{decays, FlowConX, ModelConfig, ModelOverrides, ModelSize, Outputs};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossWeights {
    pub app: f64,
    pub proto: f64,
    pub dis: f64,
    pub adv: f64,
    pub pair: f64,
    pub flow_service: f64,
    pub flow_pair: f64,
    /// App SupCon on `z_flow` (0 in checkpoints written before the flag).
    #[serde(default)]
    pub flow_app: f64,
    /// Service cross-entropy head on `z_flow`.
    pub service_ce: f64,
    /// Outlier exposure (`--outliers`): outlier rows' prototype cosine above the margin.
    #[serde(default)]
    pub outlier: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub load: LoadConfig,
    pub output_dir: PathBuf,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub augment_count: usize,
    /// Prefix copies per training row (`dataset::augment::crop_row`).
    #[serde(default)]
    pub augment_crop: usize,
    pub seed: u64,
    pub device: DeviceChoice,
    pub memory_per_class: usize,
    pub temperature: f64,
    pub weights: LossWeights,
    pub pair_negative_margin: f64,
    pub pair_positive_target: f64,
    pub eval_max_train: Option<usize>,
    pub eval_max_test: Option<usize>,
    pub resume_checkpoint: Option<PathBuf>,
    /// Processed rows of background traffic (none of their labels is used) for outlier exposure.
    #[serde(default)]
    pub outliers: Option<PathBuf>,
    /// Outlier rows per step (with `outliers`).
    #[serde(default)]
    pub outlier_batch: usize,
    /// The prototype cosine an outlier row may keep for free.
    #[serde(default)]
    pub outlier_margin: f64,
    pub split: SplitConfig,
    pub model_size: ModelSize,
    #[serde(default)]
    pub model_overrides: ModelOverrides,
    pub threads: Option<usize>,
    pub grad_clip: f64,
    /// Reference embeddings kept per service in the checkpoint.
    pub reference_per_service: usize,
    /// Weight averaging: 0 = off; else the decay of the moving average that is evaluated and saved.
    #[serde(default)]
    pub ema_decay: f64,
    pub quiet: bool,
}

/// Loss term names, in the order `compute_losses` returns their values (the history's keys).
pub const LOSS_NAMES: [&str; 12] = [
    "total",
    "supcon",
    "app",
    "proto",
    "dis",
    "adv",
    "pair",
    "flow_service",
    "flow_pair",
    "flow_app",
    "service_ce",
    "outlier",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub lr: f64,
    pub seconds: f64,
    pub samples_per_s: f64,
    pub samples: usize,
    pub real_samples: usize,
    pub augmented_samples: usize,
    /// True when network-condition augmentations were part of this epoch's samples.
    pub augmented: bool,
    pub losses: BTreeMap<String, f64>,
    /// Cosine 5-NN accuracy of test `z_flow` against training `z_flow` (capped by --eval-max-*).
    pub knn_accuracy: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct History {
    pub flowconx_version: String,
    pub model_size: ModelSize,
    pub augment_count: usize,
    #[serde(default)]
    pub augment_crop: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub epochs: Vec<EpochRecord>,
}

impl History {
    pub fn model_size_name(&self) -> &'static str {
        self.model_size.name()
    }
}

pub struct TrainSummary {
    pub history: History,
    pub labels: LabelMaps,
    pub device: Device,
    pub parameters: i64,
}

/// Everything a step needs besides the model.
pub struct LossContext<'a> {
    pub weights: &'a LossWeights,
    pub temperature: f64,
    pub negative_margin: f64,
    pub positive_target: f64,
    pub outlier_margin: f64,
}

/// Weighted total and each term's value, in `LOSS_NAMES` order; `outliers` is the `z_flow` of
/// the step's outlier rows.
pub fn compute_losses(
    out: &Outputs,
    batch: &Batch,
    bank: &MemoryBank,
    ctx: &LossContext,
    outliers: Option<&Tensor>,
) -> (Tensor, [f64; LOSS_NAMES.len()]) {
    let w = ctx.weights;
    let (bz, bl) = bank.contents();
    let bank_arg = bank.is_enabled().then_some((bz, bl));
    let supcon = loss::supcon(&out.z_app, &batch.service, bank_arg, ctx.temperature);
    let zero = || out.z_app.sum(Kind::Float) * 0.0;
    let on = |lambda: f64, f: &dyn Fn() -> Tensor| if lambda != 0.0 { f() } else { zero() };
    let app = on(w.app, &|| loss::supcon(&out.z_app, &batch.app, None, ctx.temperature));
    let proto = on(w.proto, &|| {
        let (p, present) = bank.prototypes();
        loss::prototype_alignment(&out.z_app, &batch.service, &p, &present)
    });
    let dis = on(w.dis, &|| loss::disentangle(&out.z_app, &out.z_net));
    let adv = on(w.adv, &|| loss::cross_entropy(&out.adv_logits, &batch.condition));
    let pair =
        on(w.pair, &|| loss::pairwise_margin(&out.z_app, &batch.service, ctx.negative_margin, ctx.positive_target));
    let flow_service = on(w.flow_service, &|| loss::supcon(&out.z_flow, &batch.service, None, ctx.temperature));
    let flow_pair = on(w.flow_pair, &|| {
        loss::pairwise_margin(&out.z_flow, &batch.service, ctx.negative_margin, ctx.positive_target)
    });
    let flow_app = on(w.flow_app, &|| loss::supcon(&out.z_flow, &batch.app, None, ctx.temperature));
    let ce = on(w.service_ce, &|| loss::cross_entropy(&out.service_logits, &batch.service));
    let classes = out.service_logits.size().last().copied().unwrap_or(0);
    let outlier = match outliers {
        Some(z) => on(w.outlier, &|| loss::outlier_margin(z, &out.z_flow, &batch.service, classes, ctx.outlier_margin)),
        None => zero(),
    };
    let total = &supcon
        + &app * w.app
        + &proto * w.proto
        + &dis * w.dis
        + &adv * w.adv
        + &pair * w.pair
        + &flow_service * w.flow_service
        + &flow_pair * w.flow_pair
        + &flow_app * w.flow_app
        + &ce * w.service_ce
        + &outlier * w.outlier;
    let parts = [&total, &supcon, &app, &proto, &dis, &adv, &pair, &flow_service, &flow_pair, &flow_app, &ce, &outlier]
        .map(|t| t.double_value(&[]));
    (total, parts)
}

/// Cosine schedule from `lr` down to 5 % of it over `total` steps.
pub fn cosine_lr(lr: f64, step: usize, total: usize) -> f64 {
    let frac = if total <= 1 { 0.0 } else { step as f64 / (total - 1) as f64 };
    lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()))
}

/// Deterministic cap: the `max` indices with the smallest seeded priority, ascending.
fn cap(idx: &[usize], max: Option<usize>, seed: u64) -> Vec<usize> {
    match max {
        Some(m) if m < idx.len() => {
            let mut v: Vec<(u64, usize)> = idx.iter().map(|&i| (priority(seed, &[i as u64]), i)).collect();
            v.sort_unstable();
            let mut out: Vec<usize> = v[..m].iter().map(|x| x.1).collect();
            out.sort_unstable();
            out
        }
        _ => idx.to_vec(),
    }
}

/// The model, fresh or from `--resume-checkpoint` (its weights, label maps and normaliser; the
/// optimiser starts afresh: tch exposes no AdamW state to save).
struct Setup {
    vs: nn::VarStore,
    model: FlowConX,
    cfg: ModelConfig,
    labels: LabelMaps,
    norm: Normalizer,
    resumed_from: Option<String>,
    epochs_before: usize,
}

/// The model and the split it trains on. A resumed model goes on with the split stored beside
/// it: drawing it again (another seed, fraction or file) could put its test rows into training.
fn setup(cfg: &TrainConfig, rows: &[FlowRow], device: Device) -> Result<(Setup, Split, SplitConfig)> {
    if let Some(path) = &cfg.resume_checkpoint {
        let (meta, vs, model) = checkpoint::load_model(path, device)?;
        if !meta.split.indexes(&cfg.load.csv, rows.len()) {
            return Err(Error::input(
                checkpoint::checkpoint_dir(path).join(checkpoint::META_FILE),
                format!(
                    "its split indexes {} rows of {}; resume with the same --csv and --limit (here {} rows)",
                    meta.split.train.len() + meta.split.test.len(),
                    meta.split.csv.join(", "),
                    rows.len()
                ),
            ));
        }
        let split = Split { train: meta.split.train, test: meta.split.test };
        let s = Setup {
            vs,
            model,
            cfg: meta.model,
            labels: meta.labels,
            norm: meta.normalizer,
            resumed_from: Some(path.display().to_string()),
            epochs_before: meta.epochs_done,
        };
        return Ok((s, split, meta.split_config));
    }
    let split = split_rows(rows, &cfg.split);
    if split.train.is_empty() {
        return Err(Error::Config("the split left no training rows".into()));
    }
    let train = || split.train.iter().map(|&i| &rows[i]);
    let labels = LabelMaps::fit(train());
    let mcfg = ModelConfig::build(cfg.model_size, cfg.model_overrides, labels.services.len(), labels.conditions.len());
    let norm = Normalizer::fit(train(), &mcfg.features);
    let vs = nn::VarStore::new(device);
    let model = FlowConX::new(vs.root(), &mcfg);
    let s = Setup { vs, model, cfg: mcfg, labels, norm, resumed_from: None, epochs_before: 0 };
    Ok((s, split, cfg.split.clone()))
}

pub fn train(cfg: &TrainConfig) -> Result<TrainSummary> {
    if cfg.batch_size == 0 || cfg.epochs == 0 {
        return Err(Error::Config("--batch-size and --epochs must be > 0".into()));
    }
    // NaN fails too.
    if cfg.temperature.is_nan() || cfg.temperature <= 0.0 {
        return Err(Error::Config("--temperature must be > 0".into()));
    }
    let o = &cfg.model_overrides;
    if o.time_bins == Some(0) || o.cond_hidden.is_some_and(|g| g < 1) {
        return Err(Error::Config("--time-bins and --cond-hidden must be ≥ 1".into()));
    }
    let shape = ModelConfig::build(cfg.model_size, *o, 1, 1);
    if shape.shape_error().is_some() {
        return Err(Error::Config(format!("--heads must divide the hidden size ({})", shape.app.hidden)));
    }
    if cfg.resume_checkpoint.is_some() && !o.is_empty() {
        return Err(Error::Config(
            "--time-bins, --cond-hidden, --size-embedding, --position-embedding, --conv-blocks, --layers, --heads \
             and --ff-mult cannot change a resumed model (its checkpoint sets them)"
                .into(),
        ));
    }
    if cfg.outliers.is_some() && cfg.outlier_batch == 0 {
        return Err(Error::Config("--outlier-batch must be ≥ 1".into()));
    }
    // A negative clip would flip every gradient, 0 zero them; the decoupled decay multiplies the
    // weights by 1 − lr·wd, which must stay in (0, 1].
    if !(cfg.grad_clip.is_finite() && cfg.grad_clip > 0.0) {
        return Err(Error::Config("--grad-clip must be > 0".into()));
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        return Err(Error::Config("--lr must be > 0".into()));
    }
    if !(cfg.weight_decay.is_finite() && cfg.weight_decay >= 0.0 && cfg.lr * cfg.weight_decay < 1.0) {
        return Err(Error::Config("--weight-decay must be ≥ 0, with --lr × --weight-decay < 1".into()));
    }
    if !(0.0..1.0).contains(&cfg.ema_decay) {
        return Err(Error::Config("--ema-decay must be in [0, 1)".into()));
    }
    // Every service with two or more captures keeps at least one on the test side, so 0 would
    // still hold rows out: it is refused rather than silently not honoured.
    if !(cfg.split.test_fraction > 0.0 && cfg.split.test_fraction < 1.0) {
        return Err(Error::Config("--test-fraction must be in (0, 1)".into()));
    }
    if let Some(t) = cfg.threads {
        tch::set_num_threads(t as i32);
    }
    tch::manual_seed(cfg.seed as i64);
    let device = cfg.device.resolve()?;
    let rows = load_rows(&cfg.load)?;
    let (s, split, split_config) = setup(cfg, &rows, device)?;
    // Outlier rows are read with the training file's column names; their labels are never used.
    let outliers = match &cfg.outliers {
        Some(p) => {
            let rows = load_rows(&LoadConfig { csv: vec![p.clone()], limit: None, ..cfg.load.clone() })?;
            if rows.is_empty() {
                return Err(Error::input(p, "no rows: --outliers needs background rows"));
            }
            rows
        }
        None => Vec::new(),
    };
    let parameters: i64 = s.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();

    // Training items: every real training row, then `augment_count` seeded copies of each.
    let augmented: Vec<FlowRow> = split
        .train
        .iter()
        .flat_map(|&i| (0..cfg.augment_count).map(move |k| (i, k)))
        .map(|(i, k)| augment_row(&rows[i], &mut SplitMix::new(cfg.seed, &[0xA6, i as u64, k as u64])))
        .chain(
            split
                .train
                .iter()
                .flat_map(|&i| (0..cfg.augment_crop).map(move |k| (i, k)))
                .map(|(i, k)| crop_row(&rows[i], &mut SplitMix::new(cfg.seed, &[0xC4, i as u64, k as u64]))),
        )
        .collect();
    let items: Vec<&FlowRow> = split.train.iter().map(|&i| &rows[i]).chain(augmented.iter()).collect();

    let mut opt = nn::AdamW { wd: 0.0, ..Default::default() }.build(&s.vs, cfg.lr)?;
    let decayed: Vec<Tensor> =
        s.vs.variables().into_iter().filter(|(n, _)| decays(n)).map(|(_, t)| t).collect::<Vec<_>>();
    let mut bank = MemoryBank::new(s.labels.services.len(), cfg.memory_per_class, s.cfg.emb_dim(), device);
    let lctx = LossContext {
        weights: &cfg.weights,
        temperature: cfg.temperature,
        negative_margin: cfg.pair_negative_margin,
        positive_target: cfg.pair_positive_target,
        outlier_margin: cfg.outlier_margin,
    };
    let eval_train = cap(&split.train, cfg.eval_max_train, cfg.seed ^ 0x7)
        .into_iter()
        .filter(|&i| s.labels.service_id(&rows[i].service).is_some())
        .collect::<Vec<_>>();
    let eval_test = cap(&split.test, cfg.eval_max_test, cfg.seed ^ 0x11);

    let steps_per_epoch = items.len().div_ceil(cfg.batch_size);
    let total_steps = steps_per_epoch * cfg.epochs;
    let mut history = History {
        flowconx_version: env!("CARGO_PKG_VERSION").into(),
        model_size: s.cfg.size,
        augment_count: cfg.augment_count,
        augment_crop: cfg.augment_crop,
        train_rows: split.train.len(),
        test_rows: split.test.len(),
        epochs: earlier_epochs(cfg, s.epochs_before),
    };
    let stored_split = StoredSplit {
        csv: cfg.load.csv.iter().map(|p| p.display().to_string()).collect(),
        limit: cfg.load.limit,
        train_captures: captures_of(&rows, &split.train),
        test_captures: captures_of(&rows, &split.test),
        train: split.train.clone(),
        test: split.test.clone(),
    };
    let mut ema = (cfg.ema_decay > 0.0).then(|| Ema::new(&s.vs, cfg.ema_decay));
    let mut step = 0usize;
    let mut lr = cfg.lr;
    for epoch in 0..cfg.epochs {
        let start = Instant::now();
        let mut order: Vec<usize> = (0..items.len()).collect();
        SplitMix::new(cfg.seed, &[0xE0, (s.epochs_before + epoch) as u64]).shuffle(&mut order);
        let bar = crate::progress::count_bar(steps_per_epoch as u64, "batches", cfg.quiet);
        let mut sums = [0f64; LOSS_NAMES.len()];
        let mut seen = 0usize;
        let mut outlier_order: Vec<usize> = (0..outliers.len()).collect();
        SplitMix::new(cfg.seed, &[0x0E, (s.epochs_before + epoch) as u64]).shuffle(&mut outlier_order);
        let mut outlier_steps = outlier_order.chunks(cfg.outlier_batch.max(1)).cycle();
        for chunk in order.chunks(cfg.batch_size) {
            lr = cosine_lr(cfg.lr, step, total_steps);
            opt.set_lr(lr);
            let batch_rows: Vec<&FlowRow> = chunk.iter().map(|&i| items[i]).collect();
            let batch = Batch::build(&batch_rows, &s.cfg.features, &s.norm, &s.labels, device);
            let out = s.model.forward_t(&batch, true);
            // The next outlier rows (cycled), through the same model in training mode.
            let z_out = outlier_steps.next().map(|idx| {
                let orows: Vec<&FlowRow> = idx.iter().map(|&i| &outliers[i]).collect();
                s.model.forward_t(&Batch::build(&orows, &s.cfg.features, &s.norm, &s.labels, device), true).z_flow
            });
            let (total, parts) = compute_losses(&out, &batch, &bank, &lctx, z_out.as_ref());
            if !parts[0].is_finite() {
                return Err(Error::Model(format!("loss became {} at epoch {} step {step}", parts[0], epoch + 1)));
            }
            opt.zero_grad();
            total.backward();
            opt.clip_grad_norm(cfg.grad_clip);
            if cfg.weight_decay > 0.0 {
                let factor = 1.0 - lr * cfg.weight_decay;
                tch::no_grad(|| {
                    decayed.iter().for_each(|t| {
                        let _ = t.shallow_clone().g_mul_scalar_(factor);
                    })
                });
            }
            opt.step();
            if let Some(e) = ema.as_mut() {
                e.update();
            }
            let service_ids = Vec::<i64>::try_from(&batch.service.to_device(Device::Cpu)).map_err(Error::Torch)?;
            bank.push(&out.z_app, &service_ids);
            for (a, p) in sums.iter_mut().zip(&parts) {
                *a += p * chunk.len() as f64;
            }
            seen += chunk.len();
            step += 1;
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "epoch {}/{}  loss {:.4}  {:.0} samples/s",
                epoch + 1,
                cfg.epochs,
                sums[0] / seen as f64,
                seen as f64 / secs
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let seconds = start.elapsed().as_secs_f64();
        // The averaged weights are what is checked, saved and referenced; training goes on from the live ones.
        let live = ema.as_ref().map(Ema::swap_in);
        let knn_accuracy = quick_knn(&s, &rows, &eval_train, &eval_test, device)?;
        let losses: BTreeMap<String, f64> = LOSS_NAMES
            .iter()
            .zip(&sums)
            // The outlier term is recorded only when training had outlier rows.
            .filter(|(n, _)| **n != "outlier" || !outliers.is_empty())
            .map(|(n, v)| (n.to_string(), v / seen.max(1) as f64))
            .collect();
        history.epochs.push(EpochRecord {
            epoch: s.epochs_before + epoch + 1,
            lr,
            seconds,
            samples_per_s: seen as f64 / seconds.max(1e-9),
            samples: seen,
            real_samples: split.train.len(),
            augmented_samples: augmented.len(),
            augmented: !augmented.is_empty(),
            losses,
            knn_accuracy,
        });
        let meta = CheckpointMeta {
            format: checkpoint::FORMAT.into(),
            flowconx_version: env!("CARGO_PKG_VERSION").into(),
            libtorch_version: crate::runtime::LIBTORCH_VERSION.into(),
            weights_file: checkpoint::WEIGHTS_FILE.into(),
            model: s.cfg.clone(),
            normalizer: s.norm.clone(),
            labels: s.labels.clone(),
            training: serde_json::to_value(cfg).map_err(|e| Error::Config(e.to_string()))?,
            split_config: split_config.clone(),
            split: stored_split.clone(),
            epochs_done: s.epochs_before + epoch + 1,
            resumed_from: s.resumed_from.clone(),
        };
        checkpoint::save_checkpoint(&cfg.output_dir, &s.vs, &meta)?;
        checkpoint::write_json(&cfg.output_dir.join("history.json"), &history)?;
        if epoch + 1 == cfg.epochs {
            build_reference(&s, &rows, &split.train, cfg, device)?.save(&cfg.output_dir)?;
        } else if let (Some(e), Some(live)) = (&ema, live) {
            e.restore(live);
        }
    }
    Ok(TrainSummary { history, labels: s.labels, device, parameters })
}

/// The epochs of the resumed run's `history.json` (up to the checkpoint's epoch), so a resumed
/// history reads as one run; none for a fresh run or when that file is missing or unreadable.
fn earlier_epochs(cfg: &TrainConfig, epochs_before: usize) -> Vec<EpochRecord> {
    let Some(path) = &cfg.resume_checkpoint else { return Vec::new() };
    let file = checkpoint::checkpoint_dir(path).join("history.json");
    match checkpoint::read_json::<History>(&file) {
        Ok(h) => h.epochs.into_iter().filter(|e| e.epoch <= epochs_before).collect(),
        Err(_) => Vec::new(),
    }
}

fn quick_knn(s: &Setup, rows: &[FlowRow], train: &[usize], test: &[usize], device: Device) -> Result<Option<f64>> {
    if train.is_empty() || test.is_empty() {
        return Ok(None);
    }
    let emb = |idx: &[usize]| -> Result<EmbeddingMatrix> {
        let r: Vec<&FlowRow> = idx.iter().map(|&i| &rows[i]).collect();
        Ok(embed_with(&s.model, &s.cfg, &s.norm, &s.labels, &r, 512, device)?.z_flow)
    };
    let sid = |idx: &[usize]| -> Vec<i64> {
        idx.iter().map(|&i| s.labels.service_id(&rows[i].service).map(|v| v as i64).unwrap_or(-1)).collect()
    };
    let pred = knn_predict(&emb(train)?, &sid(train), &emb(test)?, 5);
    Ok(accuracy(&pred, &sid(test)))
}

/// A seeded sample of at most `reference_per_service` training rows per service, and every
/// service's prototype (mean `z_flow` of all its training rows, L2-normalised).
fn build_reference(
    s: &Setup,
    rows: &[FlowRow],
    train: &[usize],
    cfg: &TrainConfig,
    device: Device,
) -> Result<Reference> {
    let known: Vec<usize> =
        train.iter().copied().filter(|&i| s.labels.service_id(&rows[i].service).is_some()).collect();
    let refs: Vec<&FlowRow> = known.iter().map(|&i| &rows[i]).collect();
    let all = embed_with(&s.model, &s.cfg, &s.norm, &s.labels, &refs, 512, device)?.z_flow;
    let dim = all.dim;
    let mut by_service: BTreeMap<&str, Vec<(u64, usize)>> = BTreeMap::new();
    for (j, &i) in known.iter().enumerate() {
        by_service.entry(rows[i].service.as_str()).or_default().push((priority(cfg.seed ^ 0x5EF, &[i as u64]), j));
    }
    let mut reference = Reference::default();
    reference.z_flow.dim = dim;
    reference.prototypes.dim = dim;
    for (service, mut members) in by_service {
        let mut mean = vec![0f64; dim];
        for &(_, j) in &members {
            mean.iter_mut().zip(all.row(j)).for_each(|(m, v)| *m += *v as f64);
        }
        let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        reference.prototypes.data.extend(mean.iter().map(|v| (v / norm) as f32));
        reference.prototypes.n += 1;
        reference.prototype_services.push(service.to_string());
        members.sort_unstable();
        let mut keep: Vec<usize> = members.iter().take(cfg.reference_per_service).map(|m| m.1).collect();
        keep.sort_unstable();
        for j in keep {
            reference.z_flow.data.extend_from_slice(all.row(j));
            reference.z_flow.n += 1;
            reference.services.push(service.to_string());
            reference.apps.push(rows[known[j]].app.clone());
        }
    }
    Ok(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_ends_at_five_percent() {
        assert!((cosine_lr(1.0, 0, 11) - 1.0).abs() < 1e-12);
        assert!((cosine_lr(1.0, 10, 11) - 0.05).abs() < 1e-12);
        assert!((cosine_lr(1.0, 5, 11) - 0.525).abs() < 1e-12);
    }

    #[test]
    fn cap_is_deterministic_subset() {
        let idx: Vec<usize> = (0..100).collect();
        let a = cap(&idx, Some(10), 3);
        assert_eq!(a, cap(&idx, Some(10), 3));
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(cap(&idx, None, 3).len(), 100);
    }
}
