//! Helpers shared by the integration tests: run the real binary, find real data.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowconx"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn samples() -> PathBuf {
    repo().join("data/samples")
}

/// `../shared/data/<rel>` when present; otherwise prints a notice and returns None.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = repo().join("../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("notice: {} absent; skipping the part of this test that needs it", p.display());
        None
    }
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run flowconx")
}

pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run flowconx")
}

pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "flowconx failed: {}\nstderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A failed run: non-zero exit and the error on one line naming `needle`.
pub fn failed_with(out: &Output, needle: &str) -> String {
    assert!(!out.status.success(), "expected failure, got success");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "want one error line, got: {err}");
    assert!(lines[0].contains(needle), "error line {:?} should name {needle:?}", lines[0]);
    err
}

pub fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(path).expect("open csv");
    r.records().map(|r| r.expect("record")).collect()
}

pub fn column(path: &Path, name: &str) -> usize {
    let mut r = csv::Reader::from_path(path).expect("open csv");
    r.headers().expect("headers").iter().position(|h| h == name).expect("column")
}

/// No file other than `keep` is in `dir` (no temp or partial outputs left behind).
pub fn only_files(dir: &Path, keep: &[&str]) {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut want: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names, want, "unexpected files in {}", dir.display());
}
