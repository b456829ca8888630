//! Sentra's data layer. This branch carries only [`crypto`]: field encryption,
//! blind indexes, masking and checkpoint signing, which the Postgres code uses.

pub mod crypto;
