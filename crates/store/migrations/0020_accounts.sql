-- accounts and access: sessions people can list and revoke, a pending totp
-- secret during enrolment, personal api tokens, invitations and password
-- reset tokens. every token is stored only as the sha-256 of its value.

-- a session's primary key is the hash of the cookie, which must never leave
-- the server (not even to its owner: a listed hash is not a credential, but
-- an id that rotates at every mfa would make "revoke" race). public_id is
-- the stable handle the session list shows and revoke takes; rotation keeps it.
alter table session
  add column public_id uuid not null default gen_random_uuid(),
  add column user_agent text check (length(user_agent) <= 300);
create unique index session_public_id_key on session (public_id);

-- the secret shown during enrolment, until the first code confirms it.
-- aead ciphertext like totp_secret_enc (registered for key rotation).
alter table app_user add column totp_pending_enc bytea;

-- personal api tokens: a user's credential bound to one organisation. the
-- token text carries the organisation id, so the lookup runs inside that
-- organisation's tenant transaction and rls applies as to any tenant row.
-- the role is not stored: it is the membership's role at the time of use,
-- and a token whose owner is no longer a member is refused (the web layer
-- checks the membership on every use; removal also deletes the tokens).
create table api_token (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references app_user (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 100),
  -- hex sha-256 of the whole token text
  token_hash text not null check (length(token_hash) = 64),
  expires_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, token_hash)
);
create index api_token_org_user_idx on api_token (org_id, user_id);
alter table api_token enable row level security;
alter table api_token force row level security;
create policy api_token_select on api_token for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy api_token_insert on api_token for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy api_token_update on api_token for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy api_token_delete on api_token for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('api_token');

-- invitations by link. like api tokens, the link carries the organisation
-- id, so accepting one is an ordinary tenant transaction.
create table invitation (
  org_id uuid not null references organisation (id) on delete cascade,
  id uuid primary key default gen_random_uuid(),
  email text not null check (length(email) between 3 and 320),
  role text not null check (role in ('owner', 'admin', 'approver', 'clerk', 'viewer')),
  token_hash text not null check (length(token_hash) = 64),
  invited_by uuid references app_user (id) on delete set null,
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by uuid references app_user (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, token_hash)
);
create index invitation_org_created_idx on invitation (org_id, created_at);
alter table invitation enable row level security;
alter table invitation force row level security;
create policy invitation_select on invitation for select to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy invitation_insert on invitation for insert to sentra_app
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy invitation_update on invitation for update to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy invitation_delete on invitation for delete to sentra_app
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
select trigger_updated_at('invitation');

-- password reset tokens (global: a person, not an organisation, resets).
-- single use (used_at), short-lived (expires_at), hashed.
create table password_reset (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references app_user (id) on delete cascade,
  token_hash text not null check (length(token_hash) = 64),
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index password_reset_token_hash_key on password_reset (token_hash);
create index password_reset_user_idx on password_reset (user_id);
select trigger_updated_at('password_reset');
