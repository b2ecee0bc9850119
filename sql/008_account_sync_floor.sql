-- 008_account_sync_floor.sql — an account_sync in constant time.
--
-- 007's account_sync_append() pruned with `seq <= s - keep`, an index range
-- scan from the user's first seq that walks every row deleted before and not
-- yet vacuumed: with the default keep of 1000 an append cost 1.4 ms after a
-- few thousand messages instead of 0.3. account_sync_seq now remembers where
-- the kept rows start (first_seq) and where they started before the last
-- append (prev_first), so the prune scans only the rows it deletes: one per
-- append, or all of those beyond a lowered keep at once. Rows stay one
-- contiguous range of seq, which catch-up relies on.
--
-- The append is now one statement (actors/signal.c, sig_sync_append), a
-- data-modifying CTE: the next seq and the new floor in one upsert, the row,
-- the prune. It replaces the PL/pgSQL function and its four statements.
ALTER TABLE account_sync_seq
	ADD COLUMN first_seq bigint NOT NULL DEFAULT 1,
	ADD COLUMN prev_first bigint NOT NULL DEFAULT 1;

DROP FUNCTION account_sync_append(uuid, text, jsonb, bigint);
