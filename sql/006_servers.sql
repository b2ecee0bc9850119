-- 006_servers.sql — servers: the communities of the Toju/MetoYou signaling
-- contract (what `join_server` on /ws names), their members, their bans and
-- the requests to join a private one.
--
-- A server is deleted for good (its members, bans and requests with it);
-- nothing refers to a deleted server, so there is no deleted_at.
--
-- Who may join is decided against several rows at once: the ban list, the
-- member count against max_users, the password, whether a request is
-- pending. In READ COMMITTED one statement reads one snapshot, taken before
-- any lock it then waits for, so a lone statement cannot lock the server
-- and then see what the transaction it waited for wrote. The changes that
-- add a member or a ban therefore run as functions (one call: one round
-- trip, one transaction) that lock the server's row first; each statement
-- after the lock takes a fresh snapshot. Two joins cannot both take the last
-- seat, and a ban and a join of one server run one after the other. Changes
-- that only take a member away (leave, kick) need no lock: they cannot
-- break a limit.
--
-- vcd never deletes a user, so no index serves the cascades from users.

CREATE TABLE servers (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name text NOT NULL
		CONSTRAINT chk_server_name CHECK (octet_length(name) BETWEEN 1 AND 100),
	description text NOT NULL DEFAULT ''
		CONSTRAINT chk_server_description CHECK (octet_length(description) <= 1000),
	owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	is_private boolean NOT NULL DEFAULT false,
	password_hash text,
	max_users integer
		CONSTRAINT chk_server_max_users CHECK (max_users BETWEEN 1 AND 100000),
	icon text CONSTRAINT chk_server_icon CHECK (octet_length(icon) <= 2048),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
-- The directory (GET /api/servers, vcctl servers list) is ordered by name
-- without regard to case.
CREATE INDEX servers_name ON servers (lower(name), id);

CREATE TABLE server_members (
	server_id uuid NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role text NOT NULL DEFAULT 'member'
		CONSTRAINT chk_server_member_role CHECK (role IN ('owner', 'member')),
	joined_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (server_id, user_id)
);

CREATE TABLE server_bans (
	server_id uuid NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	banned_by uuid REFERENCES users (id) ON DELETE SET NULL,
	reason text CONSTRAINT chk_server_ban_reason CHECK (octet_length(reason) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (server_id, user_id)
);

CREATE TABLE server_join_requests (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	server_id uuid NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	status text NOT NULL DEFAULT 'pending'
		CONSTRAINT chk_server_request_status
		CHECK (status IN ('pending', 'accepted', 'declined')),
	created_at timestamptz NOT NULL DEFAULT now(),
	decided_at timestamptz,
	decided_by uuid REFERENCES users (id) ON DELETE SET NULL,
	CONSTRAINT chk_server_request_decided CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- At most one pending request per user and server; finds it on a join.
CREATE UNIQUE INDEX server_join_requests_pending ON server_join_requests (server_id, user_id)
	WHERE status = 'pending';
-- A server's requests in order (the owner's list), and the cascade when a
-- server goes (decided requests stay until then).
CREATE INDEX server_join_requests_server ON server_join_requests (server_id, created_at);

-- POST /api/servers/{id}/join by p_user. p_hash is the stored password hash
-- the caller has checked the offered password against (NULL: none checked).
-- No row: no such server. Otherwise one row, o_outcome being
--   banned     p_user is banned from the server
--   member     p_user is a member already (o_role, o_ms: joined)
--   password   the server has a password and p_hash is not it (o_hash: the
--              stored hash, to check the offered password against)
--   pending    private server, a request is pending (o_request, o_ms: made)
--   requested  private server, a request was made now (o_request, o_ms)
--   full       max_users members already
--   joined     p_user is a member now (o_role, o_ms: joined)
CREATE FUNCTION vcd_server_join(p_server uuid, p_user uuid, p_hash text)
RETURNS TABLE (o_outcome text, o_hash text, o_request uuid, o_role text, o_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
	s servers%ROWTYPE;
	r server_join_requests%ROWTYPE;
	m server_members%ROWTYPE;
BEGIN
	SELECT * INTO s FROM servers WHERE id = p_server FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	IF EXISTS (SELECT 1 FROM server_bans b WHERE b.server_id = p_server AND b.user_id = p_user) THEN
		RETURN QUERY SELECT 'banned', NULL::text, NULL::uuid, NULL::text, NULL::bigint;
		RETURN;
	END IF;
	SELECT * INTO m FROM server_members sm WHERE sm.server_id = p_server AND sm.user_id = p_user;
	IF FOUND THEN
		RETURN QUERY SELECT 'member', NULL::text, NULL::uuid, m.role, vcd_ms(m.joined_at);
		RETURN;
	END IF;
	IF s.password_hash IS NOT NULL AND p_hash IS DISTINCT FROM s.password_hash THEN
		RETURN QUERY SELECT 'password', s.password_hash, NULL::uuid, NULL::text, NULL::bigint;
		RETURN;
	END IF;
	IF s.is_private THEN
		SELECT * INTO r FROM server_join_requests q
			WHERE q.server_id = p_server AND q.user_id = p_user AND q.status = 'pending';
		IF FOUND THEN
			RETURN QUERY SELECT 'pending', NULL::text, r.id, NULL::text, vcd_ms(r.created_at);
			RETURN;
		END IF;
		INSERT INTO server_join_requests (server_id, user_id) VALUES (p_server, p_user)
			RETURNING * INTO r;
		RETURN QUERY SELECT 'requested', NULL::text, r.id, NULL::text, vcd_ms(r.created_at);
		RETURN;
	END IF;
	IF s.max_users IS NOT NULL AND
	   (SELECT count(*) FROM server_members sm WHERE sm.server_id = p_server) >= s.max_users THEN
		RETURN QUERY SELECT 'full', NULL::text, NULL::uuid, NULL::text, NULL::bigint;
		RETURN;
	END IF;
	INSERT INTO server_members (server_id, user_id) VALUES (p_server, p_user) RETURNING * INTO m;
	RETURN QUERY SELECT 'joined', NULL::text, NULL::uuid, m.role, vcd_ms(m.joined_at);
END $$;

-- PUT /api/requests/{id}: p_owner accepts (p_accept) or declines request
-- p_request. No row: no such request. Otherwise one row, o_outcome being
--   forbidden  p_owner does not own the request's server
--   decided    the request was decided before (o_status says how)
--   full       accepting would pass max_users (the request stays pending)
--   accepted, declined   decided now; accepted made its user a member
-- and the request as it is now.
CREATE FUNCTION vcd_server_decide(p_request uuid, p_owner uuid, p_accept boolean)
RETURNS TABLE (o_outcome text, o_server uuid, o_user uuid, o_status text, o_created_ms bigint,
               o_decided_ms bigint, o_decided_by uuid)
LANGUAGE plpgsql AS $$
DECLARE
	r server_join_requests%ROWTYPE;
	s servers%ROWTYPE;
	outcome text;
BEGIN
	SELECT * INTO r FROM server_join_requests q WHERE q.id = p_request;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	SELECT * INTO s FROM servers WHERE id = r.server_id FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RETURN; -- deleted meanwhile, and its requests with it
	END IF;
	SELECT * INTO r FROM server_join_requests q WHERE q.id = p_request; -- after the lock
	IF s.owner_id <> p_owner THEN
		outcome := 'forbidden';
	ELSIF r.status <> 'pending' THEN
		outcome := 'decided';
	ELSIF p_accept AND s.max_users IS NOT NULL AND
	      (SELECT count(*) FROM server_members sm WHERE sm.server_id = s.id) >= s.max_users AND
	      NOT EXISTS (SELECT 1 FROM server_members sm
	                  WHERE sm.server_id = s.id AND sm.user_id = r.user_id) THEN
		outcome := 'full';
	ELSE
		IF p_accept THEN
			INSERT INTO server_members (server_id, user_id) VALUES (s.id, r.user_id)
				ON CONFLICT DO NOTHING;
		END IF;
		UPDATE server_join_requests q
			SET status = CASE WHEN p_accept THEN 'accepted' ELSE 'declined' END,
			    decided_at = now(), decided_by = p_owner
			WHERE q.id = p_request RETURNING * INTO r;
		outcome := r.status;
	END IF;
	RETURN QUERY SELECT outcome, r.server_id, r.user_id, r.status, vcd_ms(r.created_at),
		vcd_ms(r.decided_at), r.decided_by;
END $$;

-- POST /api/servers/{id}/ban: p_owner bans p_user (again: the reason and
-- who banned are replaced, the time kept), ends the membership and declines
-- a pending request. No row: no such server. Otherwise one row, o_outcome
-- being forbidden (p_owner does not own it), self (p_user is the owner) or
-- banned (o_ms: when the ban began, o_was_member: a membership ended now).
-- An unknown p_user fails with a foreign key violation on server_bans.
CREATE FUNCTION vcd_server_ban(p_server uuid, p_owner uuid, p_user uuid, p_reason text)
RETURNS TABLE (o_outcome text, o_ms bigint, o_was_member boolean)
LANGUAGE plpgsql AS $$
DECLARE
	owner_of uuid;
	began timestamptz;
	n bigint;
BEGIN
	SELECT owner_id INTO owner_of FROM servers WHERE id = p_server FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	IF owner_of <> p_owner THEN
		RETURN QUERY SELECT 'forbidden', NULL::bigint, NULL::boolean;
		RETURN;
	END IF;
	IF p_user = owner_of THEN
		RETURN QUERY SELECT 'self', NULL::bigint, NULL::boolean;
		RETURN;
	END IF;
	INSERT INTO server_bans (server_id, user_id, banned_by, reason)
		VALUES (p_server, p_user, p_owner, p_reason)
		ON CONFLICT (server_id, user_id)
		DO UPDATE SET banned_by = EXCLUDED.banned_by, reason = EXCLUDED.reason
		RETURNING created_at INTO began;
	DELETE FROM server_members sm WHERE sm.server_id = p_server AND sm.user_id = p_user;
	GET DIAGNOSTICS n = ROW_COUNT;
	UPDATE server_join_requests q SET status = 'declined', decided_at = now(), decided_by = p_owner
		WHERE q.server_id = p_server AND q.user_id = p_user AND q.status = 'pending';
	RETURN QUERY SELECT 'banned', vcd_ms(began), n > 0;
END $$;
