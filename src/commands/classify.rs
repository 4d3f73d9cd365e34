//! `flowconx classify`: a capture, a folder of captures or a processed CSV → one verdict per flow
//! window (per row for a CSV), streamed: windows are classified in batches as they close.
use crate::error::Error;
use crate::eval::classify::{Classifier, UnknownScore, Verdict};
use crate::features::schema::RowReader;
use crate::features::FlowRow;
use crate::flow::capture::{for_each_window, CaptureConfig, WindowRecord};
use crate::flow::table::FlowConfig;
use crate::output::AtomicOutput;
use crate::train::DeviceChoice;
use anyhow::Context;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Rows per forward pass.
const BATCH: usize = 256;
/// Below this share of reference rows right, `--unknown-score energy` warns: the released heads
/// score 97–98%, FlowCon-X's 12-epoch defaults 60–65%, whose energy ranks background flows above
/// known ones (docs/evaluation.md).
const WEAK_HEAD: f64 = 0.9;
pub const COLUMNS: [&str; 10] = [
    "capture",
    "src",
    "sport",
    "dst",
    "dport",
    "proto",
    "window_start",
    "predicted_service",
    "nearest_app",
    "similarity",
];

#[derive(Debug, Clone)]
pub struct Config {
    pub checkpoint: PathBuf,
    pub input: PathBuf,
    pub output: PathBuf,
    pub window_seconds: f64,
    pub unknown_threshold: Option<f32>,
    pub unknown_score: UnknownScore,
    pub k: usize,
    pub device: DeviceChoice,
    pub engine: crate::infer::EngineChoice,
    pub threads: Option<usize>,
    pub quiet: bool,
}

/// Endpoint columns of a window (all empty for CSV rows).
#[derive(Default)]
struct Meta {
    capture: String,
    endpoints: Option<[String; 6]>,
}

struct Sink<'a> {
    clf: &'a Classifier,
    out: csv::Writer<&'a mut AtomicOutput>,
    pending: Vec<(Meta, FlowRow)>,
    counts: BTreeMap<String, u64>,
    /// Rows carrying measurements the model ignores (no training row had them).
    ignored: u64,
}

impl Sink<'_> {
    fn push(&mut self, meta: Meta, row: FlowRow) -> anyhow::Result<()> {
        self.ignored += self.clf.normalizer().carries_ignored(&row) as u64;
        self.pending.push((meta, row));
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        let rows: Vec<&FlowRow> = self.pending.iter().map(|p| &p.1).collect();
        let verdicts = self.clf.classify(&rows, BATCH)?;
        for ((meta, _), v) in self.pending.iter().zip(&verdicts) {
            write_verdict(&mut self.out, meta, v)?;
            *self.counts.entry(v.service.clone()).or_default() += 1;
        }
        self.pending.clear();
        Ok(())
    }
}

fn write_verdict<W: Write>(out: &mut csv::Writer<W>, meta: &Meta, v: &Verdict) -> anyhow::Result<()> {
    let sim = format!("{:.6}", v.similarity);
    let empty: [String; 6] = Default::default();
    let e = meta.endpoints.as_ref().unwrap_or(&empty);
    let mut record =
        vec![meta.capture.as_str(), &e[0], &e[1], &e[2], &e[3], &e[4], &e[5], &v.service, &v.nearest_app, &sim];
    let energy = v.energy.map(|x| format!("{x:.6}"));
    record.extend(energy.as_deref());
    out.write_record(record)?;
    Ok(())
}

fn window_meta(w: &WindowRecord) -> Meta {
    let proto = match w.proto {
        6 => "TCP".to_string(),
        17 => "UDP".to_string(),
        p => p.to_string(),
    };
    Meta {
        capture: w.row.capture.clone(),
        endpoints: Some([
            w.src.to_string(),
            w.sport.to_string(),
            w.dst.to_string(),
            w.dport.to_string(),
            proto,
            format!("{:.6}", w.window_start_us as f64 / 1e6),
        ]),
    }
}

