-- 008_account_sync_floor.sql — account_sync_append in constant time.
--
-- 007's append pruned with `seq <= s - keep`, an index range scan that
-- starts at the user's first seq and walks every row deleted before and not
-- yet vacuumed: with the default keep of 1000 an append cost 1.4 ms after a
-- few thousand messages instead of 0.3. account_sync_seq now remembers where
-- the kept rows start (first_seq), so the prune scans only the rows it
-- deletes: one per append, or all of those beyond a lowered keep at once.
-- Rows stay one contiguous range of seq, which catch-up relies on.
ALTER TABLE account_sync_seq ADD COLUMN first_seq bigint NOT NULL DEFAULT 1;

CREATE OR REPLACE FUNCTION account_sync_append(p_user uuid, p_instance text, p_payload jsonb,
                                               p_keep bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	s bigint;
	f bigint;
BEGIN
	INSERT INTO account_sync_seq AS q (user_id, last_seq) VALUES (p_user, 1)
	ON CONFLICT (user_id) DO UPDATE SET last_seq = q.last_seq + 1
	RETURNING last_seq, first_seq INTO s, f;
	INSERT INTO account_sync_log (user_id, seq, client_instance_id, payload)
	VALUES (p_user, s, p_instance, p_payload);
	IF s - p_keep >= f THEN
		DELETE FROM account_sync_log
		WHERE user_id = p_user AND seq >= f AND seq <= s - p_keep;
		UPDATE account_sync_seq SET first_seq = s - p_keep + 1 WHERE user_id = p_user;
	END IF;
	RETURN s;
END
$$;
