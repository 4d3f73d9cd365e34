//! flowconx: learn compact embeddings of network flows and classify encrypted traffic by
//! service from packet sizes, timing and direction alone (no payload inspection).
//!
//! Data flow: `ingest` (captures, 5G exports, CESNET files) → `flow` (keys, tables, windows)
//! → `features` (canonical rows) → `dataset` → `model` / `train` → `eval` → `report`.
pub mod commands;
pub mod dataset;
pub mod error;
pub mod eval;
pub mod features;
pub mod flow;
pub mod infer;
pub mod ingest;
pub mod labels;
pub mod model;
pub mod output;
pub mod progress;
pub mod report;
pub mod runtime;
pub mod train;

pub use error::{Error, Result};
