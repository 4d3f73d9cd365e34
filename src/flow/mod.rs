//! Flow keys, flow tables and time windows.
pub mod capture;
pub mod key;
pub mod table;
pub mod windows;
