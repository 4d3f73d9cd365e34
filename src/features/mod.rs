//! Per-window features and the canonical processed-row schema.
pub mod schema;
pub mod welford;
pub mod window;

pub use schema::{FlowRow, RowReader, RowWriter, CANONICAL_COLUMNS};
pub use welford::Welford;
pub use window::WindowBuilder;
