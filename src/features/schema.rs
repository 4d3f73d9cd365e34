//! The canonical processed-row schema (FlowCon-X's, plus `capture`), its writer and reader.
//!
//! Readers accept extra columns and any column order; a missing required column is an error
//! naming it. `capture` is optional on read (rows without it count as their own capture).
use crate::error::{Error, Result};
use serde::Serialize;
use std::io::{Read, Write};
use std::path::Path;

/// FlowCon-X's columns in its order; `capture` follows when writing.
pub const CANONICAL_COLUMNS: [&str; 20] = [
    "app",
    "service",
    "condition",
    "packet_lengths",
    "iat_values",
    "directions",
    "rtt_ms",
    "jitter_ms",
    "loss_rate",
    "total packets",
    "total fwd packets",
    "total backward packets",
    "packet length mean",
    "packet length std",
    "flow iat mean",
    "flow iat std",
    "flow duration",
    "flow bytes/s",
    "flow packets/s",
    "protocol",
];
pub const CAPTURE_COLUMN: &str = "capture";

/// One processed flow window. Missing measurements are `None` (written as an empty cell),
/// never a made-up number.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowRow {
    pub app: String,
    pub service: String,
    pub condition: String,
    /// Packet sizes in bytes, first `max_packets` of the window.
    pub packet_lengths: Vec<f32>,
    /// Inter-arrival times in ms, the first is 0.
    pub iat_values: Vec<f32>,
    /// +1 uplink / flow initiator, -1 the other way.
    pub directions: Vec<i8>,
    pub rtt_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub loss_rate: Option<f64>,
    pub total_packets: f64,
    pub total_fwd_packets: f64,
    pub total_backward_packets: f64,
    pub packet_length_mean: Option<f64>,
    pub packet_length_std: Option<f64>,
    pub flow_iat_mean: Option<f64>,
    pub flow_iat_std: Option<f64>,
    /// ms
    pub flow_duration: Option<f64>,
    pub flow_bytes_per_s: Option<f64>,
    pub flow_packets_per_s: Option<f64>,
    /// IP protocol number (6 TCP, 17 UDP, 0 unknown).
    pub protocol: u8,
    /// Which capture (file, daily file, flow) the row came from; empty when unknown.
    pub capture: String,
}

#[derive(Serialize)]
struct Record<'a> {
    app: &'a str,
    service: &'a str,
    condition: &'a str,
    packet_lengths: &'a str,
    iat_values: &'a str,
    directions: &'a str,
    rtt_ms: &'a str,
    jitter_ms: &'a str,
    loss_rate: &'a str,
    #[serde(rename = "total packets")]
    total_packets: &'a str,
    #[serde(rename = "total fwd packets")]
    total_fwd: &'a str,
    #[serde(rename = "total backward packets")]
    total_bwd: &'a str,
    #[serde(rename = "packet length mean")]
    len_mean: &'a str,
    #[serde(rename = "packet length std")]
    len_std: &'a str,
    #[serde(rename = "flow iat mean")]
    iat_mean: &'a str,
    #[serde(rename = "flow iat std")]
    iat_std: &'a str,
    #[serde(rename = "flow duration")]
    duration: &'a str,
    #[serde(rename = "flow bytes/s")]
    bytes_s: &'a str,
    #[serde(rename = "flow packets/s")]
    packets_s: &'a str,
    protocol: u8,
    capture: &'a str,
}

/// Shortest round-trip decimal of a float, rounded to 6 decimals first so output is compact;
/// non-finite values are written as an empty cell.
pub fn fmt_f64(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let r = (x * 1e6).round() / 1e6;
    let r = if r == 0.0 { 0.0 } else { r }; // no "-0"
    format!("{r}")
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map(fmt_f64).unwrap_or_default()
}

