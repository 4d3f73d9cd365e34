//! Build a large benchmark trace from a real capture: `COPIES` replays of every packet, copy `c`
//! shifted by `c` × 1 s and with IP addresses rotated (so copies are distinct, concurrent flows, as
//! on a backbone link), merged in time order and written twice: full frames and truncated to a
//! snap length (as MAWI does). Shifting by the capture's duration instead would not do: the nDPI
//! merge spans 1970–2031 (some captures carry odd clocks), and 32-bit pcap seconds would overflow.
//!
//! cargo run --release --example replay_pcap -- IN.pcap OUT_FULL.pcap OUT_SNAP.pcap COPIES [SNAPLEN]
use flowconx::ingest::decode::ip_start;
use flowconx::ingest::pcap::CaptureReader;
use std::io::{BufWriter, Write};
use std::path::Path;

fn header(snaplen: u32, linktype: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend(0xa1b2_c3d4u32.to_le_bytes());
    h.extend(2u16.to_le_bytes());
    h.extend(4u16.to_le_bytes());
    h.extend(0i32.to_le_bytes());
    h.extend(0u32.to_le_bytes());
    h.extend(snaplen.to_le_bytes());
    h.extend(linktype.to_le_bytes());
    h
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        return Err("usage: replay_pcap IN OUT_FULL OUT_SNAP COPIES [SNAPLEN]".into());
    }
    let copies: u32 = a[4].parse()?;
    let snap: usize = a.get(5).map(|s| s.parse()).transpose()?.unwrap_or(96);
    // Load the source once (it is small); frames keep their link type.
    let mut r = CaptureReader::open(Path::new(&a[1]))?;
    let linktype = r.legacy_linktype().ok_or("input must be a legacy pcap")?;
    let mut frames: Vec<(i64, u32, Vec<u8>)> = Vec::new();
    while let Some(f) = r.next_frame()? {
        frames.push((f.ts_us, f.orig_len, f.data.to_vec()));
    }
    frames.sort_by_key(|f| f.0);
    const SHIFT_US: i64 = 1_000_000;
    let mut full = BufWriter::with_capacity(1 << 20, std::fs::File::create(&a[2])?);
    let mut cut = BufWriter::with_capacity(1 << 20, std::fs::File::create(&a[3])?);
    full.write_all(&header(65535, linktype))?;
    cut.write_all(&header(snap as u32, linktype))?;
    let mut buf = Vec::new();
    // k-way merge of the shifted copies: (time, copy, index) smallest first.
    let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<(i64, u32, usize)>> = (0..copies)
        .filter(|_| !frames.is_empty())
        .map(|c| std::cmp::Reverse((frames[0].0 + c as i64 * SHIFT_US, c, 0)))
        .collect();
    while let Some(std::cmp::Reverse((t, c, i))) = heap.pop() {
        if i + 1 < frames.len() {
            heap.push(std::cmp::Reverse((frames[i + 1].0 + c as i64 * SHIFT_US, c, i + 1)));
        }
        let (_, orig, data) = &frames[i];
        {
            buf.clear();
            buf.extend_from_slice(data);
            if let Ok((off, _)) = ip_start(linktype, &buf) {
                // Rotate addresses: IPv4 second octets, IPv6 bytes 2..4, of source and destination.
                let (v, k) = (buf.get(off).map(|b| b >> 4), c.to_be_bytes());
                let spots: &[usize] = match v {
                    Some(4) => &[13, 17],
                    Some(6) => &[10, 26],
                    _ => &[],
                };
                for &s in spots {
                    if let Some(x) = buf.get_mut(off + s..off + s + 2) {
                        x[0] ^= k[2];
                        x[1] ^= k[3];
                    }
                }
            }
            let rec = |caplen: usize| {
                let mut h = [0u8; 16];
                h[0..4].copy_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
                h[4..8].copy_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
                h[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
                h[12..16].copy_from_slice(&orig.to_le_bytes());
                h
            };
            full.write_all(&rec(buf.len()))?;
            full.write_all(&buf)?;
            let n = buf.len().min(snap);
            cut.write_all(&rec(n))?;
            cut.write_all(&buf[..n])?;
        }
    }
    full.flush()?;
    cut.flush()?;
    eprintln!("{} packets × {copies} copies written", frames.len());
    Ok(())
}
