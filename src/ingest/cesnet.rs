//! CESNET-QUIC22 daily files (`flows-YYYYMMDD.csv.gz`): streamed through a multi-member gzip
//! decoder, columns found by header name, `PPI` parsed by hand (no JSON parse per row).
use super::csvsplit::{split_csv, Split};
use crate::dataset::reservoir::{hash_str, priority, BottomK};
use crate::error::{Error, Result};
use crate::features::{FlowRow, WindowBuilder};
use crate::labels::{cesnet_category_service, normalize_app, ServiceMap};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The packet-information sequence of one flow (≤ 30 packets in the dataset).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ppi {
    pub ipt_ms: Vec<i64>,
    pub dirs: Vec<i8>,
    pub sizes: Vec<u32>,
}

/// The longest packet gap a PPI may hold, in ms (one day).
const MAX_PPI_GAP_MS: i64 = 86_400_000;

/// Parse `[[ipt…], [dir…], [size…]]` (spaces anywhere). Returns why it is malformed on failure.
pub fn parse_ppi(s: &[u8]) -> std::result::Result<Ppi, &'static str> {
    let mut p = Cursor { s, i: 0 };
    p.expect(b'[')?;
    let ipt = p.int_list()?;
    p.expect(b',')?;
    let dir = p.int_list()?;
    p.expect(b',')?;
    let size = p.int_list()?;
    p.expect(b']')?;
    p.ws();
    if p.i != s.len() {
        return Err("trailing characters after PPI");
    }
    if ipt.len() != dir.len() || ipt.len() != size.len() {
        return Err("PPI lists of different lengths");
    }
    if ipt.is_empty() {
        return Err("empty PPI");
    }
    if dir.iter().any(|&d| d != 1 && d != -1) {
        return Err("PPI direction not ±1");
    }
    if size.iter().any(|&x| !(0..=u32::MAX as i64).contains(&x)) || ipt.iter().any(|&x| x < 0) {
        return Err("negative PPI size or gap");
    }
    // A gap beyond a day is no packet gap of a flow record; it would also overflow the
    // microsecond clock the row is built on.
    if ipt.iter().any(|&x| x > MAX_PPI_GAP_MS) {
        return Err("PPI gap over a day");
    }
    Ok(Ppi {
        ipt_ms: ipt,
        dirs: dir.into_iter().map(|d| d as i8).collect(),
        sizes: size.into_iter().map(|x| x as u32).collect(),
    })
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    #[inline]
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn expect(&mut self, c: u8) -> std::result::Result<(), &'static str> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err("malformed PPI")
        }
    }
    fn int_list(&mut self) -> std::result::Result<Vec<i64>, &'static str> {
        self.expect(b'[')?;
        let mut v = Vec::with_capacity(30);
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(v);
        }
        loop {
            self.ws();
            let neg = self.s.get(self.i) == Some(&b'-');
            if neg {
                self.i += 1;
            }
            let start = self.i;
            let mut x: i64 = 0;
            // ≤ 18 digits cannot overflow an i64, so no checked arithmetic per digit.
            while let Some(&c) = self.s.get(self.i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                x = x * 10 + d as i64;
                self.i += 1;
                if self.i - start > 18 {
                    return Err("PPI number too large");
                }
            }
            if self.i == start {
                return Err("malformed PPI number");
            }
            v.push(if neg { -x } else { x });
            if v.len() > 10_000 {
                return Err("PPI too long");
            }
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(v);
                }
                _ => return Err("malformed PPI list"),
            }
        }
    }
}

/// Settings of `prepare-cesnet`.
#[derive(Debug, Clone)]
pub struct CesnetConfig {
    pub rows_per_service: usize,
    /// Records handed from the decompressing thread to the row builder at a time.
    pub chunk_rows: usize,
    pub seed: u64,
    pub max_packets: usize,
}

/// Per-file (and merged) outcome: the reservoirs and the counts for the summary.
#[derive(Debug)]
pub struct CesnetScan {
    pub scanned: u64,
    pub dropped: BTreeMap<&'static str, u64>,
    pub reservoirs: BTreeMap<String, BottomK<FlowRow>>,
    pub bytes_decompressed: u64,
}

impl CesnetScan {
    fn new() -> Self {
        CesnetScan { scanned: 0, dropped: BTreeMap::new(), reservoirs: BTreeMap::new(), bytes_decompressed: 0 }
    }