/// `;`-joined values with at most `decimals` (≤ 6) decimals, trailing zeros trimmed. Written
/// through integers (no float formatting per value): the hot path of every extractor.
fn join_f32(xs: &[f32], decimals: u32) -> String {
    let scale = 10i64.pow(decimals.min(6));
    let mut s = String::with_capacity(xs.len() * 6);
    let mut buf = itoa::Buffer::new();
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        let v = (*x as f64 * scale as f64).round() as i64;
        if v < 0 {
            s.push('-');
        }
        let v = v.unsigned_abs();
        s.push_str(buf.format(v / scale as u64));
        let mut frac = v % scale as u64;
        if frac != 0 {
            let mut width = decimals.min(6) as usize;
            while frac.is_multiple_of(10) {
                frac /= 10;
                width -= 1;
            }
            s.push('.');
            let digits = buf.format(frac);
            for _ in digits.len()..width {
                s.push('0');
            }
            s.push_str(digits);
        }
    }
    s
}

fn join_i8(xs: &[i8]) -> String {
    let mut s = String::with_capacity(xs.len() * 3);
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        s.push_str(if *x >= 0 { "1" } else { "-1" });
    }
    s
}

/// Writes rows in the canonical schema (+ `capture`).
pub struct RowWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> RowWriter<W> {
    pub fn new(w: W) -> Self {
        RowWriter { inner: csv::WriterBuilder::new().has_headers(true).from_writer(w) }
    }

    pub fn write(&mut self, row: &FlowRow) -> std::io::Result<()> {
        let lengths = join_f32(&row.packet_lengths, 0);
        let iats = join_f32(&row.iat_values, 3);
        let dirs = join_i8(&row.directions);
        let (rtt, jit, loss) = (fmt_opt(row.rtt_ms), fmt_opt(row.jitter_ms), fmt_opt(row.loss_rate));
        let (tp, tf, tb) =
            (fmt_f64(row.total_packets), fmt_f64(row.total_fwd_packets), fmt_f64(row.total_backward_packets));
        let (lm, ls, im, is) = (
            fmt_opt(row.packet_length_mean),
            fmt_opt(row.packet_length_std),
            fmt_opt(row.flow_iat_mean),
            fmt_opt(row.flow_iat_std),
        );
        let (du, bs, ps) = (fmt_opt(row.flow_duration), fmt_opt(row.flow_bytes_per_s), fmt_opt(row.flow_packets_per_s));
        let rec = Record {
            app: &row.app,
            service: &row.service,
            condition: &row.condition,
            packet_lengths: &lengths,
            iat_values: &iats,
            directions: &dirs,
            rtt_ms: &rtt,
            jitter_ms: &jit,
            loss_rate: &loss,
            total_packets: &tp,
            total_fwd: &tf,
            total_bwd: &tb,
            len_mean: &lm,
            len_std: &ls,
            iat_mean: &im,
            iat_std: &is,
            duration: &du,
            bytes_s: &bs,
            packets_s: &ps,
            protocol: row.protocol,
            capture: &row.capture,
        };
        self.inner.serialize(rec).map_err(csv_to_io)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }

    pub fn into_inner(self) -> std::io::Result<W> {
        self.inner.into_inner().map_err(|e| std::io::Error::other(e.to_string()))
    }
}

fn csv_to_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// Column positions of a processed file, found by header name.
#[derive(Debug, Clone)]
struct ColumnMap {
    idx: [usize; 20],
    capture: Option<usize>,
}

impl ColumnMap {
    fn from_headers(path: &Path, headers: &csv::StringRecord) -> Result<Self> {
        let find = |name: &str| headers.iter().position(|h| h.trim() == name);
        let mut idx = [0usize; 20];
        for (i, col) in CANONICAL_COLUMNS.iter().enumerate() {
            idx[i] =
                find(col).ok_or_else(|| Error::MissingColumn { path: path.to_path_buf(), column: col.to_string() })?;
        }
        Ok(ColumnMap { idx, capture: find(CAPTURE_COLUMN) })
    }
}

/// `;`-separated finite numbers (NaN or infinity in a sequence is an error, never a value).
fn parse_seq(s: &str) -> std::result::Result<Vec<f32>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(';')
        .map(|v| {
            v.trim().parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(|| format!("bad sequence value `{v}`"))
        })
        .collect()
}

