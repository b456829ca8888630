//! The engine's integration tests: one binary, one module per area. The
//! fixture corpus runs end to end through `sentra scan` in the cli crate's tests.

// Every public MIME sample parses without a panic or a hang.
mod shared_mime;
// One focused test per signal code, positive and negative.
mod signals;
