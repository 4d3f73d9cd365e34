//! The FlowCon-X encoder family: application encoder, network-condition encoder, context
//! fusion, condition adversary and a service head, with size presets.
pub mod adversary;
pub mod app_encoder;
pub mod attention;
pub mod conv_block;
pub mod dropout;
pub mod fusion;
pub mod net_encoder;
pub mod pooling;
pub mod transformer;

use crate::dataset::batch::Batch;
use crate::dataset::tensorize::{FeatureConfig, COND_FEATURES, PACKET_FEATURES};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelSize {
    /// FlowCon-X's dimensions: 128 packets, 24 condition bins, hidden 192, 6 heads, 3 conv blocks, 1 layer,
    /// BiGRU 2×64, 256-d.
    Seed,
    /// The default: 32 packets, 12 condition bins, hidden 64, 4 heads, 2 conv blocks, 1 layer, BiGRU 32, 64-d,
    /// learnt size (8-byte ranges) and position vectors.
    Small,
}

impl ModelSize {
    pub fn name(self) -> &'static str {
        match self {
            ModelSize::Seed => "seed",
            ModelSize::Small => "small",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub size: ModelSize,
    pub features: FeatureConfig,
    pub app: app_encoder::Config,
    pub net: net_encoder::Config,
    pub fusion: fusion::Config,
    pub adversary: adversary::Config,
    pub services: i64,
}

/// Dimensions a run sets over its preset (`train --time-bins`, `--cond-hidden`,
/// `--size-embedding`, `--position-embedding`, `--conv-blocks`, `--layers`, `--heads`,
/// `--ff-mult`); `None` keeps the preset's. The resulting config is stored in the checkpoint,
/// so inference follows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOverrides {
    /// Bins of the network-condition series.
    pub time_bins: Option<usize>,
    /// Hidden size of each direction of the condition BiGRU.
    pub cond_hidden: Option<i64>,
    /// Bytes per bucket of the learnt packet-size embedding; `Some(0)` turns it off.
    pub size_bucket: Option<usize>,
    /// Whether a vector per packet position is learnt.
    pub position_embedding: Option<bool>,
    /// Gated conv blocks of the packet encoder.
    pub conv_blocks: Option<i64>,
    /// Transformer layers of the packet encoder.
    pub layers: Option<i64>,
    /// Attention heads of the packet transformer and of the fusion.
    pub heads: Option<i64>,
    /// Width of the transformer's feed-forward layer, in multiples of the hidden size.
    pub ff_mult: Option<i64>,
}

impl ModelOverrides {
    pub fn is_empty(&self) -> bool {
        *self == ModelOverrides::default()
    }
}

impl ModelConfig {
    /// Why these dimensions cannot build a model (attention heads that are 0 or do not divide
    /// their width), checked before building: a hand-edited `checkpoint.json` must fail with a
    /// message, not a panic.
    pub fn shape_error(&self) -> Option<String> {
        for (what, width, heads) in
            [("hidden", self.app.hidden, self.app.heads), ("fusion", self.fusion.dim, self.fusion.heads)]
        {
            if heads < 1 || width < 1 || width % heads != 0 {
                return Some(format!("{heads} attention heads do not divide the {what} width {width}"));
            }
        }
        None
    }

    /// The preset with `o` applied (the fusion's condition width follows the BiGRU's).
    pub fn build(size: ModelSize, o: ModelOverrides, services: usize, conditions: usize) -> Self {
        let mut cfg = Self::preset(size, services, conditions, 1.0);
        if let Some(t) = o.time_bins {
            cfg.features.time_bins = t;
        }
        if let Some(g) = o.cond_hidden {
            cfg.net.hidden = g;
            cfg.fusion.cond_dim = 2 * g;
        }
        if let Some(b) = o.size_bucket {
            cfg.features.size_bucket = b;
        }
        if let Some(on) = o.position_embedding {
            cfg.app.positions = if on { cfg.features.max_packets as i64 } else { 0 };
        }
        if let Some(c) = o.conv_blocks {
            cfg.app.conv_blocks = c;
        }
        if let Some(l) = o.layers {
            cfg.app.layers = l;
        }
        if let Some(h) = o.heads {
            cfg.app.heads = h;
            cfg.fusion.heads = h;
        }
        if let Some(f) = o.ff_mult {
            cfg.app.ff_mult = f;
        }
        cfg.app.size_vocab = cfg.features.size_vocab() as i64;
        cfg
    }

