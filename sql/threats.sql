--
-- threats: each way a module role, or a role with CREATE on the database,
-- could once act with another role's rights, tried as that role; each must
-- fail and leave no trace (doc/security.md lists them). Subscribers' own
-- containment is in subscribers.sql, the key in secret.sql, tokens in
-- tokens.sql.
--
\set regress_db :DBNAME
\set SHOW_CONTEXT never

------------------------------------------------------------------------------
-- 1. An admin's deferred trigger would run at COMMIT as whoever commits
------------------------------------------------------------------------------

CREATE SCHEMA mine AUTHORIZATION regress_admin;
SET ROLE regress_admin;
CREATE FUNCTION mine.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'ALTER ROLE regress_admin SUPERUSER';
	RETURN NULL;
END $$;
-- no module role may put a trigger on any of the module's tables
SELECT public.expect_error($$CREATE CONSTRAINT TRIGGER escalate AFTER INSERT ON user_module.event
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION mine.escalate()$$, '42501');
SELECT public.expect_error($$CREATE TRIGGER escalate AFTER INSERT ON user_module."user"
	FOR EACH ROW EXECUTE FUNCTION mine.escalate()$$, '42501');
SELECT public.expect_error($$CREATE TRIGGER escalate AFTER INSERT ON user_module.invite
	FOR EACH ROW EXECUTE FUNCTION mine.escalate()$$, '42501');
SELECT public.expect_error($$CREATE TRIGGER escalate AFTER INSERT ON user_module.subscriber
	FOR EACH ROW EXECUTE FUNCTION mine.escalate()$$, '42501');
-- a subscriber is the way in, and it runs as the admin, not as the caller
CREATE FUNCTION mine.escalate(event user_module.event) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'ALTER ROLE regress_admin SUPERUSER';
END $$;
SELECT handler FROM user_module.add_subscriber('mine.escalate(user_module.event)', '{user.created}');
RESET ROLE;
-- the superuser (a tour, a pg_cron job, an application trigger) calls the module
BEGIN;
SELECT public.expect_sqlstate($$SELECT user_module.create_user('victim@threats.test', id => 'threat-u1')$$, '42501');
COMMIT;
SELECT rolsuper AS admin_is_superuser FROM pg_roles WHERE rolname = 'regress_admin';
SELECT count(*) AS created FROM user_module.list_users('{"id":"threat-u1"}', with_deleted => true);
SET ROLE regress_admin;
SELECT user_module.remove_subscriber('mine.escalate(user_module.event)') AS removed;
RESET ROLE;
SELECT tgname FROM pg_trigger
 WHERE tgrelid IN ('user_module."user"'::regclass, 'user_module.invite'::regclass,
                   'user_module.event'::regclass, 'user_module.subscriber'::regclass)
   AND NOT tgisinternal ORDER BY tgname;

------------------------------------------------------------------------------
-- 2 and 4. A DBA's trigger on a module table runs as user_module_owner,
-- restricted, and its own SET search_path holds
------------------------------------------------------------------------------

CREATE TABLE public.audit_log (op text, user_id text, ran_as text, is_superuser boolean, search_path text);
CREATE FUNCTION public.audit_user() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_catalog
AS $$
BEGIN
	-- unqualified: found through the function's own search_path
	INSERT INTO audit_log VALUES (TG_OP, NEW.id, current_user,
		(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), current_setting('search_path'));
	RETURN NULL;
END $$;
GRANT INSERT ON public.audit_log TO user_module_owner;
CREATE TRIGGER audit_user AFTER INSERT OR UPDATE ON user_module."user"
	FOR EACH ROW EXECUTE FUNCTION public.audit_user();
SELECT id FROM user_module.create_user('audited@threats.test', id => 'threat-u2');
SET ROLE regress_admin;
SELECT id FROM user_module.update_user('threat-u2', '{"first_name":"A"}');
RESET ROLE;
SELECT * FROM public.audit_log ORDER BY op;
-- a trigger that tries to leave a setting behind in the caller's session
CREATE FUNCTION public.meddle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('search_path', 'mine, pg_catalog', false);
	RETURN NULL;
END $$;
CREATE TRIGGER meddle AFTER UPDATE ON user_module."user" FOR EACH ROW EXECUTE FUNCTION public.meddle();
SELECT id FROM user_module.update_user('threat-u2', '{"first_name":"B"}');
SELECT current_setting('search_path') AS callers_search_path;
DROP TRIGGER meddle ON user_module."user";
-- The caller's temporary tables come first where a search_path does not list
-- pg_temp: an invitee's temporary audit_log, with a trigger of its own, would
-- have the DBA's trigger run the invitee's code as user_module_owner. Inside a
-- call no statement may touch a temporary table: the accept fails instead.
SELECT id, token AS threat_token FROM user_module.create_invite('taker@threats.test', id => 'threat-i1') \gset
SET ROLE regress_invitee;
CREATE TEMP TABLE audit_log (op text, user_id text, ran_as text, is_superuser boolean, search_path text);
CREATE TEMP TABLE loot (email text, ran_as text);
GRANT INSERT ON audit_log, loot TO user_module_owner;
CREATE FUNCTION pg_temp.steal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO pg_temp.loot SELECT email, current_user FROM user_module."user";
	RETURN NULL;
END $$;
CREATE TRIGGER steal AFTER INSERT ON pg_temp.audit_log FOR EACH ROW EXECUTE FUNCTION pg_temp.steal();
SELECT public.expect_error(format('SELECT user_module.accept_invite(%L)', :'threat_token'), '42501');
SELECT count(*) AS stolen FROM pg_temp.loot;
DROP TABLE pg_temp.audit_log, pg_temp.loot;
DROP FUNCTION pg_temp.steal();
RESET ROLE;
SELECT count(*) AS accepted FROM user_module.list_users('{"email":"taker@threats.test"}');
DROP TRIGGER audit_user ON user_module."user";
DROP FUNCTION public.meddle(), public.audit_user();
REVOKE ALL ON public.audit_log FROM user_module_owner;
DROP TABLE public.audit_log;

