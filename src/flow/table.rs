//! Bidirectional flow table: packets → per-flow time windows → a [`WindowSink`].
//!
//! Direction +1 is the sender of the flow's first packet. A flow idle for longer than the idle
//! timeout ends (its next packet starts a new flow). Callers pass a monotonic packet clock `t`
//! (timestamps clamped to the latest seen), so every decision here depends only on the flow's own
//! packets and the sweep times; that makes results identical however flows are sharded.
use super::key::FlowKey;
use super::windows::{CloseReason, TimeWindows};
use crate::ingest::decode::{Packet, TCP, TCP_FIN, TCP_SYN};
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    pub window_seconds: f64,
    pub max_packets: usize,
    /// A flow with no packet for longer than this ends.
    pub idle_timeout_us: i64,
}

impl FlowConfig {
    /// Idle timeout max(window, 60 s).
    pub fn new(window_seconds: f64, max_packets: usize) -> Self {
        let idle = (window_seconds.max(60.0) * 1e6).round() as i64;
        FlowConfig { window_seconds, max_packets, idle_timeout_us: idle }
    }
    /// How often (packet time) to sweep idle flows and ended windows: every max(window, 30 s).
    /// A sweep visits every flow (a profile showed 15 s sweeps costing 13% of a backbone scan),
    /// so not too often; memory then holds the flows of the last idle timeout + 30 s. Sweeps
    /// never change the rows, only when memory is given back.
    pub fn sweep_interval_us(&self) -> i64 {
        ((self.window_seconds.max(30.0)) * 1e6).round() as i64
    }
}

/// What a sink learns about the flow of a closing window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowMeta {
    /// Oriented from the initiator (`a`, direction +1) to the responder.
    pub key: FlowKey,
    /// File index of the flow's first packet: with the window index, a stable identity.
    pub first_index: u64,
}

/// Receives every non-empty window when it closes.
pub trait WindowSink {
    fn window(&mut self, flow: &FlowMeta, windows: &TimeWindows, reason: CloseReason);
}

impl<F: FnMut(&FlowMeta, &TimeWindows, CloseReason)> WindowSink for F {
    fn window(&mut self, flow: &FlowMeta, windows: &TimeWindows, reason: CloseReason) {
        self(flow, windows, reason)
    }
}

/// Highest TCP sequence end seen in one direction; data below it again is a retransmission.
#[derive(Debug, Clone, Copy, Default)]
struct SeqTrack {
    next: u32,
    valid: bool,
}

impl SeqTrack {
    /// Returns whether a segment `[seq, seq + len)` (len > 0) repeats data already seen.
    #[inline]
    fn segment(&mut self, seq: u32, len: u32, flags: u8) -> bool {
        let end = seq.wrapping_add(len).wrapping_add((flags & (TCP_SYN | TCP_FIN) != 0) as u32);
        let retrans = self.valid && len > 0 && (end.wrapping_sub(self.next) as i32) <= 0;
        if !self.valid || (end.wrapping_sub(self.next) as i32) > 0 {
            self.next = end;
            self.valid = true;
        }
        retrans
    }
}

#[derive(Debug, Clone)]
struct FlowState {
    meta: FlowMeta,
    last_t: i64,
    windows: TimeWindows,
    seq: [SeqTrack; 2],
}

/// Counters summed over shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub flows: u64,
    pub windows: u64,
    /// Windows closed by a later packet or a sweep past their end.
    pub closed_time: u64,
    pub closed_idle: u64,
    pub closed_end: u64,
    /// Largest number of flows held at once.
    pub peak_flows: u64,
}

impl FlowStats {
    pub fn merge(&mut self, o: &FlowStats) {
        self.flows += o.flows;
        self.windows += o.windows;
        self.closed_time += o.closed_time;
        self.closed_idle += o.closed_idle;
        self.closed_end += o.closed_end;
        // Shards peak at different times: the sum bounds the true peak from above.
        self.peak_flows += o.peak_flows;
    }
    fn count(&mut self, reason: CloseReason) {
        self.windows += 1;
        match reason {
            CloseReason::TimeAdvanced => self.closed_time += 1,
            CloseReason::Idle => self.closed_idle += 1,
            CloseReason::EndOfStream => self.closed_end += 1,
        }
    }
}

