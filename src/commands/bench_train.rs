//! `flowconx bench-train` (hidden): training-step samples/s of the `seed` and default presets.
use crate::dataset::{load_rows, LoadConfig};
use crate::model::ModelSize;
use crate::train::bench::bench_preset;
use crate::train::DeviceChoice;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub csv: Vec<PathBuf>,
    pub batch_size: usize,
    pub steps: usize,
    pub threads: Option<usize>,
    pub device: DeviceChoice,
}

pub fn run(cfg: Config) -> anyhow::Result<()> {
    if let Some(t) = cfg.threads {
        tch::set_num_threads(t as i32);
    }
    let device = cfg.device.resolve()?;
    let rows = load_rows(&LoadConfig::new(cfg.csv.clone()))?;
    println!(
        "device {device:?}, threads {}, batch {}, {} timed steps",
        tch::get_num_threads(),
        cfg.batch_size,
        cfg.steps
    );
    let mut results = Vec::new();
    for size in [ModelSize::Seed, ModelSize::Small] {
        let r = bench_preset(size, &rows, cfg.batch_size, cfg.steps, device)?;
        println!(
            "{:<6} params {:>9}  {:>9.1} samples/s (forward+backward)",
            r.size.name(),
            r.parameters,
            r.samples_per_s
        );
        results.push(r.samples_per_s);
    }
    println!("speed-up small/seed: {:.1}x", results[1] / results[0].max(1e-9));
    Ok(())
}
