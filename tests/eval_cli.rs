//! `evaluate`, `kpi-report` and `classify` end to end on real sample rows and captures, with a
//! tiny checkpoint trained in the test.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SAMPLE: &str = "data/samples/processed/fiveg_flows_sample.csv";
const BACKGROUND: &str = "data/samples/processed/mawi_background_300.csv";
const CAPTURE: &str = "data/samples/pcap/google_meet.pcapng";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flowconx"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn train(out: &Path) {
    ok(bin()
        .args(["train", "--csv", SAMPLE, "--device", "cpu", "--threads", "1", "--epochs", "1", "--batch-size", "48"])
        .args(["--memory-per-class", "32", "--quiet", "--output-dir"])
        .arg(out)
        .output()
        .unwrap());
}

/// A CSV's header and records, as strings.
fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    (h, r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect())
}

/// The verdict rows of a `classify` output, once its header is checked.
fn csv_rows(p: &Path) -> Vec<Vec<String>> {
    let (h, rows) = read_csv(p);
    let base = "capture,src,sport,dst,dport,proto,window_start,predicted_service,nearest_app,similarity";
    assert!(h.join(",") == base || h.join(",") == format!("{base},energy"), "header {h:?}");
    rows
}

/// `flowconx classify --device cpu --quiet [extra] --checkpoint ck --input input --output out`, which must succeed.
fn classify(ck: &Path, input: &Path, out: &Path, extra: &[&str]) -> Output {
    ok(bin()
        .args(["classify", "--device", "cpu", "--quiet"])
        .args(extra)
        .arg("--checkpoint")
        .arg(ck)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .output()
        .unwrap())
}

