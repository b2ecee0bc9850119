-- 007_signaling.sql — what /ws (the Toju/MetoYou signaling WebSocket) keeps
-- in PostgreSQL: each user's voice owner, and the durable account_sync log
-- with its per-user sequence (doc/signaling.md).
--
-- voice_owners: one row per user who ever took voice. A takeover is one
-- INSERT ... ON CONFLICT DO UPDATE that bumps `generation`; two takeovers at
-- once serialize on the row, and every node believes the highest generation
-- it has heard of, so all devices end up told the same owner.
CREATE TABLE voice_owners (
	user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	client_instance_id text NOT NULL
		CONSTRAINT chk_voice_owner_instance CHECK (octet_length(client_instance_id) BETWEEN 1 AND 200),
	generation bigint NOT NULL DEFAULT 1,
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- account_sync_seq: the last sequence number given to a user's account_sync.
-- account_sync_log: the messages themselves, kept for catch-up, pruned by age
-- and by count per user (account_sync_retention, account_sync_keep).
CREATE TABLE account_sync_seq (
	user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	last_seq bigint NOT NULL
);

CREATE TABLE account_sync_log (
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	seq bigint NOT NULL,
	client_instance_id text NOT NULL DEFAULT ''
		CONSTRAINT chk_sync_instance CHECK (octet_length(client_instance_id) <= 200),
	payload jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, seq)
);
-- Pruning by age walks the oldest rows.
CREATE INDEX account_sync_log_created ON account_sync_log (created_at);

-- One account_sync, one round trip: the next seq of the user, the row, and
-- the pruning of what falls out of the last `keep` rows. Returns the seq.
CREATE FUNCTION account_sync_append(p_user uuid, p_instance text, p_payload jsonb, p_keep bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	s bigint;
BEGIN
	INSERT INTO account_sync_seq AS q (user_id, last_seq) VALUES (p_user, 1)
	ON CONFLICT (user_id) DO UPDATE SET last_seq = q.last_seq + 1
	RETURNING last_seq INTO s;
	INSERT INTO account_sync_log (user_id, seq, client_instance_id, payload)
	VALUES (p_user, s, p_instance, p_payload);
	IF s > p_keep THEN
		DELETE FROM account_sync_log WHERE user_id = p_user AND seq <= s - p_keep;
	END IF;
	RETURN s;
END
$$;
