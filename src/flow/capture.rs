//! One capture file → flow windows: reader → decoder → flow tables → [`WindowSink`]s.
//!
//! With several sinks the flows are sharded by key hash: this thread reads and decodes, one
//! thread per shard runs its flow table. Packet times are clamped to a monotonic clock and sweeps
//! happen at the same packet positions in every mode, so each flow sees the same events whatever
//! the shard count; with an order-free sink (the bottom-k reservoir) results are identical.
use super::key::FlowKey;
use super::table::{FlowConfig, FlowMeta, FlowStats, FlowTable, WindowSink};
use super::windows::{CloseReason, TimeWindows};
use crate::error::Result;
use crate::features::FlowRow;
use crate::ingest::decode::{decode, Packet, Skip, SkipCounts, TCP, UDP};
use crate::ingest::pcap::{CaptureReader, ReaderStats, Stop};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::mpsc;

#[derive(Debug, Clone, Copy)]
pub struct CaptureConfig {
    pub flow: FlowConfig,
    /// Stop after this many frames of the file.
    pub max_packets_to_scan: Option<u64>,
}

/// What one or more captures held; summed over files in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureStats {
    pub files: u64,
    /// Frames read (every record, whatever it carried).
    pub frames: u64,
    pub tcp: u64,
    pub udp: u64,
    pub skipped: SkipCounts,
    /// Frames of link types without a decoder, by link type.
    pub skipped_linktypes: BTreeMap<u32, u64>,
    pub reader: ReaderStats,
    /// Bytes of capture data read (decompressed).
    pub bytes: u64,
    pub flows: FlowStats,
    /// Files whose last record was cut short / that hold a corrupt record.
    pub truncated_files: u64,
    pub corrupt_files: u64,
}

impl CaptureStats {
    pub fn merge(&mut self, o: &CaptureStats) {
        self.files += o.files;
        self.frames += o.frames;
        self.tcp += o.tcp;
        self.udp += o.udp;
        self.skipped.merge(&o.skipped);
        for (k, v) in &o.skipped_linktypes {
            *self.skipped_linktypes.entry(*k).or_default() += v;
        }
        self.reader.unknown_interface += o.reader.unknown_interface;
        self.reader.no_timestamp += o.reader.no_timestamp;
        self.reader.bad_resolution += o.reader.bad_resolution;
        self.bytes += o.bytes;
        self.flows.merge(&o.flows);
        self.truncated_files += o.truncated_files;
        self.corrupt_files += o.corrupt_files;
    }
}

/// Result of scanning one file: its counts and, if reading stopped early, why.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub stats: CaptureStats,
    pub stop: Option<Stop>,
}

const BATCH: usize = 4096;

enum Msg {
    Packets(Vec<Packet>),
    Sweep(i64),
}

