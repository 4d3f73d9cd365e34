//! The model behind eval-mode inference: the host engine or the tch model, chosen once at load.
//! `eval::run::Engine` (evaluate, classify, embed) holds one.
use super::{EngineChoice, HostModel};
use crate::dataset::batch::Batch;
use crate::dataset::labels::LabelMaps;
use crate::dataset::tensorize::{Normalizer, RowFeatures};
use crate::error::Result;
use crate::features::schema::FlowRow;
use crate::model::{FlowConX, ModelConfig};
use crate::train::checkpoint::{embed_with, CheckpointMeta, EmbeddingMatrix, Embeddings};
use tch::{nn, Device};

// One per loaded model: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Backend {
    /// libtorch on `device` (holds the VarStore its weights live in).
    Tch { _vs: nn::VarStore, model: FlowConX, device: Device },
    /// Pure Rust on the CPU; the VarStore is dropped after copying the weights.
    Host(HostModel),
}

/// Model inputs prepared outside a timed section (model-only latency / throughput).
pub enum Prepared {
    Tch(Batch),
    Host(Vec<RowFeatures>),
}

/// Everything besides the weights that turns rows into model inputs.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub cfg: &'a ModelConfig,
    pub norm: &'a Normalizer,
    pub labels: &'a LabelMaps,
}

impl<'a> Inputs<'a> {
    /// The checkpoint's feature config, normaliser and label maps.
    pub fn of(meta: &'a CheckpointMeta) -> Self {
        Inputs { cfg: &meta.model, norm: &meta.normalizer, labels: &meta.labels }
    }
}

impl Backend {
    pub fn new(
        vs: nn::VarStore,
        model: FlowConX,
        cfg: &ModelConfig,
        device: Device,
        choice: EngineChoice,
    ) -> Result<Self> {
        Ok(if choice.use_host(device) {
            Backend::Host(HostModel::from_varstore(&vs, cfg)?)
        } else {
            Backend::Tch { _vs: vs, model, device }
        })
    }

    /// `host` or `tch`, as recorded in metrics.json.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Tch { .. } => "tch",
            Backend::Host(_) => "host",
        }
    }

    /// Eval-mode embeddings of `rows`, in order (`batch` rows per tch forward pass; the host
    /// engine's results do not depend on batching).
    pub fn embed(&self, inp: Inputs<'_>, rows: &[&FlowRow], batch: usize) -> Result<Embeddings> {
        match self {
            Backend::Tch { model, device, .. } => {
                embed_with(model, inp.cfg, inp.norm, inp.labels, rows, batch, *device)
            }
            Backend::Host(h) => Ok(h.embed_rows(rows, inp.norm)),
        }
    }

    pub fn prepare(&self, inp: Inputs<'_>, rows: &[&FlowRow]) -> Prepared {
        match self {
            Backend::Tch { device, .. } => {
                Prepared::Tch(Batch::build(rows, &inp.cfg.features, inp.norm, inp.labels, *device))
            }
            Backend::Host(_) => Prepared::Host(rows.iter().map(|r| inp.norm.features(r, &inp.cfg.features)).collect()),
        }
    }

    /// Model only: `z_flow` of prepared inputs, on the host (waits for the device).
    pub fn forward(&self, p: &Prepared) -> Result<EmbeddingMatrix> {
        match (self, p) {
            (Backend::Tch { model, .. }, Prepared::Tch(b)) => {
                let _g = tch::no_grad_guard();
                EmbeddingMatrix::from_tensor(&model.forward_t(b, false).z_flow)
            }
            (Backend::Host(h), Prepared::Host(f)) => Ok(h.forward(f).z_flow),
            _ => Err(crate::error::Error::Config("inputs prepared for another engine".into())),
        }
    }
}
