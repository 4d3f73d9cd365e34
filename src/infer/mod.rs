//! Pure-Rust CPU inference of a trained FlowCon-X model: the eval-mode forward pass of
//! `model::FlowConX` (dropout off) on plain f32 slices, with matrix products on the packed
//! kernel of `matmul`. libtorch pays per-op overhead that dominates at these sizes
//! (a BiGRU over 12 steps is ~75 tiny ops); here a group of flows is one tight single-threaded pass,
//! and a batch is groups in parallel on the current rayon pool. Only a flow's real packets are computed:
//! padding is masked everywhere it could reach the outputs (see `conv_block`, `transformer`).
//! Weights come from the tch `VarStore` once; training stays on tch.
pub mod app_encoder;
pub mod attention;
pub mod backend;
pub mod conv_block;
pub mod fusion;
pub mod gru;
pub mod math;
pub mod matmul;
pub mod net_encoder;
pub mod ops;
pub mod pooling;
pub mod transformer;
pub mod weights;

use crate::dataset::tensorize::{Normalizer, RowFeatures, COND_FEATURES, PACKET_FEATURES};
use crate::error::{Error, Result};
use crate::features::schema::FlowRow;
use crate::model::ModelConfig;
use crate::train::checkpoint::{EmbeddingMatrix, Embeddings};
pub use backend::{Backend, Inputs, Prepared};
use ops::Scratch;
use rayon::prelude::*;
use std::borrow::Cow;
use std::cell::RefCell;
use tch::{nn, Device};

/// Which implementation runs eval-mode inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineChoice {
    /// Host engine on a CPU device, tch on CUDA / MPS.
    #[default]
    Auto,
    Host,
    Tch,
}

impl EngineChoice {
    pub fn use_host(self, device: Device) -> bool {
        match self {
            EngineChoice::Auto => device == Device::Cpu,
            EngineChoice::Host => true,
            EngineChoice::Tch => false,
        }
    }
}

/// `--threads` of the inference commands: libtorch's intra-op threads and the global rayon pool
/// the host engine's batches run on. A pool already built (a second call in one process) is kept.
pub fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads {
        tch::set_num_threads(n as i32);
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
    }
}

/// Flows per rayon task: enough rows for the GRU's per-step product to fill the kernel's 6-row
/// blocks, few enough that a batch of 256 still spreads over the threads.
const FLOW_GROUP: usize = 12;

thread_local! {
    /// Per-thread buffers: no allocation per flow once warm.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The eval-mode model on the host.
#[derive(Debug, Clone)]
pub struct HostModel {
    cfg: ModelConfig,
    app: app_encoder::AppEncoder,
    net: net_encoder::NetEncoder,
    fusion: fusion::ContextFusion,
}

/// A group of flows' three embeddings (each `emb_dim` wide, one row per flow).
pub struct FlowOut<'a> {
    pub z_flow: &'a mut [f32],
    pub z_app: &'a mut [f32],
    pub z_net: &'a mut [f32],
}

