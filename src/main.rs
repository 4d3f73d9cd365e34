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
