//! prepare-5g, prepare-cesnet and merge on real samples, through the real binary.
mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

fn services_by_capture(out: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let (ci, si) = (column(out, "capture"), column(out, "service"));
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in csv_rows(out) {
        m.entry(r[ci].to_string()).or_default().insert(r[si].to_string());
    }
    m
}

fn expected_service(folder: &str) -> &'static str {
    match folder {
        "Game_Streaming" | "Online_Game" => "gaming",
        "Stored_Streaming" | "Live_Streaming" => "streaming",
        "Video_Conferencing" => "conferencing",
        "Metaverse" => "xr_interactive",
        other => panic!("unexpected folder {other}"),
    }
}

fn check_5g(input: &Path, n_files: usize) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("5g.csv");
    let err =
        ok(&run(&["prepare-5g", "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--quiet"]));
    assert!(err.contains(&format!("{n_files} files")), "{err}");
    assert!(err.contains("2 tab-separated"), "both layouts read: {err}");
    let by_capture = services_by_capture(&out);
    assert_eq!(by_capture.len(), n_files, "every capture yields rows: {:?}", by_capture.keys());
    for (capture, services) in &by_capture {
        let folder = capture.split('/').next().unwrap();
        assert_eq!(services.iter().collect::<Vec<_>>(), vec![expected_service(folder)], "{capture}");
    }
    // FlowCon-X filed Webex as browsing and Tencent/Feishu meetings as unknown; flowconx uses the folder.
    let ai = column(&out, "app");
    let si = column(&out, "service");
    for r in csv_rows(&out) {
        if ["webex", "tencent_meeting", "feishu_meeting"].contains(&&r[ai]) {
            assert_eq!(&r[si], "conferencing");
        }
    }
}

#[test]
fn prepare_5g_bundled_samples() {
    check_5g(&samples().join("5g"), 10);
}

#[test]
fn prepare_5g_all_shared_captures() {
    if let Some(p) = shared("5g/5G_Traffic_Datasets") {
        check_5g(&p, 18);
    }
}

#[test]
fn prepare_5g_rows_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let input = samples().join("5g");
    // 2-s windows, 16 packets per row, plus `extra` flags.
    let prepare = |out: &Path, extra: &[&str]| {
        let mut args = vec!["prepare-5g", "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()];
        args.extend(["--window-seconds", "2", "--max-packets", "16", "--quiet"]);
        args.extend(extra);
        ok(&run(&args));
    };
    let out = dir.path().join("w.csv");
    prepare(&out, &["--chunk-rows", "7"]);
    let rows = flowconx::features::schema::read_rows(&out).unwrap();
    assert!(!rows.is_empty());
    for r in &rows {
        assert!(r.packet_lengths.len() <= 16 && !r.packet_lengths.is_empty());
        assert_eq!(r.iat_values[0], 0.0);
        assert!(r.total_packets >= r.packet_lengths.len() as f64);
        assert_eq!(r.total_packets, r.total_fwd_packets + r.total_backward_packets);
        assert!(r.flow_duration.unwrap() <= 2000.0 + 1e-6, "window of 2 s: {:?}", r.flow_duration);
        assert_eq!(r.loss_rate, None, "packet exports carry no sequence numbers: loss is unknown");
    }
    // The chunk size changes memory use, never the rows.
    let out2 = dir.path().join("w2.csv");
    prepare(&out2, &[]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
}

fn cesnet_input() -> std::path::PathBuf {
    shared("cesnet").unwrap_or_else(|| samples().join("cesnet"))
}

#[test]
fn prepare_cesnet_keeps_all_flows_with_services() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.csv");
    let err = ok(&run(&[
        "prepare-cesnet",
        "--input",
        cesnet_input().to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(err.contains("150 rows scanned"), "{err}");
    let rows = flowconx::features::schema::read_rows(&out).unwrap();
    assert_eq!(rows.len(), 150);
    let want: BTreeMap<&str, &str> = [
        ("youtube", "streaming"),
        ("spotify", "streaming"),
        ("tiktok", "browsing"),
        ("instagram", "browsing"),
        ("microsoft_outlook", "browsing"),
        ("gmail", "browsing"),
        ("google_www", "browsing"),
        ("facebook_web", "browsing"),
        ("google_docs", "browsing"),
        ("google_photos", "bulk_transfer"),
    ]
    .into_iter()
    .collect();
    let mut per_app: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        assert_eq!(Some(&r.service.as_str()), want.get(r.app.as_str()), "{}", r.app);
        assert!(r.capture.starts_with("flows-2022") && r.capture.ends_with(".csv.gz"));
        assert!(r.packet_lengths.len() <= 30);
        *per_app.entry(r.app.clone()).or_default() += 1;
    }
    assert!(per_app.values().all(|&n| n == 15), "{per_app:?}");
}

#[test]
fn prepare_cesnet_reservoir_is_bounded_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let input = cesnet_input();
    let mut outputs = Vec::new();
    for (i, threads) in ["1", "2", "2"].iter().enumerate() {
        let out = dir.path().join(format!("c{i}.csv"));
        ok(&run_env(
            &[
                "prepare-cesnet",
                "--input",
                input.to_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
                "--rows-per-service",
                "10",
                "--quiet",
            ],
            &[("RAYON_NUM_THREADS", threads)],
        ));
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1], "1 vs 2 threads");
    assert_eq!(outputs[1], outputs[2], "two runs");
    let rows = flowconx::features::schema::read_rows(&dir.path().join("c0.csv")).unwrap();
    let mut per_service: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *per_service.entry(r.service.clone()).or_default() += 1;
    }
    assert_eq!(per_service.values().copied().collect::<Vec<_>>(), vec![10, 10, 10], "{per_service:?}");
    // Another seed picks other rows.
    let other = dir.path().join("seed7.csv");
    ok(&run(&[
        "prepare-cesnet",
        "--input",
        input.to_str().unwrap(),
        "--output",
        other.to_str().unwrap(),
        "--rows-per-service",
        "10",
        "--seed",
        "7",
        "--quiet",
    ]));
    assert_ne!(std::fs::read(&other).unwrap(), outputs[0]);
}

