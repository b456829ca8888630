-- the retention purge's window onto tenant data. the purge is one of the
-- three privileged paths (migrations, retention, break-glass): it connects as
-- the owner, who is subject to forced row-level security like the app, and
-- works one organisation per transaction with app.org_id set. these policies
-- let it see and change exactly what purging needs in that organisation.
-- (the settings it reads, org_settings.raw_email_days / messages_months /
-- audit_years, exist since 0007; nothing new is stored.)

create policy message_owner_select on message for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
-- raw mime is nulled in place, once older than raw_email_days
create policy message_owner_update on message for update to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
-- whole messages go (with their assessments and closed cases, by cascade)
-- once older than messages_months
create policy message_owner_delete on message for delete to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);

-- counted for the purge's audit event, and open cases hold their message
create policy assessment_owner_select on assessment for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy fraud_case_owner_select on fraud_case for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy org_settings_owner_select on org_settings for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);

-- finished jobs are removed after a while; live and parked ones never are
create policy job_owner_select on job for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy job_owner_delete on job for delete to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid
         and status in ('done', 'cancelled'));
