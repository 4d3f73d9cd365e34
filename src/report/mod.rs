//! `kpi_report.md` from `metrics.json`: FlowCon-X's KPI table with PASS/FAIL, then the split,
//! baseline, open-set, speed and per-class sections, and two PNGs written beside it.
pub mod plots;

use crate::error::{Error, Result};
use crate::eval::classify::UnknownScore;
use crate::eval::latency::LatencySummary;
use crate::eval::metrics::{AppScore, CaptureScore};
use crate::eval::Metrics;
use crate::output::write_atomic;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The PNG paths written beside a report at `md` (`<stem>_pca.png`, `<stem>_confusion.png`).
pub fn plot_paths(md: &Path) -> (PathBuf, PathBuf) {
    let stem = md.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "kpi_report".into());
    let dir = md.parent().map(Path::to_path_buf).unwrap_or_default();
    (dir.join(format!("{stem}_pca.png")), dir.join(format!("{stem}_confusion.png")))
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite()).map_or("missing".into(), |x| format!("{x:.4}"))
}

fn pct(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite()).map_or("missing".into(), |x| format!("{:.2}%", x * 100.0))
}

/// Rows of the per-capture and per-app tables at most (lowest accuracy first); `metrics.json`
/// has all.
const REPORT_ROWS: usize = 20;

/// Verdicts by service, most first: `streaming 3, browsing 2`.
fn verdicts(predicted: &BTreeMap<String, usize>) -> String {
    let mut called: Vec<(&String, &usize)> = predicted.iter().collect();
    called.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    called.iter().map(|(name, n)| format!("{name} {n}")).collect::<Vec<_>>().join(", ")
}

/// A section listing items worst first — lowest accuracy (missing last), then more rows, then
/// by name — with at most `REPORT_ROWS` table rows; `key` gives (accuracy, rows, name).
struct Ranked<'a> {
    title: &'a str,
    intro: &'a str,
    header: &'a [&'a str],
    /// What the rows left out are, in `metrics.json`.
    rest: &'a str,
}

fn ranked_table<T>(
    s: &mut String,
    r: &Ranked,
    items: &[T],
    key: impl Fn(&T) -> (Option<f64>, usize, &str),
    cells: impl Fn(&T) -> Vec<String>,
) {
    let mut order: Vec<&T> = items.iter().collect();
    order.sort_by(|a, b| {
        let ((x, xr, xn), (y, yr, yn)) = (key(a), key(b));
        x.unwrap_or(f64::INFINITY).total_cmp(&y.unwrap_or(f64::INFINITY)).then(yr.cmp(&xr)).then(xn.cmp(yn))
    });
    let _ = writeln!(s, "\n## {}\n", r.title);
    if !r.intro.is_empty() {
        let _ = writeln!(s, "{}\n", r.intro);
    }
    let _ = writeln!(s, "| {} |\n|{}", r.header.join(" | "), " --- |".repeat(r.header.len()));
    for item in order.iter().take(REPORT_ROWS) {
        let _ = writeln!(s, "| {} |", cells(item).join(" | "));
    }
    if items.len() > REPORT_ROWS {
        let _ = writeln!(s, "\n{} more {}.", items.len() - REPORT_ROWS, r.rest);
    }
}

/// The test captures, worst first: where a split's errors come from.
fn capture_table(s: &mut String, captures: &[CaptureScore]) {
    let r = Ranked {
        title: "Test captures, lowest k-NN accuracy first",
        intro: "",
        header: &["Capture", "Service", "App", "Rows", "k-NN", "raw k-NN", "k-NN verdicts"],
        rest: "test captures in `metrics.json` (`per_capture`)",
    };
    ranked_table(
        s,
        &r,
        captures,
        |c| (c.knn_accuracy, c.rows, &c.capture),
        |c| {
            let (acc, raw) = (pct(c.knn_accuracy), pct(c.raw_knn_accuracy));
            vec![
                c.capture.clone(),
                c.service.clone(),
                c.app.clone(),
                c.rows.to_string(),
                acc,
                raw,
                verdicts(&c.predicted),
            ]
        },
    );
}

