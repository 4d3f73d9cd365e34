//! Readers of raw sources into flat records.
pub mod cesnet;
pub mod fiveg;
pub mod timefmt;
pub mod decode;
pub mod pcap;
