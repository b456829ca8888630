-- bootstrap: the runtime role, schema privileges, default privileges and the
-- updated_at helpers. runs as the schema owner (the database owner in tests).

-- new functions are not executable by everyone: each grant is explicit.
alter default privileges revoke execute on functions from public;

-- sentra_app is what `serve` and `worker` connect as. it must not bypass rls,
-- must own nothing and must not create objects. concurrent migrations of
-- different databases on one server race on this cluster-wide role: the loser
-- sees duplicate_object (or unique_violation while the winner commits).
do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'sentra_app') then
    begin
      create role sentra_app nosuperuser nobypassrls nocreatedb nocreaterole noinherit login;
    exception
      when duplicate_object or unique_violation then null;
    end;
  end if;
end
$$;

-- nobody but the owner creates objects in public (pg15 already defaults to
-- this; saying it keeps older clusters and restored dumps honest).
revoke create on schema public from public;
revoke all on schema public from sentra_app;
grant usage on schema public to sentra_app;

-- every table the owner creates from here on is readable and writable by the
-- app; append-only tables revoke update and delete in their own migration.
alter default privileges in schema public
  grant select, insert, update, delete on tables to sentra_app;
alter default privileges in schema public
  grant usage, select on sequences to sentra_app;

-- updated_at maintenance (after realworld-axum-sqlx): set_updated_at() is the
-- trigger, trigger_updated_at('table') attaches it.
create function set_updated_at() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

create function trigger_updated_at(tablename regclass) returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  execute format(
    'create trigger set_updated_at before update on %s
       for each row when (old is distinct from new)
       execute function public.set_updated_at()',
    tablename);
end;
$$;