impl HostModel {
    /// Copy the weights of a `FlowConX` built on `vs` with `cfg` (names as `FlowConX::new` gives them).
    pub fn from_varstore(vs: &nn::VarStore, cfg: &ModelConfig) -> Result<Self> {
        let w = weights::Weights::from_varstore(vs);
        if cfg.app.in_dim as usize != PACKET_FEATURES || cfg.net.in_dim as usize != COND_FEATURES {
            return Err(Error::Config("host model: feature widths differ from the tensorizer's".into()));
        }
        if cfg.app.emb_dim != cfg.fusion.app_dim || cfg.fusion.emb_dim != cfg.net.emb_dim {
            return Err(Error::Config("host model: embedding widths differ between encoders".into()));
        }
        Ok(HostModel {
            cfg: cfg.clone(),
            app: app_encoder::AppEncoder::load(&w, "app", &cfg.app)?,
            net: net_encoder::NetEncoder::load(&w, "net", &cfg.net)?,
            fusion: fusion::ContextFusion::load(&w, "fusion", &cfg.fusion)?,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    pub fn emb_dim(&self) -> usize {
        self.cfg.emb_dim()
    }

    /// A group of flows from their normalised features (`Normalizer::apply` done); `out` holds
    /// `feats.len()` rows of each embedding. The flows' condition series run through the GRU
    /// together (one matmul per step for the group); the packet encoder and fusion run per flow.
    /// Each flow's embeddings are bit-identical to computing it alone.
    pub fn forward_group(&self, feats: &[&RowFeatures], out: FlowOut<'_>, s: &mut Scratch) {
        let (t, e, n) = (self.cfg.features.time_bins, self.emb_dim(), feats.len());
        let (cw, td) = (t * COND_FEATURES, t * self.net.token_dim());
        let mut conds = s.take_for_overwrite(n * cw);
        for (c, f) in conds.chunks_exact_mut(cw).zip(feats) {
            c.copy_from_slice(&f.cond[..cw]);
        }
        let mut cond = s.take_for_overwrite(n * td);
        self.net.forward(&conds, n, t, &mut cond, out.z_net, s);
        let p = self.cfg.features.max_packets;
        let h = self.app.hidden;
        for (i, f) in feats.iter().enumerate() {
            // Tokens after the last real packet are padding (the mask is a prefix; a row without
            // packets has token 0 marked real).
            let rows = f.mask[..p].iter().rposition(|&m| m > 0.0).map_or(1, |i| i + 1);
            let mut tokens = s.take_for_overwrite(rows * h);
            let z_app = &mut out.z_app[i * e..(i + 1) * e];
            self.app.forward(&f.packets, &f.size_tokens, &f.mask, rows, &mut tokens, z_app, s);
            let z_flow = &mut out.z_flow[i * e..(i + 1) * e];
            self.fusion.forward(&tokens, &f.mask, rows, &cond[i * td..(i + 1) * td], t, &*z_app, z_flow, s);
            s.give(tokens);
        }
        s.give(cond);
        s.give(conds);
    }

    /// Normalised features of several flows, in order. Groups of flows run in parallel on the
    /// current rayon pool, each computed the same way whatever thread or group runs it.
    pub fn forward(&self, feats: &[RowFeatures]) -> Embeddings {
        self.run(feats.len(), |i| Cow::Borrowed(&feats[i]))
    }

    /// Rows → features (normalised with `norm`) → embeddings, in order; features are built
    /// inside each group's task.
    pub fn embed_rows(&self, rows: &[&FlowRow], norm: &Normalizer) -> Embeddings {
        self.run(rows.len(), |i| Cow::Owned(norm.features(rows[i], &self.cfg.features)))
    }

    fn run<'f>(&self, n: usize, feature: impl Fn(usize) -> Cow<'f, RowFeatures> + Sync) -> Embeddings {
        let e = self.emb_dim();
        let mut out = Embeddings::default();
        for m in [&mut out.z_flow, &mut out.z_app, &mut out.z_net] {
            *m = EmbeddingMatrix { n, dim: e, data: vec![0f32; n * e] };
        }
        let group = |g: usize, z_flow: &mut [f32], z_app: &mut [f32], z_net: &mut [f32]| {
            let first = g * FLOW_GROUP;
            let feats: Vec<Cow<'f, RowFeatures>> = (first..first + z_flow.len() / e).map(&feature).collect();
            let refs: Vec<&RowFeatures> = feats.iter().map(|f| f.as_ref()).collect();
            SCRATCH.with(|s| self.forward_group(&refs, FlowOut { z_flow, z_app, z_net }, &mut s.borrow_mut()))
        };
        if n == 0 {
            return out;
        }
        if n <= FLOW_GROUP {
            // One group (e.g. batch 1): no hand-off to the pool.
            group(0, &mut out.z_flow.data, &mut out.z_app.data, &mut out.z_net.data);
        } else {
            let w = FLOW_GROUP * e;
            out.z_flow
                .data
                .par_chunks_mut(w)
                .zip(out.z_app.data.par_chunks_mut(w))
                .zip(out.z_net.data.par_chunks_mut(w))
                .enumerate()
                .for_each(|(g, ((f, a), nt))| group(g, f, a, nt));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::labels::LabelMaps;
    use crate::features::schema::read_rows;
    use crate::model::{FlowConX, ModelOverrides, ModelSize};
    use crate::train::checkpoint::{embed_with, load_model};
    use std::path::Path;
    use tch::{Kind, Tensor};

    const SAMPLE: &str = "data/samples/processed/fiveg_flows_sample.csv";
    const RELEASE: &str = "outputs/release/capture";

    /// Real sample rows: the shortest and longest, rows with and without rtt, plus real rows cut
    /// to their first 0, 1 and 2 packets (the sample has no such short flows).
    fn test_rows() -> Vec<FlowRow> {
        let all = read_rows(Path::new(SAMPLE)).unwrap();
        let mut idx: Vec<usize> = (0..all.len()).collect();
        idx.sort_by_key(|&i| (all[i].packet_lengths.len(), i));
        let mut rows: Vec<FlowRow> = idx.iter().step_by(idx.len() / 12).map(|&i| all[i].clone()).collect();
        rows.extend(idx.iter().rev().take(3).map(|&i| all[i].clone()));
        rows.extend(all.iter().filter(|r| r.rtt_ms.is_none()).take(2).cloned());
        for n in [0, 1, 2] {
            let mut r = all[idx[idx.len() / 2]].clone();
            r.packet_lengths.truncate(n);
            r.iat_values.truncate(n);
            r.directions.truncate(n);
            rows.push(r);
        }
        assert!(rows.iter().any(|r| r.jitter_ms.is_none()) && rows.iter().any(|r| r.packet_lengths.len() == 64));
        rows
    }

    fn diff(a: &EmbeddingMatrix, b: &EmbeddingMatrix) -> f32 {
        assert_eq!((a.n, a.dim), (b.n, b.dim));
        ops::tests::max_diff(&a.data, &b.data)
    }

    /// Host vs tch on the same rows: the max abs difference over z_flow, z_app, z_net.
    fn compare(vs: &nn::VarStore, model: &FlowConX, cfg: &ModelConfig, norm: &Normalizer, labels: &LabelMaps) -> f32 {
        let rows = test_rows();
        let refs: Vec<&FlowRow> = rows.iter().collect();
        let want = embed_with(model, cfg, norm, labels, &refs, 64, Device::Cpu).unwrap();
        let host = HostModel::from_varstore(vs, cfg).unwrap();
        let got = host.embed_rows(&refs, norm);
        let d = diff(&got.z_flow, &want.z_flow).max(diff(&got.z_app, &want.z_app)).max(diff(&got.z_net, &want.z_net));
        eprintln!("{:?}: host vs tch max diff {d:e} over {} rows", cfg.size, rows.len());
        d
    }

    fn random_model(size: ModelSize) -> (nn::VarStore, FlowConX, ModelConfig) {
        random_model_with(size, ModelOverrides::default())
    }

    fn random_model_with(size: ModelSize, o: ModelOverrides) -> (nn::VarStore, FlowConX, ModelConfig) {
        tch::manual_seed(11);
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = ModelConfig::build(size, o, 5, 5);
        let model = FlowConX::new(vs.root(), &cfg);
        // Norm scales/shifts and biases start at 1 / 0: perturb every weight so each is exercised.
        tch::no_grad(|| {
            for (_, mut v) in vs.variables() {
                let noise = Tensor::randn(v.size(), (Kind::Float, Device::Cpu)) * 0.1;
                let _ = v.g_add_(&noise);
            }
        });
        (vs, model, cfg)
    }

    #[test]
    fn small_and_seed_presets_match_tch() {
        let rows = read_rows(Path::new(SAMPLE)).unwrap();
        let labels = LabelMaps::fit(rows.iter());
        for size in [ModelSize::Small, ModelSize::Seed] {
            let (vs, model, cfg) = random_model(size);
            let norm = Normalizer::fit(rows.iter(), &cfg.features);
            let d = compare(&vs, &model, &cfg, &norm, &labels);
            assert!(d < 1e-4, "{size:?}: host differs from tch by {d}");
        }
    }

    #[test]
    fn size_and_position_embeddings_match_tch() {
        let rows = read_rows(Path::new(SAMPLE)).unwrap();
        let labels = LabelMaps::fit(rows.iter());
        // `small` has both (size buckets of 8 bytes); here each alone, with other buckets.
        for (bucket, pos) in [(16, false), (0, true)] {
            let o = ModelOverrides { size_bucket: Some(bucket), position_embedding: Some(pos), ..Default::default() };
            let (vs, model, cfg) = random_model_with(ModelSize::Small, o);
            let vocab = if bucket == 0 { 0 } else { 1 + 2 * 1536 / bucket as i64 };
            assert_eq!((cfg.app.size_vocab, cfg.app.positions), (vocab, 32 * pos as i64));
            let norm = Normalizer::fit(rows.iter(), &cfg.features);
            let d = compare(&vs, &model, &cfg, &norm, &labels);
            assert!(d < 1e-4, "size bucket {bucket}, positions {pos}: host differs from tch by {d}");
        }
    }

    #[test]
    fn released_checkpoint_matches_tch() {
        let (meta, vs, model) = load_model(Path::new(RELEASE), Device::Cpu).unwrap();
        let d = compare(&vs, &model, &meta.model, &meta.normalizer, &meta.labels);
        assert!(d < 1e-4, "release checkpoint: host differs from tch by {d}");
    }

    #[test]
    fn batch_equals_rows_and_thread_count_does_not_matter() {
        let (vs, _model, cfg) = random_model(ModelSize::Small);
        let rows = test_rows();
        let refs: Vec<&FlowRow> = rows.iter().collect();
        let norm = Normalizer::fit(rows.iter(), &cfg.features);
        let host = HostModel::from_varstore(&vs, &cfg).unwrap();
        let pool = |t: usize| rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
        let one = pool(1).install(|| host.embed_rows(&refs, &norm));
        let two = pool(2).install(|| host.embed_rows(&refs, &norm));
        assert!(one == two, "embeddings depend on the thread count");
        for (i, r) in refs.iter().enumerate() {
            let single = host.embed_rows(&[r], &norm);
            assert_eq!(single.z_flow.data, one.z_flow.row(i), "row {i} alone differs from its batch row");
            assert_eq!(single.z_net.data, one.z_net.row(i));
        }
        // Prepared features give the same result as rows.
        let feats: Vec<RowFeatures> = refs.iter().map(|r| norm.features(r, &cfg.features)).collect();
        assert!(host.forward(&feats) == one);
    }

    #[test]
    fn missing_weight_is_an_error() {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = ModelConfig::preset(ModelSize::Small, 2, 5, 1.0);
        let err = HostModel::from_varstore(&vs, &cfg).unwrap_err();
        assert!(err.to_string().contains("app.input.weight"), "{err}");
    }
}