#[test]
fn evaluate_report_and_classify() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    train(&ck);
    // `train` ends with the evaluation, as FlowCon-X did.
    for f in ["metrics.json", "kpi_report.md", "kpi_report_pca.png", "kpi_report_confusion.png"] {
        assert!(ck.join(f).is_file(), "train did not write {f}");
    }

    // evaluate: every section present, FlowCon-X's names kept, split reused from the checkpoint.
    let eval = dir.path().join("eval.json");
    ok(bin()
        .args([
            "evaluate",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--quiet",
            "--latency-runs",
            "5",
            "--throughput-batch",
            "16",
        ])
        .args(["--csv", SAMPLE, "--background", BACKGROUND, "--checkpoint"])
        .arg(&ck)
        .arg("--output")
        .arg(&eval)
        .output()
        .unwrap());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&eval).unwrap()).unwrap();
    for key in [
        "/service_similarity/intra",
        "/service_similarity/inter",
        "/app_similarity/intra",
        "/classification/knn_accuracy",
        "/classification/svm_accuracy",
        "/prototype_generalization/prototype_accuracy",
        "/leave_one_app_out/leave_one_app_accuracy",
        "/cist_score",
        "/latency/mean_ms",
        "/latency/p99_ms",
        "/latency_end_to_end/p50_ms",
        "/throughput/flows_per_s",
        "/baseline/raw_knn_accuracy",
        "/open_set/auroc",
        "/open_set/threshold",
        "/open_set/service_head_energy/auroc",
        "/open_set/service_head_energy/threshold",
    ] {
        assert!(m.pointer(key).is_some_and(|v| v.is_number()), "{key} missing: {m}");
    }
    // On CPU the pure-Rust engine is the default, and the metrics say so.
    assert_eq!(m["engine"], "host");
    let split = &m["split"];
    assert_eq!(split["kind"], "capture");
    assert_eq!(split["shared_captures"], 0);
    assert_eq!(split["training_rows_in_test"], 0);
    // Another split of the training rows: its test rows that trained the model are counted and
    // named in a warning (regression: `--split` used to redraw silently with `--seed`).
    let other = dir.path().join("random.json");
    let o = ok(bin()
        .args(["evaluate", "--device", "cpu", "--threads", "1", "--no-timing", "--split", "random"])
        .args(["--csv", SAMPLE, "--checkpoint"])
        .arg(&ck)
        .arg("--output")
        .arg(&other)
        .output()
        .unwrap());
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&other).unwrap()).unwrap();
    let leaked = r["split"]["training_rows_in_test"].as_u64().unwrap();
    assert!(leaked > 0, "{}", r["split"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("warning: {leaked} of the")) && err.contains("were training rows"), "{err}");
    let ckmeta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ck.join("checkpoint.json")).unwrap()).unwrap();
    assert_eq!(split["test_rows"].as_u64().unwrap() as usize, ckmeta["split"]["test"].as_array().unwrap().len());
    assert_eq!(m["open_set"]["background_rows"], 300);
    let acc = m["classification"]["knn_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
    assert_eq!(m["confusion"]["matrix"].as_array().unwrap().len(), m["confusion"]["labels"].as_array().unwrap().len());
    // One entry per test capture, whose rows add up to the test side.
    let per_capture = m["per_capture"].as_array().unwrap();
    assert_eq!(per_capture.len() as u64, split["test_captures"].as_u64().unwrap());
    let rows: u64 = per_capture.iter().map(|c| c["rows"].as_u64().unwrap()).sum();
    assert_eq!(rows, split["eval_test_rows"].as_u64().unwrap());
    // Leave-one-app-out per held-out app: one entry per evaluated app, its rows those predicted.
    let loao = &m["leave_one_app_out"];
    let per_app = loao["per_app"].as_array().unwrap();
    assert_eq!(per_app.len() as u64, loao["apps_evaluated"].as_u64().unwrap());
    let predicted: u64 = per_app.iter().map(|a| a["rows"].as_u64().unwrap()).sum();
    let skipped = loao["leave_one_app_skipped"].as_f64().unwrap() as u64;
    assert_eq!(predicted + skipped, split["eval_test_rows"].as_u64().unwrap());
    assert!(loao["answerable_rows"].as_u64().unwrap() <= predicted);
    assert!(m["throughput"]["machine"].as_str().is_some_and(|s| s.contains("CPUs")));

    // kpi-report: markdown with the KPI table and links to two PNGs written beside it.
    let md = dir.path().join("report").join("kpi_report.md");
    ok(bin().args(["kpi-report", "--metrics"]).arg(&eval).arg("--output").arg(&md).output().unwrap());
    let text = std::fs::read_to_string(&md).unwrap();
    for s in [
        "| KPI | Target | Value | Status |",
        "k-NN classification accuracy",
        "## Baseline",
        "## Open set",
        "## Test captures, lowest k-NN accuracy first",
        "## Leave-one-app-out by app, lowest accuracy first",
        "Timed on: ",
        "AUROC",
        "| service-head energy (info) |",
        "kpi_report_pca.png",
        "kpi_report_confusion.png",
    ] {
        assert!(text.contains(s), "report lacks `{s}`:\n{text}");
    }
    for f in ["kpi_report_pca.png", "kpi_report_confusion.png"] {
        let b = std::fs::read(md.with_file_name(f)).unwrap();
        assert_eq!(&b[..4], b"\x89PNG");
    }

    // classify a processed CSV: one verdict per input row, in order, endpoint columns empty.
    let v = dir.path().join("v.csv");
    classify(&ck, &root(SAMPLE), &v, &[]);
    let rows = csv_rows(&v);
    let src = flowconx::features::schema::read_rows(&root(SAMPLE)).unwrap();
    assert_eq!(rows.len(), src.len());
    for (r, s) in rows.iter().zip(&src) {
        assert_eq!(r[0], s.capture);
        assert!(r[1..7].iter().all(String::is_empty));
        assert!(!r[7].is_empty() && !r[8].is_empty());
        let sim: f64 = r[9].parse().unwrap();
        assert!((-1.0001..=1.0001).contains(&sim));
    }
    // The tch engine keeps the embeddings on its device and runs the k-NN and prototypes there
    // (`eval::device`): the same verdicts as the host engine, up to float rounding.
    let vt = dir.path().join("v-tch.csv");
    classify(&ck, &root(SAMPLE), &vt, &["--engine", "tch"]);
    let tch_rows = csv_rows(&vt);
    assert_eq!(tch_rows.len(), rows.len());
    let same = rows.iter().zip(&tch_rows).filter(|(a, b)| a[..9] == b[..9]).count();
    assert!(same * 100 >= rows.len() * 99, "{same} of {} verdicts agree", rows.len());
    for (a, b) in rows.iter().zip(&tch_rows) {
        let (x, y): (f64, f64) = (a[9].parse().unwrap(), b[9].parse().unwrap());
        assert!((x - y).abs() < 1e-4, "similarity {x} vs {y}");
    }
    // A threshold above every similarity rejects everything.
    let u = dir.path().join("u.csv");
    classify(&ck, &root(BACKGROUND), &u, &["--unknown-threshold", "1.5"]);
    assert!(csv_rows(&u).iter().all(|r| r[7] == "unknown"));
    // The service head's energy as the open-set score: an `energy` column, and `unknown` exactly
    // where it is below the energy threshold `train` stored in metrics.json.
    let en = dir.path().join("energy.csv");
    let o = classify(&ck, &root(SAMPLE), &en, &["--unknown-score", "energy"]);
    // It says how reliable the head is (on the reference rows stored with the checkpoint).
    assert!(String::from_utf8_lossy(&o.stderr).contains("the service head classifies"));
    let header = std::fs::read_to_string(&en).unwrap().lines().next().unwrap().to_string();
    assert!(header.ends_with(",similarity,energy"), "{header}");
    let trained: serde_json::Value = serde_json::from_slice(&std::fs::read(ck.join("metrics.json")).unwrap()).unwrap();
    let t = trained["open_set"]["service_head_energy"]["threshold"].as_f64().unwrap();
    let rows = csv_rows(&en);
    assert_eq!(rows.len(), src.len());
    for r in &rows {
        let e: f64 = r[10].parse().unwrap();
        assert!(e.is_finite());
        // The file holds 6 decimals; leave out rows that close to the threshold.
        if (e - t).abs() > 1e-5 {
            assert_eq!(r[7] == "unknown", e < t, "energy {e} vs threshold {t}: {r:?}");
        }
    }
    // The same energies from tch, whose embeddings come back from its device for the head.
    let et = dir.path().join("energy-tch.csv");
    classify(&ck, &root(SAMPLE), &et, &["--unknown-score", "energy", "--engine", "tch"]);
    for (a, b) in rows.iter().zip(csv_rows(&et)) {
        let (x, y): (f64, f64) = (a[10].parse().unwrap(), b[10].parse().unwrap());
        assert!((x - y).abs() < 1e-3, "energy {x} vs {y}");
    }

    // classify a raw capture: endpoints filled, deterministic.
    let (c1, c2) = (dir.path().join("c1.csv"), dir.path().join("c2.csv"));
    for c in [&c1, &c2] {
        classify(&ck, &root(CAPTURE), c, &[]);
    }
    let rows = csv_rows(&c1);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r[0] == "google_meet.pcapng" && !r[1].is_empty() && (r[5] == "TCP" || r[5] == "UDP")));
    assert_eq!(std::fs::read(&c1).unwrap(), std::fs::read(&c2).unwrap());

    // The real VCA meetings and the merged nDPI trace, when the shared data is at hand.
    let vca = root("../shared/data/pcap/vca");
    if vca.is_dir() {
        let o = dir.path().join("vca.csv");
        classify(&ck, &vca, &o, &[]);
        let rows = csv_rows(&o);
        assert!(rows.iter().any(|r| r[0].ends_with(".pcapng")), "no VCA verdicts");
    } else {
        eprintln!("skipping VCA captures: {} not found", vca.display());
    }
    let merged = root("../shared/data/pcap/ndpi_ether_merged.pcap");
    if merged.is_file() {
        let o = dir.path().join("ndpi.csv");
        classify(&ck, &merged, &o, &[]);
        assert!(csv_rows(&o).len() > 1000);
    } else {
        eprintln!("skipping merged nDPI trace: {} not found", merged.display());
    }
}

