-- Change notifications for the web app's read cache (crates/web/src/read_cache.rs).
--
-- Every committed change to a row a cached page may show sends
-- `pg_notify('sentra_change', 'o:<org id>')` (`'r:<org id>'` for the
-- organisation's own row, `'u:<user id>'` for the account tables), so each
-- `sentra serve` process drops exactly the cached pages (and, for 'r:' and
-- 'u:', session checks) of that organisation or user, whoever made the
-- change: another web process, the worker storing new mail, psql. Postgres
-- delivers a notification only at commit (a rollback sends nothing) and folds
-- identical payloads within a transaction, so a page of 64 stored messages
-- of one organisation sends one. The payload is an id, never row content.
--
-- Left out on purpose: `job` (claims and heartbeats change it many times a
-- second and no page shows it) and `audit_event` (the audit page is never
-- cached, and every audited change also changes the table it is about).
-- The store test `every_tenant_table_notifies_its_changes` fails when a new
-- tenant table has no trigger, so a later migration cannot forget one.

create function app_notify_org_change() returns trigger
language plpgsql as $$
begin
  if tg_op <> 'INSERT' then
    perform pg_notify('sentra_change', 'o:' || old.org_id::text);
  end if;
  if tg_op <> 'DELETE' then
    perform pg_notify('sentra_change', 'o:' || new.org_id::text);
  end if;
  return null;
end $$;

-- organisation (its own id), app_user (its id), session and membership (the user)
create function app_notify_key_change() returns trigger
language plpgsql as $$
declare
  prefix text := tg_argv[0];
  column_name text := tg_argv[1];
  value text;
begin
  if tg_op <> 'INSERT' then
    value := to_jsonb(old) ->> column_name;
    if value is not null then
      perform pg_notify('sentra_change', prefix || ':' || value);
    end if;
  end if;
  if tg_op <> 'DELETE' then
    value := to_jsonb(new) ->> column_name;
    if value is not null then
      perform pg_notify('sentra_change', prefix || ':' || value);
    end if;
  end if;
  return null;
end $$;

do $$
declare
  t text;
begin
  for t in
    select c.relname
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
    where n.nspname = 'public' and c.relkind = 'r'
      and c.relname not in ('job', 'audit_event')
  loop
    execute format(
      'create trigger %I after insert or update or delete on %I
         for each row execute function app_notify_org_change()',
      t || '_notify_change', t);
  end loop;
end $$;

-- The organisation's own row (its name, in every session check) says 'r:',
-- which also ends cached session checks; tenant rows say 'o:', which ends
-- only pages, since a session check reads no tenant row.
create trigger organisation_notify_change after insert or update or delete on organisation
  for each row execute function app_notify_key_change('r', 'id');
create trigger app_user_notify_change after insert or update or delete on app_user
  for each row execute function app_notify_key_change('u', 'id');
create trigger session_notify_change after insert or update or delete on session
  for each row execute function app_notify_key_change('u', 'user_id');
-- A membership change moves a user's home organisation and role.
create trigger membership_notify_user_change after insert or update or delete on membership
  for each row execute function app_notify_key_change('u', 'user_id');
