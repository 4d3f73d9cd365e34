//! Every metric that needs only embeddings and labels (no model): the part of `evaluate`
//! that unit tests and `train` share.
use super::baseline::Standardizer;
use super::knn::KnnIndex;
use super::matrix::{LabelSet, Matrix};
use super::metrics::*;
use super::pca::pca_2d;
use super::prototype::{auroc, keep_threshold, leave_one_app_out, LeaveOneApp, Prototypes};
use super::sampling::stratified_cap;
use super::scores::{accuracy, confusion, macro_f1, per_class};
use super::similarity::intra_inter;
use super::svm::svm_ovr;
use crate::error::Result;
use std::collections::{BTreeMap, BTreeSet};

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
    /// Capture name per row (empty: none); may be empty when captures are not known.
    pub capture: &'a [&'a str],
    pub raw: Option<&'a Matrix>,
}

pub struct EvalOptions {
    pub k: usize,
    /// Training rows up to which the SVM uses an RBF kernel (linear above).
    pub svm_rbf_max_rows: usize,
    pub seed: u64,
    /// Apps of every training row of the split when the training side was capped (the capped
    /// side may have lost an app's rows); `None`: the training side's own apps.
    pub trained_apps: Option<Vec<u32>>,
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
    m.leave_one_app_out = loao_metrics(&loao, train, services, apps);

    let raw_pred = match (train.raw, test.raw) {
        (Some(tr), Some(te)) => {
            let st = Standardizer::fit(tr);
            let idx = KnnIndex::euclidean(st.apply(tr), train.service.to_vec(), ns);
            let pred: Vec<u32> = idx.predict(&st.apply(te), opt.k).iter().map(|v| v.label).collect();
            m.baseline = Some(Baseline {
                raw_knn_accuracy: accuracy(&pred, test.service),
                raw_knn_macro_f1: macro_f1(&pred, test.service, ns),
                features: tr.cols,
            });
            Some(pred)
        }
        _ => None,
    };
    let trained_apps = opt.trained_apps.as_deref().unwrap_or(train.app);
    m.app_coverage = Some(app_coverage(trained_apps, test, apps, &knn_pred, raw_pred.as_deref()));
    m.per_capture = per_capture(test, services, apps, &knn_pred, raw_pred.as_deref());

