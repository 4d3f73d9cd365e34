//! One module per subcommand: orchestration only (configs in, library calls, summaries out).
pub mod bench_train;
pub mod classify;
pub mod embed;
pub mod evaluate;
pub mod kpi_report;
pub mod merge;
pub mod prepare_5g;
pub mod prepare_cesnet;
pub mod prepare_mawi;
pub mod train;

use std::collections::BTreeMap;

/// `service → count` as an aligned table, for stderr summaries.
pub(crate) fn format_counts(title: &str, counts: &BTreeMap<String, u64>) -> String {
    let width = counts.keys().map(|k| k.len()).max().unwrap_or(0).max(title.len());
    let mut s = format!("{title:<width$}  rows\n");
    for (k, v) in counts {
        s.push_str(&format!("{k:<width$}  {v}\n"));
    }
    s.push_str(&format!("{:<width$}  {}\n", "total", counts.values().sum::<u64>()));
    s
}

/// Says on stderr that `rows` rows carry measurements (`columns`) the model never saw in
/// training and so ignores (`Normalizer::carries_ignored`).
pub(crate) fn note_ignored(rows: u64, columns: &[&str]) {
    if rows > 0 {
        eprintln!(
            "flowconx: note: {rows} rows carry {}, which no training row had: the model ignores them",
            columns.join(" / ")
        );
    }
}

/// Apply `--limit-files` and refuse an empty selection, naming the input and what was looked for.
pub(crate) fn select_files<T>(
    mut files: Vec<T>,
    limit: Option<usize>,
    input: &std::path::Path,
    what: &str,
) -> anyhow::Result<Vec<T>> {
    if let Some(n) = limit {
        files.truncate(n);
    }
    if files.is_empty() {
        return Err(crate::Error::input(input, format!("no {what} found")).into());
    }
    Ok(files)
}
