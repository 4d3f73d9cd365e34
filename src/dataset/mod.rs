//! Reading processed rows, label maps, splits, tensors for the model, augmentations.
pub mod augment;
pub mod batch;
pub mod labels;
pub mod load;
pub mod reservoir;
pub mod rng;
pub mod split;
pub mod tensorize;
pub mod window_sample;

pub use labels::LabelMaps;
pub use load::{load_rows, LoadConfig};
