//! `flowconx merge`: concatenate processed files (each schema-checked) into one training file.
use crate::features::{RowReader, RowWriter};
use crate::output::AtomicOutput;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub output: PathBuf,
    pub inputs: Vec<PathBuf>,
}

pub fn run(cfg: Config) -> anyhow::Result<()> {
    // Open (and header-check) every input before writing anything.
    let mut readers = Vec::with_capacity(cfg.inputs.len());
    for p in &cfg.inputs {
        readers.push(RowReader::open(p)?);
    }
    let mut out = AtomicOutput::create_path(&cfg.output)?;
    let label = out.path_label();
    let mut writer = RowWriter::new(&mut out);
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in readers.iter_mut() {
        while let Some(row) = r.next_row()? {
            writer.write(&row).with_context(|| format!("writing {label}"))?;
            *counts.entry((row.service.clone(), row.app.clone())).or_default() += 1;
        }
    }
    writer.flush().with_context(|| format!("writing {label}"))?;
    drop(writer);
    out.commit()?;
    let mut per_service: BTreeMap<String, u64> = BTreeMap::new();
    for ((s, _), n) in &counts {
        *per_service.entry(s.clone()).or_default() += n;
    }
    let w = counts.keys().map(|(s, a)| s.len() + a.len() + 3).max().unwrap_or(10).max(10);
    eprintln!("{:<w$}  rows", "service / app");
    for (svc, total) in &per_service {
        eprintln!("{svc:<w$}  {total}");
        for ((s, a), n) in &counts {
            if s == svc {
                eprintln!("{:<w$}  {n}", format!("  {a}"));
            }
        }
    }
    eprintln!("{:<w$}  {}", "total", counts.values().sum::<u64>());
    Ok(())
}
