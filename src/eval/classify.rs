//! Per-flow verdicts from a checkpoint alone: k-NN over the reference embeddings stored with it
//! (majority service, app of the nearest row) and `unknown` when the open-set score — the best
//! service-prototype cosine, or the service head's energy — is below the rejection threshold.
use super::device::Verdicts;
use super::matrix::LabelSet;
use super::metrics::Metrics;
use super::prototype::{keep_threshold, Prototypes};
use super::run::{to_matrix, Engine};
use crate::error::{Error, Result};
use crate::features::FlowRow;
use crate::infer::EngineChoice;
use crate::train::checkpoint::Reference;
use std::path::Path;
use tch::Device;

/// Service name of rejected flows.
pub const UNKNOWN: &str = "unknown";

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub service: String,
    pub nearest_app: String,
    /// Cosine to the nearest service prototype (the default open-set score).
    pub similarity: f32,
    /// The service head's energy, when it is the open-set score.
    pub energy: Option<f32>,
}

/// The score `classify` compares with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownScore {
    /// Cosine to the nearest service prototype (`open_set.threshold`).
    #[default]
    Similarity,
    /// Energy of the service head (`open_set.service_head_energy.threshold`).
    Energy,
}

/// Where the rejection threshold came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdSource {
    Flag,
    /// `open_set.threshold` of the `metrics.json` written beside the checkpoint.
    Metrics,
    /// Keeps 95% of the reference rows (no metrics.json).
    Reference,
}

pub struct Classifier {
    engine: Engine,
    verdicts: Verdicts,
    services: LabelSet,
    ref_apps: Vec<String>,
    pub threshold: f32,
    pub threshold_source: ThresholdSource,
    pub score: UnknownScore,
    /// With the energy score: share of the reference rows the service head itself classifies
    /// right (a weak head makes a poor energy score).
    pub head_reference_accuracy: Option<f64>,
    k: usize,
}

impl Classifier {
    pub fn load(
        path: &Path,
        device: Device,
        choice: EngineChoice,
        k: usize,
        threshold: Option<f32>,
        score: UnknownScore,
    ) -> Result<Self> {
        let engine = Engine::load(path, device, choice)?;
        let r = Reference::load(&engine.dir)?;
        if r.z_flow.n == 0 {
            return Err(Error::input(&engine.dir, "checkpoint holds no reference embeddings"));
        }
        let services = LabelSet::from_names(r.services.iter().chain(&r.prototype_services));
        let labels = services.encode(&r.services)?;
        let refs = to_matrix(r.z_flow.clone())?;
        // The stored prototypes: the mean `z_flow` of every training row of a service, the
        // prototypes `evaluate`'s threshold (`open_set.threshold`) was set with. (The reference
        // rows are a capped sample: their means would score flows against other prototypes.)
        let protos = if r.prototypes.n == 0 {
            Prototypes::build(&refs, &labels, services.len(), None)
        } else {
            Prototypes { matrix: to_matrix(r.prototypes.clone())?, labels: services.encode(&r.prototype_services)? }
        };
        let (threshold, threshold_source) = match threshold {
            Some(t) => (t, ThresholdSource::Flag),
            None => match metrics_threshold(&engine.dir, score) {
                Some(t) => (t, ThresholdSource::Metrics),
                None => {
                    let known: Vec<f32> = match score {
                        UnknownScore::Similarity => protos.nearest(&refs).iter().map(|p| p.1).collect(),
                        UnknownScore::Energy => engine.head.energy(&refs)?,
                    };
                    (keep_threshold(&known, super::compute::KEEP_FRACTION).unwrap_or(0.0), ThresholdSource::Reference)
                }
            },
        };
        let head_reference_accuracy = match score {
            UnknownScore::Similarity => None,
            UnknownScore::Energy => {
                let names = &engine.meta.labels.services;
                let pred = engine.head.predict(&refs)?;
                let right = pred.iter().zip(&r.services).filter(|(&p, s)| names.get(p as usize) == Some(*s)).count();
                Some(right as f64 / pred.len() as f64)
            }
        };
        let verdicts = Verdicts::new(&engine, refs, labels, services.len(), protos);
        Ok(Classifier {
            engine,
            verdicts,
            services,
            ref_apps: r.apps,
            threshold,
            threshold_source,
            score,
            head_reference_accuracy,
            k,
        })
    }

    /// How the checkpoint turns rows into model inputs.
    pub fn normalizer(&self) -> &crate::dataset::tensorize::Normalizer {
        &self.engine.meta.normalizer
    }

    pub fn max_packets(&self) -> usize {
        self.engine.meta.model.features.max_packets
    }

    pub fn reference_rows(&self) -> usize {
        self.verdicts.len()
    }

    /// Verdicts of `rows`, in order (one forward pass per `batch` rows).
    pub fn classify(&self, rows: &[&FlowRow], batch: usize) -> Result<Vec<Verdict>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let want_z = self.score == UnknownScore::Energy;
        let r = self.verdicts.of_rows(&self.engine, rows, batch, self.k, want_z)?;
        let energy = r.z.as_ref().map(|z| self.engine.head.energy(z)).transpose()?;
        Ok(r.votes
            .iter()
            .zip(r.nearest)
            .enumerate()
            .map(|(i, (v, (_, sim)))| {
                let energy = energy.as_ref().map(|e| e[i]);
                let known = energy.unwrap_or(sim) >= self.threshold;
                Verdict {
                    service: if known { self.services.name(v.label).to_string() } else { UNKNOWN.to_string() },
                    nearest_app: self.ref_apps.get(v.nearest).cloned().unwrap_or_default(),
                    similarity: sim,
                    energy,
                }
            })
            .collect())
    }
}

fn metrics_threshold(dir: &Path, score: UnknownScore) -> Option<f32> {
    let bytes = std::fs::read(dir.join("metrics.json")).ok()?;
    let m: Metrics = serde_json::from_slice(&bytes).ok()?;
    let open_set = m.open_set?;
    let (_, s) = open_set.scores().find(|(kind, _)| *kind == score)?;
    s.threshold.map(|t| t as f32)
}