    let known: Vec<f32> = nearest.iter().map(|p| p.1).collect();
    let unknown: Vec<f32> = background.map(|bg| protos.nearest(bg).iter().map(|p| p.1).collect()).unwrap_or_default();
    m.open_set = Some(OpenSet {
        prototype: open_set_score(&known, &unknown),
        keep_fraction: KEEP_FRACTION,
        background_rows: unknown.len(),
        service_head_energy: None,
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

/// Known vs background flows under one score (higher = more like a known service): the AUROC,
/// the threshold keeping `KEEP_FRACTION` of known flows (known flows alone suffice), and the
/// share of background flows below it.
pub fn open_set_score(known: &[f32], unknown: &[f32]) -> OpenSetScore {
    let threshold = keep_threshold(known, KEEP_FRACTION);
    let rejected = threshold
        .filter(|_| !unknown.is_empty())
        .map(|t| unknown.iter().filter(|&&s| s < t).count() as f64 / unknown.len() as f64);
    OpenSetScore { auroc: auroc(known, unknown), threshold: threshold.map(|t| t as f64), background_rejected: rejected }
}

/// k-NN accuracy (embedding and raw) on the test rows of apps seen / not seen in training.
fn app_coverage(train_app: &[u32], test: &Side, apps: &LabelSet, knn: &[u32], raw: Option<&[u32]>) -> AppCoverage {
    let mut trained = vec![false; apps.len()];
    train_app.iter().for_each(|&a| trained[a as usize] = true);
    let seen: Vec<bool> = test.app.iter().map(|&a| trained[a as usize]).collect();
    let acc = |pred: &[u32], want: bool| {
        let (p, t): (Vec<u32>, Vec<u32>) =
            pred.iter().zip(test.service).zip(&seen).filter(|(_, &s)| s == want).map(|((&p, &t), _)| (p, t)).unzip();
        accuracy(&p, &t)
    };
    let mut unseen_apps: Vec<String> =
        test.app.iter().filter(|&&a| !trained[a as usize]).map(|&a| apps.names[a as usize].clone()).collect();
    unseen_apps.sort();
    unseen_apps.dedup();
    AppCoverage {
        seen_rows: seen.iter().filter(|&&s| s).count(),
        unseen_rows: seen.iter().filter(|&&s| !s).count(),
        unseen_apps,
        knn_accuracy_seen: acc(knn, true),
        knn_accuracy_unseen: acc(knn, false),
        raw_knn_accuracy_seen: raw.and_then(|r| acc(r, true)),
        raw_knn_accuracy_unseen: raw.and_then(|r| acc(r, false)),
    }
}

/// Test captures `per_capture` lists at most: a file whose capture column names each row
/// alone would otherwise give one entry per row.
pub const PER_CAPTURE_MAX: usize = 1000;

/// k-NN (embedding and raw) accuracy of each named test capture, and what its rows were called;
/// empty beyond `PER_CAPTURE_MAX` captures.
fn per_capture(
    test: &Side,
    services: &LabelSet,
    apps: &LabelSet,
    knn: &[u32],
    raw: Option<&[u32]>,
) -> Vec<CaptureScore> {
    let groups = group_rows(test.capture.iter().copied().enumerate().filter(|(_, c)| !c.is_empty()));
    if groups.len() > PER_CAPTURE_MAX {
        return Vec::new();
    }
    groups
        .into_iter()
        .map(|(capture, idx)| {
            let (truth, called) = (pick(test.service, &idx), pick(knn, &idx));
            CaptureScore {
                capture: capture.to_string(),
                app: majority(&pick(test.app, &idx), apps),
                rows: idx.len(),
                knn_accuracy: accuracy(&called, &truth),
                raw_knn_accuracy: raw.and_then(|r| accuracy(&pick(r, &idx), &truth)),
                predicted: verdict_counts(&called, services),
                service: majority(&truth, services),
            }
        })
        .collect()
}

/// Row indices by key, keys in order.
fn group_rows<K: Ord>(keyed: impl IntoIterator<Item = (usize, K)>) -> BTreeMap<K, Vec<usize>> {
    let mut groups: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (i, k) in keyed {
        groups.entry(k).or_default().push(i);
    }
    groups
}

/// The values at `idx`.
fn pick(v: &[u32], idx: &[usize]) -> Vec<u32> {
    idx.iter().map(|&i| v[i]).collect()
}

/// The most frequent id (ties: the smaller id, so it is deterministic).
fn majority_id(ids: &[u32]) -> Option<u32> {
    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    ids.iter().for_each(|&id| *counts.entry(id).or_default() += 1);
    counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(&id, _)| id)
}

/// The name of the most frequent id; empty without ids.
fn majority(ids: &[u32], set: &LabelSet) -> String {
    majority_id(ids).and_then(|id| set.names.get(id as usize)).cloned().unwrap_or_default()
}

/// Verdicts counted by service name.
fn verdict_counts(called: &[u32], services: &LabelSet) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for &p in called {
        *out.entry(services.names.get(p as usize).cloned().unwrap_or_default()).or_default() += 1;
    }
    out
}

/// Leave-one-app-out's scores, overall (FlowCon-X's figure), on the rows that can be right (their
/// service has another app with training rows), and per held-out app.
fn loao_metrics(loao: &LeaveOneApp, train: &Side, services: &LabelSet, apps: &LabelSet) -> LeaveOneAppOut {
    let mut service_apps: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for (&s, &a) in train.service.iter().zip(train.app) {
        service_apps.entry(s).or_default().insert(a);
    }
    let others =
        |service: u32, app: u32| service_apps.get(&service).map_or(0, |set| set.iter().filter(|&&a| a != app).count());
    let answerable: Vec<usize> = (0..loao.app.len()).filter(|&i| others(loao.truth[i], loao.app[i]) > 0).collect();
    let per_app = group_rows(loao.app.iter().copied().enumerate())
        .into_iter()
        .map(|(app, idx)| {
            let (truth, called) = (pick(&loao.truth, &idx), pick(&loao.predicted, &idx));
            AppScore {
                app: apps.names.get(app as usize).cloned().unwrap_or_default(),
                service: majority(&truth, services),
                rows: idx.len(),
                accuracy: accuracy(&called, &truth),
                other_apps_of_service: majority_id(&truth).map_or(0, |s| others(s, app)),
                predicted: verdict_counts(&called, services),
            }
        })
        .collect();
    LeaveOneAppOut {
        leave_one_app_accuracy: accuracy(&loao.predicted, &loao.truth),
        leave_one_app_macro_f1: macro_f1(&loao.predicted, &loao.truth, services.len()),
        leave_one_app_skipped: Some(loao.skipped as f64),
        apps_evaluated: Some(loao.apps_evaluated),
        answerable_rows: Some(answerable.len()),
        answerable_accuracy: accuracy(&pick(&loao.predicted, &answerable), &pick(&loao.truth, &answerable)),
        per_app,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_set_score_ranks_thresholds_and_rejects() {
        // 20 known scores 1..=20: keeping 95% keeps 19 of them, so the threshold is 2.
        let known: Vec<f32> = (1..=20).map(|v| v as f32).collect();
        let s = open_set_score(&known, &[0.5, 1.5, 2.0, 30.0]);
        assert_eq!(s.threshold, Some(2.0));
        // Background below 2 is rejected: 0.5 and 1.5.
        assert_eq!(s.background_rejected, Some(0.5));
        // Pairs (known > background) over 80: 0.5 → 20, 1.5 → 19, 2.0 → 18 + a tie (½), 30 → 0.
        assert_eq!(s.auroc, Some(57.5 / 80.0));
        let none = open_set_score(&known, &[]);
        assert_eq!((none.auroc, none.background_rejected, none.threshold), (None, None, Some(2.0)));
    }

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
            &Side { emb: &tr, service: &trs, app: &tra, capture: &[], raw: Some(&raw_tr) },
            &Side { emb: &te, service: &tes, app: &tea, capture: &[], raw: Some(&raw_te) },
            &services,
            &apps,
            Some(&bg),
            &EvalOptions { k: 3, svm_rbf_max_rows: 10_000, seed: 1, trained_apps: None },
        )
        .unwrap();
        assert_eq!(m.service_similarity.intra, Some(1.0));
        assert_eq!(m.service_similarity.inter, Some(0.0));
        assert_eq!(m.classification.knn_accuracy, Some(1.0));
        assert_eq!(m.classification.svm_accuracy, Some(1.0));
        assert_eq!(m.prototype_generalization.prototype_accuracy, Some(1.0));
        assert_eq!(m.leave_one_app_out.leave_one_app_accuracy, Some(1.0));
        assert_eq!(m.leave_one_app_out.apps_evaluated, Some(4));
        let per_app = &m.leave_one_app_out.per_app;
        assert_eq!(
            per_app.iter().map(|a| (a.rows, a.accuracy, a.other_apps_of_service)).collect::<Vec<_>>(),
            vec![(2, Some(1.0), 1); 4]
        );
        assert_eq!(m.baseline.as_ref().unwrap().raw_knn_accuracy, Some(1.0));
        let os = m.open_set.as_ref().unwrap();
        assert_eq!(os.prototype.auroc, Some(1.0));
        assert_eq!(os.prototype.background_rejected, Some(1.0));
        assert_eq!(m.confusion.as_ref().unwrap().matrix, vec![vec![4, 0], vec![0, 4]]);
        assert_eq!(m.projection.as_ref().unwrap().x.len(), 8);
        let cov = m.app_coverage.as_ref().unwrap();
        assert_eq!((cov.seen_rows, cov.unseen_rows, cov.knn_accuracy_unseen), (8, 0, None));
    }

