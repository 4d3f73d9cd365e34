//! Evaluation of a checkpoint on processed rows: embeddings, every metric of `compute`, context
//! invariance, latency (batch 1; end to end and model only) and throughput (batch 256).
//! `evaluate_checkpoint` is what both `flowconx evaluate` and the end of `flowconx train` call.
use super::baseline::raw_matrix;
use super::compute::{embedding_metrics, open_set_score, EvalOptions, Side};
use super::device::Verdicts;
use super::head::ServiceHead;
use super::latency::summarize;
use super::matrix::{LabelSet, Matrix};
use super::metrics::{Metrics, SplitInfo, Throughput};
use super::prototype::Prototypes;
use super::sampling::stratified_cap;
use crate::dataset::split::{captures_of, split_rows, Split, SplitConfig, SplitMode};
use crate::error::{Error, Result};
use crate::features::FlowRow;
use crate::infer::weights::Weights;
use crate::infer::{Backend, EngineChoice, Inputs, Prepared};
use crate::train::checkpoint::{forward_chunks, load_model, CheckpointMeta, EmbeddingMatrix, Embeddings};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Device;

/// Rows embedded per forward pass outside the timed sections.
const EMBED_BATCH: usize = 256;
/// FlowCon-X measured context invariance on at most this many test rows.
const CIST_ROWS: usize = 256;

#[derive(Debug, Clone)]
pub struct EvaluateConfig {
    /// `None`: the split stored with the checkpoint (recomputed with its settings when the
    /// rows are not the training rows); `Some`: that mode with `seed`.
    pub split: Option<SplitMode>,
    pub seed: u64,
    pub eval_max_train: Option<usize>,
    pub eval_max_test: Option<usize>,
    pub k: usize,
    pub svm_rbf_max_rows: usize,
    /// Timed batch-1 calls (after 10 warm-up calls).
    pub latency_runs: usize,
    pub throughput_batch: usize,
    /// Skip the timing sections (unit tests, quick runs).
    pub timing: bool,
    /// Host (pure Rust) or tch inference; `Auto` = host on CPU.
    pub engine: EngineChoice,
}

impl Default for EvaluateConfig {
    fn default() -> Self {
        EvaluateConfig {
            split: None,
            seed: 42,
            eval_max_train: None,
            eval_max_test: None,
            k: 5,
            svm_rbf_max_rows: 10_000,
            latency_runs: 200,
            throughput_batch: 256,
            timing: true,
            engine: EngineChoice::Auto,
        }
    }
}

/// A checkpoint's model, ready to embed rows (host engine or tch, see `crate::infer`).
pub struct Engine {
    pub meta: CheckpointMeta,
    backend: Backend,
    /// The service head on `z_flow`, for the open-set energy score.
    pub head: ServiceHead,
    pub device: Device,
    pub dir: PathBuf,
}

impl Engine {
    pub fn load(path: &Path, device: Device, choice: EngineChoice) -> Result<Self> {
        let (meta, vs, model) = load_model(path, device)?;
        let head = ServiceHead::load(&Weights::from_varstore(&vs), meta.model.services as usize, meta.model.emb_dim())?;
        let backend = Backend::new(vs, model, &meta.model, device, choice)?;
        Ok(Engine { meta, backend, head, device, dir: crate::train::checkpoint::checkpoint_dir(path) })
    }

    /// `host` or `tch`.
    pub fn engine_name(&self) -> &'static str {
        self.backend.name()
    }

    fn inputs(&self) -> Inputs<'_> {
        Inputs::of(&self.meta)
    }

    /// The three embeddings of `rows`, in order, as the model writes them (`flowconx embed`).
    pub fn embeddings(&self, rows: &[&FlowRow], batch: usize) -> Result<Embeddings> {
        self.backend.embed(self.inputs(), rows, batch)
    }

    /// Unit-length `z_flow` of `rows`, in order.
    pub fn z_flow(&self, rows: &[&FlowRow], batch: usize) -> Result<Matrix> {
        to_matrix(self.embeddings(rows, batch)?.z_flow)
    }

    /// Unit-length `z_app` of `rows`, in order.
    pub fn z_app(&self, rows: &[&FlowRow], batch: usize) -> Result<Matrix> {
        to_matrix(self.embeddings(rows, batch)?.z_app)
    }

    /// Whether the embeddings come from tch, on the model's device (else the host engine).
    pub fn embeds_on_device(&self) -> bool {
        matches!(self.backend, Backend::Tch { .. })
    }

    /// Unit-length `z_flow` of `rows` left on the tch model's device; `None` with the host engine.
    /// (Written here rather than on `infer::Backend`: there, the compiler laid out the host engine
    /// differently and it ran ~9% slower in alternated runs, session 11.)
    pub fn z_flow_tensor(&self, rows: &[&FlowRow], batch: usize) -> Option<tch::Tensor> {
        let Backend::Tch { model, device, .. } = &self.backend else { return None };
        let inp = self.inputs();
        let _g = tch::no_grad_guard();
        let parts: Vec<tch::Tensor> =
            forward_chunks(model, inp.cfg, inp.norm, inp.labels, rows, batch, *device).map(|o| o.z_flow).collect();
        if parts.is_empty() {
            return Some(tch::Tensor::zeros([0, inp.cfg.emb_dim() as i64], (tch::Kind::Float, *device)));
        }
        // Unit rows, as `to_matrix` gives the host side (z_flow leaves the model L2-normalised).
        let z = tch::Tensor::cat(&parts, 0);
        let norm = z.norm_scalaropt_dim(2, [1], true);
        Some(&z / norm.clamp_min(1e-12))
    }

    /// Features of `rows`, normalised and ready for the model (on its device).
    pub fn prepare(&self, rows: &[&FlowRow]) -> Prepared {
        self.backend.prepare(self.inputs(), rows)
    }

    /// Model only: `z_flow` of prepared inputs, copied to the host (which waits for the device).
    pub fn forward(&self, p: &Prepared) -> Result<Matrix> {
        to_matrix(self.backend.forward(p)?)
    }
}

