-- ingest idempotency, the engine's history facts, and alert channel options
-- (issue 5: worker, ingest and alerts).

-- a message is stored once per mailbox and provider id (0004), and once per
-- organisation for the same Message-ID *and the same content*: the copy of
-- one email delivered to accounts@ and invoices@ is one message. the content
-- digest (sha-256 of from, subject and body, not the transport headers that
-- differ per mailbox) is part of the key because Message-ID is chosen by the
-- sender: a forger reusing a known Message-ID must not be able to make a
-- different email look like a duplicate and skip analysis.
alter table message add column content_sha256 bytea
  check (content_sha256 is null or length(content_sha256) = 32);
create unique index message_org_internet_id_content_key
  on message (org_id, internet_message_id, content_sha256)
  where internet_message_id is not null and content_sha256 is not null;

-- what one assessed message teaches the engine about later ones (sender
-- domain, thread ids, invoice numbers and amounts per supplier): the engine's
-- history is rebuilt from these, filtered by the keys the new message has.
alter table assessment add column history jsonb
  check (history is null or jsonb_typeof(history) = 'object');
create index assessment_org_hist_sender_idx
  on assessment (org_id, (history ->> 'sender_domain'));
create index assessment_org_hist_supplier_idx
  on assessment (org_id, (history ->> 'supplier_key'));

-- per channel: the lowest case risk it is told about, whether it gets one
-- daily digest instead of one message per case, and for email the roles
-- whose members receive it (never only the person who triggered it).
alter table alert_channel add column min_risk text not null default 'medium'
  check (min_risk in ('low', 'medium', 'high', 'critical'));
alter table alert_channel add column digest boolean not null default false;
alter table alert_channel add column email_roles text[] not null default '{admin,approver,owner}'
  check (email_roles <@ array['owner', 'admin', 'approver', 'clerk', 'viewer']::text[]);
-- the last day (utc) whose digest went out: sending the digest of a day is
-- idempotent however often its job runs.
alter table alert_channel add column digest_sent_through date;

-- alerts: how many times sending was tried; 'failed' means parked after the
-- last attempt (last_error says why).
alter table alert add column attempts integer not null default 0 check (attempts >= 0);
create index alert_org_case_idx on alert (org_id, case_id);
