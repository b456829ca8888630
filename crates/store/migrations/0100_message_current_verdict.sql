-- each message's newest verdict, kept on the message itself: the messages
-- list and the dashboard read "the newest assessment of every message" on
-- every request, and finding it by a lateral lookup per message (sort the
-- message's assessments, take the first) cost the dashboard's weekly count
-- 1-2 ms of postgres per request at 1,000 messages per organisation
-- (docs/PERFORMANCE.md, web load test). with the level on the message the
-- count is one range scan of the index below, and the list reaches the
-- verdict by its primary key.
--
-- "newest" is what it always was: the latest created_at, ties broken by the
-- greater id. null until the message is first assessed.
alter table message
  add column current_assessment_id uuid,
  add column current_risk_level text
    check (current_risk_level in ('none', 'low', 'medium', 'high', 'critical')),
  -- composite, like every key between tenant tables; assessments are only
  -- ever deleted with their message, but never leave a dangling id.
  add foreign key (org_id, current_assessment_id) references assessment (org_id, id)
    on delete set null (current_assessment_id);

create index message_org_level_received_idx
  on message (org_id, current_risk_level, received_at desc);

-- maintained by the database on every assessment insert (the store's
-- assessment::insert and ::record, the ingest pipeline, the seed of a
-- restore), so no writer can forget it. runs as the invoker: as sentra_app
-- under the same row-level security as the insert itself, so it can only
-- touch the message of the organisation whose assessment it is. assessments
-- are never updated (a re-analysis with a new engine is a new row), so
-- insert is the only event.
create function message_set_current_assessment() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  update public.message m
     set current_assessment_id = a.id, current_risk_level = a.risk_level
    from (select x.id, x.risk_level from public.assessment x
           where x.org_id = new.org_id and x.message_id = new.message_id
           order by x.created_at desc, x.id desc
           limit 1) a
   where m.org_id = new.org_id and m.id = new.message_id
     and m.current_assessment_id is distinct from a.id;
  return null;
end;
$$;
revoke execute on function message_set_current_assessment() from public;

create trigger assessment_sets_message_current
  after insert on assessment
  for each row execute function message_set_current_assessment();

-- backfill. both tables force row-level security even on their owner, and
-- no policy is written for the owner, so it is lifted for this transaction
-- only (migrations run in one) and forced again below.
alter table message no force row level security;
alter table assessment no force row level security;
update message m
   set current_assessment_id = a.id, current_risk_level = a.risk_level
  from (select distinct on (x.org_id, x.message_id) x.org_id, x.message_id, x.id, x.risk_level
          from assessment x
         order by x.org_id, x.message_id, x.created_at desc, x.id desc) a
 where m.org_id = a.org_id and m.id = a.message_id;
alter table message force row level security;
alter table assessment force row level security;
