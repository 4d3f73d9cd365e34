//! Every metric that needs only embeddings and labels (no model): the part of `evaluate`
//! that unit tests and `train` share.
use super::baseline::Standardizer;
use super::knn::KnnIndex;
use super::matrix::{LabelSet, Matrix};
use super::metrics::*;
use super::pca::pca_2d;
use super::prototype::{auroc, keep_threshold, leave_one_app_out, Prototypes};
use super::sampling::stratified_cap;
use super::scores::{accuracy, confusion, macro_f1, per_class};
use super::similarity::intra_inter;
use super::svm::svm_ovr;
use crate::error::Result;

/// Points drawn in the PCA scatter plot at most.
pub const PROJECTION_MAX_POINTS: usize = 4000;
/// Share of known flows the open-set threshold keeps.
pub const KEEP_FRACTION: f64 = 0.95;

/// One side of the split: unit-length embeddings with their labels, and optionally the rows'
/// raw feature vectors for the baseline.
pub struct Side<'a> {
    pub emb: &'a Matrix,
    pub service: &'a [u32],
    pub app: &'a [u32],
    pub raw: Option<&'a Matrix>,
}

pub struct EvalOptions {
    pub k: usize,
    /// Training rows up to which the SVM uses an RBF kernel (linear above).
    pub svm_rbf_max_rows: usize,
    pub seed: u64,
}