    pub fn preset(size: ModelSize, services: usize, conditions: usize, adv_lambda: f64) -> Self {
        // (packets, condition time bins, hidden, heads, conv blocks, layers, gru hidden, gru layers,
        // embedding). `small` cuts its ≤ 32 packets into 12 bins rather than 24: the same k-NN and
        // capture-split AUROC over 14 paired trainings, a lower random-split AUROC, 1.18× the
        // flows/s (docs/training.md).
        let (p, t, h, heads, convs, layers, g, gl, e) = match size {
            ModelSize::Seed => (128, 24, 192, 6, 3, 1, 64, 2, 256),
            ModelSize::Small => (32, 12, 64, 4, 2, 1, 32, 1, 64),
        };
        // `small` learns a vector per 8-byte size range and per packet position: over 14 paired
        // trainings, higher k-NN, leave-one-app-out and open-set AUROC on both splits
        // (docs/training.md); `seed` keeps FlowCon-X's inputs.
        let (size_bucket, positions) = match size {
            ModelSize::Seed => (0, 0),
            ModelSize::Small => (8, p),
        };
        let features = FeatureConfig { max_packets: p, time_bins: t, size_bucket };
        let dropout = 0.1;
        ModelConfig {
            size,
            features,
            app: app_encoder::Config {
                in_dim: PACKET_FEATURES as i64,
                hidden: h,
                heads,
                conv_blocks: convs,
                kernel: 5,
                layers,
                ff_mult: 2,
                emb_dim: e,
                dropout,
                size_vocab: features.size_vocab() as i64,
                positions: positions as i64,
            },
            net: net_encoder::Config { in_dim: COND_FEATURES as i64, hidden: g, gru_layers: gl, emb_dim: e },
            fusion: fusion::Config { dim: h, cond_dim: 2 * g, heads, app_dim: e, emb_dim: e, dropout },
            adversary: adversary::Config { in_dim: e, hidden: h, classes: conditions as i64, lambda: adv_lambda },
            services: services as i64,
        }
    }

    pub fn emb_dim(&self) -> usize {
        self.fusion.emb_dim as usize
    }
}

pub struct FlowConX {
    pub app: app_encoder::AppEncoder,
    pub net: net_encoder::NetEncoder,
    pub fusion: fusion::ContextFusion,
    pub adversary: adversary::ConditionAdversary,
    pub service_head: nn::Linear,
}

pub struct Outputs {
    pub z_app: Tensor,
    pub z_net: Tensor,
    pub z_flow: Tensor,
    /// `[B, conditions]`
    pub adv_logits: Tensor,
    /// `[B, services]`
    pub service_logits: Tensor,
}

impl FlowConX {
    pub fn new(vs: nn::Path, cfg: &ModelConfig) -> Self {
        FlowConX {
            app: app_encoder::AppEncoder::new(&vs / "app", &cfg.app),
            net: net_encoder::NetEncoder::new(&vs / "net", &cfg.net),
            fusion: fusion::ContextFusion::new(&vs / "fusion", &cfg.fusion),
            adversary: adversary::ConditionAdversary::new(&vs / "adversary", &cfg.adversary),
            service_head: nn::linear(&vs / "service_head", cfg.fusion.emb_dim, cfg.services, Default::default()),
        }
    }

    pub fn forward_t(&self, batch: &Batch, train: bool) -> Outputs {
        let app = self.app.forward_t(&batch.packets, batch.size_tokens.as_ref(), &batch.mask, train);
        let net = self.net.forward(&batch.cond);
        let z_flow = self.fusion.forward_t(&app.tokens, &batch.mask, &net.tokens, &app.z_app, train);
        Outputs {
            adv_logits: self.adversary.forward(&app.z_app),
            service_logits: z_flow.apply(&self.service_head),
            z_app: app.z_app,
            z_net: net.z_net,
            z_flow,
        }
    }
}

