-- identity: people, organisations, memberships, sessions and the public
-- contact form. app_user, organisation, session and contact_enquiry are global
-- (no org_id); membership is a tenant table like any other.

create table app_user (
  id uuid primary key default gen_random_uuid(),
  email text not null check (length(email) between 3 and 320),
  -- argon2id phc string
  password_hash text not null,
  -- aead ciphertext with key id prefix; null until mfa is enrolled
  totp_secret_enc bytea,
  -- argon2id hashes of the unused one-time recovery codes
  recovery_code_hashes text[] not null default '{}',
  -- last accepted totp time step: a code for this step or an earlier one is a replay
  last_totp_step bigint,
  failed_password_count integer not null default 0 check (failed_password_count >= 0),
  failed_totp_count integer not null default 0 check (failed_totp_count >= 0),
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- one account per address, whatever the case it was typed in
create unique index app_user_email_key on app_user (lower(email));
select trigger_updated_at('app_user');

create table organisation (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
select trigger_updated_at('organisation');

create table membership (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references app_user (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'approver', 'clerk', 'viewer')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, user_id)
);
-- sign-in looks a user's memberships up before any organisation is known,
-- and the lookup policy below filters on user_id: it needs its own index.
create index membership_user_id_idx on membership (user_id);
alter table membership enable row level security;
alter table membership force row level security;
create policy membership_select on membership for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy membership_insert on membership for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy membership_update on membership for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy membership_delete on membership for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('membership');

-- the definer's own window onto membership: the owner is subject to forced
-- rls like everyone else, and this policy lets it see exactly the rows of the
-- user that app_memberships() was asked about (and nothing when unset).
create policy membership_definer_lookup on membership for select to current_user
  using (user_id = nullif((select current_setting('app.lookup_user_id', true)), '')::uuid);

-- the memberships of one user across organisations, for sign-in and the
-- organisation switcher. security definer because sentra_app has no tenant
-- context yet. app.lookup_user_id is restored before returning, so the
-- caller's transaction never keeps it (pg15 refuses a function-level `set`
-- of a custom parameter to non-superusers, so this is done by hand).
-- any future definer function that reads membership must not trust
-- app.lookup_user_id: the caller can set it before calling.
create function app_memberships(p_user_id uuid)
  returns table (org_id uuid, role text)
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
  previous text := current_setting('app.lookup_user_id', true);
begin
  perform set_config('app.lookup_user_id', p_user_id::text, true);
  -- return query runs the select now and buffers the rows
  return query
    select m.org_id, m.role
    from public.membership m
    where m.user_id = p_user_id
    order by m.created_at, m.org_id;
  perform set_config('app.lookup_user_id', coalesce(previous, ''), true);
end;
$$;
revoke execute on function app_memberships(uuid) from public;
grant execute on function app_memberships(uuid) to sentra_app;

create table session (
  -- the web layer stores a hash of the cookie value, never the value itself
  id text primary key,
  user_id uuid references app_user (id) on delete cascade,
  data jsonb not null default '{}',
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index session_user_id_idx on session (user_id);
create index session_expires_at_idx on session (expires_at);
select trigger_updated_at('session');

-- the public "talk to us" form: business contact and qualification only
create table contact_enquiry (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  email text not null check (length(email) between 3 and 320),
  company text check (length(company) <= 200),
  phone text check (length(phone) <= 40),
  company_size text check (length(company_size) <= 40),
  message text check (length(message) <= 4000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index contact_enquiry_created_at_idx on contact_enquiry (created_at);
select trigger_updated_at('contact_enquiry');