#[test]
fn merge_reads_flowconx_files_unchanged_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mawi = shared("processed/flowconx_mawi_robustness_background.csv")
        .unwrap_or_else(|| samples().join("processed/mawi_background_300.csv"));
    let ces = dir.path().join("c.csv");
    ok(&run(&[
        "prepare-cesnet",
        "--input",
        cesnet_input().to_str().unwrap(),
        "--output",
        ces.to_str().unwrap(),
        "--quiet",
    ]));
    let merged = dir.path().join("m.csv");
    let err = ok(&run(&["merge", "--output", merged.to_str().unwrap(), mawi.to_str().unwrap(), ces.to_str().unwrap()]));
    let n_mawi = flowconx::features::schema::read_rows(&mawi).unwrap().len();
    let rows = flowconx::features::schema::read_rows(&merged).unwrap();
    assert_eq!(rows.len(), n_mawi + 150);
    assert!(err.contains("mawi_background") && err.contains("total "), "{err}");
    assert!(rows[..n_mawi].iter().all(|r| r.service == "unknown" && r.capture.is_empty()));
}

#[test]
fn output_dash_writes_csv_to_stdout() {
    let out = run(&[
        "prepare-cesnet",
        "--input",
        cesnet_input().to_str().unwrap(),
        "--output",
        "-",
        "--rows-per-service",
        "2",
        "--quiet",
    ]);
    ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("app,service,condition,packet_lengths"));
    assert_eq!(text.lines().count(), 1 + 6);
}

// ---- bad input: one clear line, non-zero exit, no output file left behind ----

#[test]
fn missing_input_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    failed_with(
        &run(&["prepare-5g", "--input", "/nonexistent/dir", "--output", out.to_str().unwrap()]),
        "/nonexistent/dir",
    );
    failed_with(&run(&["merge", "--output", out.to_str().unwrap(), "/nonexistent/x.csv"]), "/nonexistent/x.csv");
    only_files(dir.path(), &[]);
}

#[test]
fn empty_input_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = dir.path().join("o.csv");
    failed_with(
        &run(&["prepare-5g", "--input", empty.to_str().unwrap(), "--output", out.to_str().unwrap()]),
        "no capture files",
    );
    failed_with(
        &run(&["prepare-cesnet", "--input", empty.to_str().unwrap(), "--output", out.to_str().unwrap()]),
        "no flows-",
    );
    only_files(dir.path(), &["empty"]);
}

#[test]
fn truncated_gzip_names_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let src = samples().join("cesnet/CESNET-QUIC22/W-2022-44/1_Mon/flows-20221031.csv.gz");
    let bytes = std::fs::read(&src).unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("flows-20221031.csv.gz"), &bytes[..bytes.len() / 2]).unwrap();
    let err = prepare_cesnet_fails(dir.path(), "flows-20221031.csv.gz");
    assert!(err.contains("offset"), "{err}");
}

#[test]
fn missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    let text = std::fs::read_to_string(samples().join("processed/mawi_background_300.csv")).unwrap();
    std::fs::write(&bad, text.replacen("rtt_ms,", "rtt,", 1)).unwrap();
    let out = dir.path().join("o.csv");
    failed_with(
        &run(&["merge", "--output", out.to_str().unwrap(), bad.to_str().unwrap()]),
        "missing required column `rtt_ms`",
    );
    only_files(dir.path(), &["bad.csv"]);
}