pub fn to_matrix(e: EmbeddingMatrix) -> Result<Matrix> {
    Ok(Matrix::new(e.n, e.dim, e.data)?.normalized())
}

/// The split to evaluate on, as `resolve_split` chose it.
#[derive(Debug, Clone)]
pub struct ResolvedSplit {
    pub split: Split,
    /// `capture` or `random`.
    pub kind: String,
    /// The seed the split was drawn with (the training's split seed when it is the stored one).
    pub seed: u64,
    /// Test rows that were training rows of the checkpoint: 0 on its stored split, more when
    /// another split of the same rows is asked for; `None` when the rows differ from training's.
    pub training_rows_in_test: Option<usize>,
}

/// The checkpoint's stored split when the rows are the training rows and no other split kind is
/// asked for; else the split drawn again (the training's split seed for the same kind, `--seed`
/// for another kind), with its overlap with the training rows counted where it can be.
pub fn resolve_split(
    meta: &CheckpointMeta,
    rows: &[FlowRow],
    csv: &[PathBuf],
    cfg: &EvaluateConfig,
) -> Result<ResolvedSplit> {
    let trained = meta.split_config.mode;
    let same_rows = meta.split.indexes(csv, rows.len());
    let name = |m: SplitMode| format!("{m:?}").to_lowercase();
    let mode = cfg.split.unwrap_or(trained);
    if same_rows && mode == trained {
        return Ok(ResolvedSplit {
            split: Split { train: meta.split.train.clone(), test: meta.split.test.clone() },
            kind: name(trained),
            seed: meta.split_config.seed,
            training_rows_in_test: Some(0),
        });
    }
    let seed = if mode == trained { meta.split_config.seed } else { cfg.seed };
    let split = split_rows(rows, &SplitConfig { mode, test_fraction: meta.split_config.test_fraction, seed });
    let training_rows_in_test = same_rows.then(|| {
        let trained_rows: std::collections::BTreeSet<usize> = meta.split.train.iter().copied().collect();
        split.test.iter().filter(|i| trained_rows.contains(i)).count()
    });
    Ok(ResolvedSplit { split, kind: name(mode), seed, training_rows_in_test })
}

fn split_info(rows: &[FlowRow], r: &ResolvedSplit, eval_train: usize, eval_test: usize) -> SplitInfo {
    let tr = captures_of(rows, &r.split.train);
    let te = captures_of(rows, &r.split.test);
    let trs: std::collections::BTreeSet<&String> = tr.iter().collect();
    SplitInfo {
        kind: r.kind.clone(),
        train_rows: r.split.train.len(),
        test_rows: r.split.test.len(),
        eval_train_rows: eval_train,
        eval_test_rows: eval_test,
        train_captures: tr.len(),
        test_captures: te.len(),
        shared_captures: te.iter().filter(|c| trs.contains(c)).count(),
        seed: r.seed,
        training_rows_in_test: r.training_rows_in_test,
    }
}

