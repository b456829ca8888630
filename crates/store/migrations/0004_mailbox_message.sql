-- mailboxes, their credentials, and the messages synced from them.

create table mailbox (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  provider text not null check (provider in ('m365', 'imap')),
  address text not null check (length(address) between 3 and 320),
  status text not null default 'active'
    check (status in ('active', 'paused', 'error', 'disconnected')),
  -- graph delta link or imap uid state; opaque to the database
  delta_token text,
  subscription_id text check (length(subscription_id) <= 200),
  subscription_expires_at timestamptz,
  last_sync_at timestamptz,
  last_error text check (length(last_error) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, provider, address)
);
alter table mailbox enable row level security;
alter table mailbox force row level security;
create policy mailbox_select on mailbox for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy mailbox_insert on mailbox for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy mailbox_update on mailbox for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy mailbox_delete on mailbox for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('mailbox');

create table mail_credential (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  mailbox_id uuid not null,
  -- the customer's entra tenant (m365) or server name (imap); not secret
  provider_tenant_id text check (length(provider_tenant_id) <= 200),
  -- aead ciphertext of the tokens or password, deleted on disconnect
  secret_enc bytea not null,
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, mailbox_id),
  foreign key (org_id, mailbox_id) references mailbox (org_id, id) on delete cascade
);
alter table mail_credential enable row level security;
alter table mail_credential force row level security;
create policy mail_credential_select on mail_credential for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy mail_credential_insert on mail_credential for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy mail_credential_update on mail_credential for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy mail_credential_delete on mail_credential for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('mail_credential');

create table message (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  mailbox_id uuid not null,
  -- the provider's id (graph message id, imap uidvalidity:uid)
  provider_message_id text not null check (length(provider_message_id) between 1 and 512),
  internet_message_id text check (length(internet_message_id) <= 998),
  received_at timestamptz not null,
  from_address text check (length(from_address) <= 320),
  from_domain text check (length(from_domain) <= 255),
  subject text check (length(subject) <= 2000),
  -- aead ciphertext of the raw mime; null once purged or never kept
  raw_mime bytea,
  raw_purged_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  -- a message is stored once per mailbox however often sync sees it
  unique (org_id, mailbox_id, provider_message_id),
  foreign key (org_id, mailbox_id) references mailbox (org_id, id) on delete cascade,
  check (raw_purged_at is null or raw_mime is null)
);
create index message_org_received_idx on message (org_id, received_at desc);
create index message_org_internet_id_idx on message (org_id, internet_message_id);
alter table message enable row level security;
alter table message force row level security;
create policy message_select on message for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy message_insert on message for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy message_update on message for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy message_delete on message for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('message');