/// Scan one capture into `sinks` (one flow-table shard per sink; none: count only).
/// `progress` receives increments of bytes read, now and then.
pub fn scan_capture<S: WindowSink + Send>(
    path: &Path,
    cfg: &CaptureConfig,
    sinks: &mut [S],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ScanOutcome> {
    match sinks {
        [] => scan_single(path, cfg, &mut |_: &FlowMeta, _: &TimeWindows, _: CloseReason| {}, progress),
        [one] => scan_single(path, cfg, one, progress),
        _ => scan_sharded(path, cfg, sinks, progress),
    }
}

/// One flow table in this thread (the sink need not be `Send`).
pub fn scan_single<S: WindowSink>(
    path: &Path,
    cfg: &CaptureConfig,
    sink: &mut S,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ScanOutcome> {
    let mut reader = CaptureReader::open(path)?;
    let mut stats = CaptureStats { files: 1, ..CaptureStats::default() };
    let mut table = FlowTable::new(cfg.flow);
    let mut clock = Clock::new(cfg.flow.sweep_interval_us());
    read_packets(
        &mut reader,
        cfg,
        &mut stats,
        progress,
        |p, sweep| {
            if let Some(now) = sweep {
                table.sweep(now, sink);
            }
            table.push(&p, p.ts_us, sink);
        },
        &mut clock,
    )?;
    table.finish(sink);
    stats.flows = table.stats;
    Ok(finish_stats(reader, stats))
}

fn finish_stats(reader: CaptureReader, mut stats: CaptureStats) -> ScanOutcome {
    stats.bytes = reader.offset();
    let stop = reader.stop().cloned();
    match stop {
        Some(Stop::TruncatedRecord { .. }) => stats.truncated_files += 1,
        Some(Stop::Corrupt { .. }) => stats.corrupt_files += 1,
        None => {}
    }
    stats.reader = reader.stats.clone();
    ScanOutcome { stats, stop }
}

/// One flow-table shard per sink (by key hash, at least one), each in its own thread, while this thread
/// reads and decodes: with a single shard, two cores overlap reading with the flow table.
pub fn scan_sharded<S: WindowSink + Send>(
    path: &Path,
    cfg: &CaptureConfig,
    sinks: &mut [S],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ScanOutcome> {
    let mut reader = CaptureReader::open(path)?;
    let mut stats = CaptureStats { files: 1, ..CaptureStats::default() };
    let sweep_every = cfg.flow.sweep_interval_us();
    let n = sinks.len();
    let shard_stats = std::thread::scope(|s| -> Result<Vec<FlowStats>> {
        let (ret_tx, ret_rx) = mpsc::channel::<Vec<Packet>>();
        let mut txs = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for sink in sinks.iter_mut() {
            let (tx, rx) = mpsc::sync_channel::<Msg>(8);
            let ret_tx = ret_tx.clone();
            let flow_cfg = cfg.flow;
            txs.push(tx);
            handles.push(s.spawn(move || {
                let mut table = FlowTable::new(flow_cfg);
                for msg in rx {
                    match msg {
                        Msg::Packets(mut v) => {
                            for p in &v {
                                table.push(p, p.ts_us, sink);
                            }
                            v.clear();
                            let _ = ret_tx.send(v);
                        }
                        Msg::Sweep(now) => table.sweep(now, sink),
                    }
                }
                table.finish(sink);
                table.stats
            }));
        }
        drop(ret_tx);
        let mut batches: Vec<Vec<Packet>> = (0..n).map(|_| Vec::with_capacity(BATCH)).collect();
        let mut clock = Clock::new(sweep_every);
        let mut send_failed = false;
        let res = read_packets(
            &mut reader,
            cfg,
            &mut stats,
            progress,
            |p, sweep| {
                if let Some(now) = sweep {
                    for (i, tx) in txs.iter().enumerate() {
                        let fresh = ret_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                        let full = std::mem::replace(&mut batches[i], fresh);
                        send_failed |= tx.send(Msg::Packets(full)).is_err() || tx.send(Msg::Sweep(now)).is_err();
                    }
                }
                let shard =
                    if n == 1 { 0 } else { (FlowKey::from_packet(&p).canonical().stable_hash() % n as u64) as usize };
                batches[shard].push(p);
                if batches[shard].len() == BATCH {
                    let fresh = ret_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    let full = std::mem::replace(&mut batches[shard], fresh);
                    send_failed |= txs[shard].send(Msg::Packets(full)).is_err();
                }
            },
            &mut clock,
        );
        for (tx, b) in txs.iter().zip(batches) {
            send_failed |= tx.send(Msg::Packets(b)).is_err();
        }
        drop(txs);
        let mut out = Vec::with_capacity(n);
        for h in handles {
            match h.join() {
                Ok(st) => out.push(st),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        res?;
        debug_assert!(!send_failed);
        Ok(out)
    })?;
    for st in &shard_stats {
        stats.flows.merge(st);
    }
    Ok(finish_stats(reader, stats))
}

/// Monotonic packet clock and the sweep schedule.
struct Clock {
    now: i64,
    next_sweep: Option<i64>,
    every: i64,
}

impl Clock {
    fn new(every: i64) -> Self {
        Clock { now: i64::MIN, next_sweep: None, every }
    }
    /// Clamp `ts` to the clock; returns the time and whether a sweep is due before this packet.
    #[inline]
    fn tick(&mut self, ts: i64) -> (i64, Option<i64>) {
        self.now = self.now.max(ts);
        match self.next_sweep {
            None => {
                self.next_sweep = Some(self.now.saturating_add(self.every));
                (self.now, None)
            }
            Some(due) if self.now >= due => {
                self.next_sweep = Some(self.now.saturating_add(self.every));
                (self.now, Some(self.now))
            }
            Some(_) => (self.now, None),
        }
    }
}

/// Read and decode every frame; `on_packet` gets each TCP/UDP packet (time clamped to the clock)
/// and, when due, the sweep time to apply before it.
fn read_packets(
    reader: &mut CaptureReader,
    cfg: &CaptureConfig,
    stats: &mut CaptureStats,
    progress: &(dyn Fn(u64) + Sync),
    mut on_packet: impl FnMut(Packet, Option<i64>),
    clock: &mut Clock,
) -> Result<()> {
    let limit = cfg.max_packets_to_scan.unwrap_or(u64::MAX);
    let mut reported = 0u64;
    while stats.frames < limit {
        let Some(f) = reader.next_frame()? else { break };
        stats.frames += 1;
        match decode(f.linktype, f.data, f.orig_len, f.ts_us, f.index) {
            Ok(mut p) => {
                if p.proto == TCP {
                    stats.tcp += 1;
                } else if p.proto == UDP {
                    stats.udp += 1;
                }
                let (t, sweep) = clock.tick(p.ts_us);
                p.ts_us = t;
                on_packet(p, sweep);
            }
            Err(Skip::LinkType) => {
                stats.skipped.add(Skip::LinkType);
                *stats.skipped_linktypes.entry(f.linktype).or_default() += 1;
            }
            Err(s) => stats.skipped.add(s),
        }
        if stats.frames & 0xffff == 0 {
            let off = reader.offset();
            progress(off.saturating_sub(reported));
            reported = off;
        }
    }
    let off = reader.offset();
    progress(off.saturating_sub(reported));
    Ok(())
}

/// A closed window with its flow's endpoints, for callers that label or classify windows.
#[derive(Debug, Clone)]
pub struct WindowRecord {
    /// The window's row; `app`/`service` empty, `capture` = file name.
    pub row: FlowRow,
    /// Oriented from the flow's initiator (direction +1) to the responder.
    pub key: FlowKey,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub proto: u8,
    pub window_start_us: i64,
    pub window_index: i64,
    /// Frame index of the flow's first packet in the file.
    pub flow_first_index: u64,
    pub reason: CloseReason,
}

/// Stream every window of a capture, in closing order (single thread, deterministic).
pub fn for_each_window(path: &Path, cfg: &CaptureConfig, mut f: impl FnMut(WindowRecord)) -> Result<ScanOutcome> {
    let capture = capture_name(path);
    let mut sink = |m: &FlowMeta, w: &TimeWindows, reason: CloseReason| {
        let k = m.key;
        f(WindowRecord {
            row: w.current.finish("", "", k.proto, &capture),
            key: k,
            src: k.ip_a(),
            sport: k.port_a,
            dst: k.ip_b(),
            dport: k.port_b,
            proto: k.proto,
            window_start_us: w.window_start_us().unwrap_or(0),
            window_index: w.index(),
            flow_first_index: m.first_index,
            reason,
        })
    };
    scan_single(path, cfg, &mut sink, &|_| {})
}

/// The `capture` column value: the file name.
pub fn capture_name(path: &Path) -> String {
    path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}
