//! The worker's integration tests, against a real Postgres as `sentra_app`.

// Fixtures: a database, an organisation with Apex on file, emails.
mod support;
// Local receivers: an SMTP sink and HTTP webhooks that accept, hang or redirect.
mod receivers;
// The runner: retries, parking, lease extension, graceful shutdown.
mod runner;
// Waking the runner on enqueue, and its listener dying and reconnecting.
mod wake;
// Ingest: each message once, analysed once, crash-and-rerun at every step.
mod ingest;
// A sync batch stored and analysed in one transaction, in received order.
mod ingest_batch;
// Alerts: email, Slack and Teams payloads, timeouts, redirects, SSRF refusals.
mod alerts;
// The daily digest: held until due, one message per channel a day, never twice.
mod digest;
// The Graph sync rig: fake Graph, the web app's webhooks, a running worker.
mod graph_support;
// Microsoft 365 sync end to end: notification to case, faults, lifecycle.
mod graph_sync;
// The maintain loop: re-seeding, renewal, one successor, stop on disconnect.
mod graph_maintain;
// Retry-After across a killed or restarted worker; far deadlines capped.
mod graph_throttle;