/// Leave-one-app-out by held-out app, worst first: which apps the others' prototypes miss.
fn loao_table(s: &mut String, per_app: &[AppScore]) {
    let r = Ranked {
        title: "Leave-one-app-out by app, lowest accuracy first",
        intro: "Each app's test rows, called from the service prototypes of the other apps' training rows.",
        header: &["App", "Service", "Rows", "Accuracy", "Other apps of its service", "Verdicts"],
        rest: "apps in `metrics.json` (`leave_one_app_out.per_app`)",
    };
    ranked_table(
        s,
        &r,
        per_app,
        |a| (a.accuracy, a.rows, &a.app),
        |a| {
            let others = a.other_apps_of_service.to_string();
            vec![a.app.clone(), a.service.clone(), a.rows.to_string(), pct(a.accuracy), others, verdicts(&a.predicted)]
        },
    );
}

fn ms(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite()).map_or("missing".into(), |x| format!("{x:.3} ms"))
}

#[derive(Clone, Copy)]
enum Goal {
    Above(f64),
    AtLeast(f64),
    Below(f64),
    Info,
}

fn status(v: Option<f64>, goal: Goal) -> &'static str {
    match (v.filter(|x| x.is_finite()), goal) {
        (_, Goal::Info) => "INFO",
        (None, _) => "FAIL",
        (Some(x), Goal::Above(t)) => {
            if x > t {
                "PASS"
            } else {
                "FAIL"
            }
        }
        (Some(x), Goal::AtLeast(t)) => {
            if x >= t {
                "PASS"
            } else {
                "FAIL"
            }
        }
        (Some(x), Goal::Below(t)) => {
            if x < t {
                "PASS"
            } else {
                "FAIL"
            }
        }
    }
}

/// FlowCon-X's KPI rows: (name, target, value, status).
pub fn kpi_rows(m: &Metrics) -> Vec<(String, &'static str, String, &'static str)> {
    let c = &m.classification;
    let latency = m.latency.map(|l| l.mean_ms);
    let e2e = m.latency_end_to_end.map(|l| l.mean_ms);
    let mut rows = vec![
        (
            "Embedding intra cosine".to_string(),
            "> 0.70",
            num(m.service_similarity.intra),
            status(m.service_similarity.intra, Goal::Above(0.70)),
        ),
        (
            "Embedding inter cosine".into(),
            "< 0.30",
            num(m.service_similarity.inter),
            status(m.service_similarity.inter, Goal::Below(0.30)),
        ),
        (
            format!("k-NN classification accuracy (k = {})", c.k.unwrap_or(5)),
            ">= 90%",
            pct(c.knn_accuracy),
            status(c.knn_accuracy, Goal::AtLeast(0.90)),
        ),
        (
            "SVM classification accuracy".into(),
            ">= 90%",
            pct(c.svm_accuracy),
            status(c.svm_accuracy, Goal::AtLeast(0.90)),
        ),
        (
            "Prototype generalization".into(),
            ">= 85%",
            pct(m.prototype_generalization.prototype_accuracy),
            status(m.prototype_generalization.prototype_accuracy, Goal::AtLeast(0.85)),
        ),
        (
            "Leave-one-app generalization".into(),
            ">= 85%",
            pct(m.leave_one_app_out.leave_one_app_accuracy),
            status(m.leave_one_app_out.leave_one_app_accuracy, Goal::AtLeast(0.85)),
        ),
        ("Context invariance score".into(), "higher is better", num(m.cist_score), status(m.cist_score, Goal::Info)),
        ("Mean latency per flow (model, batch 1)".into(), "< 100 ms", ms(latency), status(latency, Goal::Below(100.0))),
    ];
    if e2e.is_some() {
        rows.push((
            "Mean latency per flow (end to end, batch 1)".into(),
            "< 100 ms",
            ms(e2e),
            status(e2e, Goal::Below(100.0)),
        ));
    }
    rows
}

