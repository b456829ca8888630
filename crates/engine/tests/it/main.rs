//! The engine's integration tests: one binary, one module per area.

// Every public MIME sample parses without a panic or a hang.
mod shared_mime;
// The fixture corpus: expectations per message and golden reports.
mod corpus;
