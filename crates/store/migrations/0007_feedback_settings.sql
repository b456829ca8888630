-- people's feedback on verdicts, and per-organisation settings.

create table feedback (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  message_id uuid,
  assessment_id uuid,
  user_id uuid references app_user (id) on delete set null,
  verdict text not null check (verdict in ('correct', 'false_positive', 'false_negative', 'other')),
  comment text check (length(comment) <= 4000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  foreign key (org_id, message_id) references message (org_id, id) on delete set null (message_id),
  foreign key (org_id, assessment_id) references assessment (org_id, id) on delete set null (assessment_id)
);
create index feedback_org_message_idx on feedback (org_id, message_id);
create index feedback_org_assessment_idx on feedback (org_id, assessment_id);
alter table feedback enable row level security;
alter table feedback force row level security;
create policy feedback_select on feedback for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy feedback_insert on feedback for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy feedback_update on feedback for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy feedback_delete on feedback for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('feedback');

-- one row per organisation. retention columns are read by the purge job
-- (0010 onward may add more).
create table org_settings (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  require_mfa boolean not null default false,
  -- raw mime is purged this many days after receipt
  raw_email_days integer not null default 30 check (raw_email_days between 1 and 3650),
  -- message metadata, assessments and cases are kept this long
  messages_months integer not null default 24 check (messages_months between 1 and 240),
  audit_years integer not null default 7 check (audit_years between 1 and 50),
  -- the lowest risk that opens a case and alerts
  alert_min_risk text not null default 'medium'
    check (alert_min_risk in ('low', 'medium', 'high', 'critical')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id)
);
alter table org_settings enable row level security;
alter table org_settings force row level security;
create policy org_settings_select on org_settings for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy org_settings_insert on org_settings for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy org_settings_update on org_settings for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy org_settings_delete on org_settings for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('org_settings');
