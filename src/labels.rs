//! Label vocabularies: dataset folder / category names → flowconx services, app-name
//! normalisation, and user overrides (`--service-map app,service`).
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The services flowconx classifies, plus `unknown` for background traffic.
pub const SERVICES: [&str; 7] =
    ["streaming", "gaming", "conferencing", "bulk_transfer", "browsing", "xr_interactive", "unknown"];

/// Lower case, runs of non-alphanumerics → `_`, trimmed: `MS Teams` → `ms_teams`.
pub fn normalize_app(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The Kaggle 5G dataset's service folders, exact names (no substring guessing).
pub fn fiveg_folder_service(folder: &str) -> Option<&'static str> {
    match folder {
        "Game_Streaming" | "Online_Game" => Some("gaming"),
        "Stored_Streaming" | "Live_Streaming" => Some("streaming"),
        "Video_Conferencing" => Some("conferencing"),
        "Metaverse" => Some("xr_interactive"),
        _ => None,
    }
}

/// CESNET-QUIC22 CATEGORY → service.
pub fn cesnet_category_service(category: &str) -> Option<&'static str> {
    match category.trim() {
        "Streaming media" | "Music" => Some("streaming"),
        "Games" => Some("gaming"),
        "Videoconferencing" => Some("conferencing"),
        "File sharing" => Some("bulk_transfer"),
        "Search" | "Social" | "Blogs/News" | "E-commerce" | "Mail" | "Advertising"
        | "Authentication services" | "Analytics/Telemetry" | "Information systems"
        | "Instant messaging" | "Other services and APIs" | "Antivirus" => Some("browsing"),
        _ => None,
    }
}

/// Per-app service overrides from a CSV with columns `app,service` (header required).
#[derive(Debug, Clone, Default)]
pub struct ServiceMap {
    map: BTreeMap<String, String>,
}

impl ServiceMap {
    pub fn load(path: &Path) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| Error::input(path, e.to_string()))?;
        let headers = rdr.headers().map_err(|e| Error::line(path, 1, e.to_string()))?.clone();
        let col = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| Error::MissingColumn {
                path: path.to_path_buf(),
                column: name.to_string(),
            })
        };
        let (ai, si) = (col("app")?, col("service")?);
        let mut map = BTreeMap::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                Error::line(path, e.position().map(|p| p.line()).unwrap_or(0), e.to_string())
            })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let (app, service) = (rec.get(ai).unwrap_or(""), rec.get(si).unwrap_or(""));
            if app.is_empty() || service.is_empty() {
                return Err(Error::line(path, line, "empty app or service"));
            }
            map.insert(normalize_app(app), service.to_string());
        }
        Ok(ServiceMap { map })
    }

    /// `load` when a map is given, else an empty map.
    pub fn load_opt(path: Option<&Path>) -> Result<Self> {
        path.map(Self::load).unwrap_or_else(|| Ok(Self::default()))
    }

    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        ServiceMap { map: pairs.into_iter().map(|(a, s)| (normalize_app(&a), s)).collect() }
    }

    /// Override for a (normalised) app name.
    pub fn get(&self, app: &str) -> Option<&str> {
        self.map.get(app).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_map_exactly() {
        assert_eq!(fiveg_folder_service("Video_Conferencing"), Some("conferencing"));
        assert_eq!(fiveg_folder_service("Metaverse"), Some("xr_interactive"));
        assert_eq!(fiveg_folder_service("Online_Game"), Some("gaming"));
        assert_eq!(fiveg_folder_service("Streaming"), None);
    }

    #[test]
    fn app_names_normalise() {
        assert_eq!(normalize_app("MS_Teams"), "ms_teams");
        assert_eq!(normalize_app("Tencent Meeting"), "tencent_meeting");
        assert_eq!(normalize_app("google-www"), "google_www");
    }

    #[test]
    fn cesnet_categories() {
        assert_eq!(cesnet_category_service("Music"), Some("streaming"));
        assert_eq!(cesnet_category_service("File sharing"), Some("bulk_transfer"));
        assert_eq!(cesnet_category_service("Other services and APIs"), Some("browsing"));
        assert_eq!(cesnet_category_service("Malware"), None);
    }
}
