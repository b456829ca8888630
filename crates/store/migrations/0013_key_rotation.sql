-- key rotation's window onto tenant data. `sentra keys rotate`
-- (sentra_store::keys::rotate) re-encrypts every encrypted column under the
-- keyring's current key. it is a privileged path like the retention purge: it
-- connects as the owner, who is subject to forced row-level security, and
-- works one organisation per transaction with app.org_id set. these policies
-- let it read and rewrite exactly that organisation's rows of the tables that
-- hold ciphertexts. message is covered by message_owner_select and
-- message_owner_update from 0012; app_user is a global table without rls.
--
-- nothing here gives the owner more than the app already has on these
-- tables, and only inside the organisation named in the transaction.

create policy supplier_bank_account_owner_select on supplier_bank_account for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_bank_account_owner_update on supplier_bank_account for update to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);

create policy supplier_change_owner_select on supplier_change for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy supplier_change_owner_update on supplier_change for update to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);

create policy mail_credential_owner_select on mail_credential for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy mail_credential_owner_update on mail_credential for update to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);

create policy alert_channel_owner_select on alert_channel for select to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
create policy alert_channel_owner_update on alert_channel for update to current_user
  using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)
  with check (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid);
