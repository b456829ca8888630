//! The engine's integration tests: one binary, one module per area. The
//! fixture corpus runs end to end through `sentra scan` in the cli crate's tests.

// The engine's panic-free lints guard the library; test helpers may unwrap.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code"
)]

// Every public MIME sample parses without a panic or a hang.
mod shared_mime;
// One focused test per signal code, positive and negative.
mod signals;
