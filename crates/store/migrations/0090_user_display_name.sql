-- the name a person gives when they accept an invitation or edit their
-- profile: shown on the users page beside the address. optional (accounts
-- made before it, and sign-ups, have none until they set one). app_user is
-- global, so no policies.
alter table app_user
  add column display_name text check (display_name is null or char_length(display_name) between 1 and 200);