/// Everything: embeddings of the (capped) split sides and the background, metrics, timings.
pub fn evaluate_split(
    engine: &Engine,
    rows: &[FlowRow],
    resolved: &ResolvedSplit,
    background: &[FlowRow],
    cfg: &EvaluateConfig,
) -> Result<Metrics> {
    let (split, split_kind) = (&resolved.split, &resolved.kind);
    if split.train.is_empty() || split.test.is_empty() {
        return Err(Error::Config(format!(
            "the {split_kind} split has {} training and {} test rows; both sides need rows",
            split.train.len(),
            split.test.len()
        )));
    }
    let services = LabelSet::from_names(engine.meta.labels.services.iter().chain(rows.iter().map(|r| &r.service)));
    let apps = LabelSet::from_names(rows.iter().map(|r| &r.app));
    let ids = |idx: &[usize], f: fn(&FlowRow) -> &str, set: &LabelSet| -> Vec<u32> {
        idx.iter().map(|&i| set.id(f(&rows[i])).unwrap_or(0)).collect()
    };
    let cap = |idx: &[usize], max: Option<usize>, salt: u64| -> Vec<usize> {
        let labels = ids(idx, |r| r.service.as_str(), &services);
        stratified_cap(&labels, max, cfg.seed ^ salt).into_iter().map(|j| idx[j]).collect()
    };
    let train_idx = cap(&split.train, cfg.eval_max_train, 0x7);
    let test_idx = cap(&split.test, cfg.eval_max_test, 0x11);
    let train_rows: Vec<&FlowRow> = train_idx.iter().map(|&i| &rows[i]).collect();
    let test_rows: Vec<&FlowRow> = test_idx.iter().map(|&i| &rows[i]).collect();

    let train_emb = engine.z_flow(&train_rows, EMBED_BATCH)?;
    let test_emb = engine.z_flow(&test_rows, EMBED_BATCH)?;
    let bg_keep = stratified_cap(&vec![0; background.len()], cfg.eval_max_test, cfg.seed ^ 0xB6);
    let bg_rows: Vec<&FlowRow> = bg_keep.iter().map(|&i| &background[i]).collect();
    let bg_emb = if bg_rows.is_empty() { None } else { Some(engine.z_flow(&bg_rows, EMBED_BATCH)?) };
    let (train_svc, test_svc) =
        (ids(&train_idx, |r| r.service.as_str(), &services), ids(&test_idx, |r| r.service.as_str(), &services));
    let (train_app, test_app) = (ids(&train_idx, |r| r.app.as_str(), &apps), ids(&test_idx, |r| r.app.as_str(), &apps));
    let (train_raw, test_raw) = (raw_matrix(train_rows.iter().copied()), raw_matrix(test_rows.iter().copied()));
    let test_capture: Vec<&str> = test_rows.iter().map(|r| r.capture.as_str()).collect();
    let trained_apps = (train_idx.len() < split.train.len()).then(|| ids(&split.train, |r| r.app.as_str(), &apps));
    let opt = EvalOptions { k: cfg.k, svm_rbf_max_rows: cfg.svm_rbf_max_rows, seed: cfg.seed, trained_apps };
    let mut m = embedding_metrics(
        &Side { emb: &train_emb, service: &train_svc, app: &train_app, capture: &[], raw: Some(&train_raw) },
        &Side { emb: &test_emb, service: &test_svc, app: &test_app, capture: &test_capture, raw: Some(&test_raw) },
        &services,
        &apps,
        bg_emb.as_ref(),
        &opt,
    )?;
    if let Some(os) = m.open_set.as_mut() {
        let unknown = match &bg_emb {
            Some(bg) => engine.head.energy(bg)?,
            None => Vec::new(),
        };
        os.service_head_energy = Some(open_set_score(&engine.head.energy(&test_emb)?, &unknown));
    }
    m.split = Some(split_info(rows, resolved, train_idx.len(), test_idx.len()));
    m.embedding = Some(format!("z_flow ({} dims, model {})", train_emb.cols, engine.meta.model.size.name()));
    m.device = Some(format!("{:?}", engine.device).to_lowercase());
    m.engine = Some(engine.engine_name().to_string());
    m.cist_score = cist(engine, &test_rows, cfg.seed)?;
    if cfg.timing {
        let protos = Prototypes::build(&train_emb, &train_svc, services.len(), None);
        let verdicts = Verdicts::new(engine, train_emb.clone(), train_svc.clone(), services.len(), protos);
        time_inference(engine, &test_rows, &verdicts, cfg, &mut m)?;
    }
    Ok(m)
}

/// Mean cosine between `z_app` of rows and of one network-condition augmentation of each;
/// `None` without rows.
fn cist(engine: &Engine, rows: &[&FlowRow], seed: u64) -> Result<Option<f64>> {
    use crate::dataset::{augment::augment_row, rng::SplitMix};
    let rows = &rows[..rows.len().min(CIST_ROWS)];
    let aug: Vec<FlowRow> =
        rows.iter().enumerate().map(|(i, r)| augment_row(r, &mut SplitMix::new(seed, &[0xC1, i as u64]))).collect();
    let a = engine.z_app(rows, EMBED_BATCH)?;
    let b = engine.z_app(&aug.iter().collect::<Vec<_>>(), EMBED_BATCH)?;
    let sum: f64 = (0..a.rows).map(|i| a.row(i).iter().zip(b.row(i)).map(|(x, y)| (x * y) as f64).sum::<f64>()).sum();
    Ok((a.rows > 0).then(|| sum / a.rows as f64))
}

