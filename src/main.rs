//! `flowconx`: parse flags, run the subcommand, print the error chain and map it to an exit code.
mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flowconx: error: {e:#}");
            ExitCode::from(1)
        }
    }
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

fn eval_device(d: cli::DeviceArg) -> flowconx::train::DeviceChoice {
    use flowconx::train::DeviceChoice;
    match d {
        cli::DeviceArg::Auto => DeviceChoice::Auto,
        cli::DeviceArg::Cpu => DeviceChoice::Cpu,
        cli::DeviceArg::Cuda => DeviceChoice::Cuda,
        cli::DeviceArg::Mps => DeviceChoice::Mps,
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
            device: eval_device(a.device),
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
            k: a.k,
            device: eval_device(a.device),
            threads: a.threads,
            quiet: a.quiet,
        }
    }
}
