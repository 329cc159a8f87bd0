--
-- upgrade: ALTER EXTENSION user_module UPDATE from 0.1.0 (through 0.2.0)
-- keeps the data and ends with exactly what a fresh CREATE EXTENSION installs
-- (user_module--0.3.0.sql): the same member objects, definitions, owners and
-- grants. Between installing this library and running the update, the
-- functions refuse to run (55000): the older SQL let administrators put
-- triggers on the outbox. Runs last: it drops and re-creates the extension.
--

-- Everything an installation consists of, one line per fact.
CREATE FUNCTION pg_temp.installation()
RETURNS SETOF text
LANGUAGE sql
AS $$
	SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
	  FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'user_module'
	UNION ALL
	SELECT 'function ' || p.oid::regprocedure || ' ' || pg_get_functiondef(p.oid) || ' acl ' || coalesce(p.proacl::text, '')
	  FROM pg_proc p WHERE p.pronamespace = 'user_module'::regnamespace
	UNION ALL
	SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' owner ' || c.relowner::regrole
	       || ' acl ' || coalesce(c.relacl::text, '')
	  FROM pg_class c WHERE c.relnamespace = 'user_module'::regnamespace
	UNION ALL
	SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	       || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')
	  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	 WHERE c.relnamespace = 'user_module'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT 'index ' || pg_get_indexdef(i.indexrelid)
	  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'user_module'::regnamespace
	UNION ALL
	SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
	  FROM pg_constraint WHERE connamespace = 'user_module'::regnamespace
	UNION ALL
	SELECT 'trigger ' || pg_get_triggerdef(t.oid)
	  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	 WHERE c.relnamespace = 'user_module'::regnamespace AND NOT t.tgisinternal
	UNION ALL
	SELECT 'schema acl ' || nspacl::text FROM pg_namespace WHERE nspname = 'user_module'
	UNION ALL
	SELECT 'config ' || extconfig::regclass[]::text || ' ' || extcondition::text
	  FROM pg_extension WHERE extname = 'user_module'
$$;

DROP EXTENSION user_module;
CREATE EXTENSION user_module VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'user_module';

-- 0.1.0 data, as a restore would write it; this library does not run the
-- older SQL
INSERT INTO user_module."user" (id, email, first_name) VALUES ('up-u1', 'before@upgrade.test', 'Before');
INSERT INTO user_module.invite (id, email, expires_at, token_jti, token_issued_at)
VALUES ('up-i1', 'invitee@upgrade.test', now() + interval '1 day', gen_random_uuid(), now());
INSERT INTO user_module.event (name, entity_id, data) VALUES ('user.created', 'up-u1', '{"id": "up-u1"}');
SELECT public.expect_error($$SELECT user_module.count_users()$$, '55000');

ALTER EXTENSION user_module UPDATE TO '0.2.0';
SELECT public.expect_error($$SELECT user_module.count_users()$$, '55000');
-- 0.2.0 let an admin put a trigger on the outbox: the update stops until it is gone
CREATE SCHEMA upgrade_app AUTHORIZATION regress_admin;
SET ROLE regress_admin;
CREATE FUNCTION upgrade_app.who() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE NOTICE '% fired as %', NEW.name, current_user; RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER who AFTER INSERT ON user_module.event
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION upgrade_app.who();
RESET ROLE;
\set VERBOSITY default
\set SHOW_CONTEXT never
ALTER EXTENSION user_module UPDATE;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
SELECT extversion FROM pg_extension WHERE extname = 'user_module';
DROP TRIGGER who ON user_module.event;
DROP SCHEMA upgrade_app CASCADE;

ALTER EXTENSION user_module UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'user_module';

-- the data is kept, and the invite's token works
SELECT id, email, first_name, last_name FROM user_module.list_users();
SELECT token AS token_after FROM user_module.retrieve_invite('up-i1') \gset
SELECT id, token = :'token_after' AS same_token FROM user_module.validate_invite_token(:'token_after');
SELECT name, entity_id FROM user_module.event ORDER BY id;
-- the admin lost the right to add triggers; the outbox's old role has no rights left
SELECT has_table_privilege('user_module_admin', 'user_module.event', 'TRIGGER') AS admin_trigger,
       has_table_privilege('user_module_outbox', 'user_module.event', 'SELECT,INSERT,UPDATE,DELETE') AS outbox_rights,
       has_schema_privilege('user_module_outbox', 'user_module', 'USAGE') AS outbox_usage;
SELECT user_module.purge_events('0') AS purged;

-- the updated installation is exactly a fresh one
CREATE TEMP TABLE updated AS SELECT * FROM pg_temp.installation() AS fact;
DROP EXTENSION user_module;
CREATE EXTENSION user_module;
SELECT extversion FROM pg_extension WHERE extname = 'user_module';
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.installation() AS fact;
SELECT count(*) > 50 AS facts_compared FROM fresh;
SELECT 'only after update' AS side, fact FROM (TABLE updated EXCEPT TABLE fresh) d
UNION ALL
SELECT 'only in fresh', fact FROM (TABLE fresh EXCEPT TABLE updated) d
ORDER BY 1, 2;

-- the library checks the tables' columns against its own description at
-- first use and after any catalog change: a mismatch fails loudly
SELECT user_module.count_invites() AS invites;
BEGIN;
ALTER TABLE user_module.invite RENAME COLUMN token_jti TO jti;
SELECT public.expect_error($$SELECT user_module.count_invites()$$, '55000');
ROLLBACK;
BEGIN;
ALTER TABLE user_module."user" ADD COLUMN nickname text;
SELECT public.expect_error($$SELECT user_module.retrieve_user('nobody')$$, '55000');
ROLLBACK;
BEGIN;
ALTER TABLE user_module."user" ALTER COLUMN avatar_url TYPE varchar(2000);
SELECT public.expect_error($$SELECT user_module.count_users()$$, '55000');
ROLLBACK;
SELECT user_module.count_invites() AS invites;
