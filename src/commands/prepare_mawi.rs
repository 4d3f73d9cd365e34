//! `flowconx prepare-mawi`: raw pcap/pcapng captures → a seeded uniform sample of flow-window rows.
use crate::dataset::window_sample::{into_rows, WindowSample};
use crate::error::Error;
use crate::features::RowWriter;
use crate::flow::capture::{capture_name, scan_capture, scan_sharded, CaptureConfig, CaptureStats};
use crate::flow::table::FlowConfig;
use crate::ingest::decode::Skip;
use crate::labels::FlowLabels;
use crate::output::AtomicOutput;
use anyhow::Context;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    pub input: PathBuf,
    pub output: PathBuf,
    pub max_flows: usize,
    pub window_seconds: f64,
    pub max_packets: usize,
    pub max_packets_to_scan: Option<u64>,
    pub label_app: String,
    pub label_service: String,
    pub seed: u64,
    pub labels: Option<PathBuf>,
    pub quiet: bool,
}

/// Files at least this large are split over flow-table shards; smaller ones run one per thread.
const SHARD_FILE_BYTES: u64 = 64 << 20;

struct FileResult {
    stats: CaptureStats,
    sample: crate::dataset::reservoir::BottomK<(crate::dataset::window_sample::WindowId, crate::features::FlowRow)>,
    labelled: u64,
    warning: Option<String>,
    not_capture: bool,
}

pub fn run(cfg: Config) -> anyhow::Result<()> {
    if !(cfg.window_seconds > 0.0 && cfg.window_seconds.is_finite()) {
        anyhow::bail!("--window-seconds must be a positive number");
    }
    if cfg.max_packets == 0 {
        anyhow::bail!("--max-packets must be at least 1");
    }
    let labels = cfg.labels.as_deref().map(FlowLabels::load).transpose()?;
    let (files, single) = discover(&cfg.input)?;
    if files.is_empty() {
        return Err(Error::input(&cfg.input, "no files found").into());
    }
    let sizes: Vec<u64> = files.iter().map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)).collect();
    let bar = crate::progress::bytes_bar(sizes.iter().sum(), cfg.quiet);
    let threads = rayon::current_num_threads().max(1);
    let ccfg = CaptureConfig {
        flow: FlowConfig::new(cfg.window_seconds, cfg.max_packets),
        max_packets_to_scan: cfg.max_packets_to_scan,
    };
    let names: Vec<String> = files.iter().map(|p| capture_name(p)).collect();
    let progress = |n: u64| bar.inc(n);
    let process = |i: usize, shards: usize, pipelined: bool| -> crate::Result<FileResult> {
        let path = &files[i];
        let mut sinks: Vec<WindowSample> = (0..shards)
            .map(|_| {
                WindowSample::new(
                    cfg.max_flows,
                    i as u64,
                    cfg.seed,
                    &names[i],
                    labels.as_ref(),
                    &cfg.label_app,
                    &cfg.label_service,
                )
            })
            .collect();
        let scanned = if pipelined {
            scan_sharded(path, &ccfg, &mut sinks, &progress)
        } else {
            scan_capture(path, &ccfg, &mut sinks, &progress)
        };
        match scanned {
            Ok(out) => {
                let mut sample = crate::dataset::reservoir::BottomK::new(cfg.max_flows);
                let mut labelled = 0;
                for s in sinks {
                    labelled += s.labelled;
                    sample.merge(s.kept);
                }
                let warning = out.stop.map(|s| format!("{}: {s}", path.display()));
                Ok(FileResult { stats: out.stats, sample, labelled, warning, not_capture: false })
            }
            // In a folder a file that is not a capture is skipped; as the only input it is an error.
            Err(e @ Error::Input { .. }) if !single => Ok(FileResult {
                stats: CaptureStats::default(),
                sample: crate::dataset::reservoir::BottomK::new(0),
                labelled: 0,
                warning: Some(e.to_string()),
                not_capture: true,
            }),
            Err(e) => Err(e),
        }
    };
    // Large files one at a time: read and decoded in one thread, flow tables sharded over the others;
    // small files one per thread. Either way each file's result is the same; results merge in file order.
    let mut results: Vec<Option<FileResult>> = (0..files.len()).map(|_| None).collect();
    let shards = if threads > 1 { threads - 1 } else { 1 };
    for i in 0..files.len() {
        if sizes[i] >= SHARD_FILE_BYTES {
            results[i] = Some(process(i, shards, threads > 1)?);
        }
    }
    let small: Vec<usize> = (0..files.len()).filter(|&i| sizes[i] < SHARD_FILE_BYTES).collect();
    let done: Vec<(usize, FileResult)> =
        small.par_iter().map(|&i| process(i, 1, false).map(|r| (i, r))).collect::<crate::Result<_>>()?;
    for (i, r) in done {
        results[i] = Some(r);
    }
    bar.finish_and_clear();

    let mut total = CaptureStats::default();
    let mut samples = Vec::with_capacity(files.len());
    let (mut not_captures, mut labelled) = (0u64, 0u64);
    for r in results.into_iter().flatten() {
        if let Some(w) = &r.warning {
            eprintln!("prepare-mawi: warning: {w}");
        }
        not_captures += r.not_capture as u64;
        labelled += r.labelled;
        total.merge(&r.stats);
        samples.push(r.sample);
    }
    let (rows, seen) = into_rows(samples, cfg.max_flows);

    let mut out = AtomicOutput::create_path(&cfg.output)?;
    let label = out.path_label();
    let mut writer = RowWriter::new(&mut out);
    for r in &rows {
        writer.write(r).with_context(|| format!("writing {label}"))?;
    }
    writer.flush().with_context(|| format!("writing {label}"))?;
    drop(writer);
    out.commit()?;

    eprint!("{}", summary(&total, not_captures, seen, rows.len(), labels.as_ref().map(|l| (l, labelled))));
    Ok(())
}

