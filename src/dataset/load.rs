//! Load processed rows from one or more CSVs (concatenated in order), with optional column
//! renames for the app / service labels and a row limit.
use crate::error::{Error, Result};
use crate::features::schema::{FlowRow, RowReader};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadConfig {
    pub csv: Vec<PathBuf>,
    /// Keep only the first N rows over all files.
    pub limit: Option<usize>,
    /// Column holding the app name (default `app`).
    pub app_col: String,
    /// Column holding the target label (default `service`).
    pub service_col: String,
}

impl LoadConfig {
    pub fn new(csv: Vec<PathBuf>) -> Self {
        LoadConfig { csv, limit: None, app_col: "app".into(), service_col: "service".into() }
    }
}

fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, file)))
    } else {
        Box::new(file)
    })
}

/// Values of one named column, first `limit` rows.
fn read_column(path: &Path, col: &str, limit: usize) -> Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(open(path)?);
    let headers = rdr.headers().map_err(|e| Error::line(path, 1, e.to_string()))?.clone();
    let idx = headers
        .iter()
        .position(|h| h.trim() == col)
        .ok_or_else(|| Error::MissingColumn { path: path.to_path_buf(), column: col.to_string() })?;
    let mut out = Vec::new();
    for rec in rdr.records().take(limit) {
        let rec = rec.map_err(|e| Error::line(path, e.position().map(|p| p.line()).unwrap_or(0), e.to_string()))?;
        out.push(rec.get(idx).unwrap_or("").trim().to_string());
    }
    Ok(out)
}

/// Every row of every file, in file order then line order, at most `limit` in total.
pub fn load_rows(cfg: &LoadConfig) -> Result<Vec<FlowRow>> {
    if cfg.csv.is_empty() {
        return Err(Error::Config("no --csv file given".into()));
    }
    let limit = cfg.limit.unwrap_or(usize::MAX);
    let mut rows = Vec::new();
    for path in &cfg.csv {
        if rows.len() >= limit {
            break;
        }
        let start = rows.len();
        let mut r = RowReader::open(path)?;
        while rows.len() < limit {
            match r.next_row()? {
                Some(row) => rows.push(row),
                None => break,
            }
        }
        let n = rows.len() - start;
        if cfg.app_col != "app" {
            for (row, v) in rows[start..].iter_mut().zip(read_column(path, &cfg.app_col, n)?) {
                row.app = v;
            }
        }
        if cfg.service_col != "service" {
            for (row, v) in rows[start..].iter_mut().zip(read_column(path, &cfg.service_col, n)?) {
                row.service = v;
            }
        }
        for (i, row) in rows[start..].iter().enumerate() {
            if row.service.is_empty() {
                // Header is line 1, so row i is on line i + 2 (no multi-line cells in this schema).
                return Err(Error::line(path, i as u64 + 2, format!("empty label in column `{}`", cfg.service_col)));
            }
        }
    }
    if rows.is_empty() {
        return Err(Error::input(&cfg.csv[0], "no rows"));
    }
    Ok(rows)
}
