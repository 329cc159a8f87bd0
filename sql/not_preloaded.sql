--
-- not_preloaded: a cluster whose postgresql.conf sets an inline key but does
-- not preload user_module (test/run starts it). Until a session loads the
-- library the key's setting is a plain placeholder, readable by every role:
-- every function fails with 55000 and a hint, and the detail says that the
-- key must be rotated (never what it is). The same without preloading but
-- with a key file: test/shell/key_file.sh.
--
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
CREATE EXTENSION user_module;
CREATE ROLE regress_np_nobody LOGIN;
RESET client_min_messages;
\set VERBOSITY default
SELECT id FROM user_module.create_user('ada@test.com', id => 'u1');
\echo :LAST_ERROR_SQLSTATE
SELECT user_module.create_invite('nokey@test.com');
\echo :LAST_ERROR_SQLSTATE
SELECT user_module.validate_invite_token('a.b.c');
\echo :LAST_ERROR_SQLSTATE

-- Every function, with arguments that would otherwise succeed or fail later.
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
SELECT f, pg_temp.sqlstate_of('SELECT * FROM user_module.' || f) AS sqlstate
  FROM (VALUES
	('create_user(''a@b.test'')'),
	('create_users(''[{"email": "b@b.test"}]'')'),
	('retrieve_user(''u1'')'),
	('list_users()'),
	('count_users()'),
	('update_user(''u1'', ''{"first_name": "A"}'')'),
	('update_users(''[{"id": "u1", "first_name": "A"}]'')'),
	('delete_users(''{u1}'')'),
	('soft_delete_users(''{u1}'')'),
	('restore_users(''{u1}'')'),
	('create_invite(''c@b.test'')'),
	('create_invites(''[{"email": "d@b.test"}]'')'),
	('retrieve_invite(''i1'')'),
	('list_invites()'),
	('count_invites()'),
	('update_invite(''i1'', ''{"metadata": {}}'')'),
	('update_invites(''[{"id": "i1", "metadata": {}}]'')'),
	('delete_invites(''{i1}'')'),
	('soft_delete_invites(''{i1}'')'),
	('restore_invites(''{i1}'')'),
	('refresh_invite_tokens(''{i1}'')'),
	('validate_invite_token(''a.b.c'')'),
	('accept_invite(''a.b.c'')'),
	('claim_events()'),
	('purge_events()')) AS calls(f);
-- all of them
SELECT count(*) AS functions FROM pg_proc
 WHERE pronamespace = 'user_module'::regnamespace AND prolang = (SELECT oid FROM pg_language WHERE lanname = 'c');

-- Why: a new session that has not loaded the library, of a role with no
-- grants at all, reads the key's placeholder.
\c - regress_np_nobody
SELECT length(current_setting('user_module.jwt_secret')) >= 32 AS key_readable_by_any_role;
\c - postgres
DROP ROLE regress_np_nobody;
