//! `flowconx train`: load rows, split, train, write checkpoint + history + reference set.
pub use crate::train::TrainConfig as Config;

pub fn run(cfg: Config) -> anyhow::Result<()> {
    let summary = crate::train::train(&cfg)?;
    let metrics = crate::commands::evaluate::after_training(&cfg, summary.device)?;
    if !cfg.quiet {
        let h = &summary.history;
        eprintln!(
            "trained {} ({} parameters) on {:?}: {} train rows, {} test rows, {} augmented copies per row",
            h.model_size_name(),
            summary.parameters,
            summary.device,
            h.train_rows,
            h.test_rows,
            h.augment_count
        );
        for e in &h.epochs {
            eprintln!(
                "epoch {:>3}  loss {:.4}  lr {:.2e}  {:.1} s  {:.0} samples/s  test 5-NN acc {}",
                e.epoch,
                e.losses.get("total").copied().unwrap_or(f64::NAN),
                e.lr,
                e.seconds,
                e.samples_per_s,
                e.knn_accuracy.map(|a| format!("{a:.4}")).unwrap_or_else(|| "-".into())
            );
        }
        super::evaluate::print_summary(&metrics);
        eprintln!("wrote {}", cfg.output_dir.display());
    }
    Ok(())
}