    #[test]
    fn capped_training_side_keeps_the_split_apps_seen() {
        // The capped training side holds app 0 only; the split's training rows also had app 1.
        let m = |rows: &[[f32; 2]]| Matrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap();
        let (tr, te) = (m(&[[1.0, 0.0], [0.0, 1.0]]), m(&[[1.0, 0.1], [0.1, 1.0]]));
        let services = LabelSet::from_names(["a", "b"]);
        let apps = LabelSet::from_names(["a0", "a1"]);
        let run = |trained_apps: Option<Vec<u32>>| {
            embedding_metrics(
                &Side { emb: &tr, service: &[0, 1], app: &[0, 0], capture: &[], raw: None },
                &Side { emb: &te, service: &[0, 1], app: &[0, 1], capture: &[], raw: None },
                &services,
                &apps,
                None,
                &EvalOptions { k: 1, svm_rbf_max_rows: 10_000, seed: 1, trained_apps },
            )
            .unwrap()
            .app_coverage
            .unwrap()
        };
        assert_eq!((run(None).seen_rows, run(None).unseen_rows), (1, 1));
        let all = run(Some(vec![0, 1, 0]));
        assert_eq!((all.seen_rows, all.unseen_rows), (2, 0));
    }

    #[test]
    fn app_coverage_splits_rows_by_training_apps() {
        // Training saw apps 0 and 1; the test has two rows of app 0 and two of app 2 (never seen).
        let emb = Matrix::from_rows(&[vec![1.0], vec![1.0], vec![1.0], vec![1.0]]).unwrap();
        let service = [0, 0, 1, 1];
        let test = Side { emb: &emb, service: &service, app: &[0, 0, 2, 2], capture: &[], raw: None };
        let apps = LabelSet::from_names(["a0", "a1", "a2"]);
        // k-NN gets one seen row right and both unseen ones right; raw gets the unseen ones wrong.
        let cov = app_coverage(&[0, 1, 1], &test, &apps, &[0, 1, 1, 1], Some(&[0, 0, 0, 0]));
        assert_eq!((cov.seen_rows, cov.unseen_rows), (2, 2));
        assert_eq!(cov.unseen_apps, vec!["a2".to_string()]);
        assert_eq!((cov.knn_accuracy_seen, cov.knn_accuracy_unseen), (Some(0.5), Some(1.0)));
        assert_eq!((cov.raw_knn_accuracy_seen, cov.raw_knn_accuracy_unseen), (Some(1.0), Some(0.0)));
        assert_eq!(app_coverage(&[0, 1, 2], &test, &apps, &[0, 0, 1, 1], None).raw_knn_accuracy_seen, None);
    }

