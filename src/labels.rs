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
        "Search"
        | "Social"
        | "Blogs/News"
        | "E-commerce"
        | "Mail"
        | "Advertising"
        | "Authentication services"
        | "Analytics/Telemetry"
        | "Information systems"
        | "Instant messaging"
        | "Other services and APIs"
        | "Antivirus" => Some("browsing"),
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
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| Error::MissingColumn { path: path.to_path_buf(), column: name.to_string() })
        };
        let (ai, si) = (col("app")?, col("service")?);
        let mut map = BTreeMap::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| Error::line(path, e.position().map(|p| p.line()).unwrap_or(0), e.to_string()))?;
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

/// nDPI category → service. Protocol names win over categories where nDPI's category is too
/// coarse (its `Video` category holds both Netflix and Zoom): see [`ndpi_app_service`].
/// Infrastructure categories (Network, System, RPC, …) are background traffic: `unknown`.
/// Categories not listed (and nDPI's `Unknown`) give no service; the default label stays.
pub fn ndpi_category_service(category: &str) -> Option<&'static str> {
    match category.trim() {
        "Media" | "Streaming" | "Music" | "Video" => Some("streaming"),
        "Game" => Some("gaming"),
        "VoIP" => Some("conferencing"),
        "Download" | "DataTransfer" | "SoftwareUpdate" => Some("bulk_transfer"),
        "Web" | "SocialNetwork" | "Email" | "Advertisement" | "Shopping" | "Chat" | "Collaborative"
        | "VirtAssistant" | "AdultContent" | "Gambling" => Some("browsing"),
        "Network" | "System" | "RPC" | "VPN" | "IoT-Scada" | "Database" | "RemoteAccess" | "ConnCheck"
        | "Crypto_Currency" | "Malware" | "Mining" | "Cybersecurity" => Some("unknown"),
        _ => None,
    }
}

/// nDPI protocol (app part, normalised) → service, for apps whose category misleads.
pub fn ndpi_app_service(app: &str) -> Option<&'static str> {
    match app {
        "zoom" | "webex" | "teams" | "skype_teams" | "skype_teamscall" | "googlemeet" | "googlecall"
        | "whatsappcall" | "signalvoip" | "telegramvoip" | "facetime" | "adobeconnect" => Some("conferencing"),
        _ => None,
    }
}

/// The app part of an nDPI protocol name: `TLS.YouTube` → `youtube`, `DNS` → `dns`.
pub fn ndpi_app(proto: &str) -> String {
    normalize_app(proto.rsplit('.').next().unwrap_or(proto))
}

/// A flow's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLabel {
    pub app: String,
    pub service: String,
}

/// Per-flow labels keyed by capture file name and direction-free 5-tuple. Two CSV forms:
/// nDPI's (`pcap,l4,endpoint_a,endpoint_b,ndpi_proto,category,…`, endpoints `ip:port` or
/// `[ipv6]:port`) and the simple `capture,proto,ip_a,port_a,ip_b,port_b,app,service`
/// (`capture` empty or `*` = any capture; `proto` TCP/UDP or 6/17).
#[derive(Debug, Clone, Default)]
pub struct FlowLabels {
    by_capture: std::collections::HashMap<String, rustc_hash::FxHashMap<crate::flow::key::FlowKey, FlowLabel>>,
    /// Rows repeating an already-labelled flow (first one kept).
    pub duplicates: u64,
    /// nDPI rows without a usable verdict (`Unknown` protocol, unmapped category), not loaded.
    pub unlabelled: u64,
    /// nDPI rows whose endpoints are not valid `ip:port`, not loaded.
    pub invalid: u64,
}

fn parse_proto(s: &str) -> Option<u8> {
    match s.trim().to_ascii_uppercase().as_str() {
        "TCP" | "6" => Some(6),
        "UDP" | "17" => Some(17),
        _ => None,
    }
}

