-- the last scope check of an organisation's microsoft 365 connection
-- (graph-contract §2): whether least privilege was verified (every selected
-- mailbox read, an unselected one refused) and the per-mailbox report the
-- mailboxes page shows. the report holds addresses and graph error codes
-- only, never a token or secret.
alter table graph_connection add column scope_checked_at timestamptz;
alter table graph_connection add column scope_verified boolean;
alter table graph_connection add column scope_report jsonb
  check (scope_report is null or length(scope_report::text) <= 65536);
