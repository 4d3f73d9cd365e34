//! `flowconx train` / `flowconx embed` end to end on real sample rows (data/samples).
use std::path::{Path, PathBuf};
use std::process::Command;

const SAMPLE: &str = "data/samples/processed/fiveg_flows_sample.csv";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flowconx"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// A tiny, fast configuration: 1 thread for determinism, small memory bank.
fn train(out: &Path, extra: &[&str]) {
    let o = bin()
        .args(["train", "--csv", SAMPLE, "--device", "cpu", "--threads", "1", "--epochs", "1", "--batch-size", "48"])
        .args(["--memory-per-class", "32", "--quiet", "--output-dir"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "train failed: {}", String::from_utf8_lossy(&o.stderr));
}

fn json(p: PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn losses(h: &serde_json::Value) -> Vec<serde_json::Value> {
    h["epochs"].as_array().unwrap().iter().map(|e| e["losses"].clone()).collect()
}

#[test]
fn train_is_deterministic_resumes_and_embeds() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, r) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("r"));
    train(&a, &[]);
    train(&b, &[]);
    for f in [
        "flowconx_checkpoint.safetensors",
        "checkpoint.json",
        "history.json",
        "reference.safetensors",
        "reference.json",
    ] {
        assert!(a.join(f).is_file(), "missing {f}");
    }
    // Same data + seed + threads → identical losses and weights.
    let (ha, hb) = (json(a.join("history.json")), json(b.join("history.json")));
    assert_eq!(losses(&ha), losses(&hb));
    assert_eq!(
        std::fs::read(a.join("flowconx_checkpoint.safetensors")).unwrap(),
        std::fs::read(b.join("flowconx_checkpoint.safetensors")).unwrap()
    );
    let ma = json(a.join("checkpoint.json"));
    assert_eq!(ma["libtorch_version"], "2.13.0");
    let split = &ma["split"];
    let (tr, te) = (split["train_captures"].as_array().unwrap(), split["test_captures"].as_array().unwrap());
    assert!(!te.is_empty() && tr.iter().all(|c| !te.contains(c)), "capture split overlaps");
    assert_eq!(ha["epochs"][0]["augmented"], false);

    // Resume with a vanishing learning rate: the weights stay (almost) the saved ones.
    train(
        &r,
        &[
            "--resume-checkpoint",
            a.join("flowconx_checkpoint.safetensors").to_str().unwrap(),
            "--lr",
            "1e-12",
            "--weight-decay",
            "0",
            // Regression: a resumed run drew its split again from --seed, so a new seed put the
            // first run's test rows into training.
            "--seed",
            "7",
        ],
    );
    let mr = json(r.join("checkpoint.json"));
    assert_eq!(mr["epochs_done"], 2);
    assert_eq!(mr["split"], ma["split"], "a resumed run keeps its split");
    // Its history holds the first run's epoch, then the resumed one.
    let hr = json(r.join("history.json"));
    let epochs: Vec<u64> = hr["epochs"].as_array().unwrap().iter().map(|e| e["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, vec![1, 2]);
    assert_eq!(hr["epochs"][0]["losses"], ha["epochs"][0]["losses"]);
    assert_eq!(mr["split_config"], ma["split_config"]);
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE);
    let resume_from = a.join("flowconx_checkpoint.safetensors");
    let err = train_fails(
        &dir.path().join("fewer"),
        &[
            "--csv".as_ref(),
            sample.as_os_str(),
            "--limit".as_ref(),
            "50".as_ref(),
            "--resume-checkpoint".as_ref(),
            resume_from.as_os_str(),
        ],
    );
    assert!(err.contains("resume with the same --csv and --limit (here 50 rows)"), "{err}");
    assert_eq!(mr["labels"], ma["labels"]);
    assert_eq!(mr["normalizer"], ma["normalizer"]);
    let ta = tch::Tensor::read_safetensors(a.join("flowconx_checkpoint.safetensors")).unwrap();
    let tr_ = tch::Tensor::read_safetensors(r.join("flowconx_checkpoint.safetensors")).unwrap();
    assert_eq!(ta.len(), tr_.len());
    for (name, t) in &ta {
        let other = &tr_.iter().find(|(n, _)| n == name).unwrap().1;
        let d = (t - other).abs().max().double_value(&[]);
        assert!(d < 1e-6, "{name} moved by {d}");
    }

    // Embed: header + one line per input row, input order, L2-normalised.
    let text = embed(&a, "host", dir.path());
    let lines: Vec<&str> = text.lines().collect();
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE)).unwrap();
    assert_eq!(lines.len(), src.lines().count());
    assert!(lines[0].starts_with("app,service,capture,z0,z1,"));
    let first: Vec<&str> = lines[1].split(',').collect();
    let src_first: Vec<&str> = src.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(first[0], src_first[0]);
    let norm: f64 = first[3..].iter().map(|v| v.parse::<f64>().unwrap().powi(2)).sum();
    assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    let d = engine_gap(&text, &embed(&a, "tch", dir.path()));
    assert!(d < 1e-4, "host and tch embeddings differ by {d}");
}

