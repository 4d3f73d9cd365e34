//! Reading processed rows, sampling, splits.
pub mod reservoir;
pub mod window_sample;
