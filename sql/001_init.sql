-- 001_init.sql — vcd's first schema migration.
--
-- Applied by vcd at start-up (runtime/pg_migrate.c) inside one transaction,
-- under an advisory lock, and recorded in schema_migrations as "001_init".
-- Never edit a migration that has shipped: add the next numbered file
-- (users, sessions, meetings, ... come in later migrations).
--
-- vcd_nodes: the vcd processes that use this database, one row per node id,
-- refreshed by each node while it runs (vcctl nodes lists them).

CREATE TABLE vcd_nodes (
	node_id    text PRIMARY KEY,
	version    text NOT NULL,
	started_at timestamptz NOT NULL DEFAULT now(),
	last_seen  timestamptz NOT NULL DEFAULT now()
);