/// Similarities, k-NN, SVM, prototypes, leave-one-app-out, baseline, open set, per-class scores,
/// confusion and projection. Model-dependent sections (latency, throughput, cist, split) stay
/// `None` for the caller to fill.
pub fn embedding_metrics(
    train: &Side,
    test: &Side,
    services: &LabelSet,
    apps: &LabelSet,
    background: Option<&Matrix>,
    opt: &EvalOptions,
) -> Result<Metrics> {
    let ns = services.len();
    let mut m = Metrics {
        service_similarity: intra_inter(test.emb, test.service, ns),
        app_similarity: intra_inter(test.emb, test.app, apps.len()),
        ..Default::default()
    };

    let knn = KnnIndex::cosine(train.emb.clone(), train.service.to_vec(), ns);
    let knn_pred: Vec<u32> = knn.predict(test.emb, opt.k).iter().map(|v| v.label).collect();
    let svm = svm_ovr(train.emb, train.service, ns, test.emb, opt.svm_rbf_max_rows)?;
    m.classification = Classification {
        k: Some(opt.k),
        knn_accuracy: accuracy(&knn_pred, test.service),
        knn_macro_f1: macro_f1(&knn_pred, test.service, ns),
        svm_accuracy: accuracy(&svm.predicted, test.service),
        svm_macro_f1: macro_f1(&svm.predicted, test.service, ns),
        svm_kernel: Some(svm.kernel),
    };

    let protos = Prototypes::build(train.emb, train.service, ns, None);
    let nearest = protos.nearest(test.emb);
    let proto_pred: Vec<u32> = nearest.iter().map(|p| p.0).collect();
    m.prototype_generalization = PrototypeGeneralization {
        prototype_accuracy: accuracy(&proto_pred, test.service),
        prototype_macro_f1: macro_f1(&proto_pred, test.service, ns),
    };

    let loao = leave_one_app_out(train.emb, train.service, train.app, test.emb, test.service, test.app, ns);
    m.leave_one_app_out = LeaveOneAppOut {
        leave_one_app_accuracy: accuracy(&loao.predicted, &loao.truth),
        leave_one_app_macro_f1: macro_f1(&loao.predicted, &loao.truth, ns),
        leave_one_app_skipped: Some(loao.skipped as f64),
        apps_evaluated: Some(loao.apps_evaluated),
    };

    if let (Some(tr), Some(te)) = (train.raw, test.raw) {
        let st = Standardizer::fit(tr);
        let idx = KnnIndex::euclidean(st.apply(tr), train.service.to_vec(), ns);
        let pred: Vec<u32> = idx.predict(&st.apply(te), opt.k).iter().map(|v| v.label).collect();
        m.baseline = Some(Baseline {
            raw_knn_accuracy: accuracy(&pred, test.service),
            raw_knn_macro_f1: macro_f1(&pred, test.service, ns),
            features: tr.cols,
        });
    }

    // The rejection threshold needs known flows only; the AUROC needs background flows too.
    let known: Vec<f32> = nearest.iter().map(|p| p.1).collect();
    let threshold = keep_threshold(&known, KEEP_FRACTION);
    let unknown: Vec<f32> = background.map(|bg| protos.nearest(bg).iter().map(|p| p.1).collect()).unwrap_or_default();
    let rejected = threshold
        .filter(|_| !unknown.is_empty())
        .map(|t| unknown.iter().filter(|&&s| s < t).count() as f64 / unknown.len() as f64);
    m.open_set = Some(OpenSet {
        auroc: auroc(&known, &unknown),
        threshold: threshold.map(|t| t as f64),
        keep_fraction: KEEP_FRACTION,
        background_rows: unknown.len(),
        background_rejected: rejected,
    });

    m.per_class = per_class(&knn_pred, test.service, &services.names);
    m.confusion = Some(Confusion { labels: services.names.clone(), matrix: confusion(&knn_pred, test.service, ns) });

    let shown = stratified_cap(test.service, Some(PROJECTION_MAX_POINTS), opt.seed);
    let xy = pca_2d(&test.emb.select(&shown));
    m.projection = Some(Projection {
        labels: services.names.clone(),
        label: shown.iter().map(|&i| test.service[i]).collect(),
        x: xy.iter().map(|p| p[0]).collect(),
        y: xy.iter().map(|p| p[1]).collect(),
    });
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_clusters_score_perfectly() {
        // Two services, two apps each, every row exactly on its service axis; background on a
        // third axis.
        let mk = |n: usize| {
            let mut rows = Vec::new();
            let (mut s, mut a) = (Vec::new(), Vec::new());
            for i in 0..n {
                let svc = (i % 2) as u32;
                rows.push(if svc == 0 { vec![1.0, 0.0, 0.0] } else { vec![0.0, 1.0, 0.0] });
                s.push(svc);
                a.push(svc * 2 + ((i / 2) % 2) as u32);
            }
            (Matrix::from_rows(&rows).unwrap(), s, a)
        };
        let (tr, trs, tra) = mk(16);
        let (te, tes, tea) = mk(8);
        let raw_tr = tr.clone();
        let raw_te = te.clone();
        let bg = Matrix::from_rows(&[vec![0.0, 0.0, 1.0], vec![0.0, 0.0, 1.0]]).unwrap();
        let services = LabelSet::from_names(["a", "b"]);
        let apps = LabelSet::from_names(["a1", "a2", "b1", "b2"]);
        let m = embedding_metrics(
            &Side { emb: &tr, service: &trs, app: &tra, raw: Some(&raw_tr) },
            &Side { emb: &te, service: &tes, app: &tea, raw: Some(&raw_te) },
            &services,
            &apps,
            Some(&bg),
            &EvalOptions { k: 3, svm_rbf_max_rows: 10_000, seed: 1 },
        )
        .unwrap();
        assert_eq!(m.service_similarity.intra, Some(1.0));
        assert_eq!(m.service_similarity.inter, Some(0.0));
        assert_eq!(m.classification.knn_accuracy, Some(1.0));
        assert_eq!(m.classification.svm_accuracy, Some(1.0));
        assert_eq!(m.prototype_generalization.prototype_accuracy, Some(1.0));
        assert_eq!(m.leave_one_app_out.leave_one_app_accuracy, Some(1.0));
        assert_eq!(m.leave_one_app_out.apps_evaluated, Some(4));
        assert_eq!(m.baseline.as_ref().unwrap().raw_knn_accuracy, Some(1.0));
        let os = m.open_set.as_ref().unwrap();
        assert_eq!(os.auroc, Some(1.0));
        assert_eq!(os.background_rejected, Some(1.0));
        assert_eq!(m.confusion.as_ref().unwrap().matrix, vec![vec![4, 0], vec![0, 4]]);
        assert_eq!(m.projection.as_ref().unwrap().x.len(), 8);
    }
}
