//! Training: losses, memory bank, the trainer loop, checkpoints and a quick k-NN check.
pub mod bench;
pub mod checkpoint;
pub mod ema;
pub mod knn;
pub mod loss;
pub mod memory;
pub mod trainer;

pub use checkpoint::{EmbeddingMatrix, Embeddings, Reference};
pub use trainer::{train, LossWeights, TrainConfig, TrainSummary};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::Device;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda,
    Mps,
}

impl DeviceChoice {
    /// `auto` prefers CUDA, then MPS, then CPU; an explicit accelerator that is absent is an error.
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Auto => Ok(if tch::Cuda::is_available() {
                Device::Cuda(0)
            } else if tch::utils::has_mps() {
                Device::Mps
            } else {
                Device::Cpu
            }),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
            DeviceChoice::Mps if tch::utils::has_mps() => Ok(Device::Mps),
            other => Err(Error::Config(
                format!("--device {other:?}: not available in this libtorch build / machine").to_lowercase(),
            )),
        }
    }
}
