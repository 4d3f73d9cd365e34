//! Latency summaries of per-flow times (numpy's default linear-interpolation percentiles, as
//! FlowCon-X reported them).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencySummary {
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Timed calls.
    #[serde(default)]
    pub runs: usize,
}

/// The CPU timings ran on, e.g. "Intel(R) Xeon(R) Processor, 2 CPUs": one build reads 16k flows/s
/// on one 2-core VM and 31k on another, so a figure means little without it.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    format!("{}, {cpus} CPUs", model.unwrap_or_else(|| std::env::consts::ARCH.to_string()))
}

/// Linear-interpolation percentile of sorted values, `q` in [0, 100].
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = (q / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Summary of per-call times in milliseconds; `None` for no samples.
pub fn summarize(times_ms: &[f64]) -> Option<LatencySummary> {
    if times_ms.is_empty() {
        return None;
    }
    let mut s = times_ms.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    Some(LatencySummary {
        mean_ms: s.iter().sum::<f64>() / s.len() as f64,
        p50_ms: percentile(&s, 50.0),
        p95_ms: percentile(&s, 95.0),
        p99_ms: percentile(&s, 99.0),
        runs: s.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_the_cpu_and_its_count() {
        let m = machine();
        let cpus = std::thread::available_parallelism().unwrap().get();
        assert!(m.ends_with(&format!(", {cpus} CPUs")), "{m}");
        assert!(m.len() > ", 1 CPUs".len(), "{m}");
    }

    #[test]
    fn percentiles_like_numpy() {
        // numpy.percentile([1..=5], [50, 95, 99]) = 3, 4.8, 4.96
        let s = summarize(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(s.p50_ms, 3.0);
        assert!((s.p95_ms - 4.8).abs() < 1e-12);
        assert!((s.p99_ms - 4.96).abs() < 1e-12);
        assert_eq!(s.mean_ms, 3.0);
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[2.0]).unwrap().p99_ms, 2.0);
    }
}
