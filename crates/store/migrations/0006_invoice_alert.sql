-- invoices found in mail, and the alert channels and alerts sent about cases.

create table invoice (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  supplier_id uuid,
  message_id uuid,
  number text check (length(number) <= 100),
  -- minor units (pence, cents)
  amount_minor bigint check (amount_minor >= 0),
  currency text check (currency ~ '^[A-Z]{3}$'),
  due_date date,
  payment_status text not null default 'pending'
    check (payment_status in ('pending', 'verified', 'held', 'paid')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  foreign key (org_id, supplier_id) references supplier (org_id, id) on delete set null (supplier_id),
  foreign key (org_id, message_id) references message (org_id, id) on delete set null (message_id),
  check ((amount_minor is null) = (currency is null))
);
create index invoice_org_supplier_number_idx on invoice (org_id, supplier_id, number);
create index invoice_org_message_idx on invoice (org_id, message_id);
create index invoice_org_status_idx on invoice (org_id, payment_status, due_date);
alter table invoice enable row level security;
alter table invoice force row level security;
create policy invoice_select on invoice for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy invoice_insert on invoice for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy invoice_update on invoice for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy invoice_delete on invoice for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('invoice');

create table alert_channel (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('email', 'slack', 'teams')),
  name text not null check (length(btrim(name)) between 1 and 100),
  -- aead ciphertext of the webhook url or address
  target_enc bytea not null,
  -- what people see, for example hooks.slack.com/…/a1b2
  target_hint text check (length(target_hint) <= 200),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id)
);
alter table alert_channel enable row level security;
alter table alert_channel force row level security;
create policy alert_channel_select on alert_channel for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy alert_channel_insert on alert_channel for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy alert_channel_update on alert_channel for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy alert_channel_delete on alert_channel for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('alert_channel');

create table alert (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  case_id uuid not null,
  channel_id uuid not null,
  kind text not null check (kind in ('case_opened', 'case_escalated', 'case_closed')),
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  sent_at timestamptz,
  last_error text check (length(last_error) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  -- each alert is sent at most once per case, channel and kind
  unique (org_id, case_id, channel_id, kind),
  foreign key (org_id, case_id) references fraud_case (org_id, id) on delete cascade,
  foreign key (org_id, channel_id) references alert_channel (org_id, id) on delete cascade
);
create index alert_org_channel_idx on alert (org_id, channel_id);
alter table alert enable row level security;
alter table alert force row level security;
create policy alert_select on alert for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy alert_insert on alert for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy alert_update on alert for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy alert_delete on alert for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('alert');
