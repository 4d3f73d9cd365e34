//! Training losses. Labels are i64 class ids; -1 marks "no label" and is ignored everywhere.
//! Every function returns a scalar that is 0 (still in the graph) when it has nothing to compare.
use tch::{Kind, Reduction, Tensor};

fn zero_like(z: &Tensor) -> Tensor {
    z.sum(Kind::Float) * 0.0
}

/// Outlier exposure on the open-set score: each outlier row's highest cosine to the batch's
/// service prototypes (the unit mean of each present class's `known` rows, held fixed) above
/// `margin` costs its square, averaged over the outliers. Pushes background traffic away from
/// every class without moving the classes.
pub fn outlier_margin(outliers: &Tensor, known: &Tensor, labels: &Tensor, classes: i64, margin: f64) -> Tensor {
    let (o, _d) = outliers.size2().expect("outliers [O, D]");
    let valid = labels.ge(0);
    if o == 0 || classes == 0 || valid.sum(Kind::Int64).int64_value(&[]) == 0 {
        return zero_like(outliers);
    }
    // [B, C] one-hot of the labelled rows (−1 rows are all zero).
    let onehot = labels.clamp_min(0).one_hot(classes).to_kind(Kind::Float) * valid.unsqueeze(1).to_kind(Kind::Float);
    let sums = onehot.tr().matmul(&known.detach());
    let present = onehot.sum_dim_intlist(0, false, Kind::Float).gt(0.0);
    let protos = crate::model::pooling::l2_normalize(&sums);
    let sim = outliers.matmul(&protos.tr()).masked_fill(&present.logical_not().unsqueeze(0), f64::NEG_INFINITY);
    let top = sim.amax([1], false);
    (top - margin).relu().square().mean(Kind::Float)
}

/// Supervised contrastive loss (Khosla et al.) of `anchors [B, D]` (L2-normalised) against the
/// other anchors and an optional memory `bank = (z [M, D], labels [M])`. For anchor i with
/// positives P(i): −1/|P(i)| Σ_p log(exp(s_ip/τ) / Σ_{a≠i} exp(s_ia/τ)), averaged over anchors
/// that have a positive.
pub fn supcon(anchors: &Tensor, labels: &Tensor, bank: Option<(&Tensor, &Tensor)>, temperature: f64) -> Tensor {
    let (b, _d) = anchors.size2().expect("anchors [B, D]");
    let (contrast, clabels) = match bank {
        Some((bz, bl)) => (Tensor::cat(&[anchors, bz], 0), Tensor::cat(&[labels, bl], 0)),
        None => (anchors.shallow_clone(), labels.shallow_clone()),
    };
    let n = contrast.size()[0];
    let logits = anchors.matmul(&contrast.tr()) / temperature;
    let not_self = Tensor::eye_m(b, n, (Kind::Bool, anchors.device())).logical_not();
    let valid_c = clabels.ge(0).unsqueeze(0);
    let denom = not_self.logical_and(&valid_c);
    let pos = labels
        .unsqueeze(1)
        .eq_tensor(&clabels.unsqueeze(0))
        .logical_and(&denom)
        .logical_and(&labels.ge(0).unsqueeze(1));
    let masked = logits.masked_fill(&denom.logical_not(), f64::NEG_INFINITY);
    let log_prob = &logits - masked.logsumexp([1], true);
    let posf = pos.to_kind(Kind::Float);
    let count = posf.sum_dim_intlist(1, false, Kind::Float);
    let has = count.gt(0.0);
    if has.sum(Kind::Int64).int64_value(&[]) == 0 {
        return zero_like(anchors);
    }
    // masked_fill keeps −inf·0 out of the sum for excluded pairs.
    let per_anchor = -(log_prob.masked_fill(&pos.logical_not(), 0.0) * &posf).sum_dim_intlist(1, false, Kind::Float)
        / count.clamp_min(1.0);
    per_anchor.masked_select(&has).mean(Kind::Float)
}

