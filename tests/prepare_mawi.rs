//! `flowconx prepare-mawi` on real captures: the samples in data/samples/pcap (always) and the
//! nDPI / VCA captures under ../shared/data/pcap (skipped with a notice when absent).
use flowconx::flow::capture::{for_each_window, scan_capture, CaptureConfig};
use flowconx::flow::table::FlowConfig;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_flowconx");

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples/pcap")
}

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/pcap");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("notice: {} absent, test skipped", p.display());
        None
    }
}

fn run(args: &[&str], threads: usize) -> Output {
    Command::new(BIN)
        .arg("prepare-mawi")
        .args(args)
        .arg("--quiet")
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("run flowconx")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The number after `key` in the summary, e.g. `flows: 13`.
fn figure(summary: &str, key: &str) -> u64 {
    let at = summary.find(key).unwrap_or_else(|| panic!("`{key}` not in summary:\n{summary}")) + key.len();
    summary[at..].trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

fn flows_of(path: &Path) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    let o = run(&["--input", path.to_str().unwrap(), "--output", out.to_str().unwrap()], 2);
    assert!(o.status.success(), "{}", stderr(&o));
    figure(&stderr(&o), "flows:")
}

// Expected flow counts: `tshark -r FILE -q -z conv,tcp -z conv,udp | grep -c '<->'` (TShark 4.0,
// run once), which also equals the number of rows nDPI reports for the file in
// ndpi_flow_labels.csv. No flow in these captures idles past the 60 s timeout.
const FLOW_COUNTS: [(&str, u64); 3] =
    [("whatsapp_voice_and_message.pcap", 13), ("google_meet.pcapng", 2), ("dns_doh.pcap", 1)];
const SHARED_FLOW_COUNTS: [(&str, u64); 6] = [
    ("1kxun.pcap", 197),
    ("netflix.pcap", 60),
    ("teams.pcap", 82),
    ("webex.pcap", 57),
    ("quic.pcap", 10),
    ("reddit.pcap", 60),
];

#[test]
fn sample_flow_counts_match_tshark_and_ndpi() {
    for (name, want) in FLOW_COUNTS {
        assert_eq!(flows_of(&samples().join(name)), want, "{name}");
    }
}

#[test]
fn shared_flow_counts_match_tshark_and_ndpi() {
    let Some(d) = shared() else { return };
    for (name, want) in SHARED_FLOW_COUNTS {
        assert_eq!(flows_of(&d.join("ndpi").join(name)), want, "{name}");
    }
}

#[test]
fn per_flow_packet_counts_match_ndpi() {
    // nDPI's c2s_pkts + s2c_pkts per flow against the packets of each flow's windows.
    let labels = std::fs::read_to_string(samples().join("ndpi_flow_labels.csv")).unwrap();
    let cfg = CaptureConfig { flow: FlowConfig::new(1.0, 128), max_packets_to_scan: None };
    for name in ["whatsapp_voice_and_message.pcap", "google_meet.pcapng", "dns_doh.pcap"] {
        let mut mine: HashMap<(String, String), f64> = HashMap::new();
        for_each_window(&samples().join(name), &cfg, |w| {
            let a = std::net::SocketAddr::new(w.src, w.sport).to_string();
            let b = std::net::SocketAddr::new(w.dst, w.dport).to_string();
            let k = if a < b { (a, b) } else { (b, a) };
            *mine.entry(k).or_default() += w.row.total_packets;
        })
        .unwrap();
        let mut checked = 0;
        for line in labels.lines().skip(1).filter(|l| l.starts_with(&format!("{name},"))) {
            let f: Vec<&str> = line.split(',').collect();
            let (a, b) = (f[2].to_string(), f[3].to_string());
            let k = if a < b { (a, b) } else { (b, a) };
            let want: f64 = f[7].parse::<f64>().unwrap() + f[9].parse::<f64>().unwrap();
            assert_eq!(mine.get(&k).copied(), Some(want), "{name} {k:?}");
            checked += 1;
        }
        assert_eq!(checked, mine.len(), "{name}");
    }
}

#[test]
fn labels_join_and_default_label() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    let input = samples().join("whatsapp_voice_and_message.pcap");
    let labels = samples().join("ndpi_flow_labels.csv");
    let o = run(
        &["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--labels", labels.to_str().unwrap()],
        2,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = flowconx::features::schema::read_rows(&out).unwrap();
    assert!(!rows.is_empty());
    let mut services: Vec<&str> = rows.iter().map(|r| r.service.as_str()).collect();
    services.sort();
    services.dedup();
    // WhatsApp chat (Chat → browsing) and WhatsApp calls (conferencing); every flow is labelled.
    assert_eq!(services, ["browsing", "conferencing"]);
    assert!(rows.iter().all(|r| r.capture == "whatsapp_voice_and_message.pcap"));
    // Without labels: the defaults.
    let o = run(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--label-app", "bg"], 1);
    assert!(o.status.success());
    let rows = flowconx::features::schema::read_rows(&out).unwrap();
    assert!(rows.iter().all(|r| r.app == "bg" && r.service == "unknown"));
}

#[test]
fn output_identical_for_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = vec![samples()];
    if let Some(d) = shared() {
        inputs.push(d.join("ndpi_ether_merged.pcap"));
    }
    for input in inputs {
        let outs: Vec<Vec<u8>> = [1, 2]
            .iter()
            .map(|&t| {
                let out = dir.path().join(format!("t{t}.csv"));
                let o = run(
                    &[
                        "--input",
                        input.to_str().unwrap(),
                        "--output",
                        out.to_str().unwrap(),
                        "--max-flows",
                        "300",
                        "--seed",
                        "7",
                    ],
                    t,
                );
                assert!(o.status.success(), "{}", stderr(&o));
                std::fs::read(&out).unwrap()
            })
            .collect();
        assert!(outs[0].len() > 1000);
        assert!(outs[0] == outs[1], "{} differs between 1 and 2 threads", input.display());
    }
}

#[test]
fn sharded_scan_equals_single_table() {
    // The library path used for large files: shards must not change which windows exist.
    let Some(d) = shared() else { return };
    let path = d.join("ndpi_ether_merged.pcap");
    let cfg = CaptureConfig { flow: FlowConfig::new(1.0, 32), max_packets_to_scan: Some(40_000) };
    let collect = |shards: usize| {
        let mut sinks: Vec<Vec<(u64, i64, u64)>> = vec![Vec::new(); shards];
        let mut fns: Vec<_> = sinks
            .iter_mut()
            .map(|v| {
                move |m: &flowconx::flow::table::FlowMeta,
                      w: &flowconx::flow::windows::TimeWindows,
                      _r: flowconx::flow::windows::CloseReason| {
                    v.push((m.first_index, w.index(), w.current.packets()))
                }
            })
            .collect();
        let out = scan_capture(&path, &cfg, &mut fns, &|_| {}).unwrap();
        drop(fns);
        let mut all: Vec<_> = sinks.into_iter().flatten().collect();
        all.sort();
        (all, out.stats)
    };
    let (one, s1) = collect(1);
    let (three, s3) = collect(3);
    assert_eq!(s1.frames, 40_000);
    assert_eq!(one, three);
    assert_eq!(s1.flows.windows, s3.flows.windows);
}

#[test]
fn single_non_capture_is_a_one_line_error_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("notes.pcap");
    std::fs::write(&bad, "this is not a capture\n").unwrap();
    let out = dir.path().join("o.csv");
    let o = run(&["--input", bad.to_str().unwrap(), "--output", out.to_str().unwrap()], 2);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("notes.pcap: not a pcap/pcapng capture"), "{err}");
    assert!(!out.exists());
    // In a folder it is skipped with a warning and counted.
    std::fs::copy(samples().join("dns_doh.pcap"), dir.path().join("a.pcap")).unwrap();
    let o = run(&["--input", dir.path().to_str().unwrap(), "--output", out.to_str().unwrap()], 2);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(figure(&stderr(&o), "skipped files (not a capture):"), 1);
}