/// An optional number: empty, `nan` and non-finite values (e.g. `inf`, a rate over zero time)
/// are missing, never a value.
fn parse_opt(s: &str, col: &str) -> std::result::Result<Option<f64>, String> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("nan") {
        return Ok(None);
    }
    s.parse::<f64>().map(|v| v.is_finite().then_some(v)).map_err(|_| format!("column `{col}`: bad number `{s}`"))
}

/// A required number: present and finite.
fn parse_num(s: &str, col: &str) -> std::result::Result<f64, String> {
    match parse_opt(s, col)? {
        Some(v) => Ok(v),
        None if s.trim().is_empty() => Err(format!("column `{col}` is empty")),
        None => Err(format!("column `{col}`: `{}` is not a finite number", s.trim())),
    }
}

fn row_from_record(rec: &csv::StringRecord, map: &ColumnMap) -> std::result::Result<FlowRow, String> {
    let f = |i: usize| rec.get(map.idx[i]).unwrap_or("");
    let lengths: Vec<f32> = parse_seq(f(3)).map_err(|e| format!("packet_lengths: {e}"))?;
    let iats: Vec<f32> = parse_seq(f(4)).map_err(|e| format!("iat_values: {e}"))?;
    let dirs_f: Vec<f32> = parse_seq(f(5)).map_err(|e| format!("directions: {e}"))?;
    if lengths.len() != iats.len() || lengths.len() != dirs_f.len() {
        return Err(format!(
            "sequence lengths differ (packet_lengths {}, iat_values {}, directions {})",
            lengths.len(),
            iats.len(),
            dirs_f.len()
        ));
    }
    let directions = dirs_f.iter().map(|&d| if d >= 0.0 { 1 } else { -1 }).collect();
    let protocol = parse_opt(f(19), "protocol")?.unwrap_or(0.0);
    Ok(FlowRow {
        app: f(0).trim().to_string(),
        service: f(1).trim().to_string(),
        condition: f(2).trim().to_string(),
        packet_lengths: lengths,
        iat_values: iats,
        directions,
        rtt_ms: parse_opt(f(6), "rtt_ms")?,
        jitter_ms: parse_opt(f(7), "jitter_ms")?,
        loss_rate: parse_opt(f(8), "loss_rate")?,
        total_packets: parse_num(f(9), "total packets")?,
        total_fwd_packets: parse_num(f(10), "total fwd packets")?,
        total_backward_packets: parse_num(f(11), "total backward packets")?,
        packet_length_mean: parse_opt(f(12), "packet length mean")?,
        packet_length_std: parse_opt(f(13), "packet length std")?,
        flow_iat_mean: parse_opt(f(14), "flow iat mean")?,
        flow_iat_std: parse_opt(f(15), "flow iat std")?,
        flow_duration: parse_opt(f(16), "flow duration")?,
        flow_bytes_per_s: parse_opt(f(17), "flow bytes/s")?,
        flow_packets_per_s: parse_opt(f(18), "flow packets/s")?,
        protocol: protocol.clamp(0.0, 255.0) as u8,
        capture: map.capture.and_then(|i| rec.get(i)).unwrap_or("").trim().to_string(),
    })
}

/// Streams processed rows from a reader; errors name `path` and the line.
pub struct RowReader<R: Read> {
    path: std::path::PathBuf,
    inner: csv::Reader<R>,
    map: ColumnMap,
    record: csv::StringRecord,
}

impl RowReader<Box<dyn Read + Send>> {
    /// Open a processed CSV (plain or `.gz`).
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader: Box<dyn Read + Send> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, file)))
        } else {
            Box::new(file)
        };
        RowReader::new(path, reader)
    }
}