/// `embed` of the sample with `engine`: the output file's text.
fn embed(ck: &Path, engine: &str, tmp: &Path) -> String {
    let out = tmp.join(format!("emb_{engine}.csv"));
    let o = bin()
        .args(["embed", "--device", "cpu", "--quiet", "--engine", engine, "--checkpoint"])
        .arg(ck)
        .args(["--csv", SAMPLE, "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(&out).unwrap()
}

/// Largest difference between two `embed` outputs' values (the default host engine against libtorch).
fn engine_gap(a: &str, b: &str) -> f64 {
    let values = |t: &str| -> Vec<f64> {
        t.lines()
            .skip(1)
            .flat_map(|l| l.split(',').skip(3).map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>())
            .collect()
    };
    let (h, t) = (values(a), values(b));
    assert_eq!(h.len(), t.len());
    h.iter().zip(&t).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

#[test]
fn model_dimensions_from_flags_reach_the_checkpoint_and_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let dims = ["--time-bins", "8", "--cond-hidden", "16", "--size-embedding", "16", "--position-embedding", "false"];
    let shape = ["--conv-blocks", "1", "--layers", "2", "--heads", "2", "--ff-mult", "3"];
    train(&out, &[&dims[..], &shape[..]].concat());
    let m = &json(out.join("checkpoint.json"))["model"];
    assert_eq!(m["features"]["time_bins"], 8);
    assert_eq!((m["net"]["hidden"].clone(), m["fusion"]["cond_dim"].clone()), (16.into(), 32.into()));
    assert_eq!(m["features"]["size_bucket"], 16);
    assert_eq!((m["app"]["size_vocab"].clone(), m["app"]["positions"].clone()), (193.into(), 0.into()));
    let app = ["conv_blocks", "layers", "heads", "ff_mult"].map(|k| m["app"][k].as_i64().unwrap());
    assert_eq!((app, m["fusion"]["heads"].as_i64()), ([1, 2, 2, 3], Some(2)));
    let d = engine_gap(&embed(&out, "host", dir.path()), &embed(&out, "tch", dir.path()));
    assert!(d < 1e-4, "host and tch embeddings differ by {d}");
    // A resumed model keeps its checkpoint's dimensions: changing them is refused, with no output.
    let o = bin()
        .args(["train", "--csv", SAMPLE, "--device", "cpu", "--quiet", "--epochs", "1", "--time-bins", "12"])
        .arg("--resume-checkpoint")
        .arg(out.join("flowconx_checkpoint.safetensors"))
        .arg("--output-dir")
        .arg(dir.path().join("r"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--time-bins"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!dir.path().join("r").join("checkpoint.json").exists());
    // No bins is refused before anything runs.
    let args = ["train", "--csv", SAMPLE, "--time-bins", "0", "--output-dir"];
    let o = bin().args(args).arg(dir.path().join("z")).output().unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--time-bins"));
    // Heads that do not divide the hidden size (64) likewise.
    let args = ["train", "--csv", SAMPLE, "--heads", "3", "--output-dir"];
    let o = bin().args(args).arg(dir.path().join("h")).output().unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--heads must divide"));
}

#[test]
fn prefix_copies_and_weight_averaging_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    train(&out, &["--augment-crop", "1", "--ema-decay", "0.9"]);
    let h = json(out.join("history.json"));
    let e = &h["epochs"][0];
    assert_eq!(h["augment_crop"], 1);
    assert_eq!(e["augmented"], true);
    assert_eq!(e["augmented_samples"], e["real_samples"], "one prefix copy per training row");
    assert_eq!(e["samples"].as_u64().unwrap(), 2 * e["real_samples"].as_u64().unwrap());
    let meta = json(out.join("checkpoint.json"));
    assert_eq!(meta["training"]["ema_decay"], 0.9);
    // The sample's columns describe each row's own ≤ 64-packet sequence, as in fiveg_flows.csv.
    assert_eq!(meta["normalizer"]["stats_over_sequence"], 64);
}

#[test]
fn split_seed_keeps_the_split_and_flow_app_loss_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    train(&a, &["--seed", "42"]);
    train(&b, &["--seed", "7", "--split-seed", "42", "--lambda-flow-app", "0.5"]);
    let (ma, mb) = (json(a.join("checkpoint.json")), json(b.join("checkpoint.json")));
    assert_eq!(ma["split"], mb["split"], "--split-seed 42 gives the split of --seed 42");
    assert_eq!(mb["split_config"]["seed"], 42);
    assert_eq!(mb["training"]["weights"]["flow_app"], 0.5);
    // Only the seed differs from `a`: the weights must too.
    let c = dir.path().join("c");
    train(&c, &["--seed", "7", "--split-seed", "42"]);
    assert_eq!(json(c.join("checkpoint.json"))["split"], ma["split"]);
    assert_ne!(
        std::fs::read(a.join("flowconx_checkpoint.safetensors")).unwrap(),
        std::fs::read(c.join("flowconx_checkpoint.safetensors")).unwrap(),
        "--seed still changes the weights"
    );
    let (la, lb) = (losses(&json(a.join("history.json"))), losses(&json(b.join("history.json"))));
    assert_eq!(la[0]["flow_app"], 0.0, "off by default");
    assert!(lb[0]["flow_app"].as_f64().unwrap() > 0.0, "{}", lb[0]);
}

#[test]
fn outlier_exposure_is_recorded_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let bg = "data/samples/processed/mawi_background_300.csv";
    let args = ["--outliers", bg, "--outlier-batch", "8", "--outlier-margin", "0.2"];
    train(&a, &args);
    train(&b, &args);
    assert_eq!(
        std::fs::read(a.join("flowconx_checkpoint.safetensors")).unwrap(),
        std::fs::read(b.join("flowconx_checkpoint.safetensors")).unwrap(),
        "same seed and outliers, same weights"
    );
    let meta = json(a.join("checkpoint.json"));
    assert_eq!(meta["training"]["outliers"], bg);
    assert_eq!(meta["training"]["outlier_margin"], 0.2);
    let l = losses(&json(a.join("history.json")));
    // An untrained model puts background rows near the prototypes: the term is at work.
    assert!(l[0]["outlier"].as_f64().unwrap() > 0.0, "{}", l[0]);
    // Without --outliers the term is absent; a missing outlier file is one error line, no output.
    let c = dir.path().join("c");
    train(&c, &[]);
    assert!(losses(&json(c.join("history.json")))[0].get("outlier").is_none());
    let err = train_fails(
        &dir.path().join("d"),
        &["--csv".as_ref(), SAMPLE.as_ref(), "--outliers".as_ref(), "no/such.csv".as_ref()],
    );
    assert!(err.contains("no/such.csv") && err.trim().lines().count() == 1, "{err}");
    // A header without rows is refused too, naming the file.
    let empty = dir.path().join("empty.csv");
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(bg)).unwrap();
    std::fs::write(&empty, header.lines().next().unwrap().to_string() + "\n").unwrap();
    let err = train_fails(
        &dir.path().join("e"),
        &["--csv".as_ref(), SAMPLE.as_ref(), "--outliers".as_ref(), empty.as_os_str()],
    );
    assert!(err.contains("empty.csv") && err.contains("no rows"), "{err}");
    let zero: Vec<&std::ffi::OsStr> =
        ["--csv", SAMPLE, "--outliers", bg, "--outlier-batch", "0"].into_iter().map(std::ffi::OsStr::new).collect();
    assert!(train_fails(&dir.path().join("f"), &zero).contains("--outlier-batch"));
}

