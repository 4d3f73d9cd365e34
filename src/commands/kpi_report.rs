//! `flowconx kpi-report`: metrics.json → kpi_report.md (+ two PNGs beside it).
use crate::report::{kpi_rows, read_metrics, write_report};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub metrics: PathBuf,
    pub output: PathBuf,
}

pub fn run(cfg: Config) -> anyhow::Result<()> {
    let m = read_metrics(&cfg.metrics)?;
    write_report(&m, &cfg.metrics.display().to_string(), &cfg.output)?;
    for (name, target, value, status) in kpi_rows(&m) {
        eprintln!("{status:<4}  {name}: {value} (target {target})");
    }
    eprintln!("wrote {}", cfg.output.display());
    Ok(())
}
