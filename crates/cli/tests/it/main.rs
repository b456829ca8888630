//! Integration tests of the `sentra` binary, in one test executable.

// The fixture corpus through `sentra scan`: expectations and golden reports.
mod corpus;
// `sentra dev fake-graph`: the fake Microsoft Graph server as a process.
mod dev_fake_graph;
// The sandboxed PDF extractor and its worker processes.
mod pdf;
// `sentra scan`'s contract: options, JSON shape, exit codes.
mod scan;
// `sentra migrate`, `audit verify` and `keys rotate` against a real Postgres.
mod store_cli;
// `sentra admin create-org` and `sentra serve` against a real Postgres.
mod web_cli;