/// One flow's verdict end to end: features → model → k-NN vote and prototype similarity.
pub fn verdict(engine: &Engine, row: &FlowRow, verdicts: &Verdicts, k: usize) -> Result<(u32, f32)> {
    let r = verdicts.of_rows(engine, &[row], 1, k, false)?;
    Ok((r.votes.first().map_or(0, |v| v.label), r.nearest.first().map_or(f32::NAN, |p| p.1)))
}

fn time_inference(
    engine: &Engine,
    rows: &[&FlowRow],
    verdicts: &Verdicts,
    cfg: &EvaluateConfig,
    m: &mut Metrics,
) -> Result<()> {
    if rows.is_empty() {
        // Nothing to time (an empty test side); the timing sections stay absent.
        return Ok(());
    }
    let runs = cfg.latency_runs.max(1);
    let pick = |i: usize| rows[i % rows.len()];
    // Batch 1, end to end; the first 10 calls warm up allocators and kernels.
    let mut e2e = Vec::with_capacity(runs);
    for i in 0..runs + 10 {
        let t = Instant::now();
        std::hint::black_box(verdict(engine, pick(i), verdicts, cfg.k)?);
        if i >= 10 {
            e2e.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    // Batch 1, model only: features prepared outside the timer.
    let mut model = Vec::with_capacity(runs);
    for i in 0..runs + 10 {
        let b = engine.prepare(&[pick(i)]);
        let t = Instant::now();
        std::hint::black_box(engine.forward(&b)?);
        if i >= 10 {
            model.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    m.latency_end_to_end = summarize(&e2e);
    m.latency = summarize(&model);

    // Throughput: full batches of `bs` that walk every test row in turn (cycled), so the figure
    // covers the test set's mix of flow lengths rather than its first rows.
    let bs = cfg.throughput_batch.max(1);
    let batches: Vec<Vec<&FlowRow>> =
        (0..rows.len().div_ceil(bs)).map(|b| (0..bs).map(|i| pick(b * bs + i)).collect()).collect();
    let mut next = 0usize;
    let e2e_rate = flows_per_s(bs, || {
        let batch = &batches[next % batches.len()];
        next += 1;
        std::hint::black_box(verdicts.of_rows(engine, batch, bs, cfg.k, false)?);
        Ok(())
    })?;
    let prepared: Vec<_> = batches.iter().map(|b| engine.prepare(b)).collect();
    let model_rate = flows_per_s(bs, || {
        std::hint::black_box(engine.forward(&prepared[next % prepared.len()])?);
        next += 1;
        Ok(())
    })?;
    m.throughput = Some(Throughput {
        flows_per_s: e2e_rate,
        batch_size: bs,
        scope: "end_to_end".into(),
        model_only_flows_per_s: Some(model_rate),
        machine: Some(super::latency::machine()),
    });
    Ok(())
}

/// Flows/s of `batch` (one call handles `flows` flows): the median of 8 timed windows of at least
/// 2 calls and 0.125 s each. The median rather than one long mean, because a shared machine's
/// stalls (stolen time, a neighbour's burst) land in a few windows and would otherwise set the
/// figure.
fn flows_per_s(flows: usize, mut batch: impl FnMut() -> Result<()>) -> Result<f64> {
    const WINDOWS: usize = 8;
    let mut rates = Vec::with_capacity(WINDOWS);
    for _ in 0..WINDOWS {
        let (mut calls, t) = (0usize, Instant::now());
        while calls < 2 || t.elapsed().as_secs_f64() < 0.125 {
            batch()?;
            calls += 1;
        }
        rates.push((calls * flows) as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok((rates[WINDOWS / 2 - 1] + rates[WINDOWS / 2]) / 2.0)
}

/// `metrics.json` and `kpi_report.md` (with its PNGs) in `dir`, as FlowCon-X's training left them.
pub fn write_metrics_and_report(dir: &Path, m: &Metrics) -> Result<()> {
    crate::output::write_atomic(&dir.join("metrics.json"), m.to_json().as_bytes())?;
    crate::report::write_report(m, "metrics.json", &dir.join("kpi_report.md"))
}

/// Load the checkpoint at `path`, resolve the split for `rows` (read from `csv`) and evaluate.
/// `train` calls this after saving its checkpoint.
pub fn evaluate_checkpoint(
    path: &Path,
    device: Device,
    rows: &[FlowRow],
    csv: &[PathBuf],
    background: &[FlowRow],
    cfg: &EvaluateConfig,
) -> Result<Metrics> {
    let engine = Engine::load(path, device, cfg.engine)?;
    let resolved = resolve_split(&engine.meta, rows, csv, cfg)?;
    evaluate_split(&engine, rows, &resolved, background, cfg)
}