    pub fn merge(&mut self, other: CesnetScan) {
        self.scanned += other.scanned;
        self.bytes_decompressed += other.bytes_decompressed;
        for (k, v) in other.dropped {
            *self.dropped.entry(k).or_default() += v;
        }
        for (svc, r) in other.reservoirs {
            match self.reservoirs.get_mut(&svc) {
                Some(mine) => mine.merge(r),
                None => {
                    self.reservoirs.insert(svc, r);
                }
            }
        }
    }

    /// Scanned rows per service (kept or not).
    pub fn seen_per_service(&self) -> BTreeMap<String, u64> {
        self.reservoirs.iter().map(|(k, v)| (k.clone(), v.seen())).collect()
    }

    /// Kept rows, grouped by service (sorted), each group in input order.
    pub fn into_rows(self) -> Vec<FlowRow> {
        self.reservoirs.into_values().flat_map(|r| r.into_sorted()).collect()
    }
}

/// Every `flows-*.csv.gz` below `input` (or `input` itself), sorted by path.
pub fn discover(input: &Path) -> Result<Vec<PathBuf>> {
    if input.is_file() {
        return Ok(vec![input.to_path_buf()]);
    }
    if !input.is_dir() {
        return Err(Error::input(input, "no such file or directory"));
    }
    let mut out = Vec::new();
    let mut stack = vec![input.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let e = e.map_err(|e| Error::io(&dir, e))?;
            let p = e.path();
            let ft = e.file_type().map_err(|e| Error::io(&p, e))?;
            if ft.is_dir() {
                stack.push(p);
            } else {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("flows-") && name.ends_with(".csv.gz") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

struct Cols {
    app: usize,
    category: usize,
    ppi: usize,
    duration: Option<usize>,
    bytes: Option<usize>,
    bytes_rev: Option<usize>,
    packets: Option<usize>,
    packets_rev: Option<usize>,
    protocol: Option<usize>,
}

/// One split record: the line and its field ranges.
struct Record<'a> {
    line: &'a [u8],
    fields: &'a [(usize, usize)],
    line_no: u64,
}

impl Record<'_> {
    fn get(&self, i: usize) -> Option<&[u8]> {
        self.fields.get(i).map(|&(a, b)| &self.line[a..b])
    }
}

fn num(rec: &Record<'_>, col: Option<usize>) -> Option<f64> {
    let b = rec.get(col?)?;
    std::str::from_utf8(b).ok()?.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Lines of a file handed from the reader thread to the row builder.
#[derive(Default)]
struct LineChunk {
    buf: Vec<u8>,
    ends: Vec<usize>,
    first_line: u64,
}

/// Scan one daily file into per-service reservoirs. `file_index` orders output across files.
///
/// A reader thread decompresses and cuts lines into chunks of `chunk_rows`, while this thread
/// splits fields, labels, samples and builds rows: one file keeps two cores busy, and memory is
/// bounded by a few chunks whatever the file size. Fields are split by a minimal CSV splitter
/// (quoted fields such as `PPI` may hold commas; records never span lines in this dataset).
pub fn scan_file(
    path: &Path,
    file_index: u64,
    cfg: &CesnetConfig,
    services: &ServiceMap,
    compressed_progress: &(dyn Fn(u64) + Sync),
) -> Result<CesnetScan> {
    use std::io::BufRead;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::mpsc::sync_channel;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let compressed = std::sync::Arc::new(AtomicU64::new(0));
    let raw = super::CountingReader::new(std::io::BufReader::with_capacity(1 << 20, file), compressed.clone());
    let mut input = std::io::BufReader::with_capacity(
        1 << 20,
        flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 20, raw)),
    );
    let read_err = |e: std::io::Error, line: u64| -> Error {
        Error::offset(
            path,
            compressed.load(Relaxed),
            format!("gzip stream broken near this compressed byte offset (CSV line {line}): {e}"),
        )
    };
    let mut header = Vec::new();
    input.read_until(b'\n', &mut header).map_err(|e| read_err(e, 1))?;
    let header = trim_eol(&header);
    let mut ranges = Vec::new();
    if header.is_empty() || split_csv(header, &mut ranges) != Split::Done {
        return Err(Error::line(path, 1, "missing or malformed CSV header"));
    }
    let find = |n: &str| ranges.iter().position(|&(a, b)| &header[a..b] == n.as_bytes());
    let need = |n: &str| find(n).ok_or_else(|| Error::MissingColumn { path: path.to_path_buf(), column: n.into() });
    let cols = Cols {
        app: need("APP")?,
        category: need("CATEGORY")?,
        ppi: need("PPI")?,
        duration: find("DURATION"),
        bytes: find("BYTES"),
        bytes_rev: find("BYTES_REV"),
        packets: find("PACKETS"),
        packets_rev: find("PACKETS_REV"),
        protocol: find("PROTOCOL"),
    };
    let n_columns = ranges.len();
    let capture = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let chunk_rows = cfg.chunk_rows.max(1);
    let mut state = FileState::new(file_index, hash_str(&capture), capture, cfg.max_packets);

    std::thread::scope(|s| -> Result<CesnetScan> {
        let (tx, rx) = sync_channel::<Result<LineChunk>>(2);
        let (back_tx, back_rx) = sync_channel::<LineChunk>(4);
        let reader = s.spawn(move || -> u64 {
            let mut line_no = 1u64;
            let mut bytes = 0u64;
            loop {
                let mut chunk = back_rx.try_recv().unwrap_or_default();
                chunk.buf.clear();
                chunk.ends.clear();
                chunk.first_line = line_no + 1;
                let mut eof = false;
                while chunk.ends.len() < chunk_rows {
                    match input.read_until(b'\n', &mut chunk.buf) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => {
                            bytes += n as u64;
                            line_no += 1;
                            chunk.ends.push(chunk.buf.len());
                        }
                        Err(e) => {
                            let _ = tx.send(Err(read_err(e, line_no + 1)));
                            return bytes;
                        }
                    }
                }
                if (!chunk.ends.is_empty() && tx.send(Ok(chunk)).is_err()) || eof {
                    return bytes;
                }
            }
        });
        let mut fields = Vec::with_capacity(n_columns);
        for msg in rx {
            let chunk = msg?;
            let mut start = 0;
            for (k, &end) in chunk.ends.iter().enumerate() {
                let line = trim_eol(&chunk.buf[start..end]);
                start = end;
                let line_no = chunk.first_line + k as u64;
                if line.is_empty() {
                    continue;
                }
                if split_csv(line, &mut fields) != Split::Done || fields.len() != n_columns {
                    return Err(Error::line(
                        path,
                        line_no,
                        format!("malformed record: expected {n_columns} fields, found {}", fields.len()),
                    ));
                }
                state.process(&Record { line, fields: &fields, line_no }, &cols, cfg, services, path)?;
            }
            compressed_progress(compressed.load(Relaxed));
            let _ = back_tx.try_send(chunk);
        }
        let mut scan = state.scan;
        scan.bytes_decompressed = reader.join().unwrap_or(0);
        Ok(scan)
    })
}