impl<R: Read> RowReader<R> {
    pub fn new(path: &Path, reader: R) -> Result<Self> {
        let mut inner = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(reader);
        let headers = inner.headers().map_err(|e| Error::line(path, 1, format!("cannot read header: {e}")))?.clone();
        if headers.is_empty() || (headers.len() == 1 && headers.get(0) == Some("")) {
            return Err(Error::input(path, "empty file (no header)"));
        }
        let map = ColumnMap::from_headers(path, &headers)?;
        Ok(RowReader { path: path.to_path_buf(), inner, map, record: csv::StringRecord::new() })
    }

    /// The line the last row read starts on. The csv crate's own line count leaves out blank
    /// lines, so the line is counted from the row's byte offset in the file (on error paths
    /// only: it reads the file again); the csv count where the file cannot be read.
    pub fn line(&self) -> u64 {
        line_of(&self.path, self.record.position())
    }

    /// Where the last row read starts, for `line_of` later.
    pub fn position(&self) -> Option<csv::Position> {
        self.record.position().cloned()
    }

    /// Next row, `Ok(None)` at the end.
    pub fn next_row(&mut self) -> Result<Option<FlowRow>> {
        match self.inner.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            // The line only on error: counting it reads the file up to the row.
            Ok(true) => row_from_record(&self.record, &self.map)
                .map(Some)
                .map_err(|msg| Error::line(&self.path, self.line(), msg)),
            Err(e) => {
                let line = line_of(&self.path, e.position());
                Err(Error::line(&self.path, line, csv_error_message(&e)))
            }
        }
    }
}

/// The 1-based line a record starting at `pos` is on. csv's position is where it began to read
/// the record, before the blank lines it skips, so those are stepped over here.
pub fn line_of(path: &Path, pos: Option<&csv::Position>) -> u64 {
    use std::io::{BufRead, Read};
    let Some(pos) = pos else { return 0 };
    let counted = std::fs::File::open(path).ok().and_then(|f| {
        let mut r = std::io::BufReader::new(f);
        let mut line = 1u64;
        let mut left = pos.byte();
        while left > 0 {
            let buf = r.fill_buf().ok()?;
            if buf.is_empty() {
                return None;
            }
            let n = buf.len().min(left as usize);
            line += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            r.consume(n);
            left -= n as u64;
        }
        for b in r.bytes() {
            match b.ok()? {
                b'\n' => line += 1,
                b'\r' => {}
                _ => break,
            }
        }
        Some(line)
    });
    counted.unwrap_or(pos.line())
}

fn csv_error_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".into(),
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => e.to_string(),
    }
}

