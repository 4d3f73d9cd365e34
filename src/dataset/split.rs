//! Train/test splits. `Capture` keeps every capture (file, CESNET day, …) on one side, so the
//! test set measures generalisation to unseen captures; rows without a capture are their own
//! group. Both modes stratify by service and are deterministic from the seed.
use super::reservoir::{hash_str, priority};
use crate::features::schema::FlowRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitMode {
    Capture,
    Random,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    pub mode: SplitMode,
    pub test_fraction: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Split {
    /// Row indices, ascending.
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Group key of a row: its capture, or a per-row key when it has none.
pub fn group_key(row: &FlowRow, index: usize) -> String {
    if row.capture.is_empty() {
        format!("#row{index}")
    } else {
        row.capture.clone()
    }
}

/// Groups held out per service: round(fraction × groups), at least one on each side when the
/// service has ≥ 2 groups; a service with a single group stays in training.
fn n_test(groups: usize, fraction: f64) -> usize {
    if groups < 2 {
        return 0;
    }
    ((groups as f64 * fraction).round() as usize).clamp(1, groups - 1)
}

pub fn split_rows(rows: &[FlowRow], cfg: &SplitConfig) -> Split {
    // group key → (row indices, service row counts)
    let mut groups: BTreeMap<String, (Vec<usize>, BTreeMap<&str, usize>)> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let key = match cfg.mode {
            SplitMode::Capture => group_key(row, i),
            SplitMode::Random => format!("#row{i}"),
        };
        let g = groups.entry(key).or_default();
        g.0.push(i);
        *g.1.entry(row.service.as_str()).or_default() += 1;
    }
    // Each group belongs to its majority service (ties: smallest name).
    let mut by_service: BTreeMap<&str, Vec<(u64, &String)>> = BTreeMap::new();
    for (key, (_, counts)) in &groups {
        let best = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(s, _)| *s).unwrap_or("");
        by_service.entry(best).or_default().push((priority(cfg.seed, &[hash_str(key)]), key));
    }
    let mut split = Split::default();
    for (_, mut gs) in by_service {
        gs.sort();
        let k = n_test(gs.len(), cfg.test_fraction);
        for (j, (_, key)) in gs.iter().enumerate() {
            let idx = &groups[*key].0;
            if j < k {
                split.test.extend(idx)
            } else {
                split.train.extend(idx)
            }
        }
    }
    split.train.sort_unstable();
    split.test.sort_unstable();
    split
}

/// Sorted unique capture keys of the given rows.
pub fn captures_of(rows: &[FlowRow], idx: &[usize]) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = idx.iter().map(|&i| group_key(&rows[i], i)).collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<FlowRow> {
        let mut v = Vec::new();
        for (svc, caps) in [("streaming", 5), ("gaming", 3), ("browsing", 1)] {
            for c in 0..caps {
                for _ in 0..4 {
                    v.push(FlowRow { service: svc.into(), capture: format!("{svc}_{c}"), ..Default::default() });
                }
            }
        }
        v.push(FlowRow { service: "gaming".into(), ..Default::default() });
        v
    }

    #[test]
    fn capture_split_is_disjoint_stratified_and_deterministic() {
        let rows = rows();
        let cfg = SplitConfig { mode: SplitMode::Capture, test_fraction: 0.2, seed: 42 };
        let s = split_rows(&rows, &cfg);
        assert_eq!(s, split_rows(&rows, &cfg));
        assert_eq!(s.train.len() + s.test.len(), rows.len());
        let tr = captures_of(&rows, &s.train);
        let te = captures_of(&rows, &s.test);
        assert!(tr.iter().all(|c| !te.contains(c)));
        // streaming: 5 captures → 1 test; gaming: 4 groups → 1 test; browsing: 1 → none.
        for svc in ["streaming", "gaming"] {
            assert!(s.test.iter().any(|&i| rows[i].service == svc), "{svc}");
            assert!(s.train.iter().any(|&i| rows[i].service == svc), "{svc}");
        }
        assert!(s.test.iter().all(|&i| rows[i].service != "browsing"));
        let other = split_rows(&rows, &SplitConfig { seed: 7, ..cfg });
        assert_eq!(other.train.len() + other.test.len(), rows.len());
    }

    #[test]
    fn random_split_takes_fraction_of_rows_per_service() {
        let rows = rows();
        let s = split_rows(&rows, &SplitConfig { mode: SplitMode::Random, test_fraction: 0.25, seed: 1 });
        let test_streaming = s.test.iter().filter(|&&i| rows[i].service == "streaming").count();
        assert_eq!(test_streaming, 5);
    }
}
