-- app_claim_jobs(): the park step locked its candidates with
-- `where j.id in (select … for update skip locked)`. with a backlog the planner
-- made that a semi join with the locking sub-select on the inner side and re-ran
-- it for every queued or running job, so each claim cost (live jobs)² rows:
-- 20–30 ms per claim with 900 queued analyses (graph_sync bench, auto_explain),
-- and one runner claims once per finished job. the candidates are now locked
-- once, in a materialised cte, and joined on the primary key (as the claim
-- step below always was). the function is otherwise unchanged.
create or replace function app_claim_jobs(p_worker text, p_lease interval, p_limit integer)
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

  with expired as materialized (
    select x.id from public.job x
     where x.status = 'running' and x.locked_until < now()
       and x.attempts >= x.max_attempts
     for update skip locked
  )
  update public.job j
     set status = 'parked', locked_until = null,
         last_error = 'lease expired on the last attempt (the worker died or hung)'
    from expired
   where j.id = expired.id;

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
