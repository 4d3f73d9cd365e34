//! Packet exports of the Kaggle "5G Traffic Datasets": Wireshark "Export Packet Dissections →
//! As CSV" (quoted, with header) and the headerless tab-separated `time, source, destination,
//! length` layout of its Amazon Prime captures. Both sit under `.csv` names, so the layout is
//! sniffed from the first line. Files are streamed in chunks of at most `chunk_rows` packets.
use super::csvsplit::{split_csv, Split};
use super::timefmt::{parse_tshark_abs_time, DateCache};
use crate::error::{Error, Result};
use rustc_hash::FxHashMap;
use std::io::BufRead;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A packet line's time, source, destination, length and protocol fields, unparsed.
type Fields<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8], &'a [u8]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `"No.","Time","Source","Destination","Protocol","Length","Info"`
    WiresharkCsv,
    /// `time<TAB>source<TAB>destination<TAB>length`, no header
    TabSeparated,
}

/// Address id for endpoints that are not IP addresses (MAC addresses of ARP frames, empty cells).
pub const NON_IP: u32 = u32::MAX;

/// One exported packet, endpoints interned in the reader's [`AddressBook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportPacket {
    pub ts_us: i64,
    pub len: u32,
    pub src: u32,
    pub dst: u32,
    /// IP protocol number decided from the Protocol column (0 when unknown or absent).
    pub proto: u8,
}

/// Interned endpoint addresses of one capture, with how many packets each was seen in.
#[derive(Debug, Default)]
pub struct AddressBook {
    ids: FxHashMap<Box<[u8]>, u32>,
    addrs: Vec<IpAddr>,
    packets: Vec<u64>,
}

impl AddressBook {
    fn intern(&mut self, text: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = match std::str::from_utf8(text).ok().and_then(|s| s.trim().parse::<IpAddr>().ok()) {
            Some(ip) => {
                let id = self.addrs.len() as u32;
                self.addrs.push(ip);
                self.packets.push(0);
                id
            }
            None => NON_IP,
        };
        self.ids.insert(text.into(), id);
        id
    }

    pub fn addr(&self, id: u32) -> Option<IpAddr> {
        self.addrs.get(id as usize).copied()
    }

    /// The handset: the private / link-local address seen in most packets; ties go to the
    /// smaller address so the choice is deterministic.
    pub fn handset(&self) -> Option<u32> {
        (0..self.addrs.len())
            .filter(|&i| is_private(&self.addrs[i]) && self.packets[i] > 0)
            .max_by(|&a, &b| self.packets[a].cmp(&self.packets[b]).then_with(|| self.addrs[b].cmp(&self.addrs[a])))
            .map(|i| i as u32)
    }
}

/// RFC 1918, CGNAT 100.64/10, IPv4 link-local, IPv6 ULA fc00::/7 and link-local fe80::/10.
pub fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || v4.is_link_local() || (o[0] == 100 && (o[1] & 0xC0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            (s & 0xFE00) == 0xFC00 || (s & 0xFFC0) == 0xFE80
        }
    }
}

