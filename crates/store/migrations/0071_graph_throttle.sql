-- graph's retry-after must outlive the worker that was told it (issue 5,
-- graph-contract §10): a worker killed or restarted while a mailbox is
-- throttled left its successor nothing to go by, and the successor called
-- graph before the deadline. the worker now records the deadline here
-- before it waits, and every graph job checks it when it starts.
--
-- graph's penalty key is the mailbox for mailbox requests and the
-- application in the customer's tenant for the rest (subscriptions), so the
-- deadline lives on the mailbox and on the organisation's connection (its
-- tenant). both are capped by the worker at an hour from the answer. the
-- tables' row level security covers the new columns.
alter table mailbox add column throttled_until timestamptz;
alter table graph_connection add column throttled_until timestamptz;
