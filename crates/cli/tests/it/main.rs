//! Integration tests of the `sentra` binary, in one test executable.

// Issue 5's chaos run: workers killed, PostgreSQL restarted, Graph faults; exactly once.
mod chaos;
// `sentra config check` as a process: rejects with a precise message, accepts the example.
mod config_cli;
// The fixture corpus through `sentra scan`: expectations and golden reports.
mod corpus;
// `sentra demo` end to end: private PostgreSQL, fake Microsoft 365, seeding,
// web app, the acceptance in headless Chromium, live message and alert,
// Ctrl-C, reuse, --reset, side by side, ordinary user.
mod demo;
// `sentra dev fake-graph`: the fake Microsoft Graph server as a process.
mod dev_fake_graph;
// The sandboxed PDF extractor and its worker processes.
mod pdf;
// `sentra scan`'s contract: options, JSON shape, exit codes.
mod scan;
// A minimal WebDriver client (chromedriver, headless Chromium) for the demo's browser test.
mod webdriver;
// `sentra migrate`, `audit verify` and `keys rotate` against a real Postgres.
mod store_cli;
// `sentra admin create-org` and `sentra serve` against a real Postgres.
mod web_cli;
