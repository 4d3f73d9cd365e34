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
        Merge(a) => commands::merge::run(a.into()),
        KpiReport(a) => commands::kpi_report::run(a.into()),
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

impl From<cli::KpiReportArgs> for flowconx::commands::kpi_report::Config {
    fn from(a: cli::KpiReportArgs) -> Self {
        Self { metrics: a.metrics, output: a.output }
    }
}