#[test]
fn truncated_capture_ends_with_warning() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(samples().join("whatsapp_voice_and_message.pcap")).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    let out = dir.path().join("o.csv");
    let o = run(&["--input", cut.to_str().unwrap(), "--output", out.to_str().unwrap()], 1);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("last record truncated"), "{}", stderr(&o));
    assert_eq!(figure(&stderr(&o), "files ending early:"), 1);
}

#[test]
fn every_ndpi_capture_without_panic_or_hang() {
    let Some(d) = shared() else { return };
    let dir = d.join("ndpi");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 500);
    // Each file through the library in a watchdog thread (a panic or a hang fails the test) …
    let cfg = CaptureConfig { flow: FlowConfig::new(1.0, 128), max_packets_to_scan: None };
    let (mut ok, mut errors) = (0, Vec::new());
    for f in &files {
        let (tx, rx) = std::sync::mpsc::channel();
        let path = f.clone();
        std::thread::spawn(move || {
            let mut sink = |_: &flowconx::flow::table::FlowMeta,
                            w: &flowconx::flow::windows::TimeWindows,
                            _r: flowconx::flow::windows::CloseReason| {
                let _ = w.current.finish("a", "s", 6, "c");
            };
            let _ = tx.send(scan_capture(&path, &cfg, std::slice::from_mut(&mut sink), &|_| {}).map(|_| ()));
        });
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => errors.push(e.to_string()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("{} hangs", f.display()),
            Err(_) => panic!("{} panicked", f.display()),
        }
    }
    // … only files that are not captures fail, each with one line naming the file.
    for e in &errors {
        assert!(e.contains("not a pcap") && !e.contains('\n'), "{e}");
    }
    assert!(ok >= files.len() - 2, "{ok} of {}: {errors:?}", files.len());
    // … and the folder through the binary: exit 0, every capture counted.
    let out = tempfile::tempdir().unwrap();
    let o = run(&["--input", dir.to_str().unwrap(), "--output", out.path().join("o.csv").to_str().unwrap()], 2);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stderr(&o);
    let summary = s.lines().find(|l| l.contains("capture files")).unwrap_or_default();
    assert_eq!(figure(summary, "prepare-mawi:") as usize, ok, "{s}");
}

#[test]
fn vca_pcapngs_and_merged_trace() {
    let Some(d) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    for input in [d.join("vca"), d.join("ndpi_ether_merged.pcap")] {
        let out = dir.path().join("o.csv");
        let o = run(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()], 2);
        assert!(o.status.success(), "{}", stderr(&o));
        let s = stderr(&o);
        assert!(figure(&s, "UDP =") > 10_000, "{s}");
        assert!(figure(&s, "rows kept:") > 100, "{s}");
        let rows = flowconx::features::schema::read_rows(&out).unwrap();
        assert_eq!(rows.len() as u64, figure(&s, "rows kept:"));
        if input.ends_with("vca") {
            // `capinfos` packet counts of the four files: 15503 + 8238 + 8755 + 16493.
            assert_eq!(figure(&s, "MB),"), 48_989, "{s}");
        }
        assert!(rows.iter().all(|r| r.protocol == 6 || r.protocol == 17));
        assert!(rows.iter().all(|r| r.total_fwd_packets + r.total_backward_packets == r.total_packets));
    }
}