fn latency_row(out: &mut String, name: &str, l: Option<LatencySummary>) {
    if let Some(l) = l {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            ms(Some(l.mean_ms)),
            ms(Some(l.p50_ms)),
            ms(Some(l.p95_ms)),
            ms(Some(l.p99_ms)),
            l.runs
        );
    }
}

/// The markdown text; `plots` are the PNG file names to link (relative to the report).
pub fn render_markdown(m: &Metrics, source: &str, plots: Option<(&str, &str)>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# flowconx KPI report\n");
    let _ = writeln!(s, "Metrics: `{source}`");
    if let Some(e) = &m.embedding {
        let _ = writeln!(s, " · embedding: {e}");
    }
    if let Some(d) = &m.device {
        let _ = writeln!(s, " · device: {d}");
    }
    if let Some(e) = &m.engine {
        let _ = writeln!(s, " · engine: {e}");
    }
    s.push_str("\n| KPI | Target | Value | Status |\n| --- | --- | --- | --- |\n");
    for (name, target, value, st) in kpi_rows(m) {
        let _ = writeln!(s, "| {name} | {target} | {value} | {st} |");
    }
    let c = &m.classification;
    let _ = writeln!(
        s,
        "\nMacro-F1: k-NN {}, SVM {} (kernel {}), prototype {}, leave-one-app {}. App similarity: intra {}, inter {}.",
        num(c.knn_macro_f1),
        num(c.svm_macro_f1),
        c.svm_kernel.map_or("?".into(), |k| format!("{k:?}").to_lowercase()),
        num(m.prototype_generalization.prototype_macro_f1),
        num(m.leave_one_app_out.leave_one_app_macro_f1),
        num(m.app_similarity.intra),
        num(m.app_similarity.inter),
    );
    if let Some(sk) = m.leave_one_app_out.leave_one_app_skipped.filter(|&v| v > 0.0) {
        let _ = writeln!(s, "Leave-one-app-out skipped {sk} test rows (no prototype left without their app).");
    }
    let l = &m.leave_one_app_out;
    let evaluated = l.per_app.iter().map(|a| a.rows).sum::<usize>();
    if let (Some(n), Some(acc)) = (l.answerable_rows, l.answerable_accuracy) {
        if n < evaluated {
            let alone: Vec<&str> =
                l.per_app.iter().filter(|a| a.other_apps_of_service == 0).map(|a| a.app.as_str()).collect();
            let _ = writeln!(
                s,
                "Leave-one-app-out on the {n} test rows whose service keeps another app in training: {} (information). \
                 The other {} rows ({}) cannot be right: without their app, their service has no prototype.",
                pct(Some(acc)),
                evaluated - n,
                alone.join(", ")
            );
        }
    }

    if let Some(sp) = &m.split {
        let _ = writeln!(s, "\n## Split\n");
        let _ = writeln!(
            s,
            "`{}` split (seed {}): {} training rows from {} captures, {} test rows from {} captures, {} captures on both sides.",
            sp.kind, sp.seed, sp.train_rows, sp.train_captures, sp.test_rows, sp.test_captures, sp.shared_captures
        );
        if let Some(n) = sp.training_rows_in_test.filter(|&n| n > 0) {
            let _ =
                writeln!(s, "\n**{n} test rows were training rows of the model**: every figure here is optimistic.");
        }
        let _ = writeln!(
            s,
            "Evaluated on {} training and {} test rows (stratified caps).",
            sp.eval_train_rows, sp.eval_test_rows
        );
    }

    if let Some(b) = &m.baseline {
        let _ = writeln!(s, "\n## Baseline (no model)\n");
        s.push_str("| Method | k-NN accuracy | k-NN macro-F1 |\n| --- | --- | --- |\n");
        let _ = writeln!(s, "| flowconx embedding | {} | {} |", pct(c.knn_accuracy), num(c.knn_macro_f1));
        let _ = writeln!(
            s,
            "| raw features ({} standardised, Euclidean) | {} | {} |",
            b.features,
            pct(b.raw_knn_accuracy),
            num(b.raw_knn_macro_f1)
        );
        if let (Some(a), Some(r)) = (c.knn_accuracy, b.raw_knn_accuracy) {
            let _ = writeln!(s, "\nGain of the embedding over raw features: {:+.2} points.", (a - r) * 100.0);
        }
    }

    if let Some(cov) = m.app_coverage.as_ref().filter(|c| c.unseen_rows > 0) {
        let _ = writeln!(s, "\n## Test rows by app coverage\n");
        s.push_str("| Test rows | Rows | k-NN (embedding) | k-NN (raw features) |\n| --- | --- | --- | --- |\n");
        for (what, rows, knn, raw) in [
            ("app seen in training", cov.seen_rows, cov.knn_accuracy_seen, cov.raw_knn_accuracy_seen),
            ("app not in training", cov.unseen_rows, cov.knn_accuracy_unseen, cov.raw_knn_accuracy_unseen),
        ] {
            let _ = writeln!(s, "| {what} | {rows} | {} | {} |", pct(knn), pct(raw));
        }
        let _ = writeln!(s, "\nApps without training rows: {}.", cov.unseen_apps.join(", "));
    }

    if m.per_capture.len() > 1 {
        capture_table(&mut s, &m.per_capture);
    }
    if m.leave_one_app_out.per_app.len() > 1 {
        loao_table(&mut s, &m.leave_one_app_out.per_app);
    }

    if let Some(o) = &m.open_set {
        let _ = writeln!(s, "\n## Open set (known services vs background)\n");
        let _ = writeln!(
            s,
            "| Score | AUROC | Threshold (keeps {:.0}% of known) | Background rows | Background rejected |",
            o.keep_fraction * 100.0
        );
        s.push_str("| --- | --- | --- | --- | --- |\n");
        for (score, sc) in o.scores() {
            let name = match score {
                UnknownScore::Similarity => "max prototype cosine (KPI; `classify` rejects below the threshold)",
                UnknownScore::Energy => "service-head energy (info)",
            };
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {} |",
                num(sc.auroc),
                num(sc.threshold),
                o.background_rows,
                pct(sc.background_rejected)
            );
        }
    }

    if m.latency.is_some() || m.latency_end_to_end.is_some() || m.throughput.is_some() {
        let _ = writeln!(s, "\n## Speed\n");
        s.push_str("| Per flow, batch 1 | mean | p50 | p95 | p99 | runs |\n| --- | --- | --- | --- | --- | --- |\n");
        latency_row(&mut s, "model only", m.latency);
        latency_row(&mut s, "end to end (row → verdict)", m.latency_end_to_end);
        if let Some(t) = &m.throughput {
            let _ = writeln!(
                s,
                "\nThroughput at batch {} ({}): {:.0} flows/s.",
                t.batch_size,
                t.scope.replace('_', " "),
                t.flows_per_s
            );
            if let Some(mo) = t.model_only_flows_per_s {
                let _ = writeln!(s, "Model only: {mo:.0} flows/s.");
            }
            if let Some(mc) = &t.machine {
                let _ = writeln!(s, "Timed on: {mc}.");
            }
        }
    }

    if !m.per_class.is_empty() {
        let _ = writeln!(s, "\n## Per class (k-NN)\n");
        s.push_str("| Service | Precision | Recall | F1 | Support |\n| --- | --- | --- | --- | --- |\n");
        for pc in &m.per_class {
            let _ = writeln!(
                s,
                "| {} | {:.4} | {:.4} | {:.4} | {} |",
                pc.label, pc.precision, pc.recall, pc.f1, pc.support
            );
        }
    }

    if let Some((pca, conf)) = plots {
        let _ = writeln!(s, "\n## Plots\n");
        let _ = writeln!(s, "![2-D PCA of the test embeddings by service]({pca})\n");
        let _ = writeln!(s, "![Confusion matrix of k-NN on the test rows]({conf})");
    }
    s
}

