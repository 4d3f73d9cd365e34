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
        let mut positions = Vec::new();
        while rows.len() < limit {
            match r.next_row()? {
                Some(row) => {
                    rows.push(row);
                    positions.push(r.position());
                }
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
        for (row, pos) in rows[start..].iter().zip(&positions) {
            if row.service.is_empty() {
                let line = crate::features::schema::line_of(path, pos.as_ref());
                return Err(Error::line(path, line, format!("empty label in column `{}`", cfg.service_col)));
            }
        }
    }
    if rows.is_empty() {
        return Err(Error::input(&cfg.csv[0], "no rows"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_label_names_its_line_past_blank_lines() {
        let header = "app,service,condition,packet_lengths,iat_values,directions,rtt_ms,jitter_ms,loss_rate,total packets,total fwd packets,total backward packets,packet length mean,packet length std,flow iat mean,flow iat std,flow duration,flow bytes/s,flow packets/s,protocol";
        let row =
            |service: &str| format!("a,{service},good,74;60,0;1.5,1;-1,,,,2,1,1,67,7,0.75,0.75,1.5,89333.3,1333.3,6");
        // Header line 1, row line 2, blank lines 3-4, the unlabelled row on line 5.
        let text = format!("{header}\n{}\n\n\n{}\n", row("gaming"), row(""));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, text).unwrap();
        let err = load_rows(&LoadConfig::new(vec![path.clone()])).err().unwrap().to_string();
        assert_eq!(err, format!("{}: line 5: empty label in column `service`", path.display()));
    }
}