/// Wireshark protocol column → IP protocol number, by table (case-insensitive, exact names).
pub fn protocol_number(name: &[u8]) -> u8 {
    const TCP: &[&str] = &[
        "tcp",
        "tls",
        "tlsv1",
        "tlsv1.1",
        "tlsv1.2",
        "tlsv1.3",
        "ssl",
        "sslv2",
        "sslv3",
        "http",
        "http2",
        "http/json",
        "http/xml",
        "ocsp",
        "ssh",
        "sshv2",
        "ftp",
        "ftp-data",
        "smtp",
        "imap",
        "pop",
        "bgp",
        "xmpp/xml",
        "rtmp",
        "mqtt",
        "smb",
        "smb2",
        "ldap",
        "rdp",
        "websocket",
        "grpc",
        "irc",
        "telnet",
        "rtsp",
        "msnms",
        "spdy",
        "gquic-tcp",
        "openvpn-tcp",
        "dcerpc",
        "nbss",
        "kerberos-tcp",
    ];
    const UDP: &[&str] = &[
        "udp",
        "quic",
        "gquic",
        "dns",
        "mdns",
        "llmnr",
        "nbns",
        "nbdgm",
        "ssdp",
        "rtp",
        "rtcp",
        "srtp",
        "srtcp",
        "stun",
        "classicstun",
        "classic-stun",
        "turn",
        "dtls",
        "dtlsv1.0",
        "dtlsv1.2",
        "dtls 1.3",
        "dtlsv1.3",
        "dhcp",
        "dhcpv6",
        "bootp",
        "ntp",
        "snmp",
        "raknet",
        "wireguard",
        "tftp",
        "syslog",
        "udp/xml",
        "cldap",
        "ws-discovery",
        "lsd",
        "bt-dht",
        "bittorrent-dht",
        "isakmp",
        "nat-port-mapping",
        "coap",
        "sip",
        "rtpevent",
        "zrtp",
        "l2tp",
        "gtp",
        "gtpv2",
        "capwap",
        "openvpn",
        "wg",
        "db-lsp-disc",
        "browser",
        "lanman",
        "enip",
        "quic-ietf",
    ];
    let mut buf = [0u8; 24];
    if name.len() > buf.len() {
        return 0;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let Ok(s) = std::str::from_utf8(lower) else { return 0 };
    if TCP.contains(&s) {
        6
    } else if UDP.contains(&s) {
        17
    } else {
        0
    }
}

#[derive(Debug, Clone, Copy)]
struct CsvColumns {
    time: usize,
    src: usize,
    dst: usize,
    len: usize,
    proto: Option<usize>,
}

/// Streams the packets of one export file.
pub struct ExportReader<R: BufRead> {
    path: PathBuf,
    layout: Layout,
    reader: R,
    line_no: u64,
    cols: Option<CsvColumns>,
    pub book: AddressBook,
    line: Vec<u8>,
    fields: Vec<(usize, usize)>,
    cache: [(Vec<u8>, u32); 2],
    protocols: FxHashMap<Box<[u8]>, u8>,
    dates: DateCache,
    pending_first: Option<Vec<u8>>,
}

fn trimmed(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

fn trim_eol(line: &mut Vec<u8>) {
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
}

impl<R: BufRead> ExportReader<R> {
    /// Sniff the layout from the first line; a Wireshark header is consumed here.
    pub fn new(path: &Path, mut reader: R) -> Result<Self> {
        let mut first = Vec::new();
        reader.read_until(b'\n', &mut first).map_err(|e| Error::io(path, e))?;
        trim_eol(&mut first);
        if first.starts_with(&[0xEF, 0xBB, 0xBF]) {
            first.drain(..3);
        }
        if first.is_empty() {
            return Err(Error::input(path, "empty file"));
        }
        let mut me = ExportReader {
            path: path.to_path_buf(),
            layout: Layout::WiresharkCsv,
            reader,
            line_no: 1,
            cols: None,
            book: AddressBook::default(),
            line: Vec::with_capacity(512),
            fields: Vec::with_capacity(16),
            cache: [(Vec::new(), NON_IP), (Vec::new(), NON_IP)],
            protocols: FxHashMap::default(),
            dates: DateCache::default(),
            pending_first: None,
        };
        if first.starts_with(b"\"No.\"") || first.starts_with(b"No.,") {
            if split_csv(&first, &mut me.fields) != Split::Done {
                return Err(Error::line(path, 1, "malformed CSV header"));
            }
            let names: Vec<&[u8]> = me.fields.iter().map(|&(a, b)| &first[a..b]).collect();
            let find = |n: &str| names.iter().position(|h| *h == n.as_bytes());
            let need =
                |n: &str| find(n).ok_or_else(|| Error::MissingColumn { path: path.to_path_buf(), column: n.into() });
            me.cols = Some(CsvColumns {
                time: need("Time")?,
                src: need("Source")?,
                dst: need("Destination")?,
                len: need("Length")?,
                proto: find("Protocol"),
            });
        } else if memchr::memchr(b'\t', &first).is_some() {
            me.layout = Layout::TabSeparated;
            me.line_no = 0;
            me.pending_first = Some(first);
        } else {
            return Err(Error::line(
                path,
                1,
                "unrecognised layout: neither a Wireshark CSV header (\"No.\",\"Time\",...) nor tab-separated time/source/destination/length",
            ));
        }
        Ok(me)
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Intern through a cache of the last two distinct addresses: a conversation's packets
    /// alternate between the same two endpoints, so both directions hit.
    #[inline]
    fn intern(&mut self, text: &[u8]) -> u32 {
        if self.cache[0].0 == text {
            return self.cache[0].1;
        }
        if self.cache[1].0 == text {
            self.cache.swap(0, 1);
            return self.cache[0].1;
        }
        let id = self.book.intern(text);
        self.cache.swap(0, 1);
        self.cache[0].0.clear();
        self.cache[0].0.extend_from_slice(text);
        self.cache[0].1 = id;
        id
    }

    /// Read the next record into `self.line`; `false` at end of file.
    fn read_record(&mut self) -> Result<bool> {
        self.line.clear();
        if let Some(first) = self.pending_first.take() {
            self.line = first;
            self.line_no += 1;
            return Ok(true);
        }
        loop {
            let start = self.line.len();
            let n = self.reader.read_until(b'\n', &mut self.line).map_err(|e| Error::io(&self.path, e))?;
            if n == 0 {
                if start > 0 {
                    return Err(Error::line(&self.path, self.line_no, "unterminated quoted field at end of file"));
                }
                return Ok(false);
            }
            self.line_no += 1;
            if self.layout == Layout::WiresharkCsv {
                // A quoted field may hold a newline: read on until the record splits cleanly.
                let mut fields = std::mem::take(&mut self.fields);
                let body = trimmed(&self.line);
                let split = if body.is_empty() { Split::Done } else { split_csv(body, &mut fields) };
                self.fields = fields;
                match split {
                    Split::Done => {}
                    Split::Open => continue,
                    Split::Bad => {
                        return Err(Error::line(
                            &self.path,
                            self.line_no,
                            "malformed CSV record (text after a closing quote)",
                        ))
                    }
                }
            }
            trim_eol(&mut self.line);
            if self.line.is_empty() {
                continue;
            }
            return Ok(true);
        }
    }

    /// Parse up to `max` packets into `out` (cleared first); returns how many were read.
    pub fn next_chunk(&mut self, out: &mut Vec<ExportPacket>, max: usize) -> Result<usize> {
        out.clear();
        while out.len() < max.max(1) {
            if !self.read_record()? {
                break;
            }
            let p = self.parse_line()?;
            out.push(p);
        }
        Ok(out.len())
    }

    fn bad(&self, msg: impl Into<String>) -> Error {
        Error::line(&self.path, self.line_no, msg)
    }

    fn parse_line(&mut self) -> Result<ExportPacket> {
        let line = std::mem::take(&mut self.line);
        let res = self.parse_fields(&line);
        self.line = line;
        res
    }

    fn parse_fields(&mut self, line: &[u8]) -> Result<ExportPacket> {
        let (time, src, dst, len, proto): Fields<'_> = match self.layout {
            Layout::WiresharkCsv => {
                // `read_record` already split the record into `self.fields`.
                let fields = std::mem::take(&mut self.fields);
                let Some(c) = self.cols else { return Err(self.bad("no header")) };
                let get = |i: usize| fields.get(i).map(|&(a, b)| &line[a..b]);
                let need = [c.time, c.src, c.dst, c.len].into_iter().max().unwrap_or(0);
                if fields.len() <= need {
                    let n = fields.len();
                    self.fields = fields;
                    return Err(self.bad(format!("expected at least {} fields, found {n}", need + 1)));
                }
                let r = (
                    get(c.time).unwrap_or(&[]),
                    get(c.src).unwrap_or(&[]),
                    get(c.dst).unwrap_or(&[]),
                    get(c.len).unwrap_or(&[]),
                    c.proto.and_then(get).unwrap_or(&[]),
                );
                self.fields = fields;
                r
            }
            Layout::TabSeparated => {
                let mut it = line.split(|&b| b == b'\t');
                let (Some(t), Some(s), Some(d), Some(l)) = (it.next(), it.next(), it.next(), it.next()) else {
                    return Err(self.bad("expected 4 tab-separated fields (time, source, destination, length)"));
                };
                (t, s, d, l, &[][..])
            }
        };
        let ts_us = match self.layout {
            Layout::WiresharkCsv => self.dates.parse_wireshark(time),
            Layout::TabSeparated => parse_tshark_abs_time(time),
        }
        .ok_or_else(|| self.bad(format!("bad time `{}`", String::from_utf8_lossy(time))))?;
        let len = std::str::from_utf8(len)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .ok_or_else(|| self.bad(format!("bad length `{}`", String::from_utf8_lossy(len))))?;
        let src = self.intern(src);
        let dst = self.intern(dst);
        // A capture uses a handful of protocol names: look each up in the table once.
        let proto = match self.protocols.get(proto) {
            Some(&p) => p,
            None => {
                let p = protocol_number(proto);
                self.protocols.insert(proto.into(), p);
                p
            }
        };
        Ok(ExportPacket { ts_us, len, src, dst, proto })
    }

    /// Count a packet's endpoints for the handset vote.
    #[inline]
    pub fn count(&mut self, p: &ExportPacket) {
        if p.src != NON_IP {
            self.book.packets[p.src as usize] += 1;
        }
        if p.dst != NON_IP {
            self.book.packets[p.dst as usize] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_layouts() {
        let csv = "\"No.\",\"Time\",\"Source\",\"Destination\",\"Protocol\",\"Length\",\"Info\"\n\
            \"1\",\"2019-09-27 02:54:26.080774\",\"192.168.1.7\",\"52.24.87.6\",\"TLSv1.2\",\"66\",\"a, b\"\n\
            \"2\",\"2019-09-27 02:54:26.080775\",\"aa:bb:cc:dd:ee:ff\",\"Broadcast\",\"ARP\",\"42\",\"Who has\n 1.2.3.4?\"\n";
        let mut r = ExportReader::new(Path::new("x.csv"), csv.as_bytes()).unwrap();
        let mut out = Vec::new();
        r.next_chunk(&mut out, 10).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].len, out[0].proto), (66, 6));
        assert_eq!((out[1].src, out[1].dst), (NON_IP, NON_IP));
        for p in &out {
            r.count(p);
        }
        assert_eq!(r.book.addr(r.book.handset().unwrap()), Some("192.168.1.7".parse().unwrap()));

        let tsv = "Sep 27, 2019 02:54:26.080774000 대한민국 표준시\t192.168.1.7\t52.24.87.6\t66\n";
        let mut r = ExportReader::new(Path::new("y.csv"), tsv.as_bytes()).unwrap();
        assert_eq!(r.layout(), Layout::TabSeparated);
        r.next_chunk(&mut out, 10).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].proto, 0);
    }

    #[test]
    fn garbled_line_is_named() {
        let csv = "\"No.\",\"Time\",\"Source\",\"Destination\",\"Protocol\",\"Length\",\"Info\"\n\
            \"1\",\"2019-09-27 02:54:26.080774\",\"192.168.1.7\",\"52.24.87.6\",\"TCP\",\"sixty\",\"\"\n";
        let mut r = ExportReader::new(Path::new("x.csv"), csv.as_bytes()).unwrap();
        let err = r.next_chunk(&mut Vec::new(), 10).unwrap_err().to_string();
        assert_eq!(err, "x.csv: line 2: bad length `sixty`");
    }

    #[test]
    fn handset_guess_is_corrected_by_a_second_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        let mut text = String::from("\"No.\",\"Time\",\"Source\",\"Destination\",\"Protocol\",\"Length\",\"Info\"\n");
        let mut line = |i: usize, src: &str, dst: &str| {
            text.push_str(&format!(
                "\"{i}\",\"2019-09-27 02:54:{:02}.000000\",\"{src}\",\"{dst}\",\"UDP\",\"{}\",\"\"\n",
                i,
                100 + i
            ));
        };
        // The first chunk (3 packets) only shows 10.0.0.5; the capture's handset is 192.168.1.2.
        for i in 0..3 {
            line(i, "10.0.0.5", "8.8.8.8");
        }
        for i in 3..13 {
            if i % 2 == 0 {
                line(i, "192.168.1.2", "1.1.1.1")
            } else {
                line(i, "1.1.1.1", "192.168.1.2")
            }
        }
        std::fs::write(&path, text).unwrap();
        let labels = CaptureLabels { app: "a".into(), service: "s".into(), capture: "c.csv".into() };
        let cfg = FivegConfig { window_seconds: 60.0, max_packets: 32, chunk_rows: 3 };
        let (rows, stats) = extract_capture(&path, &labels, &cfg, &|_| {}).unwrap();
        assert_eq!(stats.passes, 2);
        assert_eq!(stats.handset, Some("192.168.1.2".parse().unwrap()));
        assert_eq!((stats.used, stats.skipped_not_handset), (10, 3));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].directions[..3], [-1, 1, -1]);
        assert_eq!(rows[0].protocol, 17);
    }

    #[test]
    fn private_ranges() {
        for a in ["10.1.2.3", "172.16.0.1", "192.168.0.1", "100.64.0.1", "169.254.1.1", "fd00::1", "fe80::1"] {
            assert!(is_private(&a.parse().unwrap()), "{a}");
        }
        for a in ["8.8.8.8", "100.128.0.1", "2001:db8::1"] {
            assert!(!is_private(&a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn protocol_table() {
        assert_eq!(protocol_number(b"TLSv1.3"), 6);
        assert_eq!(protocol_number(b"QUIC"), 17);
        assert_eq!(protocol_number(b"RakNet"), 17);
        assert_eq!(protocol_number(b"ICMP"), 0);
        assert_eq!(protocol_number(b"ARP"), 0);
    }
}

/// Settings of `prepare-5g` that shape rows.
#[derive(Debug, Clone)]
pub struct FivegConfig {
    pub window_seconds: f64,
    pub max_packets: usize,
    pub chunk_rows: usize,
}

/// Labels every row of one capture carries.
#[derive(Debug, Clone)]
pub struct CaptureLabels {
    pub app: String,
    pub service: String,
    /// The capture's path below the input folder.
    pub capture: String,
}

/// What happened to one capture's packets.
#[derive(Debug, Clone, Default)]
pub struct CaptureStats {
    pub packets: u64,
    pub used: u64,
    pub skipped_non_ip: u64,
    pub skipped_not_handset: u64,
    pub rows: u64,
    pub bytes: u64,
    pub handset: Option<IpAddr>,
    pub layout: Option<Layout>,
    /// 2 when the handset guessed from the first chunk lost the final vote and the file was re-read.
    pub passes: u32,
}

type Counted = std::io::BufReader<super::CountingReader<std::fs::File>>;

fn open_counted(path: &Path) -> Result<(Counted, std::sync::Arc<std::sync::atomic::AtomicU64>)> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    Ok((std::io::BufReader::with_capacity(1 << 20, super::CountingReader::new(f, count.clone())), count))
}

/// Turn one export file into window rows. The handset is the private address seen in most
/// packets of the whole capture: it is guessed from the first chunk and, in the rare case the
/// final count disagrees, the file is read a second time with the right one.
/// `progress` receives the bytes read since its last call.
pub fn extract_capture(
    path: &Path,
    labels: &CaptureLabels,
    cfg: &FivegConfig,
    progress: &dyn Fn(u64),
) -> Result<(Vec<FlowRow>, CaptureStats)> {
    let (rows, stats, final_handset) = extract_pass(path, labels, cfg, None, progress)?;
    match (stats.handset, final_handset) {
        (Some(a), Some(b)) if a != b => {
            let (rows, mut stats2, _) = extract_pass(path, labels, cfg, Some(b), &|_| {})?;
            stats2.passes = 2;
            Ok((rows, stats2))
        }
        _ => Ok((rows, stats)),
    }
}

use crate::features::FlowRow;
use crate::flow::windows::TimeWindows;

/// One pass; returns the rows, stats (with the handset used) and the handset of the full vote.
fn extract_pass(
    path: &Path,
    labels: &CaptureLabels,
    cfg: &FivegConfig,
    fixed: Option<IpAddr>,
    progress: &dyn Fn(u64),
) -> Result<(Vec<FlowRow>, CaptureStats, Option<IpAddr>)> {
    let (input, read_bytes) = open_counted(path)?;
    let mut reported = 0u64;
    let mut reader = ExportReader::new(path, input)?;
    let mut stats = CaptureStats { layout: Some(reader.layout()), passes: 1, ..Default::default() };
    let mut chunk = Vec::with_capacity(cfg.chunk_rows.min(1 << 20));
    let mut windows = TimeWindows::new(cfg.window_seconds, cfg.max_packets);
    let mut proto_votes = [0u64; 3]; // 0, 6, 17 in the current window
    let mut rows = Vec::new();
    let mut handset: Option<u32> = None;
    let finish = |w: &TimeWindows, votes: &[u64; 3], rows: &mut Vec<FlowRow>| {
        if !w.current.is_empty() {
            rows.push(w.current.finish(&labels.app, &labels.service, majority_protocol(votes), &labels.capture));
        }
    };
    loop {
        let n = reader.next_chunk(&mut chunk, cfg.chunk_rows)?;
        let now = read_bytes.load(std::sync::atomic::Ordering::Relaxed);
        progress(now - reported);
        reported = now;
        if n == 0 {
            break;
        }
        for p in &chunk {
            reader.count(p);
        }
        if handset.is_none() {
            handset = match fixed {
                Some(ip) => reader.book.ids_of(&ip),
                None => reader.book.handset(),
            };
            stats.handset = handset.and_then(|h| reader.book.addr(h));
        }
        for p in &chunk {
            stats.packets += 1;
            if p.src == NON_IP || p.dst == NON_IP {
                stats.skipped_non_ip += 1;
                continue;
            }
            let dir = match handset {
                Some(h) if p.src == h => 1,
                Some(h) if p.dst == h => -1,
                _ => {
                    stats.skipped_not_handset += 1;
                    continue;
                }
            };
            if windows.crosses(p.ts_us) {
                finish(&windows, &proto_votes, &mut rows);
                windows.advance(p.ts_us);
                proto_votes = [0; 3];
            }
            windows.push(p.ts_us, p.len, dir);
            proto_votes[match p.proto {
                6 => 1,
                17 => 2,
                _ => 0,
            }] += 1;
            stats.used += 1;
            stats.bytes += p.len as u64;
        }
    }
    finish(&windows, &proto_votes, &mut rows);
    stats.rows = rows.len() as u64;
    let final_handset = reader.book.handset().and_then(|h| reader.book.addr(h));
    Ok((rows, stats, final_handset))
}

/// The protocol carrying most of a window's packets; ties prefer TCP, then UDP.
fn majority_protocol(votes: &[u64; 3]) -> u8 {
    let (z, t, u) = (votes[0], votes[1], votes[2]);
    if t == 0 && u == 0 {
        0
    } else if t >= u && t >= z {
        6
    } else if u >= z {
        17
    } else {
        0
    }
}

impl AddressBook {
    /// Id of an address already seen, if any.
    pub fn ids_of(&self, ip: &IpAddr) -> Option<u32> {
        self.addrs.iter().position(|a| a == ip).map(|i| i as u32)
    }
}

/// One capture file of the `<Service>/<App>/<file>` tree.
#[derive(Debug, Clone)]
pub struct CaptureFile {
    pub path: PathBuf,
    /// Path below the input folder, `/`-separated.
    pub rel: String,
    pub service_folder: String,
    pub app_folder: String,
    pub size: u64,
}

fn sorted_entries(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::io(dir, e))?;
    v.sort_by_key(|e| e.file_name());
    Ok(v)
}

/// Walk `<Service>/<App>/<file>` in sorted order. Files whose name ends in `.csv` or `.tsv`
/// are captures; anything else (READMEs, stray files above the app level) is ignored.
pub fn discover(input: &Path) -> Result<Vec<CaptureFile>> {
    if !input.is_dir() {
        return Err(Error::input(input, "not a directory (expected <Service>/<App>/<file>.csv below it)"));
    }
    let mut out = Vec::new();
    for svc in sorted_entries(input)? {
        if !svc.path().is_dir() {
            continue;
        }
        for app in sorted_entries(&svc.path())? {
            if !app.path().is_dir() {
                continue;
            }
            for f in sorted_entries(&app.path())? {
                let p = f.path();
                let is_capture = p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("tsv"));
                if !is_capture {
                    continue;
                }
                let size = f.metadata().map_err(|e| Error::io(&p, e))?.len();
                out.push(CaptureFile {
                    rel: format!(
                        "{}/{}/{}",
                        svc.file_name().to_string_lossy(),
                        app.file_name().to_string_lossy(),
                        f.file_name().to_string_lossy()
                    ),
                    service_folder: svc.file_name().to_string_lossy().into_owned(),
                    app_folder: app.file_name().to_string_lossy().into_owned(),
                    path: p,
                    size,
                });
            }
        }
    }
    Ok(out)
}
