//! A quick cosine k-NN check on L2-normalised embeddings (the full evaluator lives in `eval`).
use super::checkpoint::EmbeddingMatrix;

/// Majority vote of the `k` most similar reference rows (ties: the nearer neighbour's class wins).
pub fn knn_predict(reference: &EmbeddingMatrix, ref_labels: &[i64], query: &EmbeddingMatrix, k: usize) -> Vec<i64> {
    (0..query.n)
        .map(|q| {
            let qv = query.row(q);
            let mut sims: Vec<(f32, usize)> = (0..reference.n)
                .map(|r| (reference.row(r).iter().zip(qv).map(|(a, b)| a * b).sum::<f32>(), r))
                .collect();
            let k = k.min(sims.len());
            if k == 0 {
                return -1;
            }
            sims.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut top = sims[..k].to_vec();
            top.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut votes: Vec<(i64, usize, usize)> = Vec::new(); // (label, count, best rank)
            for (rank, &(_, r)) in top.iter().enumerate() {
                let l = ref_labels[r];
                match votes.iter_mut().find(|v| v.0 == l) {
                    Some(v) => v.1 += 1,
                    None => votes.push((l, 1, rank)),
                }
            }
            votes.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
            votes[0].0
        })
        .collect()
}

/// Share of `pred` equal to `truth` (rows with truth < 0 are skipped).
pub fn accuracy(pred: &[i64], truth: &[i64]) -> Option<f64> {
    let pairs: Vec<_> = pred.iter().zip(truth).filter(|(_, t)| **t >= 0).collect();
    (!pairs.is_empty()).then(|| pairs.iter().filter(|(p, t)| p == t).count() as f64 / pairs.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_by_majority_of_nearest() {
        let r = EmbeddingMatrix { n: 4, dim: 2, data: vec![1.0, 0.0, 0.9, 0.1, 0.0, 1.0, 0.1, 0.9] };
        let q = EmbeddingMatrix { n: 2, dim: 2, data: vec![0.95, 0.05, 0.0, 1.0] };
        let p = knn_predict(&r, &[0, 0, 1, 1], &q, 3);
        assert_eq!(p, vec![0, 1]);
        assert_eq!(accuracy(&p, &[0, 0]), Some(0.5));
    }
}