/// Read every row of a processed file.
pub fn read_rows(path: &Path) -> Result<Vec<FlowRow>> {
    let mut r = RowReader::open(path)?;
    let mut out = Vec::new();
    while let Some(row) = r.next_row()? {
        out.push(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAWI_LIKE: &str = "app,service,condition,packet_lengths,iat_values,directions,rtt_ms,jitter_ms,loss_rate,total packets,total fwd packets,total backward packets,packet length mean,packet length std,flow iat mean,flow iat std,flow duration,flow bytes/s,flow packets/s,protocol\nmawi_background,unknown,good,74.00;60.00,0.0000;1.5000,1;-1,0.0,0.0,0.0,2,1,1,67.0,7.0,0.75,0.75,1.5,89333.3,1333.3,6\n";

    #[test]
    fn reads_flowconx_file_without_capture() {
        let mut r = RowReader::new(Path::new("x.csv"), MAWI_LIKE.as_bytes()).unwrap();
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.packet_lengths, vec![74.0, 60.0]);
        assert_eq!(row.iat_values, vec![0.0, 1.5]);
        assert_eq!(row.directions, vec![1, -1]);
        assert_eq!(row.capture, "");
        assert_eq!(row.protocol, 6);
        assert!(r.next_row().unwrap().is_none());
    }

    #[test]
    fn roundtrip_and_column_order_free() {
        let row = FlowRow {
            app: "zoom".into(),
            service: "conferencing".into(),
            condition: "unknown".into(),
            packet_lengths: vec![100.0, 1200.0],
            iat_values: vec![0.0, 2.25],
            directions: vec![1, -1],
            rtt_ms: Some(2.25),
            jitter_ms: None,
            loss_rate: None,
            total_packets: 2.0,
            total_fwd_packets: 1.0,
            total_backward_packets: 1.0,
            packet_length_mean: Some(650.0),
            packet_length_std: Some(550.0),
            flow_iat_mean: Some(1.125),
            flow_iat_std: Some(1.125),
            flow_duration: Some(2.25),
            flow_bytes_per_s: Some(577777.777778),
            flow_packets_per_s: Some(888.888889),
            protocol: 17,
            capture: "a/b.csv".into(),
        };
        let mut w = RowWriter::new(Vec::new());
        w.write(&row).unwrap();
        let bytes = w.into_inner().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(&CANONICAL_COLUMNS.join(",")));
        assert!(text.contains(",2.25,,,"), "{text}");
        let back = RowReader::new(Path::new("t"), text.as_bytes()).unwrap().next_row().unwrap().unwrap();
        assert_eq!(back, row);

        // Reverse the column order and add an extra column: still readable.
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        let rec: Vec<String> = rdr.records().next().unwrap().unwrap().iter().map(String::from).collect();
        let mut wtr = csv::Writer::from_writer(Vec::new());
        let mut h2: Vec<&str> = h.iter().rev().map(|s| s.as_str()).collect();
        h2.push("extra");
        let mut r2: Vec<&str> = rec.iter().rev().map(|s| s.as_str()).collect();
        r2.push("ignored");
        wtr.write_record(&h2).unwrap();
        wtr.write_record(&r2).unwrap();
        let data = wtr.into_inner().unwrap();
        let back2 = RowReader::new(Path::new("t"), &data[..]).unwrap().next_row().unwrap().unwrap();
        assert_eq!(back2, row);
    }

    #[test]
    fn sequences_format_exactly() {
        assert_eq!(join_f32(&[0.0, 41.203, 0.04, 1.5, 12.0, 0.001, -2.25], 3), "0;41.203;0.04;1.5;12;0.001;-2.25");
        assert_eq!(join_f32(&[1514.0, 66.0], 0), "1514;66");
        assert_eq!(join_i8(&[1, -1]), "1;-1");
    }

    #[test]
    fn missing_column_is_named() {
        let text = MAWI_LIKE.replace("jitter_ms,", "jitter,");
        let err = RowReader::new(Path::new("f.csv"), text.as_bytes()).err().unwrap();
        assert_eq!(err.to_string(), "f.csv: missing required column `jitter_ms`");
    }

    #[test]
    fn non_finite_numbers_are_missing_or_errors() {
        assert_eq!(parse_opt("inf", "c"), Ok(None));
        assert_eq!(parse_opt(" -Infinity ", "c"), Ok(None));
        assert_eq!(parse_opt("1e400", "c"), Ok(None));
        assert_eq!(parse_opt("2.5", "c"), Ok(Some(2.5)));
        assert_eq!(
            parse_num("inf", "total packets"),
            Err("column `total packets`: `inf` is not a finite number".into())
        );
        assert_eq!(parse_num("NaN", "c"), Err("column `c`: `NaN` is not a finite number".into()));
        assert_eq!(parse_num(" ", "c"), Err("column `c` is empty".into()));
        assert_eq!(parse_seq("74;inf"), Err("bad sequence value `inf`".into()));
        assert_eq!(parse_seq("74; NaN"), Err("bad sequence value ` NaN`".into()));
        assert_eq!(parse_seq("74; 60"), Ok(vec![74.0, 60.0]));
    }

    #[test]
    fn garbled_row_names_line() {
        let text = format!("{MAWI_LIKE}mawi_background,unknown,good,74;x,0,1,,,,1,1,0,74,0,0,0,0,1,1,6\n");
        let mut r = RowReader::new(Path::new("f.csv"), text.as_bytes()).unwrap();
        r.next_row().unwrap();
        let err = r.next_row().err().unwrap().to_string();
        assert!(err.starts_with("f.csv: line 3: packet_lengths"), "{err}");
    }
}
