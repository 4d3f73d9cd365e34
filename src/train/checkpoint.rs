//! Checkpoints: `flowconx_checkpoint.safetensors` (weights, VarStore names such as
//! `app.conv.0.depthwise.weight`) + `checkpoint.json` (everything needed to rebuild the model and
//! its inputs) + `reference.safetensors` / `reference.json` (a capped per-service sample of
//! training `z_flow` and per-service prototypes, so classification needs no training data).
//! Every file is written to a temp name and renamed.
use crate::dataset::batch::Batch;
use crate::dataset::labels::LabelMaps;
use crate::dataset::split::SplitConfig;
use crate::dataset::tensorize::Normalizer;
use crate::error::{Error, Result};
use crate::features::schema::FlowRow;
use crate::model::{FlowConX, ModelConfig, Outputs};
use crate::output::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};

pub const WEIGHTS_FILE: &str = "flowconx_checkpoint.safetensors";
pub const META_FILE: &str = "checkpoint.json";
pub const REFERENCE_WEIGHTS: &str = "reference.safetensors";
pub const REFERENCE_META: &str = "reference.json";
pub const FORMAT: &str = "flowconx-checkpoint-1";

/// The split used in training: row indices into the concatenated `--csv` rows (after `--limit`)
/// and the capture groups on each side.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StoredSplit {
    pub csv: Vec<String>,
    pub limit: Option<usize>,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
    pub train_captures: Vec<String>,
    pub test_captures: Vec<String>,
}

impl StoredSplit {
    /// Whether `rows` rows read from `csv` are the rows this split indexes: the same files
    /// (as written, or resolved to the same files) and as many rows.
    pub fn indexes(&self, csv: &[PathBuf], rows: usize) -> bool {
        let resolved = |p: &Path| std::fs::canonicalize(p).ok();
        self.train.len() + self.test.len() == rows
            && self.train.iter().chain(&self.test).all(|&i| i < rows)
            && self.csv.len() == csv.len()
            && self.csv.iter().zip(csv).all(|(s, g)| {
                Path::new(s) == g.as_path() || resolved(Path::new(s)).is_some_and(|a| Some(a) == resolved(g))
            })
    }
}

/// Contents of `checkpoint.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub format: String,
    pub flowconx_version: String,
    pub libtorch_version: String,
    pub weights_file: String,
    pub model: ModelConfig,
    pub normalizer: Normalizer,
    pub labels: LabelMaps,
    /// The training flags, as given.
    pub training: serde_json::Value,
    pub split_config: SplitConfig,
    pub split: StoredSplit,
    pub epochs_done: usize,
    pub resumed_from: Option<String>,
}

/// Row-major `n × dim` matrix.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmbeddingMatrix {
    pub n: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

impl EmbeddingMatrix {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    pub fn from_tensor(t: &Tensor) -> Result<Self> {
        let (n, dim) = t.size2().map_err(Error::Torch)?;
        let data = Vec::<f32>::try_from(&t.to_device(Device::Cpu).to_kind(Kind::Float).contiguous().view([-1]))
            .map_err(Error::Torch)?;
        Ok(EmbeddingMatrix { n: n as usize, dim: dim as usize, data })
    }

    pub fn to_tensor(&self) -> Tensor {
        Tensor::from_slice(&self.data).view([self.n as i64, self.dim as i64])
    }

