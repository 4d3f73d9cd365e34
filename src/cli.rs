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

// Parsed once per run: the size of the largest variant (train's flags) does not matter.
#[allow(clippy::large_enum_variant)]
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
    /// Train the FlowCon-X encoder on processed rows; writes a checkpoint, history and split
    Train(TrainArgs),
    /// Embed processed rows with a checkpoint: `app,service,capture,z0..` per row, input order
    Embed(EmbedArgs),
    /// Forward+backward samples/s of the model presets (scripts/bench-train.sh)
    #[command(name = "bench-train", hide = true)]
    BenchTrain(BenchTrainArgs),
    /// metrics.json → KPI report (markdown with PASS/FAIL, PCA and confusion-matrix PNGs beside it)
    #[command(name = "kpi-report")]
    KpiReport(KpiReportArgs),
    /// Evaluate a checkpoint on processed rows: FlowCon-X's KPIs, baseline, open set, latency → JSON
    Evaluate(EvaluateArgs),
    /// Service verdict per flow window of a capture, a folder of captures or a processed CSV
    Classify(ClassifyArgs),
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

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DeviceArg {
    Auto,
    Cpu,
    Cuda,
    Mps,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EngineArg {
    /// The host engine on a CPU device, tch on CUDA / MPS
    Auto,
    /// Pure-Rust CPU inference (same embeddings as tch up to float rounding, several times faster)
    Host,
    /// libtorch on --device
    Tch,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum UnknownScoreArg {
    /// Cosine to the nearest service prototype (the open-set KPI's score)
    Similarity,
    /// log Σ exp of the service head's logits
    Energy,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SplitArg {
    /// No capture (file, CESNET day) on both sides; rows without `capture` are their own group
    Capture,
    /// Rows drawn at random (stratified by service)
    Random,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ModelSizeArg {
    /// Default: 32 packets, 12 condition bins, hidden 64, 4 heads, 2 conv blocks, 1 layer, BiGRU 32, 64-d
    Small,
    /// FlowCon-X's dimensions: 128 packets, 24 condition bins, hidden 192, 6 heads, 3 conv blocks, BiGRU 2x64
    Seed,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Processed CSV(s): repeat the flag or give a comma list; rows are concatenated in order
    #[arg(long, required = true, value_delimiter = ',')]
    pub csv: Vec<PathBuf>,
    /// Column holding the target label (overrides --service-col when given)
    #[arg(long)]
    pub label_col: Option<String>,
    /// Column holding the app name
    #[arg(long, default_value = "app")]
    pub app_col: String,
    /// Column holding the service label (the target)
    #[arg(long, default_value = "service")]
    pub service_col: String,
    /// Use only the first N rows (over all files)
    #[arg(long)]
    pub limit: Option<usize>,
    /// Where the checkpoint, history.json and reference embeddings go
    #[arg(long, default_value = "outputs/flowconx")]
    pub output_dir: PathBuf,
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Peak learning rate (cosine decay to 5 %)
    #[arg(long, default_value_t = 3e-4)]
    pub lr: f64,
    /// AdamW decoupled weight decay (not applied to norms and biases)
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f64,
    /// Network-condition augmentations per real training row (IAT scaling, jitter, loss); 0 = real rows only
    #[arg(long, default_value_t = 0)]
    pub augment_count: usize,
    /// Prefix copies per real training row (its first 5..n packets, columns recomputed); 0 = none
    #[arg(long, default_value_t = 0)]
    pub augment_crop: usize,
    /// Seed of the weights, batch order, augmentations and dropout (and of the split unless --split-seed)
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Seed of the train/test split, to vary the model over one split (default: --seed)
    #[arg(long)]
    pub split_seed: Option<u64>,
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// Past embeddings kept per service for the contrastive loss (0 = no memory bank)
    #[arg(long, default_value_t = 512)]
    pub memory_per_class: usize,
    /// Contrastive temperature
    #[arg(long, default_value_t = 0.07)]
    pub temperature: f64,
    /// Weight of the app-level SupCon on z_app
    #[arg(long, default_value_t = 0.35)]
    pub lambda_app: f64,
    /// Weight of prototype alignment (z_app to per-service prototypes)
    #[arg(long, default_value_t = 0.10)]
    pub lambda_proto: f64,
    /// Weight of app/network disentanglement
    #[arg(long, default_value_t = 0.25)]
    pub lambda_dis: f64,
    /// Weight of the condition adversary (behind gradient reversal)
    #[arg(long, default_value_t = 0.15)]
    pub lambda_adv: f64,
    /// Weight of the pairwise margin loss on z_app
    #[arg(long, default_value_t = 0.0)]
    pub lambda_pair: f64,
    /// Weight of the service SupCon on z_flow
    #[arg(long, default_value_t = 0.0)]
    pub lambda_flow_service: f64,
    /// Weight of the pairwise margin loss on z_flow
    #[arg(long, default_value_t = 0.0)]
    pub lambda_flow_pair: f64,
    /// Weight of the app SupCon on z_flow (flowconx addition)
    #[arg(long, default_value_t = 0.0)]
    pub lambda_flow_app: f64,
    /// Weight of the service cross-entropy head on z_flow (flowconx addition)
    #[arg(long, default_value_t = 0.5)]
    pub lambda_service_ce: f64,
    /// Pairs of different services are pushed below this cosine similarity
    #[arg(long, default_value_t = 0.20)]
    pub pair_negative_margin: f64,
    /// Pairs of the same service are pulled up to this cosine similarity
    #[arg(long, default_value_t = 0.75)]
    pub pair_positive_target: f64,
    /// Cap on training rows embedded for the per-epoch k-NN check (≥ 1)
    #[arg(long, value_parser = at_least_one)]
    pub eval_max_train: Option<usize>,
    /// Cap on test rows embedded for the per-epoch k-NN check (≥ 1)
    #[arg(long, value_parser = at_least_one)]
    pub eval_max_test: Option<usize>,
    /// Continue from a checkpoint (its file or directory): same model, label maps and normalisation
    #[arg(long)]
    pub resume_checkpoint: Option<PathBuf>,
    /// Outlier exposure: processed rows of background traffic (e.g. `prepare-mawi` windows of
    /// captures disjoint from the evaluation background); none of their labels is used
    #[arg(long)]
    pub outliers: Option<PathBuf>,
    /// Outlier rows per step with --outliers
    #[arg(long, default_value_t = 16)]
    pub outlier_batch: usize,
    /// Prototype cosine an outlier row keeps without cost
    #[arg(long, default_value_t = 0.5)]
    pub outlier_margin: f64,
    /// Weight of the outlier-exposure loss
    #[arg(long, default_value_t = 0.3)]
    pub lambda_outlier: f64,
    #[arg(long, value_enum, default_value = "capture")]
    pub split: SplitArg,
    /// Share of captures (or rows, with --split random) per service held out for testing
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    #[arg(long, value_enum, default_value = "small")]
    pub model_size: ModelSizeArg,
    /// Bins of the network-condition series (default: the preset's; small 12, seed 24)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub time_bins: Option<u16>,
    /// Hidden size per direction of the condition BiGRU (default: the preset's; small 32, seed 64)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub cond_hidden: Option<u16>,
    /// Learn a vector per packet-size range of this many bytes and direction, added to each
    /// packet's input projection; 0 turns it off (default: the preset's; small 8, seed off)
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u16).range(0..=1536))]
    pub size_embedding: Option<u16>,
    /// Learn a vector per packet position, added likewise (default: the preset's; small true, seed false)
    #[arg(long, value_name = "BOOL")]
    pub position_embedding: Option<bool>,
    /// Gated conv blocks of the packet encoder (default: the preset's; small 2, seed 3)
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub conv_blocks: Option<u8>,
    /// Transformer layers of the packet encoder (default: the preset's; 1)
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub layers: Option<u8>,
    /// Attention heads of the packet transformer and the fusion; must divide the hidden size
    /// (default: the preset's; small 4, seed 6)
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub heads: Option<u8>,
    /// Feed-forward width of the packet transformer, in multiples of its hidden size (default 2)
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub ff_mult: Option<u8>,
    /// Intra-op threads for libtorch (default: libtorch's choice)
    #[arg(long, value_parser = at_least_one)]
    pub threads: Option<usize>,
    /// Gradient-norm clipping threshold
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f64,
    /// Training embeddings kept per service as the checkpoint's reference set
    #[arg(long, default_value_t = 256)]
    pub reference_per_service: usize,
    /// Evaluate and save a moving average of the weights with this decay per step (0 = off)
    #[arg(long, default_value_t = 0.0)]
    pub ema_decay: f64,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Checkpoint directory or its flowconx_checkpoint.safetensors
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Processed CSV(s): repeat the flag or give a comma list
    #[arg(long, required = true, value_delimiter = ',')]
    pub csv: Vec<PathBuf>,
    /// Output CSV `app,service,capture,z0..` (`-` for stdout)
    #[arg(long)]
    pub output: PathBuf,
    #[arg(long, default_value = "app")]
    pub app_col: String,
    #[arg(long, default_value = "service")]
    pub service_col: String,
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value_t = 512)]
    pub batch_size: usize,
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// Inference engine: host = pure-Rust CPU forward pass, tch = libtorch; auto = host on CPU
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,
    #[arg(long, value_parser = at_least_one)]
    pub threads: Option<usize>,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct BenchTrainArgs {
    /// Processed CSV whose rows fill the batches (cycled when shorter than a batch)
    #[arg(long, required = true, value_delimiter = ',')]
    pub csv: Vec<PathBuf>,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Timed forward+backward steps per preset (after one warm-up step)
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    #[arg(long, value_parser = at_least_one)]
    pub threads: Option<usize>,
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
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

#[derive(Debug, Args)]
pub struct KpiReportArgs {
    /// metrics.json written by `evaluate` or `train` (FlowCon-X's metrics files are read too)
    #[arg(long)]
    pub metrics: PathBuf,
    /// Markdown report; `<stem>_pca.png` and `<stem>_confusion.png` are written beside it
    #[arg(long, default_value = "kpi_report.md")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Checkpoint directory (or its flowconx_checkpoint.safetensors / checkpoint.json)
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Processed CSV(s): repeat the flag or give a comma list; rows are concatenated in order
    #[arg(long, required = true, value_delimiter = ',')]
    pub csv: Vec<PathBuf>,
    /// Column holding the app name
    #[arg(long, default_value = "app")]
    pub app_col: String,
    /// Column holding the service label
    #[arg(long, default_value = "service")]
    pub service_col: String,
    /// Use only the first N rows (over all files)
    #[arg(long)]
    pub limit: Option<usize>,
    /// Metrics JSON (`-` for stdout)
    #[arg(long, default_value = "eval.json")]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// Inference engine: host = pure-Rust CPU forward pass, tch = libtorch; auto = host on CPU
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,
    /// Stratified cap on the training rows used as k-NN/SVM/prototype references (≥ 1)
    #[arg(long, value_parser = at_least_one)]
    pub eval_max_train: Option<usize>,
    /// Stratified cap on the test rows (and on the background rows; ≥ 1)
    #[arg(long, value_parser = at_least_one)]
    pub eval_max_test: Option<usize>,
    /// Processed background rows (service `unknown`, e.g. MAWI) for the open-set AUROC; repeatable
    #[arg(long, value_delimiter = ',')]
    pub background: Vec<PathBuf>,
    /// Neighbours in the k-NN vote (≥ 1)
    #[arg(long, default_value_t = 5, value_parser = at_least_one)]
    pub k: usize,
    /// Split to evaluate on; default: the one stored with the checkpoint
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    /// Seed of the split (when --split is given) and of the caps
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Training rows up to which the SVM uses an RBF kernel (linear above)
    #[arg(long, default_value_t = 10_000)]
    pub svm_rbf_max_rows: usize,
    /// Timed batch-1 calls for the latency percentiles
    #[arg(long, default_value_t = 200)]
    pub latency_runs: usize,
    /// Batch size of the throughput measurement
    #[arg(long, default_value_t = 256)]
    pub throughput_batch: usize,
    /// Skip the latency and throughput measurements
    #[arg(long)]
    pub no_timing: bool,
    /// libtorch intra-op threads
    #[arg(long, value_parser = at_least_one)]
    pub threads: Option<usize>,
    /// No progress output
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Checkpoint directory (or a file inside it); its reference embeddings are the k-NN index
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// pcap/pcapng capture (optionally .gz), a folder of captures, or a processed CSV (.csv/.csv.gz)
    #[arg(long)]
    pub input: PathBuf,
    /// Verdicts CSV (`-` for stdout)
    #[arg(long, default_value = "verdicts.csv")]
    pub output: PathBuf,
    /// Flow window length in seconds (captures only)
    #[arg(long, default_value_t = 10.0)]
    pub window_seconds: f64,
    /// Score below which a flow is `unknown` (see --unknown-score); default: the threshold stored
    /// with the checkpoint (metrics.json), else the one keeping 95% of the reference rows
    #[arg(long)]
    pub unknown_threshold: Option<f32>,
    /// Open-set score of the unknown rule: the nearest service prototype's cosine, or the energy
    /// of the model's service head (adds an `energy` column)
    #[arg(long, value_enum, default_value = "similarity")]
    pub unknown_score: UnknownScoreArg,
    /// Neighbours in the k-NN vote (≥ 1)
    #[arg(long, default_value_t = 5, value_parser = at_least_one)]
    pub k: usize,
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// Inference engine: host = pure-Rust CPU forward pass, tch = libtorch; auto = host on CPU
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,
    /// libtorch intra-op threads
    #[arg(long, value_parser = at_least_one)]
    pub threads: Option<usize>,
    /// No progress output
    #[arg(long)]
    pub quiet: bool,
}

/// A count that must be at least 1 (`--k`, the evaluation caps): 0 would leave nothing to vote or
/// score with.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
