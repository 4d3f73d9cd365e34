//! Streaming pcap / pcapng reader on `pcap-parser`'s record parsers, with our own refillable
//! buffer: memory stays bounded (one buffer, grown only for a record larger than it), every
//! error carries the file and byte offset, and the three outcomes of a parse — a record, "need
//! more bytes" and a real error — are handled separately.
//!
//! Formats: legacy pcap in both byte orders, µs and ns resolution (and the "modified" Kuznetzov
//! layout), pcapng with any number of sections and interfaces, each interface with its own link
//! type, `if_tsresol` and `if_tsoffset`. Gzip-compressed captures (MAWI ships `.pcap.gz`) are
//! decompressed on the fly.
use crate::error::{Error, Result};
use pcap_parser::nom;
use pcap_parser::pcapng::{Block, SectionHeaderBlock};
use pcap_parser::{PcapError, PcapHeader};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Read size and initial buffer size.
const CHUNK: usize = 1 << 20;
/// Largest record accepted (libpcap's limit is 256 KiB; pcapng blocks can carry options too).
/// A larger length field is a corrupt record, not a reason to allocate gigabytes.
pub const MAX_RECORD: usize = 16 << 20;

/// Interfaces per pcapng section kept (a corrupt file could declare millions).
const MAX_INTERFACES: usize = 1 << 16;

/// One captured frame, borrowed from the reader's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 0-based index of the frame among the file's packet records.
    pub index: u64,
    /// Timestamp, µs since the Unix epoch.
    pub ts_us: i64,
    /// Link type of the interface that captured it.
    pub linktype: u32,
    /// Length on the wire (may exceed `data.len()` when the capture was snap-length-truncated).
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// Why reading stopped before the end of the file; the frames before it are valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The last record is cut short (the capture was interrupted or the file copied partly).
    TruncatedRecord { offset: u64 },
    /// A record could not be parsed; reading cannot resynchronise after it.
    Corrupt { offset: u64, msg: String },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::TruncatedRecord { offset } => write!(f, "byte offset {offset}: last record truncated"),
            Stop::Corrupt { offset, msg } => {
                write!(f, "byte offset {offset}: corrupt record ({msg}); rest of file skipped")
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    units_per_s: u64,
    offset_s: i64,
}

enum Format {
    Legacy { big_endian: bool, modified: bool, nanos: bool, linktype: u32 },
    Ng { big_endian: bool, interfaces: Vec<Interface> },
}

/// Counts of what the reader skipped without failing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// pcapng packets naming an interface that was never described.
    pub unknown_interface: u64,
    /// pcapng simple packet blocks (they carry no timestamp).
    pub no_timestamp: u64,
    /// pcapng interfaces with an invalid `if_tsresol`, or beyond 65536 per section (their packets
    /// are skipped).
    pub bad_resolution: u64,
}

/// Streaming reader over one capture file.
pub struct CaptureReader {
    path: PathBuf,
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset (of the decompressed stream) of `buf[0]`.
    base: u64,
    eof: bool,
    format: Format,
    next_index: u64,
    stop: Option<Stop>,
    pub stats: ReaderStats,
}

fn is_capture_magic(m: [u8; 4]) -> bool {
    matches!(
        u32::from_le_bytes(m),
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34 | 0x34cd_b2a1 | 0x0a0d_0d0a
    )
}

