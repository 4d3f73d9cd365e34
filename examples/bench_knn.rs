//! Cost of a k-NN verdict on a checkpoint's real embeddings: the checkpoint's stored split of a
//! processed CSV, training rows' `z_flow` as the references and test rows' as the queries, then
//! `ROUNDS` batched `predict` calls over all queries on THREADS threads (best and median µs per
//! query), and the top-k scan alone on one thread.
//!
//! cargo run --release --example bench_knn -- CHECKPOINT_DIR CSV [ROUNDS] [THREADS] [K]
use flowconx::eval::knn::{top_k, KnnIndex};
use flowconx::eval::run::Engine;
use flowconx::features::schema::{read_rows, FlowRow};
use flowconx::infer::EngineChoice;
use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, ck, csv, ..] = &args[..] else {
        anyhow::bail!("usage: bench_knn CHECKPOINT_DIR CSV [ROUNDS] [THREADS] [K]")
    };
    let rounds: usize = args.get(3).map_or(Ok(20), |r| r.parse())?.max(1);
    let threads: usize = args.get(4).map_or(Ok(2), |t| t.parse())?;
    let k: usize = args.get(5).map_or(Ok(5), |k| k.parse())?;
    flowconx::infer::set_threads(Some(threads));
    let engine = Engine::load(Path::new(ck), tch::Device::Cpu, EngineChoice::Host)?;
    let rows = read_rows(Path::new(csv))?;
    let split = &engine.meta.split;
    if split.train.iter().chain(&split.test).any(|&i| i >= rows.len()) {
        anyhow::bail!("the checkpoint's stored split does not fit {csv}");
    }
    let side = |idx: &[usize]| -> Vec<&FlowRow> { idx.iter().map(|&i| &rows[i]).collect() };
    let (train, test) = (side(&split.train), side(&split.test));
    let refs = engine.z_flow(&train, 256)?;
    let queries = engine.z_flow(&test, 256)?;
    let services = &engine.meta.labels.services;
    let labels: Vec<u32> =
        train.iter().map(|r| services.iter().position(|s| *s == r.service).unwrap_or(0) as u32).collect();
    let index = KnnIndex::cosine(refs.clone(), labels, services.len().max(1));
    let per_query = |secs: f64| secs / queries.rows as f64 * 1e6;
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(index.predict(&queries, k));
            per_query(t.elapsed().as_secs_f64())
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{} references, {} queries, k {k}: predict best {:.2} us/query, median {:.2} ({threads} threads)",
        refs.rows,
        queries.rows,
        times[0],
        times[rounds / 2]
    );
    // The top-k scan alone, on one query's scores at a time.
    let scores = queries.dot_t(&refs);
    let t = Instant::now();
    for _ in 0..rounds {
        for q in 0..scores.rows {
            std::hint::black_box(top_k(scores.row(q), None, k));
        }
    }
    println!("top-k scan alone: {:.2} us/query (1 thread)", per_query(t.elapsed().as_secs_f64() / rounds as f64));
    Ok(())
}
