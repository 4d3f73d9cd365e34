//! `flowconx`: parse flags, run the subcommand, print the error chain and map it to an exit code.
mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let torch_free = !uses_libtorch(&cli.command);
    match run(cli) {
        // Everything is written: skip libtorch's exit-time destructors (~0.1 s a run).
        Ok(()) if torch_free => flowconx::runtime::exit_without_destructors(0),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flowconx: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn uses_libtorch(c: &cli::Command) -> bool {
    use cli::Command::*;
    !matches!(c, Prepare5g(_) | PrepareCesnet(_) | PrepareMawi(_) | Merge(_) | KpiReport(_))
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    use cli::Command::*;
    use flowconx::commands;
    match cli.command {
        Prepare5g(a) => commands::prepare_5g::run(a.into()),
        PrepareCesnet(a) => commands::prepare_cesnet::run(a.into()),
        PrepareMawi(a) => commands::prepare_mawi::run(a.into()),
        Merge(a) => commands::merge::run(a.into()),
        KpiReport(a) => commands::kpi_report::run(a.into()),
        Evaluate(a) => commands::evaluate::run(a.into()),
        Classify(a) => commands::classify::run(a.into()),
        Train(a) => commands::train::run(a.into()),
        Embed(a) => commands::embed::run(a.into()),
        BenchTrain(a) => commands::bench_train::run(a.into()),
    }
}

impl From<cli::Prepare5gArgs> for flowconx::commands::prepare_5g::Config {
    fn from(a: cli::Prepare5gArgs) -> Self {
        Self {
            input: a.input,
            output: a.output,
            window_seconds: a.window_seconds,
            max_packets: a.max_packets,
            chunk_rows: a.chunk_rows,
            limit_files: a.limit_files,
            service_map: a.service_map,
            quiet: a.quiet,
        }
    }
}

impl From<cli::PrepareCesnetArgs> for flowconx::commands::prepare_cesnet::Config {
    fn from(a: cli::PrepareCesnetArgs) -> Self {
        Self {
            input: a.input,
            output: a.output,
            rows_per_service: a.rows_per_service,
            chunk_rows: a.chunk_rows,
            limit_files: a.limit_files,
            seed: a.seed,
            service_map: a.service_map,
            max_packets: a.max_packets,
            quiet: a.quiet,
        }
    }
}

impl From<cli::MergeArgs> for flowconx::commands::merge::Config {
    fn from(a: cli::MergeArgs) -> Self {
        Self { output: a.output, inputs: a.inputs }
    }
}

fn engine(e: cli::EngineArg) -> flowconx::infer::EngineChoice {
    use flowconx::infer::EngineChoice;
    match e {
        cli::EngineArg::Auto => EngineChoice::Auto,
        cli::EngineArg::Host => EngineChoice::Host,
        cli::EngineArg::Tch => EngineChoice::Tch,
    }
}

fn device(d: cli::DeviceArg) -> flowconx::train::DeviceChoice {
    use flowconx::train::DeviceChoice;
    match d {
        cli::DeviceArg::Auto => DeviceChoice::Auto,
        cli::DeviceArg::Cpu => DeviceChoice::Cpu,
        cli::DeviceArg::Cuda => DeviceChoice::Cuda,
        cli::DeviceArg::Mps => DeviceChoice::Mps,
    }
}

impl From<cli::TrainArgs> for flowconx::commands::train::Config {
    fn from(a: cli::TrainArgs) -> Self {
        use flowconx::dataset::split::{SplitConfig, SplitMode};
        use flowconx::model::ModelSize;
        Self {
            load: flowconx::dataset::LoadConfig {
                csv: a.csv,
                limit: a.limit,
                app_col: a.app_col,
                service_col: a.label_col.unwrap_or(a.service_col),
            },
            output_dir: a.output_dir,
            epochs: a.epochs,
            batch_size: a.batch_size,
            lr: a.lr,
            weight_decay: a.weight_decay,
            augment_count: a.augment_count,
            augment_crop: a.augment_crop,
            seed: a.seed,
            device: device(a.device),
            memory_per_class: a.memory_per_class,
            temperature: a.temperature,
            weights: flowconx::train::LossWeights {
                app: a.lambda_app,
                proto: a.lambda_proto,
                dis: a.lambda_dis,
                adv: a.lambda_adv,
                pair: a.lambda_pair,
                flow_service: a.lambda_flow_service,
                flow_pair: a.lambda_flow_pair,
                flow_app: a.lambda_flow_app,
                outlier: a.lambda_outlier,
                service_ce: a.lambda_service_ce,
            },
            pair_negative_margin: a.pair_negative_margin,
            pair_positive_target: a.pair_positive_target,
            eval_max_train: a.eval_max_train,
            eval_max_test: a.eval_max_test,
            resume_checkpoint: a.resume_checkpoint,
            outliers: a.outliers,
            outlier_batch: a.outlier_batch,
            outlier_margin: a.outlier_margin,
            split: SplitConfig {
                mode: match a.split {
                    cli::SplitArg::Capture => SplitMode::Capture,
                    cli::SplitArg::Random => SplitMode::Random,
                },
                test_fraction: a.test_fraction,
                seed: a.split_seed.unwrap_or(a.seed),
            },
            model_size: match a.model_size {
                cli::ModelSizeArg::Small => ModelSize::Small,
                cli::ModelSizeArg::Seed => ModelSize::Seed,
            },
            model_overrides: flowconx::model::ModelOverrides {
                time_bins: a.time_bins.map(usize::from),
                cond_hidden: a.cond_hidden.map(i64::from),
                size_bucket: a.size_embedding.map(usize::from),
                position_embedding: a.position_embedding,
                conv_blocks: a.conv_blocks.map(i64::from),
                layers: a.layers.map(i64::from),
                heads: a.heads.map(i64::from),
                ff_mult: a.ff_mult.map(i64::from),
            },
            threads: a.threads,
            grad_clip: a.grad_clip,
            reference_per_service: a.reference_per_service,
            ema_decay: a.ema_decay,
            quiet: a.quiet,
        }
    }
}

impl From<cli::EmbedArgs> for flowconx::commands::embed::Config {
    fn from(a: cli::EmbedArgs) -> Self {
        Self {
            checkpoint: a.checkpoint,
            load: flowconx::dataset::LoadConfig {
                csv: a.csv,
                limit: a.limit,
                app_col: a.app_col,
                service_col: a.service_col,
            },
            output: a.output,
            batch_size: a.batch_size,
            device: device(a.device),
            engine: engine(a.engine),
            threads: a.threads,
            quiet: a.quiet,
        }
    }
}

impl From<cli::BenchTrainArgs> for flowconx::commands::bench_train::Config {
    fn from(a: cli::BenchTrainArgs) -> Self {
        Self { csv: a.csv, batch_size: a.batch_size, steps: a.steps, threads: a.threads, device: device(a.device) }
    }
}

impl From<cli::PrepareMawiArgs> for flowconx::commands::prepare_mawi::Config {
    fn from(a: cli::PrepareMawiArgs) -> Self {
        Self {
            input: a.input,
            output: a.output,
            max_flows: a.max_flows,
            window_seconds: a.window_seconds,
            max_packets: a.max_packets,
            max_packets_to_scan: a.max_packets_to_scan,
            label_app: a.label_app,
            label_service: a.label_service,
            seed: a.seed,
            labels: a.labels,
            quiet: a.quiet,
        }
    }
}

impl From<cli::KpiReportArgs> for flowconx::commands::kpi_report::Config {
    fn from(a: cli::KpiReportArgs) -> Self {
        Self { metrics: a.metrics, output: a.output }
    }
}

fn eval_split(s: cli::SplitArg) -> flowconx::dataset::split::SplitMode {
    use flowconx::dataset::split::SplitMode;
    match s {
        cli::SplitArg::Capture => SplitMode::Capture,
        cli::SplitArg::Random => SplitMode::Random,
    }
}

impl From<cli::EvaluateArgs> for flowconx::commands::evaluate::Config {
    fn from(a: cli::EvaluateArgs) -> Self {
        let load = flowconx::dataset::load::LoadConfig {
            csv: a.csv,
            limit: a.limit,
            app_col: a.app_col,
            service_col: a.service_col,
        };
        Self {
            checkpoint: a.checkpoint,
            load,
            output: a.output,
            device: device(a.device),
            background: a.background,
            eval: flowconx::eval::EvaluateConfig {
                split: a.split.map(eval_split),
                seed: a.seed,
                eval_max_train: a.eval_max_train,
                eval_max_test: a.eval_max_test,
                k: a.k,
                svm_rbf_max_rows: a.svm_rbf_max_rows,
                latency_runs: a.latency_runs,
                throughput_batch: a.throughput_batch,
                timing: !a.no_timing,
                engine: engine(a.engine),
            },
            threads: a.threads,
            quiet: a.quiet,
        }
    }
}

impl From<cli::ClassifyArgs> for flowconx::commands::classify::Config {
    fn from(a: cli::ClassifyArgs) -> Self {
        Self {
            checkpoint: a.checkpoint,
            input: a.input,
            output: a.output,
            window_seconds: a.window_seconds,
            unknown_threshold: a.unknown_threshold,
            unknown_score: match a.unknown_score {
                cli::UnknownScoreArg::Similarity => flowconx::eval::classify::UnknownScore::Similarity,
                cli::UnknownScoreArg::Energy => flowconx::eval::classify::UnknownScore::Energy,
            },
            k: a.k,
            device: device(a.device),
            engine: engine(a.engine),
            threads: a.threads,
            quiet: a.quiet,
        }
    }
}