impl CaptureReader {
    /// Open a capture; a file that is not pcap, pcapng or gzip of either is an error naming it.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(path, Box::new(file))
    }

    /// Read a capture from any byte source (`path` is used in messages only).
    pub fn from_reader(path: &Path, src: Box<dyn Read + Send>) -> Result<Self> {
        Self::from_source(path, src, true)
    }

    fn from_source(path: &Path, mut src: Box<dyn Read + Send>, allow_gzip: bool) -> Result<Self> {
        let mut head = [0u8; 4];
        let n = read_full(&mut *src, &mut head).map_err(|e| Error::io(path, e))?;
        if allow_gzip && n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
            let chained = std::io::Cursor::new(head[..n].to_vec()).chain(src);
            let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(CHUNK, chained));
            return Self::from_source(path, Box::new(gz), false);
        }
        if n < 4 {
            return Err(Error::input(path, format!("not a pcap/pcapng capture (file holds only {n} bytes)")));
        }
        if !is_capture_magic(head) {
            return Err(Error::input(
                path,
                format!(
                    "not a pcap/pcapng capture (starts with bytes {:02x} {:02x} {:02x} {:02x})",
                    head[0], head[1], head[2], head[3]
                ),
            ));
        }
        let mut buf = vec![0u8; CHUNK];
        buf[..4].copy_from_slice(&head);
        let mut r = CaptureReader {
            path: path.to_path_buf(),
            src,
            buf,
            start: 0,
            end: 4,
            base: 0,
            eof: false,
            format: Format::Ng { big_endian: false, interfaces: Vec::new() },
            next_index: 0,
            stop: None,
            stats: ReaderStats::default(),
        };
        r.fill()?;
        if u32::from_le_bytes(head) == 0x0a0d_0d0a {
            // The section header is parsed as the first block by `next_frame`.
            return Ok(r);
        }
        let header = loop {
            match pcap_parser::pcap::parse_pcap_header(&r.buf[r.start..r.end]) {
                Ok((_, h)) => break h,
                Err(nom::Err::Incomplete(_)) if !r.eof => r.fill()?,
                Err(_) => return Err(Error::input(path, "not a pcap capture (file header truncated or invalid)")),
            }
        };
        r.start += 24;
        r.format = legacy_format(&header);
        Ok(r)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why reading ended early, if it did (set once `next_frame` returned `None`).
    pub fn stop(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    /// Bytes of the (decompressed) capture consumed so far.
    pub fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Link type of a legacy pcap file (pcapng: per interface, so `None`).
    pub fn legacy_linktype(&self) -> Option<u32> {
        match self.format {
            Format::Legacy { linktype, .. } => Some(linktype),
            Format::Ng { .. } => None,
        }
    }

    /// Move unread bytes to the front and read more; grows the buffer if a record needs it.
    fn fill(&mut self) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(MAX_RECORD + CHUNK);
            if grown <= self.buf.len() {
                return Ok(());
            }
            self.buf.resize(grown, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::offset(&self.path, self.base + self.end as u64, format!("read error: {e}")))
                }
            }
        }
    }

    /// Fast path of [`next_frame`](Self::next_frame) for a legacy pcap record that is wholly in the
    /// buffer (the bulk of a large trace): the same result without the general parser's dispatch.
    /// `None` hands every other case (short buffer, corrupt length, other formats) to the parser.
    /// Returns the frame's fields with its data as a range of the buffer.
    #[inline]
    fn next_legacy_buffered(&mut self) -> Option<(u64, i64, u32, u32, std::ops::Range<usize>)> {
        let Format::Legacy { big_endian, modified: false, nanos, linktype } = self.format else { return None };
        let avail = &self.buf[self.start..self.end];
        let h = avail.get(..16)?;
        let word = |i: usize| {
            let b = [h[i], h[i + 1], h[i + 2], h[i + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let (ts_sec, frac, caplen, orig_len) = (word(0), word(4), word(8) as usize, word(12));
        if avail.len() - 16 < caplen {
            return None;
        }
        let frac_us = if nanos { (frac / 1000) as i64 } else { frac as i64 };
        let data = self.start + 16..self.start + 16 + caplen;
        self.start = data.end;
        let index = self.next_index;
        self.next_index += 1;
        Some((index, ts_sec as i64 * 1_000_000 + frac_us, linktype, orig_len, data))
    }

    /// The next packet record, `Ok(None)` at the end (check [`stop`](Self::stop) for a truncated
    /// or corrupt tail). `Err` only for I/O errors.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>> {
        if self.stop.is_some() {
            return Ok(None);
        }
        if let Some((index, ts_us, linktype, orig_len, data)) = self.next_legacy_buffered() {
            return Ok(Some(Frame { index, ts_us, linktype, orig_len, data: &self.buf[data] }));
        }
        loop {
            let avail = &self.buf[self.start..self.end];
            let offset = self.base + self.start as u64;
            let parsed = match &mut self.format {
                Format::Legacy { big_endian, modified, nanos, linktype } => {
                    let res = if *modified {
                        pcap_parser::pcap::parse_pcap_frame_modified(avail)
                    } else if *big_endian {
                        pcap_parser::pcap::parse_pcap_frame_be(avail)
                    } else {
                        pcap_parser::pcap::parse_pcap_frame(avail)
                    };
                    match res {
                        Ok((rem, b)) => {
                            let frac_us = if *nanos { (b.ts_usec / 1000) as i64 } else { b.ts_usec as i64 };
                            let frame = (b.ts_sec as i64 * 1_000_000 + frac_us, *linktype, b.origlen, b.data);
                            Parsed::Frame(avail.len() - rem.len(), Some(frame))
                        }
                        Err(e) => classify_err(e, avail),
                    }
                }
                Format::Ng { big_endian, interfaces } => {
                    let res = if *big_endian {
                        pcap_parser::pcapng::parse_block_be(avail)
                    } else {
                        pcap_parser::pcapng::parse_block_le(avail)
                    };
                    match res {
                        Ok((rem, block)) => {
                            let used = avail.len() - rem.len();
                            let frame = ng_block(block, big_endian, interfaces, &mut self.stats);
                            Parsed::Frame(used, frame)
                        }
                        Err(e) => classify_err(e, avail),
                    }
                }
            };
            match parsed {
                Parsed::Frame(used, frame) => {
                    let rec_start = self.start;
                    self.start += used;
                    if let Some((ts_us, linktype, orig_len, data)) = frame {
                        // `data` points into `buf[rec_start..rec_start+used]`; recover its range so
                        // the borrow can be re-taken after moving `start`.
                        let off = (data.as_ptr() as usize).wrapping_sub(self.buf.as_ptr() as usize);
                        let range = off.min(self.buf.len())..(off + data.len()).min(self.buf.len());
                        debug_assert!(range.start >= rec_start);
                        let index = self.next_index;
                        self.next_index += 1;
                        return Ok(Some(Frame { index, ts_us, linktype, orig_len, data: &self.buf[range] }));
                    }
                }
                Parsed::NeedMore => {
                    if self.eof {
                        if self.start < self.end {
                            self.stop = Some(Stop::TruncatedRecord { offset });
                        }
                        return Ok(None);
                    }
                    if self.end - self.start >= MAX_RECORD {
                        self.stop =
                            Some(Stop::Corrupt { offset, msg: format!("record longer than {MAX_RECORD} bytes") });
                        return Ok(None);
                    }
                    self.fill()?;
                }
                Parsed::Corrupt(msg) => {
                    self.stop = Some(Stop::Corrupt { offset, msg });
                    return Ok(None);
                }
            }
        }
    }
}

enum Parsed<'a> {
    /// Bytes used, and the frame if the record was a packet (pcapng has other blocks).
    Frame(usize, Option<(i64, u32, u32, &'a [u8])>),
    NeedMore,
    Corrupt(String),
}

fn classify_err<'a>(e: nom::Err<PcapError<&[u8]>>, avail: &[u8]) -> Parsed<'a> {
    match e {
        nom::Err::Incomplete(needed) => {
            // A length field beyond any sane record is corruption, not a short buffer.
            if let nom::Needed::Size(n) = needed {
                if avail.len().saturating_add(n.get()) > MAX_RECORD + 64 {
                    return Parsed::Corrupt(format!("record claims {} more bytes", n.get()));
                }
            }
            Parsed::NeedMore
        }
        nom::Err::Error(e) | nom::Err::Failure(e) => Parsed::Corrupt(match e {
            PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => format!("{kind:?}"),
            other => format!("{other:?}"),
        }),
    }
}

fn legacy_format(h: &PcapHeader) -> Format {
    Format::Legacy {
        big_endian: h.is_bigendian(),
        modified: h.is_modified_format(),
        nanos: h.is_nanosecond_precision(),
        // The upper bits may carry FCS information (pcap spec); the link type is the low 16.
        linktype: (h.network.0 as u32) & 0xffff,
    }
}

/// Interpret one pcapng block: section and interface blocks update the state, packet blocks
/// yield `(ts_us, linktype, orig_len, data)`.
fn ng_block<'a>(
    block: Block<'a>,
    big_endian: &mut bool,
    interfaces: &mut Vec<Interface>,
    stats: &mut ReaderStats,
) -> Option<(i64, u32, u32, &'a [u8])> {
    match block {
        Block::SectionHeader(SectionHeaderBlock { bom, .. }) => {
            *big_endian = bom != 0x1a2b_3c4d;
            interfaces.clear();
            None
        }
        Block::InterfaceDescription(idb) => {
            if interfaces.len() >= MAX_INTERFACES {
                stats.bad_resolution += 1;
                return None;
            }
            let units = idb.ts_resolution();
            if units.is_none() {
                stats.bad_resolution += 1;
            }
            interfaces.push(Interface {
                linktype: idb.linktype.0 as u32,
                units_per_s: units.unwrap_or(0),
                offset_s: idb.if_tsoffset,
            });
            None
        }
        Block::EnhancedPacket(epb) => {
            let Some(iface) = interfaces.get(epb.if_id as usize) else {
                stats.unknown_interface += 1;
                return None;
            };
            if iface.units_per_s == 0 {
                return None;
            }
            let ticks = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
            let us = (ticks as u128 * 1_000_000 / iface.units_per_s as u128).min(i64::MAX as u128 / 2) as i64;
            let ts = us.saturating_add(iface.offset_s.saturating_mul(1_000_000));
            let caplen = (epb.caplen as usize).min(epb.data.len());
            Some((ts, iface.linktype, epb.origlen, &epb.data[..caplen]))
        }
        Block::SimplePacket(_) => {
            stats.no_timestamp += 1;
            None
        }
        _ => None,
    }
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Does the file start like a capture (pcap, pcapng or gzip)? For folder scans.
pub fn looks_like_capture(path: &Path) -> bool {
    let mut head = [0u8; 4];
    match std::fs::File::open(path).and_then(|mut f| read_full(&mut f, &mut head)) {
        Ok(4) => is_capture_magic(head) || (head[0] == 0x1f && head[1] == 0x8b),
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A legacy pcap file in memory: header + records (ts_sec, ts_frac, data).
    pub fn legacy_pcap(big_endian: bool, nanos: bool, linktype: u32, recs: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: &mut Vec<u8>, x: u32| v.extend(if big_endian { x.to_be_bytes() } else { x.to_le_bytes() });
        let w16 = |v: &mut Vec<u8>, x: u16| v.extend(if big_endian { x.to_be_bytes() } else { x.to_le_bytes() });
        let mut v = Vec::new();
        w32(&mut v, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, linktype);
        for (s, f, d) in recs {
            w32(&mut v, *s);
            w32(&mut v, *f);
            w32(&mut v, d.len() as u32);
            w32(&mut v, d.len() as u32 + 10);
            v.extend_from_slice(d);
        }
        v
    }

    /// (index, ts µs, link type, data) of every frame.
    type Frames = Vec<(u64, i64, u32, Vec<u8>)>;

    fn read_all(bytes: Vec<u8>) -> (Frames, Option<Stop>) {
        let mut r = CaptureReader::from_reader(Path::new("mem.pcap"), Box::new(std::io::Cursor::new(bytes))).unwrap();
        let mut out = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            out.push((f.index, f.ts_us, f.linktype, f.data.to_vec()));
        }
        (out, r.stop().cloned())
    }

    #[test]
    fn legacy_both_orders_and_resolutions() {
        for be in [false, true] {
            for ns in [false, true] {
                let frac = if ns { 123_456_789 } else { 123_456 };
                let bytes = legacy_pcap(be, ns, 1, &[(10, frac, b"abc"), (11, 0, b"")]);
                let (frames, stop) = read_all(bytes);
                assert_eq!(stop, None);
                assert_eq!(frames.len(), 2);
                assert_eq!(frames[0], (0, 10_123_456, 1, b"abc".to_vec()));
                assert_eq!(frames[1].1, 11_000_000);
            }
        }
    }

    #[test]
    fn truncated_last_record_is_reported() {
        let mut bytes = legacy_pcap(false, false, 1, &[(1, 0, b"abcdef"), (2, 0, b"ghijkl")]);
        let full = bytes.len();
        bytes.truncate(full - 3);
        let (frames, stop) = read_all(bytes);
        assert_eq!(frames.len(), 1);
        assert_eq!(stop, Some(Stop::TruncatedRecord { offset: 24 + 16 + 6 }));
    }

    #[test]
    fn absurd_caplen_is_corrupt_not_allocated() {
        let mut bytes = legacy_pcap(false, false, 1, &[(1, 0, b"abcdef")]);
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        let (frames, stop) = read_all(bytes);
        assert_eq!(frames.len(), 1);
        assert!(matches!(stop, Some(Stop::Corrupt { offset: 46, .. })), "{stop:?}");
    }

    #[test]
    fn records_larger_than_the_buffer_grow_it() {
        let big = vec![7u8; CHUNK * 3];
        let bytes = legacy_pcap(false, false, 1, &[(1, 0, &big), (2, 0, b"x")]);
        let (frames, stop) = read_all(bytes);
        assert_eq!(stop, None);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].3.len(), CHUNK * 3);
    }

    #[test]
    fn not_a_capture_names_the_file() {
        let err = CaptureReader::from_reader(Path::new("notes.txt"), Box::new(&b"hello world"[..])).err().unwrap();
        assert!(err.to_string().starts_with("notes.txt: not a pcap/pcapng capture"), "{err}");
        let err = CaptureReader::from_reader(Path::new("e"), Box::new(&b""[..])).err().unwrap();
        assert!(err.to_string().contains("only 0 bytes"), "{err}");
    }

    /// pcapng: SHB, two interfaces (Ethernet µs, raw IP with ns resolution), one EPB each.
    pub fn pcapng_two_interfaces() -> Vec<u8> {
        fn block(kind: u32, body: &[u8]) -> Vec<u8> {
            let len = 12 + body.len().div_ceil(4) * 4;
            let mut v = kind.to_le_bytes().to_vec();
            v.extend((len as u32).to_le_bytes());
            v.extend(body);
            v.resize(len - 4, 0);
            v.extend((len as u32).to_le_bytes());
            v
        }
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend(1u16.to_le_bytes());
        shb.extend(0u16.to_le_bytes());
        shb.extend((-1i64).to_le_bytes());
        let idb = |lt: u16, tsresol: Option<u8>| {
            let mut b = lt.to_le_bytes().to_vec();
            b.extend(0u16.to_le_bytes());
            b.extend(0u32.to_le_bytes());
            if let Some(r) = tsresol {
                b.extend(9u16.to_le_bytes());
                b.extend(1u16.to_le_bytes());
                b.extend([r, 0, 0, 0]);
                b.extend([0, 0, 0, 0]);
            }
            b
        };
        let epb = |if_id: u32, ticks: u64, data: &[u8]| {
            let mut b = if_id.to_le_bytes().to_vec();
            b.extend(((ticks >> 32) as u32).to_le_bytes());
            b.extend((ticks as u32).to_le_bytes());
            b.extend((data.len() as u32).to_le_bytes());
            b.extend((data.len() as u32).to_le_bytes());
            b.extend(data);
            b
        };
        let mut v = block(0x0a0d_0d0a, &shb);
        v.extend(block(1, &idb(1, None)));
        v.extend(block(1, &idb(101, Some(9))));
        v.extend(block(6, &epb(0, 5_000_001, b"eth")));
        v.extend(block(6, &epb(1, 7_000_000_999, b"raw!")));
        v.extend(block(6, &epb(2, 1, b"no such interface")));
        v
    }

    #[test]
    fn pcapng_interfaces_have_own_linktype_and_resolution() {
        let (frames, stop) = read_all(pcapng_two_interfaces());
        assert_eq!(stop, None);
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].1, frames[0].2, frames[0].3.as_slice()), (5_000_001, 1, &b"eth"[..]));
        assert_eq!((frames[1].1, frames[1].2, frames[1].3.as_slice()), (7_000_000, 101, &b"raw!"[..]));
    }

    #[test]
    fn gzip_is_transparent() {
        use std::io::Write;
        let bytes = legacy_pcap(false, false, 1, &[(3, 4, b"zz")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        let (frames, stop) = read_all(gz.finish().unwrap());
        assert_eq!(stop, None);
        assert_eq!(frames[0].1, 3_000_004);
    }
}

#[cfg(test)]
mod regression {
    /// Inputs that once crashed a fuzz target (fuzz/regressions/crash-*) and odd nDPI captures:
    /// reader and decoder must get through each without a panic.
    #[test]
    fn fuzz_regressions_read_without_panic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            crate::ingest::decode::decode_any(&bytes);
            if let Ok(mut r) = super::CaptureReader::from_reader(&path, Box::new(std::io::Cursor::new(bytes))) {
                while let Some(f) = r.next_frame().unwrap() {
                    let _ = crate::ingest::decode::decode(f.linktype, f.data, f.orig_len, f.ts_us, f.index);
                }
            }
            n += 1;
        }
        assert!(n >= 5, "{n} regression inputs");
    }
}
