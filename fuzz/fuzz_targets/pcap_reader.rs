//! Any bytes as a capture file: the reader and the decoder of every frame must not panic.
#![no_main]
include!("shim.rs");
#[path = "../../src/ingest/decode.rs"]
pub mod decode;
#[path = "../../src/ingest/pcap.rs"]
pub mod pcap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    if let Ok(mut r) = pcap::CaptureReader::from_reader(std::path::Path::new("fuzz"), src) {
        let mut n = 0u32;
        loop {
            // In-memory source: `Err` (I/O) cannot happen; `None` ends, `stop()` says why.
            let f = match r.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) | Err(_) => break,
            };
            let _ = decode::decode(f.linktype, f.data, f.orig_len, f.ts_us, f.index);
            n += 1;
            if n > 1_000_000 {
                break;
            }
        }
        let _ = r.stop();
    }
});
