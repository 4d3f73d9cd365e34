//! `flowconx evaluate`: a checkpoint + processed rows → eval.json (FlowCon-X's metric names plus
//! split, baseline, open set, latency, throughput, per-class scores, confusion, projection).
use crate::dataset::load::{load_rows, LoadConfig};
use crate::eval::classify::UnknownScore;
use crate::eval::run::{evaluate_split, resolve_split, Engine, EvaluateConfig};
use crate::eval::Metrics;
use crate::features::schema::read_rows;
use crate::output::AtomicOutput;
use crate::report::kpi_rows;
use crate::train::DeviceChoice;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub checkpoint: PathBuf,
    pub load: LoadConfig,
    pub output: PathBuf,
    pub device: DeviceChoice,
    pub background: Vec<PathBuf>,
    pub eval: EvaluateConfig,
    pub threads: Option<usize>,
    pub quiet: bool,
}

pub fn run(cfg: Config) -> anyhow::Result<()> {
    crate::infer::set_threads(cfg.threads);
    let device = cfg.device.resolve()?;
    let engine = Engine::load(&cfg.checkpoint, device, cfg.eval.engine)?;
    let rows = load_rows(&cfg.load)?;
    let mut background = Vec::new();
    for p in &cfg.background {
        background.extend(read_rows(p)?);
    }
    let ecfg = &cfg.eval;
    let resolved = resolve_split(&engine.meta, &rows, &cfg.load.csv, ecfg)?;
    let kind = &resolved.kind;
    match resolved.training_rows_in_test {
        Some(0) => {}
        Some(n) => eprintln!(
            "flowconx: warning: {n} of the {} test rows of this {kind} split were training rows of the model: its figures are optimistic",
            resolved.split.test.len()
        ),
        None if *kind != format!("{:?}", engine.meta.split_config.mode).to_lowercase() => eprintln!(
            "flowconx: warning: evaluating a {kind} split of a model trained on a {:?} split: test rows may have been seen in training",
            engine.meta.split_config.mode
        ),
        None => {}
    }
    let norm = &engine.meta.normalizer;
    let ignored = rows.iter().chain(&background).filter(|r| norm.carries_ignored(r)).count();
    super::note_ignored(ignored as u64, &norm.ignored_columns());
    let spinner = crate::progress::count_bar(1, "evaluations", cfg.quiet);
    spinner.set_message(format!("{} rows, {kind} split", rows.len()));
    let m = evaluate_split(&engine, &rows, &resolved, &background, ecfg)?;
    spinner.finish_and_clear();
    // `-` is stdout; a file appears only complete.
    let mut out = AtomicOutput::create_path(&cfg.output)?;
    out.write_all(m.to_json().as_bytes()).map_err(|e| crate::error::Error::io(&cfg.output, e))?;
    out.commit()?;
    print_summary(&m);
    Ok(())
}

/// KPI lines and the new sections on stderr.
pub fn print_summary(m: &Metrics) {
    for (name, target, value, status) in kpi_rows(m) {
        eprintln!("{status:<4}  {name}: {value} (target {target})");
    }
    if let Some(b) = &m.baseline {
        eprintln!("      raw-feature k-NN baseline: {:.2}%", b.raw_knn_accuracy.unwrap_or(f64::NAN) * 100.0);
    }
    let l = &m.leave_one_app_out;
    if let (Some(n), Some(acc)) = (l.answerable_rows, l.answerable_accuracy) {
        eprintln!("      leave-one-app on the {n} rows whose service keeps another app: {:.2}% (info)", acc * 100.0);
    }
    if let Some(o) = &m.open_set {
        let show = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        for (score, sc) in o.scores() {
            let name = match score {
                UnknownScore::Similarity => "open set",
                UnknownScore::Energy => "open set, service-head energy (info)",
            };
            eprintln!("      {name}: AUROC {}, threshold {}", show(sc.auroc), show(sc.threshold));
        }
    }
    if let (Some(l), Some(t)) = (&m.latency_end_to_end, &m.throughput) {
        eprintln!(
            "      end to end: p50 {:.3} ms, p99 {:.3} ms per flow (batch 1); {:.0} flows/s (batch {})",
            l.p50_ms, l.p99_ms, t.flows_per_s, t.batch_size
        );
    }
    if let (Some(l), Some(t)) = (&m.latency, &m.throughput) {
        eprintln!(
            "      model only: p50 {:.3} ms, p99 {:.3} ms per flow (batch 1); {:.0} flows/s (batch {})",
            l.p50_ms,
            l.p99_ms,
            t.model_only_flows_per_s.unwrap_or(f64::NAN),
            t.batch_size
        );
    }
}

/// The end of `flowconx train`: evaluate the checkpoint just written on its own split and leave
/// `metrics.json` + `kpi_report.md` (+ PNGs) in the output directory, as FlowCon-X did.
pub fn after_training(cfg: &crate::train::TrainConfig, device: tch::Device) -> anyhow::Result<Metrics> {
    let rows = load_rows(&cfg.load)?;
    let ecfg = EvaluateConfig {
        seed: cfg.seed,
        eval_max_train: cfg.eval_max_train,
        eval_max_test: cfg.eval_max_test,
        latency_runs: 100,
        ..EvaluateConfig::default()
    };
    let m = crate::eval::evaluate_checkpoint(&cfg.output_dir, device, &rows, &cfg.load.csv, &[], &ecfg)?;
    crate::eval::write_metrics_and_report(&cfg.output_dir, &m)?;
    Ok(m)
}
