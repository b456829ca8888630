//! Integration tests of the `sentra` binary, in one test executable.

mod pdf;
