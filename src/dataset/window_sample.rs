//! A [`WindowSink`] that keeps a deterministic uniform sample of flow windows as rows.
//!
//! Each window's identity is (file index, frame index of its flow's first packet, window index);
//! its bottom-k priority is a keyed hash of that identity, so the sample depends neither on the
//! order windows close in nor on how flows were sharded.
use super::reservoir::{priority, take_in_order, BottomK};
use crate::features::FlowRow;
use crate::flow::table::{FlowMeta, WindowSink};
use crate::flow::windows::{CloseReason, TimeWindows};
use crate::labels::FlowLabels;

/// Stable identity of a window: (file index, flow's first frame index, window index).
pub type WindowId = (u64, u64, i64);

pub struct WindowSample<'a> {
    pub file_index: u64,
    pub seed: u64,
    pub capture: &'a str,
    pub labels: Option<&'a FlowLabels>,
    pub default_app: &'a str,
    pub default_service: &'a str,
    pub kept: BottomK<(WindowId, FlowRow)>,
    /// Windows whose flow matched a label row.
    pub labelled: u64,
}

impl<'a> WindowSample<'a> {
    pub fn new(
        k: usize,
        file_index: u64,
        seed: u64,
        capture: &'a str,
        labels: Option<&'a FlowLabels>,
        app: &'a str,
        service: &'a str,
    ) -> Self {
        WindowSample {
            file_index,
            seed,
            capture,
            labels,
            default_app: app,
            default_service: service,
            kept: BottomK::new(k),
            labelled: 0,
        }
    }
}

impl WindowSink for WindowSample<'_> {
    fn window(&mut self, flow: &FlowMeta, w: &TimeWindows, _reason: CloseReason) {
        let id: WindowId = (self.file_index, flow.first_index, w.index());
        let ident = [id.0, id.1, id.2 as u64];
        let label = self.labels.and_then(|l| l.get(self.capture, &flow.key));
        self.labelled += label.is_some() as u64;
        let p = priority(self.seed, &ident);
        let order = priority(!self.seed, &ident);
        if !self.kept.would_keep(p, order) {
            self.kept.count_seen();
            return;
        }
        let (app, service) =
            label.map(|l| (l.app.as_str(), l.service.as_str())).unwrap_or((self.default_app, self.default_service));
        let (proto, capture) = (flow.key.proto, self.capture);
        self.kept.offer_with(
            p,
            order,
            || (id, w.current.finish(app, service, proto, capture)),
            |slot, _| {
                slot.0 = id;
                w.current.finish_into(app, service, proto, capture, &mut slot.1);
            },
        );
    }
}

/// Merge samples and return the rows ordered by window identity.
pub fn into_rows(samples: impl IntoIterator<Item = BottomK<(WindowId, FlowRow)>>, k: usize) -> (Vec<FlowRow>, u64) {
    let mut all = BottomK::new(k);
    for s in samples {
        all.merge(s);
    }
    let seen = all.seen();
    let kept = all.into_sorted();
    let mut order: Vec<usize> = (0..kept.len()).collect();
    order.sort_by_key(|&i| kept[i].0);
    let rows = take_in_order(kept, order);
    (rows.into_iter().map(|(_, r)| r).collect(), seen)
}