impl FlowLabels {
    pub fn load(path: &Path) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_path(path)
            .map_err(|e| Error::input(path, e.to_string()))?;
        let headers = rdr.headers().map_err(|e| Error::line(path, 1, e.to_string()))?.clone();
        let pos = |name: &str| headers.iter().position(|h| h == name);
        let need = |name: &str| {
            pos(name).ok_or_else(|| Error::MissingColumn { path: path.to_path_buf(), column: name.to_string() })
        };
        let ndpi = pos("endpoint_a").is_some();
        let cols: Vec<usize> = if ndpi {
            ["pcap", "l4", "endpoint_a", "endpoint_b", "ndpi_proto", "category"]
                .iter()
                .map(|c| need(c))
                .collect::<Result<_>>()?
        } else {
            ["capture", "proto", "ip_a", "port_a", "ip_b", "port_b", "app", "service"]
                .iter()
                .map(|c| need(c))
                .collect::<Result<_>>()?
        };
        let mut out = FlowLabels::default();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| Error::line(path, e.position().map(|p| p.line()).unwrap_or(0), e.to_string()))?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let f = |i: usize| rec.get(cols[i]).unwrap_or("");
            let bad = |what: &str| Error::line(path, line, what.to_string());
            let proto = parse_proto(f(1)).ok_or_else(|| bad(&format!("protocol `{}` is not TCP or UDP", f(1))))?;
            let (capture, key, label) = if ndpi {
                let app = ndpi_app(f(4));
                if app.is_empty() || app == "unknown" {
                    out.unlabelled += 1;
                    continue;
                }
                // nDPI prints what it decoded, also from fuzzed captures (`[302e::3d00::8001]:0`):
                // rows whose endpoints are not valid addresses cannot match a flow; count them.
                let ep = |s: &str| s.parse::<std::net::SocketAddr>().ok();
                let key = match (ep(f(2)), ep(f(3))) {
                    (Some(a), Some(b)) => {
                        crate::flow::key::FlowKey::from_endpoints(proto, a.ip(), a.port(), b.ip(), b.port())
                    }
                    _ => None,
                };
                let Some(key) = key else {
                    out.invalid += 1;
                    continue;
                };
                let service = ndpi_app_service(&app).or_else(|| ndpi_category_service(f(5)));
                let Some(service) = service else {
                    out.unlabelled += 1;
                    continue;
                };
                (f(0).to_string(), key, FlowLabel { app, service: service.to_string() })
            } else {
                let ip = |s: &str| s.parse::<std::net::IpAddr>().map_err(|_| bad(&format!("bad IP address `{s}`")));
                let port = |s: &str| s.parse::<u16>().map_err(|_| bad(&format!("bad port `{s}`")));
                let key =
                    crate::flow::key::FlowKey::from_endpoints(proto, ip(f(2))?, port(f(3))?, ip(f(4))?, port(f(5))?)
                        .ok_or_else(|| bad("endpoints of different IP versions"))?;
                if f(6).is_empty() || f(7).is_empty() {
                    return Err(bad("empty app or service"));
                }
                let capture = if f(0) == "*" { String::new() } else { f(0).to_string() };
                (capture, key, FlowLabel { app: normalize_app(f(6)), service: f(7).to_string() })
            };
            match out.by_capture.entry(capture).or_default().entry(key.canonical()) {
                std::collections::hash_map::Entry::Occupied(_) => out.duplicates += 1,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(label);
                }
            }
        }
        Ok(out)
    }

    /// Label of a flow in a capture (either direction); entries without capture match any.
    pub fn get(&self, capture: &str, key: &crate::flow::key::FlowKey) -> Option<&FlowLabel> {
        let ck = key.canonical();
        self.by_capture
            .get(capture)
            .and_then(|m| m.get(&ck))
            .or_else(|| self.by_capture.get("").and_then(|m| m.get(&ck)))
    }

    pub fn len(&self) -> usize {
        self.by_capture.values().map(|m| m.len()).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    #[test]
    fn flow_labels_both_forms() {
        let dir = tempfile::tempdir().unwrap();
        let nd = dir.path().join("n.csv");
        std::fs::write(
            &nd,
            "pcap,l4,endpoint_a,endpoint_b,ndpi_proto,category,encrypted\n\
            a.pcap,TCP,10.0.0.1:5000,1.2.3.4:443,TLS.Zoom,Video,1\n\
            a.pcap,UDP,[fe80::1]:546,[ff02::1:2]:547,DHCPV6,Network,0\n\
            a.pcap,UDP,10.0.0.1:9,10.0.0.2:9,Unknown,,0\n\
            a.pcap,TCP,10.0.0.1:5001,1.2.3.4:443,TLS.NetFlix,Video,1\n\
            a.pcap,TCP,[3400::1]:44288,[302e::3d00::8001]:0,TLS,Web,0\n",
        )
        .unwrap();
        let l = FlowLabels::load(&nd).unwrap();
        assert_eq!((l.len(), l.unlabelled, l.invalid), (3, 1, 1));
        // TCP 1.2.3.4:443 ↔ 10.0.0.1:`port`
        let tls = |port: u16| {
            let (server, client) = ("1.2.3.4".parse().unwrap(), "10.0.0.1".parse().unwrap());
            crate::flow::key::FlowKey::from_endpoints(6, server, 443, client, port).unwrap()
        };
        let k = tls(5000);
        assert_eq!(l.get("a.pcap", &k).unwrap(), &FlowLabel { app: "zoom".into(), service: "conferencing".into() });
        assert!(l.get("b.pcap", &k).is_none());
        assert_eq!(l.get("a.pcap", &tls(5001)).unwrap().service, "streaming");

        let simple = dir.path().join("s.csv");
        std::fs::write(
            &simple,
            "capture,proto,ip_a,port_a,ip_b,port_b,app,service\n*,udp,1.1.1.1,53,2.2.2.2,999,My DNS,browsing\n",
        )
        .unwrap();
        let l = FlowLabels::load(&simple).unwrap();
        let k = crate::flow::key::FlowKey::from_endpoints(
            17,
            "2.2.2.2".parse().unwrap(),
            999,
            "1.1.1.1".parse().unwrap(),
            53,
        )
        .unwrap();
        assert_eq!(l.get("any.pcap", &k).unwrap().app, "my_dns");
        std::fs::write(
            &simple,
            "capture,proto,ip_a,port_a,ip_b,port_b,app,service\nx,icmp,1.1.1.1,53,2.2.2.2,999,a,b\n",
        )
        .unwrap();
        let e = FlowLabels::load(&simple).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("icmp"), "{e}");
    }
}
