-- the audit log: one hash chain per organisation, append-only.
--
-- seq is gapless per organisation; `sentra_store::audit::append` assigns it
-- under pg_advisory_xact_lock(hashtextextended('audit:' || org_id, 0)) and
-- computes hash = sha-256("sentra-audit-v1" || prev_hash || canonical json)
-- in rust (the module doc defines the canonical form). the first event of an
-- organisation links to 32 zero bytes.
--
-- append-only three ways: the app role is granted insert and select only;
-- statement and row triggers reject update, delete and truncate for every
-- role, the owner included; and the hash chain plus signed checkpoints
-- detect what a superuser (who can switch triggers off with
-- session_replication_role = replica) does anyway.

create table audit_event (
  -- no cascade: an organisation with an audit trail cannot be deleted by
  -- accident (the triggers would refuse the cascaded delete anyway)
  org_id uuid not null references organisation (id),
  seq bigint not null check (seq >= 1),
  id uuid not null,
  at timestamptz not null,
  -- the signed-in person, when one acted
  actor_user_id uuid,
  -- who acted as shown to people: 'user', 'system:worker', 'system:retention', …
  actor text not null check (length(actor) between 1 and 200),
  -- dotted verb: 'auth.login', 'supplier.bank_change.approve', 'retention.purge'
  action text not null check (length(action) between 1 and 200),
  target_type text check (length(target_type) <= 100),
  target_id text check (length(target_id) <= 200),
  -- counts and ids only: never secrets or full account numbers
  details jsonb not null default '{}' check (jsonb_typeof(details) = 'object'),
  prev_hash bytea not null,
  hash bytea not null,
  primary key (org_id, seq),
  unique (org_id, id)
);
-- "events since" and the audit page's time filter
create index audit_event_org_at_idx on audit_event (org_id, at);

alter table audit_event enable row level security;
alter table audit_event force row level security;
-- no update or delete policies: there is nothing to allow.
create policy audit_event_select on audit_event for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy audit_event_insert on audit_event for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
-- the owner (verification, checkpoints, the retention purge's own events)
-- works one organisation at a time with app.org_id set, like the app.
create policy audit_event_owner_select on audit_event for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy audit_event_owner_insert on audit_event for insert to current_user
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);

-- the default privileges from 0001 granted update and delete; take them back.
revoke all on audit_event from sentra_app;
grant select, insert on audit_event to sentra_app;

create function audit_event_reject_change() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception 'audit_event is append-only: % is not allowed', tg_op
    using errcode = 'raise_exception', hint = 'audit events are never changed or removed';
end;
$$;

-- statement-level triggers fire even when row-level security leaves no row
-- to touch, so the owner gets an error rather than a silent "0 rows"; the
-- row-level ones cover anything that slips past a statement trigger.
create trigger audit_event_no_update_delete_statement
  before update or delete on audit_event
  for each statement execute function audit_event_reject_change();
create trigger audit_event_no_update_delete_row
  before update or delete on audit_event
  for each row execute function audit_event_reject_change();
create trigger audit_event_no_truncate
  before truncate on audit_event
  for each statement execute function audit_event_reject_change();
