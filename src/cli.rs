//! Command-line flags (clap derive), one `Args` struct per subcommand. Commands turn these into
//! typed configs before any work starts; the library never sees a flag string.
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "flowconx", version = crate_version_line(), about = "Flow embeddings and service classification for encrypted traffic, without DPI")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

fn crate_version_line() -> &'static str {
    // Computed once: asks libtorch whether CUDA / MPS are usable.
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LINE.get_or_init(|| flowconx::runtime::version_line().trim_start_matches("flowconx ").to_string())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Kaggle "5G Traffic Datasets" packet exports (<Service>/<App>/<file>.csv) → flow-window rows
    #[command(name = "prepare-5g")]
    Prepare5g(Prepare5gArgs),
    /// CESNET-QUIC22 daily flows-*.csv.gz → rows, balanced per service
    #[command(name = "prepare-cesnet")]
    PrepareCesnet(PrepareCesnetArgs),
    /// Raw pcap/pcapng captures (a file or a folder) → a seeded sample of bidirectional flow windows
    #[command(name = "prepare-mawi")]
    PrepareMawi(PrepareMawiArgs),
    /// Concatenate processed files (schema-checked) into one training file
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct Prepare5gArgs {
    /// Dataset root holding <Service>/<App>/<file>.csv
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV (`-` for stdout)
    #[arg(long)]
    pub output: PathBuf,
    /// Window length in seconds (one row per capture per window)
    #[arg(long, default_value_t = 10.0)]
    pub window_seconds: f64,
    /// Packets kept in each row's sequences (statistics cover all packets of the window)
    #[arg(long, default_value_t = 128)]
    pub max_packets: usize,
    /// Packets parsed per chunk; bounds memory whatever the file size
    #[arg(long, default_value_t = 65_536)]
    pub chunk_rows: usize,
    /// Only the first N capture files (sorted order)
    #[arg(long)]
    pub limit_files: Option<usize>,
    /// CSV `app,service` overriding the service of listed apps
    #[arg(long)]
    pub service_map: Option<PathBuf>,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PrepareCesnetArgs {
    /// Folder searched for flows-*.csv.gz (or one such file)
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV (`-` for stdout)
    #[arg(long)]
    pub output: PathBuf,
    /// Rows kept per service (uniform sample of all rows scanned)
    #[arg(long, default_value_t = 15_000)]
    pub rows_per_service: usize,
    /// Records per chunk handed from the decompressing thread to the row builder (memory bound)
    #[arg(long, default_value_t = 8_192)]
    pub chunk_rows: usize,
    /// Only the first N files (sorted order)
    #[arg(long)]
    pub limit_files: Option<usize>,
    /// Seed of the reservoir sample
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// CSV `app,service` overriding the CATEGORY mapping of listed apps
    #[arg(long)]
    pub service_map: Option<PathBuf>,
    /// Packets kept in each row's sequences (CESNET PPI holds at most 30)
    #[arg(long, default_value_t = 128)]
    pub max_packets: usize,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Output CSV (`-` for stdout)
    #[arg(long)]
    pub output: PathBuf,
    /// Processed files to concatenate, in order
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PrepareMawiArgs {
    /// A capture (pcap, pcapng, optionally gzipped) or a folder of captures
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV (`-` for stdout)
    #[arg(long)]
    pub output: PathBuf,
    /// Rows kept: a uniform sample of all flow windows
    #[arg(long, default_value_t = 20_000)]
    pub max_flows: usize,
    /// Window length in seconds (per flow)
    #[arg(long, default_value_t = 1.0)]
    pub window_seconds: f64,
    /// Packets kept in each row's sequences (statistics cover all packets of the window)
    #[arg(long, default_value_t = 128)]
    pub max_packets: usize,
    /// Read at most N frames of each file
    #[arg(long)]
    pub max_packets_to_scan: Option<u64>,
    /// `app` of rows whose flow has no label
    #[arg(long, default_value = "mawi_background")]
    pub label_app: String,
    /// `service` of rows whose flow has no label
    #[arg(long, default_value = "unknown")]
    pub label_service: String,
    /// Seed of the sample
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Per-flow labels: nDPI's flow table CSV or `capture,proto,ip_a,port_a,ip_b,port_b,app,service`
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
}
