-- 009_applications.sql — applications of the external API (La Suite Meet's,
-- shared/reference/meet-toju-rocketchat-livekit.md §A.2).
--
-- An application authenticates with a client id (40 letters and digits) and
-- a secret (128 letters and digits), both from libsodium's CSPRNG; only an
-- Argon2id hash of the secret is stored, made on the offload pool as for
-- passwords. A new application has no scope until given one. Its allowed
-- domains, when it has any, bound the e-mail addresses it may act for;
-- without any, every domain is allowed (as in Meet).
CREATE TABLE applications (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
	client_id text NOT NULL UNIQUE CHECK (client_id ~ '^[A-Za-z0-9]{40}$'),
	secret_hash text NOT NULL,
	scopes text[] NOT NULL DEFAULT '{}' CHECK (scopes <@ ARRAY['rooms:create', 'rooms:list',
		'rooms:retrieve', 'rooms:update', 'rooms:delete']::text[]),
	active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- Domains are stored lower-case and trimmed (the verbs do it).
CREATE TABLE application_domains (
	application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
	domain text NOT NULL CHECK (domain = lower(domain) AND length(domain) BETWEEN 1 AND 253),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (application_id, domain)
);

-- The token endpoint finds the delegated user by e-mail without regard to
-- case. Not unique: existing deployments may hold duplicates; the endpoint
-- refuses an address that several accounts share (409).
CREATE INDEX users_email_lower ON users (lower(email)) WHERE email IS NOT NULL;