#[test]
fn garbled_rows_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    // A 5G export with a broken Length on its 4th line.
    let app = dir.path().join("in/Video_Conferencing/Zoom");
    std::fs::create_dir_all(&app).unwrap();
    let src = std::fs::read_to_string(samples().join("5g/Video_Conferencing/Zoom/Zoom_2.csv")).unwrap();
    let mut lines: Vec<String> = src.lines().map(String::from).collect();
    lines[3] = lines[3].replacen("\",\"", "\",\"x", 5);
    let mut f = std::fs::File::create(app.join("Zoom_2.csv")).unwrap();
    writeln!(f, "{}", lines.join("\n")).unwrap();
    let out = dir.path().join("o.csv");
    failed_with(
        &run(&["prepare-5g", "--input", dir.path().join("in").to_str().unwrap(), "--output", out.to_str().unwrap()]),
        "Zoom_2.csv: line 4",
    );
    // A processed file with a broken sequence on line 3.
    let bad = dir.path().join("bad.csv");
    let text = std::fs::read_to_string(samples().join("processed/mawi_background_300.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[2] = lines[2].replacen(",good,", ",good,12;x", 1);
    std::fs::write(&bad, lines.join("\n")).unwrap();
    failed_with(&run(&["merge", "--output", out.to_str().unwrap(), bad.to_str().unwrap()]), "bad.csv: line 3");
    only_files(dir.path(), &["in", "bad.csv"]);
}

#[test]
fn unknown_service_folder_needs_a_map() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("in/Web_Browsing/Chrome");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::copy(samples().join("5g/Online_Game/Steam/Steam_1.csv"), app.join("Chrome_1.csv")).unwrap();
    let out = dir.path().join("o.csv");
    let input = dir.path().join("in");
    failed_with(
        &run(&["prepare-5g", "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]),
        "Web_Browsing",
    );
    let map = dir.path().join("map.csv");
    std::fs::write(&map, "app,service\nChrome,browsing\n").unwrap();
    ok(&run(&[
        "prepare-5g",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--service-map",
        map.to_str().unwrap(),
        "--quiet",
    ]));
    let rows = flowconx::features::schema::read_rows(&out).unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.service == "browsing" && r.app == "chrome"));
}

/// The bundled CESNET day's text.
fn cesnet_sample_text() -> String {
    use std::io::Read;
    let src = samples().join("cesnet/CESNET-QUIC22/W-2022-44/1_Mon/flows-20221031.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&src).unwrap()).read_to_string(&mut text).unwrap();
    text
}

/// `prepare-cesnet --input dir/in --output dir/o.csv`, which must fail with one error line naming
/// `needle` and leave nothing but `dir/in` behind; its stderr.
fn prepare_cesnet_fails(dir: &Path, needle: &str) -> String {
    let (input, out) = (dir.join("in"), dir.join("o.csv"));
    let err = failed_with(
        &run(&["prepare-cesnet", "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]),
        needle,
    );
    only_files(dir, &["in"]);
    err
}

/// `dir/in/flows-20221031.csv.gz` holding `text`.
fn write_cesnet_day(dir: &Path, text: &str) {
    use flate2::{write::GzEncoder, Compression};
    let input = dir.join("in");
    std::fs::create_dir(&input).unwrap();
    let mut gz =
        GzEncoder::new(std::fs::File::create(input.join("flows-20221031.csv.gz")).unwrap(), Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

#[test]
fn cesnet_first_row_without_labels_is_an_error() {
    // Regression: the previous row's label cache started empty, so a first row with empty APP
    // and CATEGORY matched it and was kept with an empty service.
    let text = cesnet_sample_text();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (app, cat) = (col("APP"), col("CATEGORY"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).unwrap();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.unwrap();
        let fields: Vec<&str> =
            rec.iter().enumerate().map(|(j, f)| if i == 0 && (j == app || j == cat) { "" } else { f }).collect();
        writer.write_record(&fields).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    write_cesnet_day(dir.path(), &String::from_utf8(writer.into_inner().unwrap()).unwrap());
    prepare_cesnet_fails(dir.path(), "flows-20221031.csv.gz: line 2: CATEGORY `` (APP ``) has no service");
}

#[test]
fn garbled_cesnet_row_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = cesnet_sample_text();
    let mut lines: Vec<&str> = text.lines().collect();
    let cut = lines[5].rsplitn(3, ',').nth(2).unwrap().to_string(); // drop the last two fields
    lines[5] = &cut;
    write_cesnet_day(dir.path(), &lines.join("\n"));
    prepare_cesnet_fails(dir.path(), "flows-20221031.csv.gz: line 6: malformed record");
}
