//! `flowconx prepare-cesnet`: CESNET-QUIC22 daily files → a balanced, seeded sample of rows.
use crate::features::RowWriter;
use crate::ingest::cesnet::{discover, scan_file, CesnetConfig};
use crate::labels::ServiceMap;
use crate::output::AtomicOutput;
use anyhow::Context;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub input: PathBuf,
    pub output: PathBuf,
    pub rows_per_service: usize,
    pub chunk_rows: usize,
    pub limit_files: Option<usize>,
    pub seed: u64,
    pub service_map: Option<PathBuf>,
    pub max_packets: usize,
    pub quiet: bool,
}

pub fn run(cfg: Config) -> anyhow::Result<()> {
    if cfg.max_packets == 0 || cfg.chunk_rows == 0 {
        anyhow::bail!("--max-packets and --chunk-rows must be at least 1");
    }
    let services = ServiceMap::load_opt(cfg.service_map.as_deref())?;
    let files = super::select_files(discover(&cfg.input)?, cfg.limit_files, &cfg.input, "flows-*.csv.gz files")?;
    let sizes: Vec<u64> = files.iter().map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)).collect();
    let bar = crate::progress::bytes_bar(sizes.iter().sum(), cfg.quiet);
    bar.set_message(format!("{} files", files.len()));
    let ccfg = CesnetConfig {
        rows_per_service: cfg.rows_per_service,
        chunk_rows: cfg.chunk_rows,
        seed: cfg.seed,
        max_packets: cfg.max_packets,
    };
    let scans: Vec<_> = files
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let last = std::sync::atomic::AtomicU64::new(0);
            let report_delta = |pos: u64| {
                let prev = last.swap(pos, std::sync::atomic::Ordering::Relaxed);
                bar.inc(pos.saturating_sub(prev));
            };
            scan_file(p, i as u64, &ccfg, &services, &report_delta)
        })
        .collect::<Result<_, _>>()?;
    bar.finish_and_clear();
    // Merge in file order: the result is the same whatever the thread count.
    let mut iter = scans.into_iter();
    let mut all = iter.next().context("no scans")?;
    for s in iter {
        all.merge(s);
    }
    let seen = all.seen_per_service();
    let (scanned, dropped, bytes) = (all.scanned, all.dropped.clone(), all.bytes_decompressed);
    let rows = all.into_rows();

    let mut out = AtomicOutput::create_path(&cfg.output)?;
    let label = out.path_label();
    let mut writer = RowWriter::new(&mut out);
    let mut kept: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        writer.write(r).with_context(|| format!("writing {label}"))?;
        *kept.entry(r.service.clone()).or_default() += 1;
    }
    writer.flush().with_context(|| format!("writing {label}"))?;
    drop(writer);
    out.commit()?;

    eprintln!(
        "prepare-cesnet: {} files, {scanned} rows scanned ({:.1} MB decompressed), {} kept, {} dropped",
        files.len(),
        bytes as f64 / 1e6,
        rows.len(),
        dropped.values().sum::<u64>()
    );
    for (why, n) in &dropped {
        eprintln!("  dropped {n}: {why}");
    }
    let width = seen.keys().map(|k| k.len()).max().unwrap_or(7).max(7);
    eprintln!("{:<width$}  {:>10}  {:>8}", "service", "scanned", "kept");
    for (svc, n) in &seen {
        eprintln!("{svc:<width$}  {n:>10}  {:>8}", kept.get(svc).copied().unwrap_or(0));
    }
    Ok(())
}