    fn append(&mut self, other: EmbeddingMatrix) {
        self.dim = other.dim;
        self.n += other.n;
        self.data.extend(other.data);
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Embeddings {
    pub z_flow: EmbeddingMatrix,
    pub z_app: EmbeddingMatrix,
    pub z_net: EmbeddingMatrix,
}

/// Reference sample of training `z_flow` (capped per service) and per-service prototypes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reference {
    pub z_flow: EmbeddingMatrix,
    pub services: Vec<String>,
    pub apps: Vec<String>,
    pub prototypes: EmbeddingMatrix,
    pub prototype_services: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct ReferenceMeta {
    services: Vec<String>,
    apps: Vec<String>,
    prototype_services: Vec<String>,
}

impl Reference {
    pub fn save(&self, dir: &Path) -> Result<()> {
        let tensors = [("z_flow", self.z_flow.to_tensor()), ("prototypes", self.prototypes.to_tensor())];
        save_safetensors_atomic(&dir.join(REFERENCE_WEIGHTS), |p| Tensor::write_safetensors(&tensors, p))?;
        let meta = ReferenceMeta {
            services: self.services.clone(),
            apps: self.apps.clone(),
            prototype_services: self.prototype_services.clone(),
        };
        write_json(&dir.join(REFERENCE_META), &meta)
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let wpath = dir.join(REFERENCE_WEIGHTS);
        let tensors = Tensor::read_safetensors(&wpath).map_err(|e| Error::input(&wpath, e.to_string()))?;
        let get = |name: &str| -> Result<EmbeddingMatrix> {
            let t = tensors
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| Error::input(&wpath, format!("missing tensor `{name}`")))?;
            EmbeddingMatrix::from_tensor(&t.1)
        };
        let meta: ReferenceMeta = read_json(&dir.join(REFERENCE_META))?;
        let r = Reference {
            z_flow: get("z_flow")?,
            prototypes: get("prototypes")?,
            services: meta.services,
            apps: meta.apps,
            prototype_services: meta.prototype_services,
        };
        if r.z_flow.n != r.services.len() || r.prototypes.n != r.prototype_services.len() {
            return Err(Error::input(dir.join(REFERENCE_META), "labels do not match reference.safetensors"));
        }
        Ok(r)
    }
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::input(path, e.to_string()))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::input(path, format!("bad JSON: {e}")))
}

/// tch picks the format from the extension, so the temp file ends in `.safetensors` too.
fn save_safetensors_atomic(
    path: &Path,
    save: impl FnOnce(&Path) -> std::result::Result<(), tch::TchError>,
) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("weights");
    let tmp = dir.join(format!(".{name}.{}.tmp.safetensors", std::process::id()));
    if let Err(e) = save(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::input(path, format!("cannot write weights: {e}")));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Write weights then metadata (metadata last: a directory with a `checkpoint.json` is complete).
pub fn save_checkpoint(dir: &Path, vs: &nn::VarStore, meta: &CheckpointMeta) -> Result<()> {
    save_safetensors_atomic(&dir.join(WEIGHTS_FILE), |p| vs.save(p))?;
    write_json(&dir.join(META_FILE), meta)
}

/// `path` is a checkpoint directory or a file inside one.
pub fn checkpoint_dir(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
    }
}

/// Meta + a VarStore holding the saved weights and the model built on it.
pub fn load_model(path: &Path, device: Device) -> Result<(CheckpointMeta, nn::VarStore, FlowConX)> {
    let dir = checkpoint_dir(path);
    let meta_path = dir.join(META_FILE);
    let meta: CheckpointMeta = read_json(&meta_path)?;
    if meta.format != FORMAT {
        return Err(Error::input(&meta_path, format!("unsupported checkpoint format `{}`", meta.format)));
    }
    if let Some(why) = meta.model.shape_error() {
        return Err(Error::input(&meta_path, format!("bad model config: {why}")));
    }
    let mut vs = nn::VarStore::new(device);
    let model = FlowConX::new(vs.root(), &meta.model);
    let wpath = dir.join(&meta.weights_file);
    vs.load(&wpath).map_err(|e| Error::input(&wpath, format!("cannot load weights: {e}")))?;
    Ok((meta, vs, model))
}

/// Eval-mode outputs of `rows`, in order, one forward pass per `batch` rows (on `device`, where
/// they stay). The caller holds a `no_grad_guard`.
pub fn forward_chunks<'a>(
    model: &'a FlowConX,
    cfg: &'a ModelConfig,
    norm: &'a Normalizer,
    labels: &'a LabelMaps,
    rows: &'a [&'a FlowRow],
    batch: usize,
    device: Device,
) -> impl Iterator<Item = Outputs> + 'a {
    rows.chunks(batch.max(1))
        .map(move |c| model.forward_t(&Batch::build(c, &cfg.features, norm, labels, device), false))
}

