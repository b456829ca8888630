-- the job queue. jobs are tenant rows like any other (enqueued inside the
-- transaction of the write that caused them, run inside a transaction of
-- their own organisation); only claiming looks across organisations, through
-- app_claim_jobs() below.
--
-- life of a job: queued → running (claimed, leased) → done, or back to queued
-- with a later run_at (failed, retried with backoff), or parked (failed
-- max_attempts times, or its lease ran out on the last attempt: a job that
-- keeps killing its worker stops being retried). cancelled is set by people
-- or by the code that made the job pointless (a mailbox disconnected).

create table job (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  kind text not null check (length(kind) between 1 and 100),
  payload jsonb not null default '{}' check (jsonb_typeof(payload) = 'object'),
  run_at timestamptz not null default now(),
  -- claims so far; incremented when claimed, before the job body runs
  attempts integer not null default 0 check (attempts >= 0),
  max_attempts integer not null default 5 check (max_attempts between 1 and 100),
  locked_until timestamptz,
  locked_by text check (length(locked_by) <= 200),
  last_error text check (length(last_error) <= 4000),
  status text not null default 'queued'
    check (status in ('queued', 'running', 'done', 'parked', 'cancelled')),
  -- at most one live job per key: enqueueing the same key again returns it
  dedupe_key text check (length(dedupe_key) between 1 and 400),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  check ((status = 'running') = (locked_until is not null))
);
create unique index job_org_dedupe_key on job (org_id, dedupe_key)
  where dedupe_key is not null and status in ('queued', 'running');
create index job_org_status_idx on job (org_id, status, kind);
-- the one index on a tenant table that does not lead with org_id: claiming
-- is the one query that looks across organisations, by due time.
create index job_due_idx on job (run_at) where status in ('queued', 'running');
alter table job enable row level security;
alter table job force row level security;
create policy job_select on job for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy job_insert on job for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy job_update on job for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy job_delete on job for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('job');

-- the definer's window for claiming: live (and parked) jobs of every organisation, only
-- while app_claim_jobs() has app.job_claim set (so no other owner path sees
-- them). like app.lookup_user_id, the flag is no secret: the policy is for
-- the owner role, which only the definer function lends to the app.
-- (an updated row must still pass the select policy, hence parked here.)
create policy job_claim_select on job for select to current_user
  using ((select current_setting('app.job_claim', true)) = 'on'
         and status in ('queued', 'running', 'parked'));
create policy job_claim_update on job for update to current_user
  using ((select current_setting('app.job_claim', true)) = 'on'
         and status in ('queued', 'running'))
  with check ((select current_setting('app.job_claim', true)) = 'on'
              and status in ('running', 'parked'));

-- claim up to p_limit due jobs for p_worker, across organisations, leasing
-- each for p_lease. a job is due when queued with run_at <= now(), or running
-- with an expired lease (its worker died). skip locked: concurrent workers
-- never wait for, or get, the same job. an expired job that has used all its
-- attempts is parked instead of claimed (it probably kills its worker).
-- returns only what the worker needs to open the job's own tenant
-- transaction.
create function app_claim_jobs(p_worker text, p_lease interval, p_limit integer)
  returns table (org_id uuid, id uuid, kind text, payload jsonb, attempts integer,
                 max_attempts integer)
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
  previous text := current_setting('app.job_claim', true);
begin
  if p_worker is null or length(p_worker) not between 1 and 200 then
    raise exception 'worker name must be 1 to 200 characters' using errcode = 'check_violation';
  end if;
  if p_lease is null or p_lease <= interval '0' or p_lease > interval '1 day' then
    raise exception 'lease must be between 0 and 1 day' using errcode = 'check_violation';
  end if;
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'check_violation';
  end if;
  perform set_config('app.job_claim', 'on', true);

  update public.job j
     set status = 'parked', locked_until = null,
         last_error = 'lease expired on the last attempt (the worker died or hung)'
   where j.id in (
     select x.id from public.job x
      where x.status = 'running' and x.locked_until < now()
        and x.attempts >= x.max_attempts
      for update skip locked);

  return query
    with picked as (
      select x.id from public.job x
       where x.run_at <= now()
         and (x.status = 'queued' or (x.status = 'running' and x.locked_until < now()))
         and x.attempts < x.max_attempts
       order by x.run_at, x.id
       limit p_limit
       for update skip locked
    )
    update public.job j
       set status = 'running', attempts = j.attempts + 1,
           locked_by = p_worker, locked_until = now() + p_lease
      from picked
     where j.id = picked.id
    returning j.org_id, j.id, j.kind, j.payload, j.attempts, j.max_attempts;

  perform set_config('app.job_claim', coalesce(previous, ''), true);
end;
$$;
revoke execute on function app_claim_jobs(text, interval, integer) from public;
grant execute on function app_claim_jobs(text, interval, integer) to sentra_app;
