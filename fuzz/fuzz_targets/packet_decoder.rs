//! Any bytes as a frame of every supported link type: the decoder must not panic.
#![no_main]
#[path = "../../src/ingest/decode.rs"]
pub mod decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    decode::decode_any(data);
});