fn trim_eol(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = b {
        b = rest;
    }
    b
}

/// Per-file state of the row-processing side of `scan_file`.
struct FileState {
    scan: CesnetScan,
    file_index: u64,
    file_hash: u64,
    capture: String,
    row_index: u64,
    builder: WindowBuilder,
    // (raw APP, raw CATEGORY, normalised app, service) of the previous row: labels repeat.
    labels: (Vec<u8>, Vec<u8>, String, String),
}

impl FileState {
    fn new(file_index: u64, file_hash: u64, capture: String, max_packets: usize) -> Self {
        FileState {
            scan: CesnetScan::new(),
            file_index,
            file_hash,
            capture,
            row_index: 0,
            builder: WindowBuilder::new(max_packets),
            labels: Default::default(),
        }
    }

    fn process(
        &mut self,
        rec: &Record<'_>,
        cols: &Cols,
        cfg: &CesnetConfig,
        services: &ServiceMap,
        path: &Path,
    ) -> Result<()> {
        self.scan.scanned += 1;
        let idx = self.row_index;
        self.row_index += 1;
        let app_b = rec.get(cols.app).unwrap_or(b"");
        let cat_b = rec.get(cols.category).unwrap_or(b"");
        // An empty service means no row was labelled yet (a first row with empty APP and
        // CATEGORY must not match the empty cache).
        if self.labels.3.is_empty() || app_b != self.labels.0.as_slice() || cat_b != self.labels.1.as_slice() {
            let app = normalize_app(&String::from_utf8_lossy(app_b));
            let cat = String::from_utf8_lossy(cat_b);
            let Some(service) = services.get(&app).or_else(|| cesnet_category_service(&cat)) else {
                return Err(Error::line(
                    path,
                    rec.line_no,
                    format!("CATEGORY `{cat}` (APP `{app}`) has no service; map the app with --service-map"),
                ));
            };
            self.labels = (app_b.to_vec(), cat_b.to_vec(), app, service.to_string());
        }
        let ppi = match parse_ppi(rec.get(cols.ppi).unwrap_or(b"")) {
            Ok(p) => p,
            Err(why) => {
                *self.scan.dropped.entry(why).or_default() += 1;
                return Ok(());
            }
        };
        let service = &self.labels.3;
        let reservoir = match self.scan.reservoirs.get_mut(service) {
            Some(r) => r,
            None => self.scan.reservoirs.entry(service.clone()).or_insert_with(|| BottomK::new(cfg.rows_per_service)),
        };
        let prio = priority(cfg.seed, &[self.file_hash, idx]);
        let order = (self.file_index << 40) | idx;
        if !reservoir.would_keep(prio, order) {
            reservoir.count_seen();
            return Ok(());
        }
        let row = ppi_row(&ppi, rec, cols, &mut self.builder, &self.labels.2, service, &self.capture);
        reservoir.offer(prio, order, row);
        Ok(())
    }
}

