//! Evaluation of flow embeddings: similarity structure, k-NN / SVM / prototype classification,
//! leave-one-app-out, open-set scores, the raw-feature baseline and latency summaries.
//! Pure Rust on plain matrices; the model only produces the embeddings.
pub mod baseline;
pub mod classify;
pub mod compute;
pub mod device;
pub mod head;
pub mod knn;
pub mod latency;
pub mod matrix;
pub mod metrics;
pub mod pca;
pub mod prototype;
pub mod run;
pub mod sampling;
pub mod scores;
pub mod similarity;
pub mod svm;

pub use compute::{embedding_metrics, EvalOptions, Side};
pub use matrix::{LabelSet, Matrix};
pub use metrics::Metrics;
pub use run::{evaluate_checkpoint, evaluate_split, write_metrics_and_report, Engine, EvaluateConfig};
