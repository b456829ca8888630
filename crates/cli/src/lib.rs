//! Library half of the `sentra` binary: modules that the binary, its
//! integration tests and its benchmarks share.

pub mod pdf;
pub mod postgres;
