//! Flow keys, flow tables and time windows.
pub mod windows;
pub mod key;
pub mod table;
pub mod capture;
