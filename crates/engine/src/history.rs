//! History (being written).
/// History.
#[derive(Debug, Default)]
pub struct History;
