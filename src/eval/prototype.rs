//! Service prototypes (normalised mean of a label's embeddings), nearest-prototype prediction,
//! leave-one-app-out generalization, and the open-set score/threshold/AUROC built on them.
use super::matrix::Matrix;

/// One unit-length prototype per label that has rows.
#[derive(Debug, Clone)]
pub struct Prototypes {
    pub matrix: Matrix,
    /// Label id of each prototype row.
    pub labels: Vec<u32>,
}

impl Prototypes {
    /// Prototypes of the rows selected by `keep` (all rows when `None`).
    pub fn build(emb: &Matrix, labels: &[u32], n_labels: usize, keep: Option<&[bool]>) -> Self {
        let mut sums = Matrix::zeros(n_labels, emb.cols);
        let mut counts = vec![0usize; n_labels];
        for (i, &l) in labels.iter().enumerate() {
            if keep.is_some_and(|k| !k[i]) {
                continue;
            }
            counts[l as usize] += 1;
            let d = emb.cols;
            sums.data[l as usize * d..(l as usize + 1) * d].iter_mut().zip(emb.row(i)).for_each(|(s, v)| *s += v);
        }
        let present: Vec<usize> = (0..n_labels).filter(|&l| counts[l] > 0).collect();
        Prototypes { matrix: sums.select(&present).normalized(), labels: present.iter().map(|&l| l as u32).collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `(label, similarity)` of the nearest prototype for every query row.
    pub fn nearest(&self, queries: &Matrix) -> Vec<(u32, f32)> {
        if self.is_empty() {
            return vec![(0, f32::NAN); queries.rows];
        }
        let s = queries.dot_t(&self.matrix);
        (0..s.rows)
            .map(|r| {
                let row = s.row(r);
                let mut best = 0;
                for j in 1..row.len() {
                    if row[j] > row[best] {
                        best = j;
                    }
                }
                (self.labels[best], row[best])
            })
            .collect()
    }
}

/// Result of leave-one-app-out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeaveOneApp {
    pub predicted: Vec<u32>,
    pub truth: Vec<u32>,
    /// The held-out app of each predicted row.
    pub app: Vec<u32>,
    /// Test rows of apps for which no prototype could be built.
    pub skipped: usize,
    pub apps_evaluated: usize,
}

/// Every app's test rows are predicted from service prototypes built from the training rows
/// of all other apps (the held-out app contributes nothing to any prototype).
pub fn leave_one_app_out(
    train: &Matrix,
    train_service: &[u32],
    train_app: &[u32],
    test: &Matrix,
    test_service: &[u32],
    test_app: &[u32],
    n_services: usize,
) -> LeaveOneApp {
    let mut apps: Vec<u32> = test_app.to_vec();
    apps.sort_unstable();
    apps.dedup();
    let mut out = LeaveOneApp::default();
    for app in apps {
        let keep: Vec<bool> = train_app.iter().map(|&a| a != app).collect();
        let protos = Prototypes::build(train, train_service, n_services, Some(&keep));
        let rows: Vec<usize> = (0..test.rows).filter(|&i| test_app[i] == app).collect();
        if protos.is_empty() {
            out.skipped += rows.len();
            continue;
        }
        out.apps_evaluated += 1;
        for (r, (label, _)) in rows.iter().zip(protos.nearest(&test.select(&rows))) {
            out.predicted.push(label);
            out.truth.push(test_service[*r]);
            out.app.push(app);
        }
    }
    out
}

/// Area under the ROC curve of "positive scores above negative ones" (Mann–Whitney U with
/// average ranks, so ties count one half); `None` when either side is empty.
pub fn auroc(positive: &[f32], negative: &[f32]) -> Option<f64> {
    if positive.is_empty() || negative.is_empty() {
        return None;
    }
    let mut all: Vec<(f32, bool)> =
        positive.iter().map(|&s| (s, true)).chain(negative.iter().map(|&s| (s, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0f64;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let avg = (i + j + 2) as f64 / 2.0;
        rank_sum += avg * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let (np, nn) = (positive.len() as f64, negative.len() as f64);
    Some((rank_sum - np * (np + 1.0) / 2.0) / (np * nn))
}

/// Largest threshold `t` with at least `keep` of the known scores `>= t`.
pub fn keep_threshold(known: &[f32], keep: f64) -> Option<f32> {
    if known.is_empty() {
        return None;
    }
    let mut s: Vec<f32> = known.iter().copied().filter(|v| !v.is_nan()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let need = ((keep * s.len() as f64 - 1e-9).ceil() as usize).clamp(1, s.len());
    Some(s[s.len() - need])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rows: &[[f32; 2]]) -> Matrix {
        Matrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap().normalized()
    }

    #[test]
    fn prototypes_are_normalised_means() {
        let e = m(&[[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]);
        let p = Prototypes::build(&e, &[0, 0, 2], 3, None);
        assert_eq!(p.labels, vec![0, 2]); // label 1 has no rows
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!((p.matrix.row(0)[0] - h).abs() < 1e-6 && (p.matrix.row(0)[1] - h).abs() < 1e-6);
        let near = p.nearest(&m(&[[1.0, 0.1], [0.0, 1.0]]));
        assert_eq!(near[0].0, 0);
        assert_eq!(near[1].0, 2);
        assert!((near[1].1 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn leave_one_app_out_excludes_the_app() {
        // Service 0 = apps 0 and 1 (both near x); service 1 = app 2 (near y) and app 3 (near x!).
        let train = m(&[[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.9, 0.2]]);
        let (ts, ta) = ([0, 0, 1, 1], [0, 1, 2, 3]);
        let test = m(&[[1.0, 0.05], [0.1, 1.0], [0.95, 0.1]]);
        let (qs, qa) = ([0, 1, 1], [0, 2, 3]);
        let r = leave_one_app_out(&train, &ts, &ta, &test, &qs, &qa, 2);
        assert_eq!(r.apps_evaluated, 3);
        // app 0: protos from apps 1 (svc 0, x) and 2+3 (svc 1, mixed) → svc 0 correct.
        // app 2: protos svc0 (x), svc1 = app 3 only (x-ish) → the y-ish test row goes to svc 1.
        // app 3: protos svc0 (x), svc1 = app 2 (y) → its x-ish row is called svc 0: wrong.
        assert_eq!(r.predicted, vec![0, 1, 0]);
        assert_eq!(r.truth, vec![0, 1, 1]);
        assert_eq!(r.app, vec![0, 2, 3]);
        // A service with a single app loses its prototype when that app is held out.
        let r = leave_one_app_out(&train, &[0, 0, 1, 1], &[0, 0, 1, 1], &test, &[0, 1, 1], &[0, 1, 1], 2);
        assert_eq!(r.predicted, vec![1, 0, 0]);
    }

    #[test]
    fn auroc_known_values() {
        assert_eq!(auroc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(auroc(&[0.1], &[0.9]), Some(0.0));
        assert_eq!(auroc(&[0.5], &[0.5]), Some(0.5)); // a tie counts half
                                                      // Pairs: (0.9>0.5) (0.9>0.7) (0.6>0.5) (0.6<0.7) → 3/4.
        assert_eq!(auroc(&[0.9, 0.6], &[0.5, 0.7]), Some(0.75));
        // With a tie: pos {0.5, 0.8}, neg {0.5, 0.2}: 0.5=0.5 half, 0.5>0.2, 0.8>both → 3.5/4.
        assert_eq!(auroc(&[0.5, 0.8], &[0.5, 0.2]), Some(0.875));
        assert_eq!(auroc(&[], &[0.1]), None);
    }

    #[test]
    fn threshold_keeps_share() {
        let known: Vec<f32> = (1..=20).map(|i| i as f32 / 20.0).collect();
        // 95% of 20 = 19 rows at or above t → t is the 2nd smallest.
        assert_eq!(keep_threshold(&known, 0.95), Some(0.1));
        assert_eq!(keep_threshold(&known, 1.0), Some(0.05));
        assert_eq!(keep_threshold(&[], 0.95), None);
    }
}
