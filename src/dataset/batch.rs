//! Rows → one batch of tensors (features normalised with the training statistics).
use super::labels::LabelMaps;
use super::tensorize::{FeatureConfig, Normalizer, COND_FEATURES, PACKET_FEATURES};
use crate::features::schema::FlowRow;
use rayon::prelude::*;
use tch::{Device, Tensor};

pub struct Batch {
    /// `[B, P, PACKET_FEATURES]`
    pub packets: Tensor,
    /// `[B, P]` bool, true = real packet.
    pub mask: Tensor,
    /// `[B, T, COND_FEATURES]`
    pub cond: Tensor,
    /// `[B, P]` i64 size tokens, when the features have them.
    pub size_tokens: Option<Tensor>,
    /// `[B]` i64 class ids (-1 = not in the label maps).
    pub service: Tensor,
    pub app: Tensor,
    pub condition: Tensor,
}

impl Batch {
    pub fn build(
        rows: &[&FlowRow],
        feat: &FeatureConfig,
        norm: &Normalizer,
        labels: &LabelMaps,
        device: Device,
    ) -> Batch {
        let b = rows.len() as i64;
        let (p, t) = (feat.max_packets as i64, feat.time_bins as i64);
        let feats: Vec<_> = rows.par_iter().map(|r| norm.features(r, feat)).collect();
        let mut packets = Vec::with_capacity(feats.len() * feat.max_packets * PACKET_FEATURES);
        let mut mask = Vec::with_capacity(feats.len() * feat.max_packets);
        let mut cond = Vec::with_capacity(feats.len() * feat.time_bins * COND_FEATURES);
        let mut size_tokens = Vec::with_capacity(if feat.size_bucket > 0 { feats.len() * feat.max_packets } else { 0 });
        for f in &feats {
            size_tokens.extend_from_slice(&f.size_tokens);
            packets.extend_from_slice(&f.packets);
            mask.extend(f.mask.iter().map(|&m| m > 0.0));
            cond.extend_from_slice(&f.cond);
        }
        let id = |o: Option<usize>| o.map(|v| v as i64).unwrap_or(-1);
        let ids: Vec<(i64, i64, i64)> = rows
            .iter()
            .map(|r| {
                let (s, a, c) = labels.ids(r);
                (id(s), id(a), id(c))
            })
            .collect();
        let col =
            |f: fn(&(i64, i64, i64)) -> i64| Tensor::from_slice(&ids.iter().map(f).collect::<Vec<_>>()).to(device);
        Batch {
            packets: Tensor::from_slice(&packets).view([b, p, PACKET_FEATURES as i64]).to(device),
            mask: Tensor::from_slice(&mask).view([b, p]).to(device),
            cond: Tensor::from_slice(&cond).view([b, t, COND_FEATURES as i64]).to(device),
            size_tokens: (feat.size_bucket > 0).then(|| Tensor::from_slice(&size_tokens).view([b, p]).to(device)),
            service: col(|x| x.0),
            app: col(|x| x.1),
            condition: col(|x| x.2),
        }
    }
}
