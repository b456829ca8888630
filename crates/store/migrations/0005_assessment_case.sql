-- the engine's verdicts, the cases they open, and the call-backs that close them.

create table assessment (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  message_id uuid not null,
  engine_version text not null check (length(engine_version) between 1 and 64),
  category text not null check (length(category) between 1 and 64),
  risk_level text not null check (risk_level in ('none', 'low', 'medium', 'high', 'critical')),
  risk_score smallint not null check (risk_score between 0 and 100),
  signals jsonb not null default '[]' check (jsonb_typeof(signals) = 'array'),
  -- extracted facts; account numbers masked (full values only encrypted elsewhere)
  extracted jsonb not null default '{}' check (jsonb_typeof(extracted) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  -- re-analysing with the same engine is idempotent
  unique (org_id, message_id, engine_version),
  foreign key (org_id, message_id) references message (org_id, id) on delete cascade
);
create index assessment_org_risk_idx on assessment (org_id, risk_level, created_at desc);
alter table assessment enable row level security;
alter table assessment force row level security;
create policy assessment_select on assessment for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy assessment_insert on assessment for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy assessment_update on assessment for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy assessment_delete on assessment for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('assessment');

create table fraud_case (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  message_id uuid not null,
  assessment_id uuid,
  status text not null default 'open'
    check (status in ('open', 'verifying', 'cleared', 'confirmed_fraud', 'dismissed')),
  risk_level text not null check (risk_level in ('none', 'low', 'medium', 'high', 'critical')),
  assignee_id uuid references app_user (id) on delete set null,
  closed_by uuid references app_user (id) on delete set null,
  closed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  -- one case per message: analysing again never opens a second
  unique (org_id, message_id),
  foreign key (org_id, message_id) references message (org_id, id) on delete cascade,
  foreign key (org_id, assessment_id) references assessment (org_id, id) on delete set null (assessment_id),
  check ((status in ('cleared', 'confirmed_fraud', 'dismissed')) = (closed_at is not null))
);
create index fraud_case_org_status_idx on fraud_case (org_id, status, created_at desc);
create index fraud_case_org_assessment_idx on fraud_case (org_id, assessment_id);
alter table fraud_case enable row level security;
alter table fraud_case force row level security;
create policy fraud_case_select on fraud_case for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy fraud_case_insert on fraud_case for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy fraud_case_update on fraud_case for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy fraud_case_delete on fraud_case for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('fraud_case');

create table verification (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  case_id uuid not null,
  method text not null check (method in ('call_back', 'in_person', 'other')),
  -- the number dialled and where it came from (the supplier record, never the email)
  number_called text check (length(number_called) <= 40),
  number_source text check (length(number_source) <= 200),
  outcome text not null
    check (outcome in ('confirmed_genuine', 'confirmed_fraud', 'no_answer', 'inconclusive')),
  notes text check (length(notes) <= 4000),
  performed_by uuid not null references app_user (id),
  performed_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  foreign key (org_id, case_id) references fraud_case (org_id, id) on delete cascade
);
create index verification_org_case_idx on verification (org_id, case_id, performed_at);
alter table verification enable row level security;
alter table verification force row level security;
create policy verification_select on verification for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy verification_insert on verification for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy verification_update on verification for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy verification_delete on verification for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('verification');
