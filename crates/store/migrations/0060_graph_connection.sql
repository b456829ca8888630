-- microsoft 365 connections (graph-contract §2, §4.4) and the sync state the
-- graph worker keeps per mailbox.
--
-- one graph_connection per organisation: the customer's entra tenant that
-- granted admin consent, and the pending consent's state. only a sha-256 of
-- the state is kept: it is compared, never shown again.

create table graph_connection (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  -- the customer's entra tenant id (a guid); null until consent is granted
  tenant_id text check (length(tenant_id) between 1 and 200),
  status text not null default 'pending'
    check (status in ('pending', 'consented', 'disconnected')),
  consent_state_sha256 bytea check (length(consent_state_sha256) = 32),
  consent_started_at timestamptz,
  consented_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  -- one connection per organisation
  unique (org_id),
  check (status <> 'consented' or tenant_id is not null)
);
alter table graph_connection enable row level security;
alter table graph_connection force row level security;
create policy graph_connection_select on graph_connection for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy graph_connection_insert on graph_connection for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy graph_connection_update on graph_connection for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy graph_connection_delete on graph_connection for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('graph_connection');

-- what the ui shows about a mailbox's sync: healthy, degraded (throttled or
-- failing, retrying by itself) or needs_reconnect (an admin must act: scope
-- removed, app deleted, grant revoked). last_error says why, in codes only.
alter table mailbox add column health text not null default 'healthy'
  check (health in ('healthy', 'degraded', 'needs_reconnect'));
alter table mailbox add column last_error_at timestamptz;
-- the lower bound of the initial (and every full) delta sync
alter table mailbox add column sync_since timestamptz;
-- when the scope check last proved this mailbox readable
alter table mailbox add column scope_verified_at timestamptz;