    #[test]
    fn loao_metrics_split_by_app_and_answerable_rows() {
        // Training: service 0 has apps 0 and 1, service 1 only app 2. Held out: app 0 (two rows,
        // one called right) and app 2 (one row, called service 0: no other app of its service).
        let loao = LeaveOneApp {
            predicted: vec![0, 1, 0],
            truth: vec![0, 0, 1],
            app: vec![0, 0, 2],
            skipped: 0,
            apps_evaluated: 2,
        };
        let emb = Matrix::from_rows(&vec![vec![1.0]; 4]).unwrap();
        let train = Side { emb: &emb, service: &[0, 0, 1, 1], app: &[0, 1, 2, 2], capture: &[], raw: None };
        let services = LabelSet::from_names(["s0", "s1"]);
        let apps = LabelSet::from_names(["a0", "a1", "a2"]);
        let out = loao_metrics(&loao, &train, &services, &apps);
        assert_eq!(out.leave_one_app_accuracy, Some(1.0 / 3.0));
        // Only app 0's two rows can be right: its service keeps app 1.
        assert_eq!((out.answerable_rows, out.answerable_accuracy), (Some(2), Some(0.5)));
        let per = &out.per_app;
        assert_eq!(per.len(), 2);
        let (a0, a2) = (&per[0], &per[1]);
        assert_eq!((a0.app.as_str(), a0.service.as_str(), a0.rows, a0.accuracy), ("a0", "s0", 2, Some(0.5)));
        assert_eq!(a0.other_apps_of_service, 1);
        assert_eq!(a0.predicted, BTreeMap::from([("s0".to_string(), 1), ("s1".to_string(), 1)]));
        assert_eq!((a2.app.as_str(), a2.service.as_str(), a2.rows, a2.accuracy), ("a2", "s1", 1, Some(0.0)));
        assert_eq!(a2.other_apps_of_service, 0);
    }

    #[test]
    fn per_capture_groups_named_test_rows() {
        // Captures "y" (three rows of service 1, app 2) and "x" (one row of service 0); the last row
        // has no capture and is left out.
        let emb = Matrix::from_rows(&vec![vec![1.0]; 5]).unwrap();
        let test = Side {
            emb: &emb,
            service: &[1, 0, 1, 1, 0],
            app: &[2, 0, 2, 1, 0],
            capture: &["y", "x", "y", "y", ""],
            raw: None,
        };
        let services = LabelSet::from_names(["s0", "s1"]);
        let apps = LabelSet::from_names(["a0", "a1", "a2"]);
        // k-NN calls two of y's rows s0, one s1; x's row right.
        let pc = per_capture(&test, &services, &apps, &[0, 0, 1, 0, 1], Some(&[1, 1, 1, 1, 1]));
        assert_eq!(pc.len(), 2);
        let (x, y) = (&pc[0], &pc[1]);
        assert_eq!((x.capture.as_str(), x.service.as_str(), x.app.as_str(), x.rows), ("x", "s0", "a0", 1));
        assert_eq!((x.knn_accuracy, x.raw_knn_accuracy), (Some(1.0), Some(0.0)));
        assert_eq!((y.capture.as_str(), y.service.as_str(), y.app.as_str(), y.rows), ("y", "s1", "a2", 3));
        assert_eq!((y.knn_accuracy, y.raw_knn_accuracy), (Some(1.0 / 3.0), Some(1.0)));
        assert_eq!(y.predicted, BTreeMap::from([("s0".to_string(), 2), ("s1".to_string(), 1)]));
        // Without capture names there is nothing to group.
        let none = Side { capture: &[], ..test };
        assert!(per_capture(&none, &services, &apps, &[0; 5], None).is_empty());
        // A capture per row beyond the cap: left out rather than one entry per row.
        let n = PER_CAPTURE_MAX + 1;
        let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let capture: Vec<&str> = names.iter().map(String::as_str).collect();
        let zeros = vec![0u32; n];
        let emb = Matrix::from_rows(&vec![vec![1.0]; n]).unwrap();
        let many = Side { emb: &emb, service: &zeros, app: &zeros, capture: &capture, raw: None };
        assert!(per_capture(&many, &services, &apps, &zeros, None).is_empty());
    }
}