/// A one-epoch training run that must fail: its stderr, once checked that it wrote no checkpoint.
fn train_fails(out: &Path, args: &[&std::ffi::OsStr]) -> String {
    let o = bin()
        .args(["train", "--device", "cpu", "--quiet", "--epochs", "1"])
        .args(args)
        .arg("--output-dir")
        .arg(out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(!out.join("checkpoint.json").exists());
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_input_fails_with_one_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE)).unwrap();
    let mut lines: Vec<String> = text.lines().take(6).map(String::from).collect();
    lines[3] = lines[3].replacen(",6,", ",x6,", 1).replacen(",17,", ",x17,", 1);
    lines[3] = lines[3].replace(";", ";oops;");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let err = train_fails(&dir.path().join("out"), &["--csv".as_ref(), bad.as_os_str()]);
    assert!(err.contains("bad.csv") && err.contains("line 4"), "{err}");
    // A test fraction of 0 would still hold a capture per service out: refused, not ignored.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE);
    let err = train_fails(
        &dir.path().join("out"),
        &["--csv".as_ref(), sample.as_os_str(), "--test-fraction".as_ref(), "0".as_ref()],
    );
    assert!(err.contains("--test-fraction must be in (0, 1)"), "{err}");
    // A negative clip would flip every gradient; 0 threads panicked inside libtorch.
    for (flag, value, want) in [
        ("--grad-clip", "-1", "--grad-clip must be > 0"),
        ("--weight-decay", "5000", "--weight-decay must be ≥ 0"),
        ("--threads", "0", "must be at least 1"),
    ] {
        let arg = format!("{flag}={value}");
        let err = train_fails(&dir.path().join("out"), &["--csv".as_ref(), sample.as_os_str(), arg.as_ref()]);
        assert!(err.contains(want), "{flag} {value}: {err}");
    }
}

#[test]
fn full_fiveg_file_trains_when_present() {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/processed/fiveg_flows.csv");
    if !full.exists() {
        eprintln!("skipping: {} not found", full.display());
        return;
    }
    // Real rows with empty jitter/loss cells, after the sample file (two --csv files concatenated).
    let dir = tempfile::tempdir().unwrap();
    train(&dir.path().join("o"), &["--csv", full.to_str().unwrap(), "--limit", "300", "--split", "random"]);
}
