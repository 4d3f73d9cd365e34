//! `metrics.json`: FlowCon-X's metric names (so its tooling reads ours) plus flowconx's
//! sections. Every section is optional on read, so `kpi-report` also reads FlowCon-X's files.
use super::classify::UnknownScore;
use super::latency::LatencySummary;
use super::scores::ClassScore;
use super::similarity::IntraInter;
use super::svm::SvmKernel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    /// Service intra/inter mean pairwise cosine of the test embeddings.
    pub service_similarity: IntraInter,
    /// The same over app labels.
    pub app_similarity: IntraInter,
    pub classification: Classification,
    pub prototype_generalization: PrototypeGeneralization,
    pub leave_one_app_out: LeaveOneAppOut,
    /// Mean cosine between `z_app` of real rows and of their network-condition augmentation.
    pub cist_score: Option<f64>,
    /// Model only, batch 1, per flow.
    pub latency: Option<LatencySummary>,
    /// Processed row → features → model → k-NN verdict, batch 1, per flow.
    pub latency_end_to_end: Option<LatencySummary>,
    pub throughput: Option<Throughput>,
    pub split: Option<SplitInfo>,
    pub baseline: Option<Baseline>,
    /// k-NN accuracy on test rows whose app has / has no training rows.
    pub app_coverage: Option<AppCoverage>,
    /// k-NN accuracy per test capture (rows without a capture name are left out).
    pub per_capture: Vec<CaptureScore>,
    pub open_set: Option<OpenSet>,
    /// k-NN per-class precision/recall on the test rows.
    pub per_class: Vec<ClassScore>,
    pub confusion: Option<Confusion>,
    /// 2-D PCA of (up to a few thousand) test embeddings, for the report's scatter plot.
    pub projection: Option<Projection>,
    /// Which embedding the metrics were computed on (`z_flow`) and the model's name/size.
    pub embedding: Option<String>,
    pub device: Option<String>,
    /// Inference implementation behind the embeddings and timings: `host` (pure Rust) or `tch`.
    pub engine: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Classification {
    pub k: Option<usize>,
    pub knn_accuracy: Option<f64>,
    pub knn_macro_f1: Option<f64>,
    pub svm_accuracy: Option<f64>,
    pub svm_macro_f1: Option<f64>,
    pub svm_kernel: Option<SvmKernel>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PrototypeGeneralization {
    pub prototype_accuracy: Option<f64>,
    pub prototype_macro_f1: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LeaveOneAppOut {
    pub leave_one_app_accuracy: Option<f64>,
    pub leave_one_app_macro_f1: Option<f64>,
    /// Test rows not predicted (no prototype left without their app).
    pub leave_one_app_skipped: Option<f64>,
    pub apps_evaluated: Option<usize>,
    /// Test rows whose service keeps another app with training rows when their app is held out
    /// (the others cannot be right: no prototype of their service is left), and the accuracy on them.
    pub answerable_rows: Option<usize>,
    pub answerable_accuracy: Option<f64>,
    /// Each held-out app: which apps' prototypes fail to stand in for it.
    pub per_app: Vec<AppScore>,
}

/// One app of leave-one-app-out: its test rows called from the prototypes of the other apps.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AppScore {
    pub app: String,
    /// The service most of its test rows carry.
    pub service: String,
    pub rows: usize,
    pub accuracy: Option<f64>,
    /// Other apps of that service with training rows: what its prototype was built from.
    pub other_apps_of_service: usize,
    /// Verdicts of its rows, by service.
    pub predicted: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Throughput {
    pub flows_per_s: f64,
    pub batch_size: usize,
    /// `end_to_end` (row → verdict) or `model_only`.
    pub scope: String,
    #[serde(default)]
    pub model_only_flows_per_s: Option<f64>,
    /// The CPU the figures were timed on (`latency::machine`).
    #[serde(default)]
    pub machine: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SplitInfo {
    /// `capture` or `random`.
    pub kind: String,
    pub train_rows: usize,
    pub test_rows: usize,
    /// Rows used after the stratified caps.
    pub eval_train_rows: usize,
    pub eval_test_rows: usize,
    pub train_captures: usize,
    pub test_captures: usize,
    /// Captures found on both sides (0 for a capture split).
    pub shared_captures: usize,
    /// The seed the split was drawn with.
    pub seed: u64,
    /// Test rows that were training rows of the model (0 on its own split; `None`: unknown,
    /// the rows differ from training's).
    #[serde(default)]
    pub training_rows_in_test: Option<usize>,
}

/// A capture split can hold out an app's only capture; its rows then meet an app the model
/// never saw. Splitting the test rows this way shows how much of the error that is.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AppCoverage {
    pub seen_rows: usize,
    pub unseen_rows: usize,
    /// Apps of test rows without any training row.
    pub unseen_apps: Vec<String>,
    pub knn_accuracy_seen: Option<f64>,
    pub knn_accuracy_unseen: Option<f64>,
    pub raw_knn_accuracy_seen: Option<f64>,
    pub raw_knn_accuracy_unseen: Option<f64>,
}

/// One test capture: on a capture split a handful of captures hold most of the errors, and this
/// names them and what their rows were called.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CaptureScore {
    pub capture: String,
    /// The service (and app) most of the capture's rows carry.
    pub service: String,
    pub app: String,
    pub rows: usize,
    pub knn_accuracy: Option<f64>,
    pub raw_knn_accuracy: Option<f64>,
    /// k-NN verdicts of its rows, by service.
    pub predicted: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// Euclidean k-NN on standardised raw feature vectors (no model), same split and k.
    pub raw_knn_accuracy: Option<f64>,
    pub raw_knn_macro_f1: Option<f64>,
    pub features: usize,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenSet {
    /// Known test flows vs background flows, score = max service-prototype cosine: the KPI and
    /// `classify`'s default rule. Flattened, so its keys stay FlowCon-X's `open_set.auroc` /
    /// `open_set.threshold` (the similarity keeping `keep_fraction` of known test flows) /
    /// `open_set.background_rejected`.
    #[serde(flatten)]
    pub prototype: OpenSetScore,
    pub keep_fraction: f64,
    pub background_rows: usize,
    /// Information only: the same flows scored by the service head's energy.
    pub service_head_energy: Option<OpenSetScore>,
}

impl OpenSet {
    /// Each score with its figures: the prototype cosine, then the energy when computed.
    pub fn scores(&self) -> impl Iterator<Item = (UnknownScore, &OpenSetScore)> + '_ {
        std::iter::once((UnknownScore::Similarity, &self.prototype))
            .chain(self.service_head_energy.as_ref().map(|e| (UnknownScore::Energy, e)))
    }
}

/// One open-set score's AUROC, 95%-keep threshold and background rejection (below the threshold:
/// called `unknown`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenSetScore {
    pub auroc: Option<f64>,
    pub threshold: Option<f64>,
    pub background_rejected: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Confusion {
    pub labels: Vec<String>,
    /// `matrix[true][predicted]`, k-NN verdicts on the test rows.
    pub matrix: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Projection {
    pub labels: Vec<String>,
    /// Label index of each point.
    pub label: Vec<u32>,
    pub x: Vec<f32>,
    pub y: Vec<f32>,
}

impl Metrics {
    /// Pretty JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flowconx_metrics_file() {
        // Shape of FlowCon-X's metrics.json (extra keys ignored, new sections absent).
        let j = r#"{"service_similarity": {"intra": 0.81, "inter": 0.12},
            "app_similarity": {"intra": 0.7, "inter": 0.2},
            "classification": {"knn_accuracy": 0.95, "knn_macro_f1": 0.9, "svm_accuracy": 0.93, "svm_macro_f1": 0.9},
            "prototype_generalization": {"prototype_accuracy": 0.88},
            "leave_one_app_out": {"leave_one_app_accuracy": 0.86, "leave_one_app_skipped": 0.0},
            "cist_score": 0.97,
            "latency": {"mean_ms": 13.65, "p50_ms": 13.0, "p95_ms": 15.0, "p99_ms": 16.0},
            "label_maps": {"service": {"a": 0}}}"#;
        let m: Metrics = serde_json::from_str(j).unwrap();
        assert_eq!(m.service_similarity.intra, Some(0.81));
        assert_eq!(m.latency.unwrap().mean_ms, 13.65);
        assert_eq!(m.open_set, None);
        let back: Metrics = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(back, m);
    }
}
