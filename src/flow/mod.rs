//! Flow keys, flow tables and time windows.
pub mod windows;