/// Write the markdown (and the PNGs, when the metrics carry what they need) to `md`.
pub fn write_report(m: &Metrics, source: &str, md: &Path) -> Result<()> {
    let (pca, conf) = plot_paths(md);
    let have_plots = m.projection.is_some() && m.confusion.is_some();
    if let (Some(p), Some(c)) = (&m.projection, &m.confusion) {
        plots::projection_png(p, &pca)?;
        plots::confusion_png(c, &conf)?;
    }
    let (pn, cn) = (file_name(&pca), file_name(&conf));
    let text = render_markdown(m, source, have_plots.then_some((pn.as_str(), cn.as_str())));
    write_atomic(md, text.as_bytes())
}

/// Read a metrics file (ours or FlowCon-X's).
pub fn read_metrics(path: &Path) -> Result<Metrics> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let m: Metrics = serde_json::from_slice(&bytes)
        .map_err(|e| Error::line(path, e.line() as u64, format!("bad metrics JSON: {e}")))?;
    if let Some(p) = &m.projection {
        if p.y.len() != p.x.len() || p.label.len() != p.x.len() {
            return Err(Error::input(
                path,
                format!(
                    "`projection` has {} x, {} y and {} label values; they must match",
                    p.x.len(),
                    p.y.len(),
                    p.label.len()
                ),
            ));
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::{Confusion, LeaveOneAppOut, Projection, SplitInfo};

    #[test]
    fn projection_of_unequal_lengths_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(&path, r#"{"projection": {"labels": ["a"], "label": [0], "x": [0.0, 1.0], "y": [0.0, 1.0]}}"#)
            .unwrap();
        let err = read_metrics(&path).err().unwrap().to_string();
        assert!(err.ends_with("`projection` has 2 x, 2 y and 1 label values; they must match"), "{err}");
    }

    #[test]
    fn kpi_table_pass_fail() {
        let mut m = Metrics::default();
        m.service_similarity.intra = Some(0.8);
        m.service_similarity.inter = Some(0.35);
        m.classification.knn_accuracy = Some(0.9);
        m.classification.svm_accuracy = Some(0.899);
        let rows = kpi_rows(&m);
        let st: Vec<&str> = rows.iter().map(|r| r.3).collect();
        // intra PASS, inter FAIL, knn PASS (>=), svm FAIL, prototype/loao missing FAIL, cist INFO, latency missing.
        assert_eq!(st, vec!["PASS", "FAIL", "PASS", "FAIL", "FAIL", "FAIL", "INFO", "FAIL"]);
        let md = render_markdown(&m, "m.json", None);
        assert!(md.contains("| Embedding intra cosine | > 0.70 | 0.8000 | PASS |"), "{md}");
        assert!(md.contains("| k-NN classification accuracy (k = 5) | >= 90% | 90.00% | PASS |"));
    }

    #[test]
    fn capture_table_lists_worst_captures_first() {
        let cap = |name: &str, rows: usize, acc: f64| CaptureScore {
            capture: name.into(),
            service: "browsing".into(),
            app: "vlc_web".into(),
            rows,
            knn_accuracy: Some(acc),
            raw_knn_accuracy: None,
            predicted: [("browsing".to_string(), 2), ("streaming".to_string(), 3)].into(),
        };
        // 21 captures: the table keeps the 20 worst and says one more is in the JSON.
        let mut per_capture: Vec<CaptureScore> = (0..19).map(|i| cap(&format!("c{i:02}"), 10, 0.9)).collect();
        per_capture.extend([cap("worst", 5, 0.4), cap("best", 5, 1.0)]);
        let md = render_markdown(&Metrics { per_capture, ..Default::default() }, "m.json", None);
        let table = md.split("## Test captures").nth(1).unwrap().split("\n## ").next().unwrap();
        let lines: Vec<&str> = table.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| ---")).collect();
        assert_eq!(lines[1], "| worst | browsing | vlc_web | 5 | 40.00% | missing | streaming 3, browsing 2 |");
        assert_eq!(lines.len(), 21, "header + 20 captures");
        assert!(!table.contains("| best |") && table.contains("1 more test captures"), "{table}");
    }

    #[test]
    fn loao_table_lists_worst_apps_first() {
        let app = |name: &str, acc: Option<f64>| AppScore {
            app: name.into(),
            service: "gaming".into(),
            rows: 4,
            accuracy: acc,
            other_apps_of_service: 2,
            predicted: [("gaming".to_string(), 1), ("streaming".to_string(), 3)].into(),
        };
        let mut alone = app("solo", Some(0.0));
        alone.other_apps_of_service = 0;
        let m = Metrics {
            leave_one_app_out: LeaveOneAppOut {
                per_app: vec![app("b", Some(0.75)), app("none", None), app("a", Some(0.25)), alone],
                answerable_rows: Some(12),
                answerable_accuracy: Some(0.5),
                ..Default::default()
            },
            ..Default::default()
        };
        let md = render_markdown(&m, "m.json", None);
        assert!(
            md.contains("on the 12 test rows whose service keeps another app in training: 50.00% (information). The other 4 rows (solo)"),
            "{md}"
        );
        let table = md.split("## Leave-one-app-out by app").nth(1).unwrap();
        let lines: Vec<&str> = table.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| ---")).collect();
        assert_eq!(lines[2], "| a | gaming | 4 | 25.00% | 2 | streaming 3, gaming 1 |");
        assert!(lines[1].starts_with("| solo |") && lines[2].starts_with("| a |"), "{table}");
        assert!(lines[3].starts_with("| b |") && lines[4].starts_with("| none | gaming | 4 | missing |"), "{table}");
    }

    #[test]
    fn split_section_flags_training_rows_in_test() {
        let split = |n| SplitInfo { kind: "random".into(), seed: 7, training_rows_in_test: n, ..Default::default() };
        let md = render_markdown(&Metrics { split: Some(split(Some(5))), ..Default::default() }, "m.json", None);
        assert!(md.contains("`random` split (seed 7)"), "{md}");
        assert!(md.contains("**5 test rows were training rows of the model**"), "{md}");
        for n in [Some(0), None] {
            let md = render_markdown(&Metrics { split: Some(split(n)), ..Default::default() }, "m.json", None);
            assert!(!md.contains("were training rows"), "{md}");
        }
    }

    #[test]
    fn writes_markdown_and_pngs() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("kpi_report.md");
        let m = Metrics {
            confusion: Some(Confusion {
                labels: vec!["gaming".into(), "streaming".into()],
                matrix: vec![vec![5, 1], vec![0, 7]],
            }),
            projection: Some(Projection {
                labels: vec!["gaming".into(), "streaming".into()],
                label: vec![0, 1, 1],
                x: vec![0.0, 1.0, 2.0],
                y: vec![1.0, 0.5, -1.0],
            }),
            ..Default::default()
        };
        write_report(&m, "metrics.json", &md).unwrap();
        let text = std::fs::read_to_string(&md).unwrap();
        assert!(text.contains("](kpi_report_pca.png)") && text.contains("](kpi_report_confusion.png)"));
        for f in ["kpi_report_pca.png", "kpi_report_confusion.png"] {
            let b = std::fs::read(dir.path().join(f)).unwrap();
            assert_eq!(&b[1..4], b"PNG");
            assert!(b.len() > 2000, "{f} too small: {}", b.len());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(dir.path().join(f)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o644, "{f} mode {mode:o}");
            }
        }
        // Nothing but the three outputs is left behind (temp files renamed).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }
}