/// Pairwise margin separation on cosine similarities of `z [B, D]`: pairs with the same label
/// are pulled up to `positive_target`, pairs with different labels pushed below
/// `negative_margin`; squared hinges, mean over positive pairs + mean over negative pairs.
pub fn pairwise_margin(z: &Tensor, labels: &Tensor, negative_margin: f64, positive_target: f64) -> Tensor {
    let (b, _d) = z.size2().expect("z [B, D]");
    let sim = z.matmul(&z.tr());
    let upper = Tensor::ones([b, b], (Kind::Bool, z.device())).triu(1);
    let valid = labels.ge(0);
    let both = valid.unsqueeze(1).logical_and(&valid.unsqueeze(0)).logical_and(&upper);
    let same = labels.unsqueeze(1).eq_tensor(&labels.unsqueeze(0));
    let pos = both.logical_and(&same);
    let neg = both.logical_and(&same.logical_not());
    let term = |mask: &Tensor, hinge: Tensor| -> Tensor {
        if mask.sum(Kind::Int64).int64_value(&[]) == 0 {
            zero_like(z)
        } else {
            hinge.clamp_min(0.0).square().masked_select(mask).mean(Kind::Float)
        }
    };
    term(&pos, (&sim * -1.0) + positive_target) + term(&neg, &sim - negative_margin)
}

/// Prototype alignment: mean of 1 − cos(z_i, p_{y_i}) over rows whose class has a prototype.
/// `prototypes [S, D]` L2-normalised, `present [S]` bool.
pub fn prototype_alignment(z: &Tensor, labels: &Tensor, prototypes: &Tensor, present: &Tensor) -> Tensor {
    let valid = labels.ge(0);
    let safe = labels.clamp_min(0);
    let ok = valid.logical_and(&present.index_select(0, &safe));
    if ok.sum(Kind::Int64).int64_value(&[]) == 0 {
        return zero_like(z);
    }
    let p = prototypes.index_select(0, &safe);
    let cos = (z * p).sum_dim_intlist(-1, false, Kind::Float);
    (cos * -1.0 + 1.0).masked_select(&ok).mean(Kind::Float)
}

/// App/network disentanglement: mean squared cosine between `z_app` and `z_net` (both L2-normalised).
pub fn disentangle(z_app: &Tensor, z_net: &Tensor) -> Tensor {
    (z_app * z_net).sum_dim_intlist(-1, false, Kind::Float).square().mean(Kind::Float)
}

