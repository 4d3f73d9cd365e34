//! Stratified caps (`--eval-max-train/--eval-max-test`): keep at most `cap` rows with every label
//! keeping its share (largest remainder, at least one row per label while the cap allows),
//! rows within a label chosen by a seeded hash, so the result is deterministic.
use crate::dataset::reservoir::priority;

/// Indices (ascending) of the rows kept; all rows when `cap` is `None` or not smaller.
pub fn stratified_cap(labels: &[u32], cap: Option<usize>, seed: u64) -> Vec<usize> {
    let n = labels.len();
    let cap = match cap {
        Some(c) if c < n => c,
        _ => return (0..n).collect(),
    };
    let n_labels = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); n_labels];
    for (i, &l) in labels.iter().enumerate() {
        by_label[l as usize].push(i);
    }
    let quotas = quotas(&by_label.iter().map(Vec::len).collect::<Vec<_>>(), cap);
    let mut keep = Vec::with_capacity(cap);
    for (rows, q) in by_label.iter().zip(quotas) {
        let mut ranked: Vec<(u64, usize)> = rows.iter().map(|&i| (priority(seed, &[i as u64]), i)).collect();
        ranked.sort_unstable();
        keep.extend(ranked.into_iter().take(q).map(|(_, i)| i));
    }
    keep.sort_unstable();
    keep
}

/// Per-label quotas summing to `cap` (< total): one each first (labels with rows, smallest
/// first, while the cap allows), the rest proportional by largest remainder.
fn quotas(counts: &[usize], cap: usize) -> Vec<usize> {
    let mut q = vec![0usize; counts.len()];
    let mut order: Vec<usize> = (0..counts.len()).filter(|&l| counts[l] > 0).collect();
    order.sort_by_key(|&l| (counts[l], l));
    let mut left = cap;
    for &l in &order {
        if left == 0 {
            break;
        }
        q[l] = 1;
        left -= 1;
    }
    let total: usize = counts.iter().zip(&q).map(|(c, q)| c - q).sum();
    if left == 0 || total == 0 {
        return q;
    }
    let mut rem: Vec<(u128, usize)> = Vec::new();
    let mut given = 0;
    for (l, &c) in counts.iter().enumerate() {
        let avail = (c - q[l]) as u128;
        let exact = avail * left as u128;
        let base = (exact / total as u128) as usize;
        q[l] += base;
        given += base;
        rem.push((exact % total as u128, l));
    }
    // Largest remainders first; ties to the smaller label id.
    rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, l) in rem.iter().take(left - given) {
        q[l] += 1;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_shares_and_is_deterministic() {
        let labels: Vec<u32> = (0..100)
            .map(|i| {
                if i < 80 {
                    0
                } else if i < 98 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let a = stratified_cap(&labels, Some(10), 7);
        assert_eq!(a.len(), 10);
        let count = |l: u32| a.iter().filter(|&&i| labels[i] == l).count();
        // One per label, then 7 split 79:17:1 → 5.70 / 1.23 / 0.07 → 5+1, 1, 0 by largest remainder.
        assert_eq!((count(0), count(1), count(2)), (7, 2, 1));
        assert_eq!(a, stratified_cap(&labels, Some(10), 7));
        assert_ne!(a, stratified_cap(&labels, Some(10), 8));
        assert_eq!(stratified_cap(&labels, None, 7).len(), 100);
        assert_eq!(stratified_cap(&labels, Some(500), 7).len(), 100);
    }

    #[test]
    fn quotas_sum_to_cap() {
        assert_eq!(quotas(&[5, 5], 4), vec![2, 2]);
        assert_eq!(quotas(&[1, 100, 0], 3), vec![1, 2, 0]);
        assert_eq!(quotas(&[3, 3, 3], 2), vec![1, 1, 0]);
    }
}
