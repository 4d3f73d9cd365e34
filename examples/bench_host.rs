//! Cost of the host engine's forward pass per flow, for A/B comparisons of kernel changes on a
//! noisy machine: every real row of a processed CSV, features prepared once, then `ROUNDS` passes
//! over all of them one flow at a time (as batch-1 inference and each rayon task do), then over
//! batches of 256 on THREADS threads (flows in parallel). Prints the best and median per-flow µs
//! and flows/s over the rounds: compare builds in alternation, best against best.
//!
//! cargo run --release --example bench_host -- CHECKPOINT_DIR CSV [ROUNDS] [THREADS]
use flowconx::eval::run::Engine;
use flowconx::features::schema::{read_rows, FlowRow};
use flowconx::infer::{EngineChoice, Prepared};
use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, ck, csv, ..] = &args[..] else { anyhow::bail!("usage: bench_host CHECKPOINT_DIR CSV [ROUNDS] [THREADS]") };
    let rounds: usize = args.get(3).map_or(Ok(20), |r| r.parse())?.max(1);
    let threads: usize = args.get(4).map_or(Ok(1), |t| t.parse())?;
    flowconx::infer::set_threads(Some(threads));
    let engine = Engine::load(Path::new(ck), tch::Device::Cpu, EngineChoice::Host)?;
    let rows = read_rows(Path::new(csv))?;
    let prepared: Vec<Prepared> = rows.iter().map(|r| engine.prepare(&[r])).collect();
    let (best, median) = rate(rounds, rows.len(), || prepared.iter().try_for_each(|p| engine.forward(p).map(drop)))?;
    println!(
        "batch 1: {} flows x {rounds} rounds: best {:.1} us/flow, median {:.1} us/flow",
        rows.len(),
        1e6 / best,
        1e6 / median
    );
    // Batches of 256, flows in parallel on the global pool of THREADS threads: the model alone,
    // then with features built from the rows inside each flow's task (as `evaluate` and
    // `classify` run it).
    let refs: Vec<&FlowRow> = rows.iter().collect();
    let batches: Vec<Prepared> = refs.chunks(256).map(|c| engine.prepare(c)).collect();
    let model_only = rate(rounds, rows.len(), || batches.iter().try_for_each(|b| engine.forward(b).map(drop)))?;
    let with_features =
        rate(rounds, rows.len(), || refs.chunks(256).try_for_each(|c| engine.z_flow(c, 256).map(drop)))?;
    for (what, (best, median)) in [("model only", model_only), ("features + model", with_features)] {
        println!("batch 256, {threads} threads, {what}: best {best:.0} flows/s, median {median:.0}");
    }
    Ok(())
}

/// Best and median flows/s of `pass` (one pass = `flows` flows) over `rounds` passes.
fn rate(
    rounds: usize,
    flows: usize,
    mut pass: impl FnMut() -> flowconx::error::Result<()>,
) -> anyhow::Result<(f64, f64)> {
    let mut rates = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        pass()?;
        rates.push(flows as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok((rates[rounds - 1], rates[rounds / 2]))
}
