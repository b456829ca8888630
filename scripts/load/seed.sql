-- Load-test data: :orgs organisations, each with one owner (a live session,
-- no password anyone can use), a Microsoft 365 mailbox and :per_org assessed
-- messages spread over the last year; medium-or-worse verdicts have a case
-- (most closed, the last few weeks' open). Everything is derived from the
-- organisation's number, so the same parameters give the same ids and the
-- wrk script can compute the session cookies: md5('load-session-' || n).
--
-- Run as a superuser (psql -v orgs=1000 -v per_org=1000 -f seed.sql): the
-- tenant tables force row-level security even on their owner, and bulk
-- loading 1,000 tenants one transaction each as sentra_app would take
-- longer than the benchmark. Only ever on a throwaway load-test database.
\set ON_ERROR_STOP on
set synchronous_commit = off;

begin;

create temporary table load_org on commit drop as
select n,
       md5('load-org-' || n)::uuid as org_id,
       md5('load-user-' || n)::uuid as user_id,
       md5('load-mailbox-' || n)::uuid as mailbox_id
from generate_series(1, :orgs) n;

insert into organisation (id, name)
select org_id, 'Load Org ' || n from load_org;
insert into org_settings (org_id) select org_id from load_org;
-- Not an argon2id hash of anything: these accounts sign in only through
-- the session rows below. Owners must have an authenticator enrolled (403
-- mfa_enrolment_required otherwise), so each has a TOTP "secret" that is no
-- ciphertext at all: nothing on the measured paths decrypts it, and a real
-- TOTP check against it fails closed.
insert into app_user (id, email, password_hash, totp_secret_enc)
select user_id, 'owner' || n || '@load' || n || '.example', '!load-test-no-password',
       convert_to('load-test-not-a-secret', 'UTF8')
from load_org;
insert into membership (org_id, user_id, role)
select org_id, user_id, 'owner' from load_org;
insert into mailbox (org_id, id, provider, address, last_sync_at)
select org_id, mailbox_id, 'm365', 'accounts@load' || n || '.example', now() - interval '3 minutes'
from load_org;
insert into session (id, user_id, data, expires_at)
select encode(sha256(convert_to(md5('load-session-' || n), 'UTF8')), 'hex'), user_id,
       '{"mfa_verified": true}', now() + interval '12 hours'
from load_org;

-- i is the message's number within its organisation; r a stable pseudo-random
-- 0..999 per message that picks the verdict (80% none, 10% low, 6% medium,
-- 3% high, 1% critical).
create temporary table load_msg on commit drop as
select o.org_id, o.mailbox_id, o.n, i,
       md5('load-msg-' || o.n || '-' || i)::uuid as message_id,
       md5('load-asm-' || o.n || '-' || i)::uuid as assessment_id,
       (('x' || substr(md5('r' || o.n || '-' || i), 1, 4))::bit(16)::int % 1000) as r,
       now() - make_interval(secs => (:per_org - i) * (31536000.0 / :per_org)) as received_at
from load_org o, generate_series(1, :per_org) i;

-- Each message carries its verdict (current_assessment_id, current_risk_level)
-- from the start, as the assessment trigger would leave it. The trigger and
-- the foreign keys are not fired for this bulk load (replica mode, superuser
-- only, this transaction only): message and assessment point at each other,
-- and one update per message would double the seed time.
set local session_replication_role = replica;

insert into message (org_id, id, mailbox_id, provider_message_id, internet_message_id,
                     received_at, from_address, from_domain, subject,
                     current_assessment_id, current_risk_level)
select org_id, message_id, mailbox_id, 'load-' || i, '<' || message_id || '@load.example>',
       received_at, 'accounts@supplier' || (i % 40) || '.example',
       'supplier' || (i % 40) || '.example', 'Invoice INV-' || n || '-' || i,
       assessment_id,
       case when r < 800 then 'none' when r < 900 then 'low' when r < 960 then 'medium'
            when r < 990 then 'high' else 'critical' end
from load_msg;

insert into assessment (org_id, id, message_id, engine_version, category, risk_level,
                        risk_score, signals, extracted, created_at)
select org_id, assessment_id, message_id, 'load-1',
       case when r < 800 then 'not_payment_related' when r < 940 then 'invoice'
            else 'bank_details_change' end,
       case when r < 800 then 'none' when r < 900 then 'low' when r < 960 then 'medium'
            when r < 990 then 'high' else 'critical' end,
       case when r < 800 then 0 when r < 900 then 20 when r < 960 then 45
            when r < 990 then 70 else 95 end,
       case when r < 900 then '[]'::jsonb
            else '[{"code": "bank_details_change_request", "weight": 40, "summary": "asks to change bank details"}]'::jsonb end,
       jsonb_build_object('supplier', jsonb_build_object('name', 'Supplier ' || (i % 40)),
                          'invoice_numbers', jsonb_build_array('INV-' || i)),
       received_at + interval '2 seconds'
from load_msg;

insert into fraud_case (org_id, id, message_id, assessment_id, status, risk_level,
                        closed_at, created_at)
select org_id, md5('load-case-' || n || '-' || i)::uuid, message_id, assessment_id,
       case when received_at > now() - interval '21 days' then 'open' else 'cleared' end,
       case when r < 960 then 'medium' when r < 990 then 'high' else 'critical' end,
       case when received_at > now() - interval '21 days' then null else received_at + interval '1 day' end,
       received_at + interval '2 seconds'
from load_msg where r >= 900;

commit;

analyze organisation, app_user, membership, mailbox, session, message, assessment, fraud_case;