------------------------------------------------------------------------------
-- 3. A role with CREATE on the database squats schema user_module first
------------------------------------------------------------------------------

SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_squat;
RESET client_min_messages;
CREATE DATABASE regress_squat;
GRANT CREATE ON DATABASE regress_squat TO regress_hostile;
\c regress_squat
SET ROLE regress_hostile;
CREATE SCHEMA user_module;
RESET ROLE;
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
\set VERBOSITY default
CREATE EXTENSION user_module;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
-- not adopted: nothing was created in it, and it is still the squatter's
SELECT nspowner::regrole AS owner FROM pg_namespace WHERE nspname = 'user_module';
SELECT count(*) AS objects FROM pg_class WHERE relnamespace = 'user_module'::regnamespace;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'user_module';

------------------------------------------------------------------------------
-- 8. A non-superuser database owner resets schema public
------------------------------------------------------------------------------

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_owned;
DROP ROLE IF EXISTS regress_dbowner;
RESET client_min_messages;
CREATE ROLE regress_dbowner LOGIN;
CREATE DATABASE regress_owned OWNER regress_dbowner;
\c regress_owned
-- pg_trgm would land in public, which the database owner owns: refused
\set VERBOSITY default
CREATE EXTENSION user_module CASCADE;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
SELECT count(*) AS installed FROM pg_extension WHERE extname IN ('user_module', 'pg_trgm');
-- installed as documented
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
CREATE EXTENSION user_module;
SELECT id FROM user_module.create_user('kept@threats.test', id => 'threat-u3');
SET ROLE regress_dbowner;
-- the "reset" idiom of test runners and frameworks
SET client_min_messages = warning;
DROP SCHEMA public CASCADE;
RESET client_min_messages;
CREATE SCHEMA public;
DO $$ BEGIN DROP SCHEMA extensions CASCADE; EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'extensions: 42501'; END $$;
DO $$ BEGIN DROP SCHEMA user_module CASCADE; EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'user_module: 42501'; END $$;
DO $$ BEGIN DROP EXTENSION user_module CASCADE; EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'extension: 42501'; END $$;
RESET ROLE;
SELECT extname FROM pg_extension WHERE extname IN ('user_module', 'pg_trgm') ORDER BY 1;
SELECT id, email FROM user_module.list_users();

------------------------------------------------------------------------------
-- 9. Roles with the module's names that are not what the module expects
------------------------------------------------------------------------------

-- Roles are cluster-wide: an existing user_module_admin that can log in, or
-- a user_module_owner with members, would be adopted by a new installation.
DROP EXTENSION user_module;
ALTER ROLE user_module_admin LOGIN;
\set VERBOSITY default
CREATE EXTENSION user_module;
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE user_module_admin NOLOGIN;
ALTER ROLE user_module_reader SUPERUSER;
CREATE EXTENSION user_module;
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE user_module_reader NOSUPERUSER;
GRANT pg_read_all_data TO user_module_reader;
CREATE EXTENSION user_module;
\echo :LAST_ERROR_SQLSTATE
REVOKE pg_read_all_data FROM user_module_reader;
GRANT user_module_owner TO regress_hostile;
CREATE EXTENSION user_module;
\echo :LAST_ERROR_SQLSTATE
REVOKE user_module_owner FROM regress_hostile;
CREATE FUNCTION public.owners_door() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1::bigint $$;
ALTER FUNCTION public.owners_door() OWNER TO user_module_owner;
CREATE EXTENSION user_module;
\echo :LAST_ERROR_SQLSTATE
DROP FUNCTION public.owners_door();
-- pg_trgm installed by a role with CREATE on the database (it is a trusted
-- extension), even into a superuser's schema: its owner could drop it
DROP EXTENSION pg_trgm;
GRANT CREATE ON DATABASE regress_owned TO regress_hostile;
SET ROLE regress_hostile;
CREATE EXTENSION pg_trgm SCHEMA extensions;
RESET ROLE;
CREATE EXTENSION user_module;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'user_module';
\set VERBOSITY terse
-- and an installation that exists stops working, rather than let the member
-- in, or a function the owner role owns
\c :regress_db
GRANT user_module_owner TO regress_hostile;
SELECT public.expect_error($$SELECT user_module.count_users()$$, '55000');
REVOKE user_module_owner FROM regress_hostile;
CREATE FUNCTION public.owners_door() RETURNS bigint LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT count(*) FROM user_module."user" $$;
ALTER FUNCTION public.owners_door() OWNER TO user_module_owner;
SELECT public.expect_error($$SELECT user_module.count_users()$$, '55000');
DROP FUNCTION public.owners_door();
ALTER ROLE user_module_owner SUPERUSER;
SELECT public.expect_error($$SELECT user_module.count_users()$$, '55000');
ALTER ROLE user_module_owner NOSUPERUSER;
SELECT user_module.count_users() >= 0 AS works_again;

------------------------------------------------------------------------------
-- Clean up
------------------------------------------------------------------------------

DROP DATABASE regress_squat;
DROP DATABASE regress_owned;
DROP ROLE regress_dbowner;
SET client_min_messages = warning;
DROP SCHEMA mine CASCADE;
RESET client_min_messages;
SELECT count(*) >= 0 AS deleted FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users(with_deleted => true)));
SELECT count(*) > 0 AS claimed FROM user_module.claim_events(1000000);
