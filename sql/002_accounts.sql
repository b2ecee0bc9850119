-- 002_accounts.sql — local accounts, revocable login sessions, push tokens.
--
-- A session token is 32 random bytes shown to the client once as 64 hex
-- characters; only its SHA-256 is stored here. A user has many sessions
-- (one per login); each can be revoked on its own.

CREATE TABLE users (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	username text NOT NULL,
	display_name text NOT NULL,
	email text,
	password_hash text NOT NULL,
	disabled_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
-- Usernames are unique without regard to case ("Alice" and "alice" are one).
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE sessions (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	token_hash bytea NOT NULL UNIQUE,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT now(),
	last_seen_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz,
	user_agent text,
	client_addr text
);
CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL;

-- A push token belongs to the device that registered it, under the account
-- logged in there: registering it again from another account moves it.
CREATE TABLE device_tokens (
	token text PRIMARY KEY,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_tokens_user ON device_tokens (user_id);
