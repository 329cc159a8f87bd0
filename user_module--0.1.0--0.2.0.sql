/* user_module--0.1.0--0.2.0.sql: subscribers admins may add, purge_events, q indexes that stay fast */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION user_module UPDATE TO '0.2.0'" to load this file. \quit

SET LOCAL search_path = pg_catalog, pg_temp;

/*
 * Every statement on user_module.event runs as user_module_outbox, a NOLOGIN
 * role that may touch the outbox and nothing else (src/store.c). A trigger
 * runs as the role whose statement fires it, so a subscriber an administrator
 * adds runs with this role's rights, or with its own owner's if it is
 * SECURITY DEFINER, and never with the extension owner's (a superuser).
 * Nobody is granted membership in it.
 */
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'user_module_outbox') THEN
		CREATE ROLE user_module_outbox NOLOGIN;
	END IF;
END
$roles$;

GRANT USAGE ON SCHEMA user_module TO user_module_outbox;
-- UPDATE because claim_events locks the rows it takes (FOR UPDATE)
GRANT SELECT, INSERT, UPDATE, DELETE ON user_module.event TO user_module_outbox;
GRANT USAGE ON SEQUENCE user_module.event_id_seq TO user_module_outbox;

-- Subscribers: administrators may add triggers on the outbox (API.md, Privileges).
GRANT TRIGGER ON user_module.event TO user_module_admin;

-- The outbox must not grow without bound when nobody claims events.
CREATE FUNCTION user_module.purge_events(retention interval DEFAULT '7 days')
RETURNS bigint
AS 'MODULE_PATHNAME', 'um_purge_events'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION user_module.purge_events(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION user_module.purge_events(interval) TO user_module_admin;

/*
 * The q indexes keep at most 256 kB of new entries unmerged (the default is
 * 4 MB). Every search scans that pending list whole, and a long one makes the
 * planner prefer a sequential scan: after a bulk create, q searches took 15
 * to 30 ms on 20,000 users instead of 0.3 ms. Merging more often costs bulk
 * inserts nothing measurable (fastupdate = off would triple their cost).
 */
ALTER INDEX user_module.user_search SET (gin_pending_list_limit = 256);
ALTER INDEX user_module.invite_search SET (gin_pending_list_limit = 256);
