//! `flowconx embed`: one row per input row, input order: `app,service,capture,z0..z{d-1}` (z_flow).
use crate::dataset::{load_rows, LoadConfig};
use crate::eval::run::Engine;
use crate::features::FlowRow;
use crate::output::AtomicOutput;
use crate::train::DeviceChoice;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub checkpoint: PathBuf,
    pub load: LoadConfig,
    pub output: PathBuf,
    pub batch_size: usize,
    pub device: DeviceChoice,
    pub engine: crate::infer::EngineChoice,
    pub threads: Option<usize>,
    pub quiet: bool,
}

pub fn run(cfg: Config) -> anyhow::Result<()> {
    crate::infer::set_threads(cfg.threads);
    let engine = Engine::load(&cfg.checkpoint, cfg.device.resolve()?, cfg.engine)?;
    let rows = load_rows(&cfg.load)?;
    let bar = crate::progress::count_bar(rows.len() as u64, "rows", cfg.quiet);
    let mut z = crate::train::EmbeddingMatrix { dim: engine.meta.model.emb_dim(), ..Default::default() };
    for chunk in rows.chunks(cfg.batch_size.max(1) * 8) {
        let refs: Vec<&FlowRow> = chunk.iter().collect();
        let e = engine.embeddings(&refs, cfg.batch_size)?.z_flow;
        z.n += e.n;
        z.data.extend(e.data);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let mut out = AtomicOutput::create_path(&cfg.output)?;
    let label = out.path_label();
    let mut w = csv::Writer::from_writer(&mut out);
    let mut header = vec!["app".to_string(), "service".into(), "capture".into()];
    header.extend((0..z.dim).map(|i| format!("z{i}")));
    w.write_record(&header).with_context(|| format!("writing {label}"))?;
    for (i, row) in rows.iter().enumerate() {
        let mut rec = vec![row.app.clone(), row.service.clone(), row.capture.clone()];
        rec.extend(z.row(i).iter().map(|v| format!("{v}")));
        w.write_record(&rec).with_context(|| format!("writing {label}"))?;
    }
    w.flush().with_context(|| format!("writing {label}"))?;
    drop(w);
    out.flush().with_context(|| format!("writing {label}"))?;
    out.commit()?;
    if !cfg.quiet {
        eprintln!("embedded {} rows ({}-d z_flow) → {label}", rows.len(), z.dim);
    }
    Ok(())
}