/// Cross-entropy over rows with a label (≥ 0).
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Tensor {
    if labels.ge(0).sum(Kind::Int64).int64_value(&[]) == 0 {
        return zero_like(logits);
    }
    logits.log_softmax(-1, Kind::Float).nll_loss_nd::<Tensor>(labels, None, Reduction::Mean, -1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t2(v: &[f32], r: i64, c: i64) -> Tensor {
        Tensor::from_slice(v).view([r, c])
    }
    fn val(t: &Tensor) -> f64 {
        t.double_value(&[])
    }
    fn lse(xs: &[f64]) -> f64 {
        xs.iter().map(|x| x.exp()).sum::<f64>().ln()
    }

    // z0 = (1,0), z1 = (0.6,0.8), z2 = (0,1); cos: s01 = 0.6, s02 = 0, s12 = 0.8.
    fn three() -> Tensor {
        t2(&[1.0, 0.0, 0.6, 0.8, 0.0, 1.0], 3, 2)
    }

    #[test]
    fn outlier_margin_penalises_closeness_to_present_prototypes() {
        // Known rows z0, z1 of class 0 (prototype ∝ (1.6, 0.8)) and z2 of class 1 (0, 1); class 2
        // is absent. Outlier (1, 0): cosine 0.894 to class 0, 0 to class 1.
        let labels = Tensor::from_slice(&[0i64, 0, 1]);
        let out = t2(&[1.0, 0.0], 1, 2);
        let c0 = 1.6 / (1.6f64 * 1.6 + 0.8 * 0.8).sqrt();
        let got = val(&outlier_margin(&out, &three(), &labels, 3, 0.5));
        assert!((got - (c0 - 0.5).powi(2)).abs() < 1e-6, "{got}");
        // Below the margin: no cost. An absent class's (zero) prototype is never the nearest.
        assert_eq!(val(&outlier_margin(&t2(&[-1.0, 0.0], 1, 2), &three(), &labels, 3, 0.5)), 0.0);
        // With a margin below 0 the masking matters: outlier (−1, −1)/√2 has cosines −0.949 and
        // −0.707 to the present classes; the absent class's zero prototype (cosine 0) must not count.
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let got = val(&outlier_margin(&t2(&[-h as f32, -h as f32], 1, 2), &three(), &labels, 3, -1.0));
        assert!((got - (1.0 - h).powi(2)).abs() < 1e-6, "{got}");
        // Unlabelled rows build no prototype; nothing labelled → 0.
        let none = Tensor::from_slice(&[-1i64, -1, -1]);
        assert_eq!(val(&outlier_margin(&out, &three(), &none, 3, 0.5)), 0.0);
    }

    #[test]
    fn supcon_matches_hand_values() {
        let labels = Tensor::from_slice(&[0i64, 0, 1]);
        let got = val(&supcon(&three(), &labels, None, 0.5));
        // anchor 0: positive 1 (1.2), others {1.2, 0}; anchor 1: positive 0 (1.2), others {1.2, 1.6};
        // anchor 2 has no positive.
        let l0 = -(1.2 - lse(&[1.2, 0.0]));
        let l1 = -(1.2 - lse(&[1.2, 1.6]));
        assert!((got - (l0 + l1) / 2.0).abs() < 1e-5, "{got}");

        // With a memory bank entry (0,1) of class 1, anchor 2 gains a positive.
        let bz = t2(&[0.0, 1.0], 1, 2);
        let bl = Tensor::from_slice(&[1i64]);
        let got = val(&supcon(&three(), &labels, Some((&bz, &bl)), 0.5));
        let l0 = -(1.2 - lse(&[1.2, 0.0, 0.0]));
        let l1 = -(1.2 - lse(&[1.2, 1.6, 1.6]));
        let l2 = -(2.0 - lse(&[0.0, 1.6, 2.0]));
        assert!((got - (l0 + l1 + l2) / 3.0).abs() < 1e-5, "{got}");

        // Unlabelled rows are ignored; no positives at all → 0.
        let none = Tensor::from_slice(&[0i64, 1, -1]);
        assert_eq!(val(&supcon(&three(), &none, None, 0.5)), 0.0);
    }

    #[test]
    fn pairwise_margin_matches_hand_values() {
        let labels = Tensor::from_slice(&[0i64, 0, 1]);
        // positive pair (0,1): s = 0.6 < 0.75 → (0.15)²; negatives (0,2): 0 < 0.2 → 0, (1,2): 0.8 → (0.6)².
        let got = val(&pairwise_margin(&three(), &labels, 0.2, 0.75));
        let want = 0.15f64.powi(2) + (0.0 + 0.6f64.powi(2)) / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    #[test]
    fn prototype_disentangle_and_ce_match_hand_values() {
        let labels = Tensor::from_slice(&[0i64, 1, 1]);
        let protos = t2(&[1.0, 0.0, 0.0, 1.0], 2, 2);
        let present = Tensor::from_slice(&[true, false]);
        // only class 0 has a prototype: row 0, cos 1 → 0.
        assert!(val(&prototype_alignment(&three(), &labels, &protos, &present)).abs() < 1e-6);
        let present = Tensor::from_slice(&[true, true]);
        // rows: 1 − 1, 1 − 0.8, 1 − 1 → mean 0.2/3
        let got = val(&prototype_alignment(&three(), &labels, &protos, &present));
        assert!((got - 0.2 / 3.0).abs() < 1e-6, "{got}");

        let zn = t2(&[0.0, 1.0, 0.0, 1.0, 0.0, 1.0], 3, 2);
        // cosines 0, 0.8, 1 → mean of squares (0 + 0.64 + 1)/3
        assert!((val(&disentangle(&three(), &zn)) - 1.64 / 3.0).abs() < 1e-6);

        let logits = t2(&[2.0, 0.0, 0.0, 0.0], 2, 2);
        let y = Tensor::from_slice(&[0i64, -1]);
        let want = -(2.0 - lse(&[2.0, 0.0]));
        assert!((val(&cross_entropy(&logits, &y)) - want).abs() < 1e-6);
        assert_eq!(val(&cross_entropy(&logits, &Tensor::from_slice(&[-1i64, -1]))), 0.0);
    }
}
