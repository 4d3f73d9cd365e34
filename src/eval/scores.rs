//! Accuracy, macro-F1 (FlowCon-X's: over the labels seen in truth or prediction), per-class
//! precision/recall and the confusion matrix, on label ids.
use serde::{Deserialize, Serialize};

/// Share of equal entries; `None` for no rows.
pub fn accuracy(pred: &[u32], truth: &[u32]) -> Option<f64> {
    if truth.is_empty() {
        return None;
    }
    Some(pred.iter().zip(truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64)
}

/// `confusion[t][p]` = rows of true label `t` predicted as `p`.
pub fn confusion(pred: &[u32], truth: &[u32], n_labels: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; n_labels]; n_labels];
    for (&p, &t) in pred.iter().zip(truth) {
        m[t as usize][p as usize] += 1;
    }
    m
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows of this label in the truth.
    pub support: u64,
    /// Rows predicted as this label.
    pub predicted: u64,
}

/// Scores of every label that occurs in truth or prediction (precision 0 when never predicted).
pub fn per_class(pred: &[u32], truth: &[u32], names: &[String]) -> Vec<ClassScore> {
    let m = confusion(pred, truth, names.len());
    let mut out = Vec::new();
    for (c, name) in names.iter().enumerate() {
        let tp = m[c][c];
        let support: u64 = m[c].iter().sum();
        let predicted: u64 = m.iter().map(|row| row[c]).sum();
        if support == 0 && predicted == 0 {
            continue;
        }
        let precision = if predicted > 0 { tp as f64 / predicted as f64 } else { 0.0 };
        let recall = if support > 0 { tp as f64 / support as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        out.push(ClassScore { label: name.clone(), precision, recall, f1, support, predicted });
    }
    out
}

/// Mean F1 over the labels present in truth or prediction; `None` for no rows.
pub fn macro_f1(pred: &[u32], truth: &[u32], n_labels: usize) -> Option<f64> {
    if truth.is_empty() {
        return None;
    }
    let names: Vec<String> = (0..n_labels).map(|i| i.to_string()).collect();
    let pc = per_class(pred, truth, &names);
    Some(pc.iter().map(|c| c.f1).sum::<f64>() / pc.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_scores() {
        // truth  0 0 0 1 1 2
        // pred   0 0 1 1 2 2
        let t = [0, 0, 0, 1, 1, 2];
        let p = [0, 0, 1, 1, 2, 2];
        assert!((accuracy(&p, &t).unwrap() - 4.0 / 6.0).abs() < 1e-12);
        // class 0: P 1, R 2/3, F1 0.8; class 1: P 1/2, R 1/2, F1 0.5; class 2: P 1/2, R 1, F1 2/3
        let f = macro_f1(&p, &t, 3).unwrap();
        assert!((f - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12, "{f}");
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let pc = per_class(&p, &t, &names);
        assert_eq!(pc[0].support, 3);
        assert!((pc[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(confusion(&p, &t, 3), vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
    }

    #[test]
    fn absent_labels_do_not_count() {
        // Label 2 never occurs: macro over labels 0 and 1 only.
        assert_eq!(macro_f1(&[0, 1], &[0, 1], 3), Some(1.0));
        // A label only predicted counts with F1 0.
        assert_eq!(macro_f1(&[0, 2], &[0, 0], 3), Some((2.0 / 3.0 + 0.0) / 2.0));
        assert_eq!(accuracy(&[], &[]), None);
    }
}
