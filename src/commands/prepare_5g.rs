//! `flowconx prepare-5g`: the Kaggle 5G export tree → flow-window rows.
use crate::error::Error;
use crate::features::RowWriter;
use crate::ingest::fiveg::{discover, extract_capture, CaptureLabels, CaptureStats, FivegConfig, Layout};
use crate::labels::{fiveg_folder_service, normalize_app, ServiceMap};
use crate::output::AtomicOutput;
use anyhow::Context;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub input: PathBuf,
    pub output: PathBuf,
    pub window_seconds: f64,
    pub max_packets: usize,
    pub chunk_rows: usize,
    pub limit_files: Option<usize>,
    pub service_map: Option<PathBuf>,
    pub quiet: bool,
}

pub fn run(cfg: Config) -> anyhow::Result<()> {
    if !(cfg.window_seconds > 0.0 && cfg.window_seconds.is_finite()) {
        anyhow::bail!("--window-seconds must be a positive number");
    }
    if cfg.max_packets == 0 || cfg.chunk_rows == 0 {
        anyhow::bail!("--max-packets and --chunk-rows must be at least 1");
    }
    let services = ServiceMap::load_opt(cfg.service_map.as_deref())?;
    let files = super::select_files(
        discover(&cfg.input)?,
        cfg.limit_files,
        &cfg.input,
        "capture files (expected <Service>/<App>/<file>.csv)",
    )?;
    // Resolve every label before reading any packet, so a mapping error costs nothing.
    let mut jobs = Vec::with_capacity(files.len());
    for f in &files {
        let app = normalize_app(&f.app_folder);
        let service = match services.get(&app).or_else(|| fiveg_folder_service(&f.service_folder)) {
            Some(s) => s.to_string(),
            None => {
                return Err(Error::input(
                    &f.path,
                    format!(
                        "service folder `{}` is not one of the dataset's; map app `{app}` with --service-map",
                        f.service_folder
                    ),
                )
                .into())
            }
        };
        jobs.push(CaptureLabels { app, service, capture: f.rel.clone() });
    }
    let fcfg =
        FivegConfig { window_seconds: cfg.window_seconds, max_packets: cfg.max_packets, chunk_rows: cfg.chunk_rows };
    let total_bytes: u64 = files.iter().map(|f| f.size).sum();
    let bar = crate::progress::bytes_bar(total_bytes, cfg.quiet);
    bar.set_message(format!("{} capture files", files.len()));
    let results: Vec<_> = files
        .par_iter()
        .zip(jobs.par_iter())
        .map(|(f, labels)| extract_capture(&f.path, labels, &fcfg, &|n| bar.inc(n)))
        .collect::<Result<_, _>>()?;
    bar.finish_and_clear();

    let mut out = AtomicOutput::create_path(&cfg.output)?;
    let label = out.path_label();
    let mut writer = RowWriter::new(&mut out);
    let mut per_service: BTreeMap<String, u64> = BTreeMap::new();
    let mut totals = CaptureStats::default();
    let (mut csv_files, mut tsv_files, mut reread) = (0, 0, 0);
    for ((rows, stats), f) in results.iter().zip(&files) {
        for r in rows {
            writer.write(r).with_context(|| format!("writing {label}"))?;
            *per_service.entry(r.service.clone()).or_default() += 1;
        }
        match stats.layout {
            Some(Layout::TabSeparated) => tsv_files += 1,
            _ => csv_files += 1,
        }
        if stats.passes > 1 {
            reread += 1;
        }
        if stats.handset.is_none() {
            eprintln!("flowconx: warning: {}: no private address, no handset: no rows", f.path.display());
        }
        totals.packets += stats.packets;
        totals.used += stats.used;
        totals.skipped_non_ip += stats.skipped_non_ip;
        totals.skipped_not_handset += stats.skipped_not_handset;
    }
    writer.flush().with_context(|| format!("writing {label}"))?;
    drop(writer);
    out.commit()?;
    eprintln!(
        "prepare-5g: {} files ({csv_files} Wireshark CSV, {tsv_files} tab-separated, {reread} re-read for the handset), \
         {} packets, {} used, skipped: {} non-IP, {} not involving the handset",
        files.len(),
        totals.packets,
        totals.used,
        totals.skipped_non_ip,
        totals.skipped_not_handset
    );
    eprint!("{}", super::format_counts("service", &per_service));
    Ok(())
}