/// Flows live in slots of a vector, found through a small key → slot index. A slot keeps its
/// window buffers for the next flow (no allocation storm on busy links); memory then follows the
/// peak number of flows held. Each live slot has a
/// due time, the earliest clock time at which a sweep can have work for it: a sweep visits only
/// the flows due, not the whole table.
pub struct FlowTable {
    cfg: FlowConfig,
    index: FxHashMap<FlowKey, u32>,
    flows: Vec<FlowState>,
    /// Per slot: the current window's end while it holds packets (it ends before the flow can
    /// idle out), else the time the flow idles out; [`FREE`] for a free slot.
    due: Vec<i64>,
    /// `(due, slot)` for every live slot's current due time, unordered; entries whose slot's due
    /// has since changed are dropped. A due time lies at most one idle timeout ahead, so a sweep
    /// sees each entry only a few times: cheaper than keeping a heap ordered.
    pending: Vec<(i64, u32)>,
    free: Vec<u32>,
    pub stats: FlowStats,
}

/// `due` of a free slot (a live slot's due time is always higher).
const FREE: i64 = i64::MIN;

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            cfg,
            index: FxHashMap::default(),
            flows: Vec::new(),
            due: Vec::new(),
            pending: Vec::new(),
            free: Vec::new(),
            stats: FlowStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn close<S: WindowSink>(stats: &mut FlowStats, st: &FlowState, reason: CloseReason, sink: &mut S) {
        if !st.windows.current.is_empty() {
            stats.count(reason);
            sink.window(&st.meta, &st.windows, reason);
        }
    }

    fn start_flow(st: &mut FlowState, p: &Packet) {
        st.windows.reset();
        st.meta = FlowMeta { key: FlowKey::from_packet(p), first_index: p.index };
        st.seq = [SeqTrack::default(); 2];
    }

    /// A slot for a new flow: a free one (buffers kept) or a fresh one.
    fn alloc(
        cfg: &FlowConfig,
        flows: &mut Vec<FlowState>,
        due: &mut Vec<i64>,
        free: &mut Vec<u32>,
        p: &Packet,
    ) -> usize {
        if let Some(slot) = free.pop() {
            Self::start_flow(&mut flows[slot as usize], p);
            return slot as usize;
        }
        flows.push(FlowState {
            meta: FlowMeta { key: FlowKey::from_packet(p), first_index: p.index },
            last_t: 0,
            windows: TimeWindows::new(cfg.window_seconds, cfg.max_packets),
            seq: [SeqTrack::default(); 2],
        });
        due.push(FREE);
        flows.len() - 1
    }

    #[inline]
    fn set_due(&mut self, slot: usize, due: i64) {
        if self.due[slot] != due {
            self.due[slot] = due;
            self.pending.push((due, slot as u32));
        }
    }

    /// Add a packet at clock time `t` (≥ every earlier `t`).
    #[inline]
    pub fn push<S: WindowSink>(&mut self, p: &Packet, t: i64, sink: &mut S) {
        let key = FlowKey::from_packet(p);
        let ck = key.canonical();
        let idle = self.cfg.idle_timeout_us;
        let len = self.index.len() as u64;
        let slot = match self.index.entry(ck) {
            Entry::Occupied(e) => {
                let slot = *e.get() as usize;
                let st = &mut self.flows[slot];
                if t.saturating_sub(st.last_t) > idle {
                    Self::close(&mut self.stats, st, CloseReason::Idle, sink);
                    // Same key, new flow: reuse the state's buffers in place.
                    Self::start_flow(st, p);
                    self.stats.flows += 1;
                }
                slot
            }
            Entry::Vacant(v) => {
                self.stats.flows += 1;
                self.stats.peak_flows = self.stats.peak_flows.max(len + 1);
                let slot = Self::alloc(&self.cfg, &mut self.flows, &mut self.due, &mut self.free, p);
                v.insert(slot as u32);
                slot
            }
        };
        let st = &mut self.flows[slot];
        let forward = key.a == st.meta.key.a && key.port_a == st.meta.key.port_a;
        if st.windows.crosses(t) {
            Self::close(&mut self.stats, st, CloseReason::TimeAdvanced, sink);
            st.windows.advance(t);
        }
        let opens = st.windows.current.is_empty();
        st.windows.push(t, p.ip_len, if forward { 1 } else { -1 });
        if p.proto == TCP {
            let retrans = st.seq[!forward as usize].segment(p.tcp_seq, p.payload_len, p.tcp_flags);
            if p.payload_len > 0 {
                st.windows.current.note_tcp_segment(retrans);
            }
        }
        st.last_t = t;
        if opens {
            let end = st.windows.end_us();
            self.set_due(slot, end);
        }
    }

    /// At clock `now`: end flows idle past the timeout and close windows that ended before `now`.
    pub fn sweep<S: WindowSink>(&mut self, now: i64, sink: &mut S) {
        let idle = self.cfg.idle_timeout_us;
        // Take every entry due first: a slot re-queued below at a time <= `now` (possible only
        // with saturated clock arithmetic) waits for the next sweep.
        let mut ready = Vec::new();
        let due_now = &self.due;
        self.pending.retain(|&(due, slot)| {
            let current = due_now[slot as usize] == due;
            if current && due <= now {
                ready.push(slot as usize);
            }
            current && due > now
        });
        for slot in ready {
            let st = &mut self.flows[slot];
            if self.due[slot] == FREE {
                continue;
            }
            if now.saturating_sub(st.last_t) > idle {
                Self::close(&mut self.stats, st, CloseReason::Idle, sink);
                self.index.remove(&st.meta.key.canonical());
                self.free.push(slot as u32);
                self.due[slot] = FREE;
                continue;
            }
            if st.windows.crosses(now) {
                Self::close(&mut self.stats, st, CloseReason::TimeAdvanced, sink);
                st.windows.advance(now);
            }
            let due = if st.windows.current.is_empty() {
                st.last_t.saturating_add(idle).saturating_add(1)
            } else {
                st.windows.end_us()
            };
            self.set_due(slot, due);
        }
    }

    /// End of the packet stream: close every open window.
    pub fn finish<S: WindowSink>(&mut self, sink: &mut S) {
        for (st, &due) in self.flows.iter().zip(&self.due) {
            if due != FREE {
                Self::close(&mut self.stats, st, CloseReason::EndOfStream, sink);
            }
        }
        self.index.clear();
        self.flows.clear();
        self.due.clear();
        self.pending.clear();
        self.free.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(src: u8, sport: u16, dst: u8, dport: u16, index: u64, len: u32) -> Packet {
        let mut p = Packet { index, proto: 17, ip_version: 4, sport, dport, ip_len: len, ..Packet::default() };
        p.src[..4].copy_from_slice(&[10, 0, 0, src]);
        p.dst[..4].copy_from_slice(&[10, 0, 0, dst]);
        p
    }

    type Rec = (u64, i64, Vec<i8>, CloseReason);

    fn run(packets: &[(i64, Packet)]) -> (Vec<Rec>, FlowStats) {
        let mut t = FlowTable::new(FlowConfig::new(1.0, 16));
        let mut out: Vec<Rec> = Vec::new();
        let mut sink = |m: &FlowMeta, w: &TimeWindows, r: CloseReason| {
            let row = w.current.finish("a", "s", 17, "c");
            out.push((m.first_index, w.index(), row.directions, r));
        };
        for (ts, p) in packets {
            t.push(p, *ts, &mut sink);
        }
        t.finish(&mut sink);
        out.sort_by_key(|r| (r.0, r.1));
        (out, t.stats)
    }

    #[test]
    fn directions_windows_and_idle() {
        let a = pkt(1, 1000, 2, 53, 0, 60);
        let b = pkt(2, 53, 1, 1000, 1, 120);
        let pk = [
            (0, a),
            (400_000, b),
            (1_200_000, Packet { index: 2, ..a }),
            // 70 s later: idle timeout (60 s) passed → new flow started by the responder
            (71_300_000, Packet { index: 3, ..b }),
        ];
        let (out, st) = run(&pk);
        assert_eq!(st.flows, 2);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], (0, 0, vec![1, -1], CloseReason::TimeAdvanced));
        assert_eq!(out[1], (0, 1, vec![1], CloseReason::Idle));
        assert_eq!(out[2], (3, 0, vec![1], CloseReason::EndOfStream));
    }

    #[test]
    fn sweeps_do_not_change_windows() {
        let a = pkt(1, 1000, 2, 53, 0, 60);
        let pk: Vec<(i64, Packet)> = (0..50).map(|i| (i * 300_000, Packet { index: i as u64, ..a })).collect();
        let (plain, _) = run(&pk);
        let mut t = FlowTable::new(FlowConfig::new(1.0, 16));
        let mut swept: Vec<Rec> = Vec::new();
        let mut sink = |m: &FlowMeta, w: &TimeWindows, r: CloseReason| {
            swept.push((m.first_index, w.index(), w.current.finish("a", "s", 17, "c").directions, r));
        };
        for (ts, p) in &pk {
            if ts % 2_000_000 == 0 {
                t.sweep(*ts, &mut sink);
            }
            t.push(p, *ts, &mut sink);
        }
        t.finish(&mut sink);
        swept.sort_by_key(|r| (r.0, r.1));
        let strip = |v: &[Rec]| v.iter().map(|r| (r.0, r.1, r.2.clone())).collect::<Vec<_>>();
        assert_eq!(strip(&plain), strip(&swept));
    }

    #[test]
    fn idle_flows_swept_and_slots_reused_without_changing_rows() {
        // Three flows with pauses past the idle timeout: sweeps end them and hand their slots to
        // later flows; rows and counts equal a run where only packets end flows.
        let mut pk = Vec::new();
        for i in 0..300u64 {
            let f = (i % 3) as u8;
            let ts = (i as i64 / 30) * 75_000_000 + (i as i64 % 30) * 200_000;
            pk.push((ts, pkt(1 + f, 1000 + f as u16, 9, 53, i, 60 + i as u32)));
        }
        let (plain, plain_stats) = run(&pk);
        let mut t = FlowTable::new(FlowConfig::new(1.0, 4));
        let mut swept: Vec<Rec> = Vec::new();
        let mut sink = |m: &FlowMeta, w: &TimeWindows, r: CloseReason| {
            swept.push((m.first_index, w.index(), w.current.finish("a", "s", 17, "c").directions, r));
        };
        let mut next_sweep = 0;
        for (ts, p) in &pk {
            if *ts >= next_sweep {
                t.sweep(*ts, &mut sink);
                next_sweep = ts + 30_000_000;
            }
            t.push(p, *ts, &mut sink);
        }
        // Ten bursts of the same three flows: ten flows each, never more than three slots.
        assert_eq!((t.stats.flows, t.flows.len()), (30, 3));
        t.finish(&mut sink);
        swept.sort_by_key(|r| (r.0, r.1));
        let strip = |v: &[Rec]| v.iter().map(|r| (r.0, r.1, r.2.clone())).collect::<Vec<_>>();
        assert_eq!(strip(&plain), strip(&swept));
        assert_eq!((plain_stats.flows, plain_stats.windows), (t.stats.flows, t.stats.windows));
    }

    #[test]
    fn tcp_retransmissions_counted() {
        let mut s = SeqTrack::default();
        assert!(!s.segment(100, 0, TCP_SYN));
        assert!(!s.segment(101, 50, 0x18));
        assert!(!s.segment(151, 50, 0x18));
        assert!(s.segment(101, 50, 0x18));
        assert!(!s.segment(201, 10, 0x18));
        // wrap-around
        let mut w = SeqTrack::default();
        assert!(!w.segment(u32::MAX - 5, 10, 0x10));
        assert!(!w.segment(4, 10, 0x10));
        assert!(w.segment(u32::MAX - 5, 10, 0x10));
    }
}
