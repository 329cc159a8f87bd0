--
-- upgrade: ALTER EXTENSION user_module UPDATE from 0.1.0 keeps the data and
-- ends with exactly what a fresh CREATE EXTENSION installs: the same member
-- objects, definitions and grants. Between installing this library and
-- running the update, a 0.1.0 database keeps working as 0.1.0 did.
-- Runs last: it drops and re-creates the extension. (While the package ships
-- no full script for its newest version, CREATE EXTENSION itself chains the
-- same scripts; the comparison guards the day a release ships one.)
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
	SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' acl ' || coalesce(c.relacl::text, '')
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
	SELECT 'schema acl ' || nspacl::text FROM pg_namespace WHERE nspname = 'user_module'
	UNION ALL
	SELECT 'config ' || extconfig::regclass[]::text || ' ' || extcondition::text
	  FROM pg_extension WHERE extname = 'user_module'
$$;

DROP EXTENSION user_module;
CREATE EXTENSION user_module VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'user_module';

-- 0.1.0 data, written through this library before the update
SELECT id FROM user_module.create_user('before@upgrade.test', 'Before', id => 'up-u1');
SELECT id, email FROM user_module.create_invite('invitee@upgrade.test', id => 'up-i1');
SELECT token AS token_before FROM user_module.retrieve_invite('up-i1') \gset
-- at 0.1.0, statements on the outbox still run as the owner
CREATE FUNCTION pg_temp.who() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE NOTICE '% fired as %', NEW.name, current_user; RETURN NULL; END $$;
CREATE TRIGGER who AFTER INSERT ON user_module.event FOR EACH ROW EXECUTE FUNCTION pg_temp.who();
SELECT id FROM user_module.update_user('up-u1', '{"last_name":"Update"}');

ALTER EXTENSION user_module UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'user_module';

-- the data is kept, the token is the same and still valid
SELECT id, email, first_name, last_name FROM user_module.list_users();
SELECT id, token = :'token_before' AS same_token FROM user_module.validate_invite_token(:'token_before');
SELECT name, entity_id FROM user_module.event ORDER BY id;
-- now the outbox's own role fires the trigger, and purge_events exists
SELECT id FROM user_module.update_user('up-u1', '{"first_name":"After"}');
DROP TRIGGER who ON user_module.event;
SELECT user_module.purge_events('0') AS purged;

-- the updated installation is exactly a fresh one
CREATE TEMP TABLE updated AS SELECT * FROM pg_temp.installation() AS fact;
DROP EXTENSION user_module;
CREATE EXTENSION user_module;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.installation() AS fact;
SELECT count(*) > 50 AS facts_compared FROM fresh;
SELECT 'only after update' AS side, fact FROM (TABLE updated EXCEPT TABLE fresh) d
UNION ALL
SELECT 'only in fresh', fact FROM (TABLE fresh EXCEPT TABLE updated) d
ORDER BY 1, 2;
