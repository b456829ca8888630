-- messages submitted through the api (a person uploading an email, or a
-- forwarding rule posting it) have no synced mailbox. each organisation gets
-- one pseudo-mailbox of provider 'submission' so message.mailbox_id stays
-- not null and the per-mailbox uniqueness of provider ids still holds.

alter table mailbox drop constraint mailbox_provider_check;
alter table mailbox add constraint mailbox_provider_check
  check (provider in ('m365', 'imap', 'submission'));
