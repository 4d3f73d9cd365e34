//! Label vocabularies (service = target, app, network condition) → class ids.
use crate::features::schema::FlowRow;
use crate::features::window::condition_label;
use serde::{Deserialize, Serialize};

/// Condition classes of the adversary, in a fixed order.
pub const CONDITIONS: [&str; 5] = ["good", "moderate", "degraded", "bad", "unknown"];

/// The row's condition: its own label when it is one of the measured buckets, else the
/// documented thresholds applied to its `rtt_ms` / `jitter_ms` / `loss_rate` (missing ones do not vote).
pub fn row_condition(row: &FlowRow) -> &'static str {
    match CONDITIONS[..4].iter().find(|c| **c == row.condition) {
        Some(c) => c,
        None => condition_label(row.rtt_ms, row.jitter_ms, row.loss_rate),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelMaps {
    pub services: Vec<String>,
    pub apps: Vec<String>,
    pub conditions: Vec<String>,
}

fn sorted_unique<'a>(it: impl Iterator<Item = &'a str>) -> Vec<String> {
    let set: std::collections::BTreeSet<&str> = it.collect();
    set.into_iter().map(str::to_string).collect()
}

impl LabelMaps {
    /// Sorted vocabularies of the given rows (sorted, so independent of row order).
    pub fn fit<'a>(rows: impl Iterator<Item = &'a FlowRow> + Clone) -> Self {
        LabelMaps {
            services: sorted_unique(rows.clone().map(|r| r.service.as_str())),
            apps: sorted_unique(rows.map(|r| r.app.as_str())),
            conditions: CONDITIONS.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn service_id(&self, s: &str) -> Option<usize> {
        self.services.iter().position(|x| x == s)
    }
    pub fn app_id(&self, s: &str) -> Option<usize> {
        self.apps.iter().position(|x| x == s)
    }
    pub fn condition_id(&self, s: &str) -> Option<usize> {
        self.conditions.iter().position(|x| x == s)
    }

    /// (service, app, condition) ids of a row; unseen names map to `None`.
    pub fn ids(&self, row: &FlowRow) -> (Option<usize>, Option<usize>, Option<usize>) {
        (self.service_id(&row.service), self.app_id(&row.app), self.condition_id(row_condition(row)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_sorted_and_condition_falls_back_to_thresholds() {
        let mk = |app: &str, svc: &str, rtt: Option<f64>| FlowRow {
            app: app.into(),
            service: svc.into(),
            condition: "unknown".into(),
            rtt_ms: rtt,
            ..Default::default()
        };
        let rows = [
            mk("zoom", "conferencing", Some(10.0)),
            mk("netflix", "streaming", Some(150.0)),
            mk("a", "streaming", None),
        ];
        let m = LabelMaps::fit(rows.iter());
        assert_eq!(m.services, vec!["conferencing", "streaming"]);
        assert_eq!(m.apps, vec!["a", "netflix", "zoom"]);
        assert_eq!(row_condition(&rows[0]), "good");
        assert_eq!(row_condition(&rows[1]), "degraded");
        assert_eq!(row_condition(&rows[2]), "unknown");
        assert_eq!(m.ids(&rows[1]), (Some(1), Some(1), Some(2)));
    }
}
