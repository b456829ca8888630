-- pgbench script for the load test's background writes (WRITES=n in
-- scripts/load-test.sh): each transaction marks one random organisation's
-- mailbox as just synced, as a worker's sync round does. The change fires
-- the organisation's change notification (migration 0101), so `sentra
-- serve` drops that organisation's cached pages and the next request for
-- them is a miss: this is what real traffic costs the read cache.
\set n random(1, :orgs)
update mailbox set last_sync_at = now() where org_id = md5('load-org-' || :n)::uuid;
