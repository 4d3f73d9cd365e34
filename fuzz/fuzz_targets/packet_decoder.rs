//! Any bytes as a frame of every supported link type: the decoder must not panic.
#![no_main]
pub mod ingest {
    #[path = "../../../src/ingest/decode.rs"]
    pub mod decode;
}
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ingest::decode::decode_any(data);
});
