//! Errors of the engine's few fallible entry points (loading supplier data).
//! Analysing a message never fails: bad bytes become the `unparseable` category.

/// Why organisation data given to the engine could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The supplier CSV is malformed; the message names the row and column.
    #[error("supplier CSV: {0}")]
    SupplierCsv(String),
    /// An executive entry (`Name <addr>`) is malformed.
    #[error("executives: {0}")]
    Executives(String),
}