fn is_csv(p: &Path) -> bool {
    let name = p.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    name.ends_with(".csv") || name.ends_with(".csv.gz")
}

/// Files of a folder (regular, not hidden), sorted.
fn folder_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with('.') && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

pub fn run(cfg: Config) -> anyhow::Result<()> {
    crate::infer::set_threads(cfg.threads);
    if cfg.window_seconds.is_nan() || cfg.window_seconds <= 0.0 {
        anyhow::bail!("--window-seconds must be > 0");
    }
    let device = cfg.device.resolve()?;
    let clf = Classifier::load(&cfg.checkpoint, device, cfg.engine, cfg.k, cfg.unknown_threshold, cfg.unknown_score)?;
    let meta = std::fs::metadata(&cfg.input).map_err(|e| Error::io(&cfg.input, e))?;
    let mut out = AtomicOutput::create_path(&cfg.output)?;
    let label = out.path_label();
    let mut sink = Sink {
        clf: &clf,
        out: csv::WriterBuilder::new().from_writer(&mut out),
        pending: Vec::with_capacity(BATCH),
        counts: BTreeMap::new(),
        ignored: 0,
    };
    let energy_column = (cfg.unknown_score == UnknownScore::Energy).then_some("energy");
    sink.out.write_record(COLUMNS.iter().copied().chain(energy_column)).with_context(|| format!("writing {label}"))?;
    let bar = crate::progress::count_bar(0, "flows", cfg.quiet);
    let mut skipped = 0u64;
    if !meta.is_dir() && is_csv(&cfg.input) {
        let mut r = RowReader::open(&cfg.input)?;
        while let Some(row) = r.next_row()? {
            sink.push(Meta { capture: row.capture.clone(), endpoints: None }, row)?;
            bar.inc(1);
        }
    } else {
        let (files, single) =
            if meta.is_dir() { (folder_files(&cfg.input)?, false) } else { (vec![cfg.input.clone()], true) };
        let ccfg =
            CaptureConfig { flow: FlowConfig::new(cfg.window_seconds, clf.max_packets()), max_packets_to_scan: None };
        for f in &files {
            // The callback cannot fail: the first error is kept and returned after the scan.
            let mut failed: Option<anyhow::Error> = None;
            let outcome = for_each_window(f, &ccfg, |w| {
                if failed.is_none() {
                    let m = window_meta(&w);
                    if let Err(e) = sink.push(m, w.row) {
                        failed = Some(e);
                    }
                    bar.inc(1);
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            match outcome {
                Ok(o) => {
                    if let Some(stop) = o.stop {
                        eprintln!("flowconx: warning: {}: {stop:?}", f.display());
                    }
                }
                Err(e) if !single => {
                    eprintln!("flowconx: warning: {e} (skipped)");
                    skipped += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    sink.flush()?;
    sink.out.flush().with_context(|| format!("writing {label}"))?;
    let counts = std::mem::take(&mut sink.counts);
    let ignored = sink.ignored;
    drop(sink);
    out.commit()?;
    bar.finish_and_clear();
    eprintln!(
        "classify: {} reference rows, unknown below {} {:.4} ({:?}){}",
        clf.reference_rows(),
        match clf.score {
            UnknownScore::Similarity => "similarity",
            UnknownScore::Energy => "energy",
        },
        clf.threshold,
        clf.threshold_source,
        if skipped > 0 { format!(", {skipped} files skipped") } else { String::new() }
    );
    if let Some(acc) = clf.head_reference_accuracy {
        eprintln!("classify: the service head classifies {:.1}% of the reference rows right", acc * 100.0);
        if acc < WEAK_HEAD {
            eprintln!(
                "flowconx: warning: a weak service head makes a poor energy score (it ranked background above \
                 known flows for FlowCon-X's default schedule); consider --unknown-score similarity"
            );
        }
    }
    super::note_ignored(ignored, &clf.normalizer().ignored_columns());
    eprint!("{}", super::format_counts("predicted_service", &counts));
    Ok(())
}
