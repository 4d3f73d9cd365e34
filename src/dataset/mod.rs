//! Reading processed rows, sampling, splits.
pub mod reservoir;