/// Parameters that get weight decay: weights of linear / conv / recurrent layers, not norms or biases.
pub fn decays(name: &str) -> bool {
    !(name.contains("bias") || name.contains("norm"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::labels::LabelMaps;
    use crate::dataset::tensorize::Normalizer;

    #[test]
    fn shape_error_catches_heads_that_cannot_build() {
        let ok = ModelConfig::build(ModelSize::Small, ModelOverrides::default(), 3, 2);
        assert_eq!(ok.shape_error(), None);
        let mut zero = ok.clone();
        zero.app.heads = 0;
        assert_eq!(
            zero.shape_error(),
            Some(format!("0 attention heads do not divide the hidden width {}", ok.app.hidden))
        );
        let mut odd = ok.clone();
        odd.fusion.heads = odd.fusion.dim + 1;
        assert!(odd.shape_error().is_some_and(|e| e.contains("fusion width")));
    }
    use crate::features::schema::FlowRow;
    use tch::{Device, Kind};

    fn row(n: usize) -> FlowRow {
        FlowRow {
            app: "a".into(),
            service: "s".into(),
            packet_lengths: (0..n).map(|i| 60.0 + 10.0 * i as f32).collect(),
            iat_values: (0..n).map(|i| i as f32).collect(),
            directions: (0..n).map(|i| if i % 3 == 0 { 1 } else { -1 }).collect(),
            total_packets: n as f64,
            protocol: 17,
            ..Default::default()
        }
    }

    #[test]
    fn overrides_change_only_their_dimensions() {
        let base = ModelConfig::preset(ModelSize::Small, 5, 3, 1.0);
        assert_eq!(ModelConfig::build(ModelSize::Small, ModelOverrides::default(), 5, 3), base);
        let o = ModelOverrides { time_bins: Some(8), cond_hidden: Some(16), ..Default::default() };
        let cfg = ModelConfig::build(ModelSize::Small, o, 5, 3);
        assert_eq!((cfg.features.time_bins, cfg.net.hidden, cfg.fusion.cond_dim), (8, 16, 32));
        let back = ModelConfig { features: base.features, net: base.net, fusion: base.fusion, ..cfg.clone() };
        assert_eq!(back, base, "nothing else moved");
        // `small` learns size (8-byte buckets, both directions) and position vectors; `seed` neither.
        assert_eq!((base.features.size_bucket, base.app.size_vocab, base.app.positions), (8, 385, 32));
        let seed = ModelConfig::preset(ModelSize::Seed, 5, 3, 1.0);
        assert_eq!((seed.features.size_bucket, seed.app.size_vocab, seed.app.positions), (0, 0, 0));
        let off = ModelOverrides { size_bucket: Some(0), position_embedding: Some(false), ..Default::default() };
        let bare = ModelConfig::build(ModelSize::Small, off, 5, 3);
        assert_eq!((bare.features.size_bucket, bare.app.size_vocab, bare.app.positions), (0, 0, 0));
        let lean = ModelOverrides { conv_blocks: Some(0), ff_mult: Some(1), ..Default::default() };
        let lean = ModelConfig::build(ModelSize::Small, lean, 5, 3);
        assert_eq!((lean.app.conv_blocks, lean.app.ff_mult), (0, 1));
        assert_eq!(ModelConfig { app: base.app, ..lean }, base, "nothing else moved");
        // The model builds with them (the fusion's condition width follows the BiGRU's).
        let vs = nn::VarStore::new(Device::Cpu);
        let _m = FlowConX::new(vs.root(), &cfg);
        assert_eq!(vs.variables()["fusion.cross.kv.weight"].size(), [128, 32]);
    }

    #[test]
    fn checkpoints_from_before_the_size_table_load_without_it() {
        // A `checkpoint.json` model config written before session 10 has none of the new keys.
        let mut v = serde_json::to_value(ModelConfig::preset(ModelSize::Small, 5, 3, 1.0)).unwrap();
        for (part, key) in [("features", "size_bucket"), ("app", "size_vocab"), ("app", "positions")] {
            assert!(v[part].as_object_mut().unwrap().remove(key).is_some());
        }
        let old: ModelConfig = serde_json::from_value(v).unwrap();
        let off = ModelOverrides { size_bucket: Some(0), position_embedding: Some(false), ..Default::default() };
        assert_eq!(old, ModelConfig::build(ModelSize::Small, off, 5, 3));
    }

    #[test]
    fn weight_decay_skips_norms_and_biases() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _m = FlowConX::new(vs.root(), &ModelConfig::preset(ModelSize::Small, 2, 5, 1.0));
        let names: Vec<String> = vs.variables().into_keys().collect();
        let decayed: Vec<&String> = names.iter().filter(|n| decays(n)).collect();
        // The learnt position vectors decay towards 0, the value of a position never trained.
        let weight = |n: &str| n.ends_with("weight") || n.contains(".weight_") || n.ends_with("pos_emb");
        assert!(decayed.iter().all(|n| weight(n)), "{decayed:?}");
        assert!(decayed.iter().any(|n| n.as_str() == "app.size_emb.weight"));
        assert!(decayed.iter().any(|n| n.as_str() == "net.gru.weight_hh_l0"));
        assert!(!names.iter().filter(|n| n.contains("norm") || n.contains("bias")).any(|n| decays(n)));
    }

    #[test]
    fn padding_does_not_change_outputs() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = ModelConfig::preset(ModelSize::Small, 2, 5, 1.0);
        let model = FlowConX::new(vs.root(), &cfg);
        let rows = [row(5), row(12)];
        let refs: Vec<&FlowRow> = rows.iter().collect();
        let norm = Normalizer::fit(rows.iter(), &cfg.features);
        let labels = LabelMaps::fit(rows.iter());
        let batch = Batch::build(&refs, &cfg.features, &norm, &labels, Device::Cpu);
        let a = model.forward_t(&batch, false);
        // Put garbage on the padded positions (never real packets).
        let pad = batch.mask.logical_not().unsqueeze(-1).to_kind(Kind::Float);
        let noisy = Batch { packets: &batch.packets + pad * 1000.0, ..batch };
        let b = model.forward_t(&noisy, false);
        for (x, y) in [(&a.z_app, &b.z_app), (&a.z_flow, &b.z_flow)] {
            let d = (x - y).abs().max().double_value(&[]);
            assert!(d < 1e-5, "padding changed the output by {d}");
        }
        assert_eq!(a.z_flow.size(), vec![2, cfg.emb_dim() as i64]);
        let norms = a.z_flow.norm_scalaropt_dim(2.0, [-1], false);
        assert!((norms - 1.0).abs().max().double_value(&[]) < 1e-5);
    }
}