/// A CESNET flow → canonical row. Sequences, length std and IAT statistics come from the PPI
/// packets; packet totals, duration, rates and mean packet size from the flow's own counters
/// (PACKETS, BYTES, DURATION, …) where the file has them.
fn ppi_row(
    ppi: &Ppi,
    rec: &Record<'_>,
    cols: &Cols,
    b: &mut WindowBuilder,
    app: &str,
    service: &str,
    capture: &str,
) -> FlowRow {
    b.reset();
    let mut t_us = 0i64;
    for i in 0..ppi.sizes.len() {
        t_us += ppi.ipt_ms[i] * 1000;
        b.push(t_us, ppi.sizes[i], ppi.dirs[i]);
    }
    let protocol = num(rec, cols.protocol).map(|p| p.clamp(0.0, 255.0) as u8).unwrap_or(17);
    let mut row = b.finish(app, service, protocol, capture);
    let (pk, pkr) = (num(rec, cols.packets), num(rec, cols.packets_rev));
    let (by, byr) = (num(rec, cols.bytes), num(rec, cols.bytes_rev));
    if let (Some(pk), Some(pkr)) = (pk, pkr) {
        row.total_packets = pk + pkr;
        row.total_fwd_packets = pk;
        row.total_backward_packets = pkr;
    }
    if let Some(d) = num(rec, cols.duration) {
        row.flow_duration = Some(d * 1000.0);
    }
    let secs = row.flow_duration.unwrap_or(0.0).max(1.0) / 1000.0;
    if let (Some(by), Some(byr)) = (by, byr) {
        let bytes = by + byr;
        row.flow_bytes_per_s = Some(bytes / secs);
        if row.total_packets > 0.0 {
            row.packet_length_mean = Some(bytes / row.total_packets);
        }
    }
    row.flow_packets_per_s = Some(row.total_packets / secs);
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppi_parses_with_spaces() {
        let p = parse_ppi(b"[[0, 6,7], [1,-1, 1], [1200, 39 ,31]]").unwrap();
        assert_eq!(p.ipt_ms, vec![0, 6, 7]);
        assert_eq!(p.dirs, vec![1, -1, 1]);
        assert_eq!(p.sizes, vec![1200, 39, 31]);
    }

    #[test]
    fn ppi_gap_of_a_day_is_kept() {
        assert_eq!(parse_ppi(b"[[0,86400000],[1,-1],[5,6]]").unwrap().ipt_ms, vec![0, 86_400_000]);
    }

    #[test]
    fn malformed_ppi_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"[[0,1],[1,1],[5]]",
            b"[[0],[2],[5]]",
            b"[[0],[1],[5]",
            b"[[],[],[]]",
            b"[[x],[1],[5]]",
            b"[[0],[1],[5]]junk",
            b"[[0,86400001],[1,1],[5,5]]",
            b"[[999999999999999999],[1],[5]]",
        ] {
            assert!(parse_ppi(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
