//! The store's integration tests: one binary, one module per concern. Each
//! test gets its own migrated database (`sentra_store::testing::TestDb`).

mod account;
mod audit;
mod catalog_lint;
mod changes;
mod encryption;
mod graph;
mod harness;
mod keys;
mod listing;
mod load_seed;
mod m365_connect;
mod policy_matrix;
mod pool_reuse;
mod privileged_surface;
mod queue;
mod repos;
mod retention;
mod support;