#[test]
fn bad_inputs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    // A metrics file that is not JSON: one line naming it, no report.
    let bad = dir.path().join("metrics.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let md = dir.path().join("r.md");
    let o = bin().args(["kpi-report", "--metrics"]).arg(&bad).arg("--output").arg(&md).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("metrics.json") && err.lines().count() == 1, "{err}");
    assert!(!md.exists());
    // classify with a checkpoint that does not exist.
    let out = dir.path().join("v.csv");
    let o = bin()
        .args(["classify", "--device", "cpu", "--checkpoint", "/nonexistent/ck", "--input", SAMPLE, "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(!out.exists());
    // Regression: `--k 0` (and a 0 cap) made evaluate panic and classify write no verdicts.
    for (cmd, flag) in [("evaluate", "--k"), ("evaluate", "--eval-max-train"), ("classify", "--k")] {
        let input = if cmd == "evaluate" { "--csv" } else { "--input" };
        let o = bin()
            .args([cmd, "--checkpoint", "/nonexistent/ck", input, SAMPLE, flag, "0", "--output"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd} {flag} 0");
        assert!(String::from_utf8_lossy(&o.stderr).contains("must be at least 1"), "{cmd} {flag} 0");
        assert!(!out.exists());
    }
}

#[test]
fn classify_scores_against_the_stored_prototypes() {
    // Regression: classify built its prototypes from the capped reference sample, while the
    // threshold it applies was set against the prototypes of every training row. With 3
    // reference rows per service the two differ; `similarity` must use the stored ones.
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    ok(bin()
        .args(["train", "--csv", SAMPLE, "--device", "cpu", "--threads", "1", "--epochs", "1", "--batch-size", "48"])
        .args(["--memory-per-class", "32", "--reference-per-service", "3", "--quiet", "--output-dir"])
        .arg(&ck)
        .output()
        .unwrap());
    let reference = tch::Tensor::read_safetensors(ck.join("reference.safetensors")).unwrap();
    let get = |name: &str| {
        let t = &reference.iter().find(|(n, _)| n == name).unwrap().1;
        let (r, d) = t.size2().unwrap();
        let v = Vec::<f32>::try_from(t.contiguous().view([-1])).unwrap();
        (0..r as usize).map(|i| v[i * d as usize..(i + 1) * d as usize].to_vec()).collect::<Vec<_>>()
    };
    let cosine = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (n(a) * n(b))
    };
    let (protos, refs) = (get("prototypes"), get("z_flow"));
    // The reference rows' own means are not all the stored prototypes, or the test could not tell.
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(ck.join("reference.json")).unwrap()).unwrap();
    let names =
        |key: &str| meta[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect::<Vec<_>>();
    let (ref_services, proto_services) = (names("services"), names("prototype_services"));
    let differ = proto_services.iter().zip(&protos).any(|(svc, p)| {
        let mut mean = vec![0f32; p.len()];
        for (r, _) in refs.iter().zip(&ref_services).filter(|(_, s)| *s == svc) {
            mean.iter_mut().zip(r).for_each(|(m, x)| *m += x);
        }
        cosine(&mean, p) < 0.9999
    });
    assert!(differ, "3 reference rows per service should not average to every stored prototype");

    let emb = dir.path().join("emb.csv");
    ok(bin()
        .args(["embed", "--quiet", "--csv", SAMPLE, "--checkpoint"])
        .arg(&ck)
        .arg("--output")
        .arg(&emb)
        .output()
        .unwrap());
    let z: Vec<Vec<f32>> =
        read_csv(&emb).1.iter().map(|r| r[3..].iter().map(|v| v.parse().unwrap()).collect()).collect();
    let v = dir.path().join("v.csv");
    classify(&ck, &root(SAMPLE), &v, &[]);
    let rows = csv_rows(&v);
    assert_eq!(rows.len(), z.len());
    for (r, zr) in rows.iter().zip(&z) {
        let want = protos.iter().map(|p| cosine(zr, p)).fold(f32::MIN, f32::max);
        let got: f32 = r[9].parse().unwrap();
        assert!((got - want).abs() < 1e-4, "similarity {got}, stored prototypes give {want}");
    }
}