/// Capture files of the input: the file itself, or every regular file of the folder (sorted).
fn discover(input: &Path) -> crate::Result<(Vec<PathBuf>, bool)> {
    let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
    if !meta.is_dir() {
        return Ok((vec![input.to_path_buf()], true));
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(input).map_err(|e| Error::io(input, e))? {
        let entry = entry.map_err(|e| Error::io(input, e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok((files, false))
}

fn summary(
    t: &CaptureStats,
    not_captures: u64,
    windows: u64,
    kept: usize,
    labels: Option<(&FlowLabels, u64)>,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let files = t.files;
    let _ = writeln!(
        s,
        "prepare-mawi: {files} capture files ({:.1} MB), {} packets scanned",
        t.bytes as f64 / 1e6,
        t.frames
    );
    if not_captures > 0 {
        let _ = writeln!(s, "  skipped files (not a capture): {not_captures}");
    }
    if t.truncated_files + t.corrupt_files > 0 {
        let _ = writeln!(s, "  files ending early: {} truncated, {} corrupt", t.truncated_files, t.corrupt_files);
    }
    let _ = writeln!(s, "  accepted: {} TCP + {} UDP = {}", t.tcp, t.udp, t.tcp + t.udp);
    for k in Skip::ALL {
        let n = t.skipped.get(k);
        if n > 0 {
            let _ = writeln!(s, "  skipped {n}: {}", k.name());
        }
    }
    for (lt, n) in &t.skipped_linktypes {
        let _ = writeln!(s, "    link type {lt}: {n}");
    }
    let r = &t.reader;
    if r.unknown_interface + r.no_timestamp + r.bad_resolution > 0 {
        let _ = writeln!(
            s,
            "  pcapng blocks skipped: {} unknown interface, {} without timestamp, {} bad resolution",
            r.unknown_interface, r.no_timestamp, r.bad_resolution
        );
    }
    let f = &t.flows;
    let _ = writeln!(
        s,
        "  flows: {}, windows: {} (closed by time {}, idle {}, end of capture {})",
        f.flows, f.windows, f.closed_time, f.closed_idle, f.closed_end
    );
    debug_assert_eq!(windows, f.windows);
    if let Some((l, n)) = labels {
        let _ = writeln!(
            s,
            "  labels: {} flows loaded ({} rows without verdict, {} with invalid endpoints, {} repeated), {n} windows matched",
            l.len(),
            l.unlabelled,
            l.invalid,
            l.duplicates
        );
    }
    let _ = writeln!(s, "  rows kept: {kept} of {windows} windows");
    s
}