/// Eval-mode embeddings of `rows`, in order, `batch` rows at a time.
pub fn embed_with(
    model: &FlowConX,
    cfg: &ModelConfig,
    norm: &Normalizer,
    labels: &LabelMaps,
    rows: &[&FlowRow],
    batch: usize,
    device: Device,
) -> Result<Embeddings> {
    let mut out = Embeddings::default();
    let dim = cfg.emb_dim();
    for m in [&mut out.z_flow, &mut out.z_app, &mut out.z_net] {
        m.dim = dim;
    }
    let _guard = tch::no_grad_guard();
    for o in forward_chunks(model, cfg, norm, labels, rows, batch, device) {
        out.z_flow.append(EmbeddingMatrix::from_tensor(&o.z_flow)?);
        out.z_app.append(EmbeddingMatrix::from_tensor(&o.z_app)?);
        out.z_net.append(EmbeddingMatrix::from_tensor(&o.z_net)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::augment::augment_row;
    use crate::dataset::rng::SplitMix;
    use crate::dataset::split::SplitMode;
    use crate::eval::run::Engine;
    use crate::infer::EngineChoice;
    use crate::model::ModelSize;

    fn rows() -> Vec<FlowRow> {
        (0..6)
            .map(|k| FlowRow {
                app: format!("app{}", k % 3),
                service: if k % 2 == 0 { "streaming".into() } else { "gaming".into() },
                packet_lengths: (0..(4 + k)).map(|i| 60.0 + 90.0 * ((i * k) % 7) as f32).collect(),
                iat_values: (0..(4 + k)).map(|i| (i * 3 % 5) as f32).collect(),
                directions: (0..(4 + k)).map(|i| if (i + k) % 3 == 0 { 1 } else { -1 }).collect(),
                rtt_ms: (k % 2 == 0).then_some(12.0 * k as f64),
                total_packets: (4 + k) as f64,
                total_fwd_packets: 2.0,
                protocol: 6,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn save_load_gives_identical_embeddings() {
        tch::manual_seed(1);
        let rows = rows();
        let refs: Vec<&FlowRow> = rows.iter().collect();
        let labels = LabelMaps::fit(rows.iter());
        let cfg = ModelConfig::preset(ModelSize::Small, labels.services.len(), labels.conditions.len(), 1.0);
        let norm = Normalizer::fit(rows.iter(), &cfg.features);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = FlowConX::new(vs.root(), &cfg);
        let before = embed_with(&model, &cfg, &norm, &labels, &refs, 4, Device::Cpu).unwrap();
        let meta = CheckpointMeta {
            format: FORMAT.into(),
            flowconx_version: "test".into(),
            libtorch_version: crate::runtime::LIBTORCH_VERSION.into(),
            weights_file: WEIGHTS_FILE.into(),
            model: cfg.clone(),
            normalizer: norm.clone(),
            labels: labels.clone(),
            training: serde_json::Value::Null,
            split_config: SplitConfig { mode: SplitMode::Capture, test_fraction: 0.2, seed: 1 },
            split: StoredSplit::default(),
            epochs_done: 0,
            resumed_from: None,
        };
        let dir = tempfile::tempdir().unwrap();
        save_checkpoint(dir.path(), &vs, &meta).unwrap();
        let reference = Reference {
            z_flow: before.z_flow.clone(),
            services: rows.iter().map(|r| r.service.clone()).collect(),
            apps: rows.iter().map(|r| r.app.clone()).collect(),
            prototypes: EmbeddingMatrix { n: 1, dim: before.z_flow.dim, data: before.z_flow.row(0).to_vec() },
            prototype_services: vec!["gaming".into()],
        };
        reference.save(dir.path()).unwrap();
        let loaded = Engine::load(&dir.path().join(WEIGHTS_FILE), Device::Cpu, EngineChoice::Tch).unwrap();
        // Same batch size: BLAS blocking (and so the last bits) depends on the batch shape.
        let after = loaded.embeddings(&refs, 4).unwrap();
        assert!(before == after, "embeddings changed after save → load");
        // The default on CPU is the host engine: same embeddings up to float rounding.
        let host = Engine::load(dir.path(), Device::Cpu, EngineChoice::Auto).unwrap();
        assert_eq!(host.engine_name(), "host");
        let h = host.embeddings(&refs, 4).unwrap();
        let d = h.z_flow.data.iter().zip(&after.z_flow.data).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(d < 1e-4, "host engine differs from tch by {d}");
        assert_eq!(loaded.meta.labels, labels);
        assert_eq!(Reference::load(dir.path()).unwrap(), reference);
        // Augmented copies are real rows with changed timing: z_app differs but stays normalised.
        let aug: Vec<FlowRow> =
            rows.iter().enumerate().map(|(i, r)| augment_row(r, &mut SplitMix::new(9, &[i as u64]))).collect();
        let aug = loaded.embeddings(&aug.iter().collect::<Vec<_>>(), 3).unwrap();
        assert_ne!(aug.z_app, after.z_app);
        let n: f32 = aug.z_app.row(0).iter().map(|v| v * v).sum();
        assert!((n - 1.0).abs() < 1e-4);
    }
}
