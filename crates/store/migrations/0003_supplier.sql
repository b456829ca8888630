-- suppliers and their bank accounts, and the dual-controlled change requests
-- that are the only way bank details change.

create table supplier (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 200),
  -- lowercase sending domains (after idna), used by the engine's directory
  domains text[] not null default '{}',
  -- names, roles and addresses of people at the supplier
  contacts jsonb not null default '[]' check (jsonb_typeof(contacts) = 'array'),
  -- the number a call-back must use, and where it came from (never an email)
  verified_phone text check (length(verified_phone) <= 40),
  phone_source text check (length(phone_source) <= 200),
  phone_verified_by uuid references app_user (id) on delete set null,
  phone_verified_at timestamptz,
  -- iso 3166-1 alpha-2
  country text check (country ~ '^[A-Z]{2}$'),
  status text not null default 'active' check (status in ('active', 'archived')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id)
);
create index supplier_org_name_idx on supplier (org_id, lower(name));
alter table supplier enable row level security;
alter table supplier force row level security;
create policy supplier_select on supplier for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_insert on supplier for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_update on supplier for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_delete on supplier for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('supplier');

create table supplier_bank_account (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  supplier_id uuid not null,
  scheme text not null check (scheme in ('uk', 'iban', 'au', 'us')),
  -- what people see, for example ****4958
  masked text not null check (length(masked) between 1 and 64),
  -- aead ciphertext (key id prefix) bound to org, table, column and row
  ciphertext bytea not null,
  -- keyed hmac of the normalised account, per organisation
  blind_index bytea not null,
  bi_key_id text not null check (length(bi_key_id) between 1 and 64),
  status text not null default 'pending_approval'
    check (status in ('active', 'pending_approval', 'retired')),
  verified_by uuid references app_user (id) on delete set null,
  verified_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  foreign key (org_id, supplier_id) references supplier (org_id, id) on delete cascade,
  -- an active account is one whose verification is recorded
  check (status <> 'active' or (verified_by is not null and verified_at is not null))
);
-- the same account once per supplier, ignoring retired history
create unique index supplier_bank_account_live_key
  on supplier_bank_account (org_id, supplier_id, blind_index) where status <> 'retired';
-- "which supplier is paid into this account?"
create index supplier_bank_account_blind_index_idx
  on supplier_bank_account (org_id, blind_index);
alter table supplier_bank_account enable row level security;
alter table supplier_bank_account force row level security;
create policy supplier_bank_account_select on supplier_bank_account for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_bank_account_insert on supplier_bank_account for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_bank_account_update on supplier_bank_account for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_bank_account_delete on supplier_bank_account for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('supplier_bank_account');

create table supplier_change (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  supplier_id uuid not null,
  kind text not null check (kind in ('bank_account', 'phone', 'details')),
  -- the proposed values, with account numbers masked
  proposed jsonb not null check (jsonb_typeof(proposed) = 'object'),
  -- the full proposed values, encrypted, when they include secrets
  proposed_enc bytea,
  proposed_by uuid not null references app_user (id),
  status text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
  decided_by uuid references app_user (id),
  decided_at timestamptz,
  reason text check (length(reason) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  foreign key (org_id, supplier_id) references supplier (org_id, id) on delete cascade,
  -- dual control: whoever proposed a change cannot approve or reject it
  check (decided_by is null or decided_by <> proposed_by),
  check ((status = 'pending') = (decided_by is null and decided_at is null))
);
create index supplier_change_org_supplier_idx on supplier_change (org_id, supplier_id, created_at);
create index supplier_change_org_pending_idx on supplier_change (org_id, created_at) where status = 'pending';
alter table supplier_change enable row level security;
alter table supplier_change force row level security;
create policy supplier_change_select on supplier_change for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_change_insert on supplier_change for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_change_update on supplier_change for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_change_delete on supplier_change for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('supplier_change');
