-- the graph worker's periodic safety net (graph-contract §11.1) must survive
-- crashes: at start, a worker re-seeds a maintain job for every active
-- microsoft 365 mailbox that has none. finding those mailboxes crosses
-- organisations, so it is a definer function, like app_claim_jobs().
--
-- the definer's window: active m365 mailboxes of every organisation, only
-- while app_m365_active_mailboxes() has app.graph_maintain set. it returns
-- ids only; the worker then opens each organisation's own tenant
-- transaction to look and enqueue.
create policy mailbox_maintain_select on mailbox for select to current_user
  using ((select current_setting('app.graph_maintain', true)) = 'on'
         and provider = 'm365' and status = 'active');

create function app_m365_active_mailboxes()
  returns table (org_id uuid, id uuid)
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
  previous text := current_setting('app.graph_maintain', true);
begin
  perform set_config('app.graph_maintain', 'on', true);
  return query
    select m.org_id, m.id from public.mailbox m
     where m.provider = 'm365' and m.status = 'active'
     order by m.org_id, m.id;
  perform set_config('app.graph_maintain', coalesce(previous, ''), true);
end;
$$;
revoke execute on function app_m365_active_mailboxes() from public;
grant execute on function app_m365_active_mailboxes() to sentra_app;
