--
-- privileges: who may call what, as each role (SET ROLE).
--
--   user_module_admin    every user function and claim_events
--   user_module_reader   retrieve_user, list_users, count_users
--   user_module_invitee  none of the user functions
--   PUBLIC               nothing
--
-- Not granted: 42501. Nobody reads or writes the tables directly (42501), yet
-- the functions work for the roles that may call them, because they switch
-- to the tables' owner, user_module_owner, in C around their own statements.
--

SELECT count(*) AS users FROM user_module."user";
SELECT id FROM user_module.create_users('[{"id":"p1","email":"p1@priv.test","first_name":"P"},{"id":"p2","email":"p2@priv.test"}]');
SELECT user_module.soft_delete_users(ARRAY['p2']) AS soft_deleted;

------------------------------------------------------------------------------
-- The catalog: no PUBLIC grants, SECURITY INVOKER, no SET clause (the C code
-- pins the search path itself; search_path.sql proves it holds)
------------------------------------------------------------------------------

SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer, p.proconfig
  FROM pg_proc p WHERE p.pronamespace = 'user_module'::regnamespace ORDER BY p.proname;
-- who holds EXECUTE (PUBLIC is grantee 0)
SELECT p.proname, coalesce(nullif(a.grantee::regrole::text, '-'), 'PUBLIC') AS grantee, a.privilege_type
  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE p.pronamespace = 'user_module'::regnamespace
   AND a.grantee <> p.proowner
 ORDER BY p.proname, grantee;
-- the schema, the tables and the sequence
SELECT coalesce(nullif(a.grantee::regrole::text, '-'), 'PUBLIC') AS grantee, a.privilege_type
  FROM pg_namespace n, aclexplode(n.nspacl) a
 WHERE n.nspname = 'user_module' AND a.grantee <> n.nspowner ORDER BY 1, 2;
SELECT c.relname, count(a.*) FILTER (WHERE a.grantee <> c.relowner) AS grants_to_others
  FROM pg_class c LEFT JOIN LATERAL aclexplode(c.relacl) a ON true
 WHERE c.relnamespace = 'user_module'::regnamespace AND c.relkind IN ('r', 'S')
 GROUP BY c.relname ORDER BY c.relname;
-- no role but the owner may use any of them
SELECT r.rolname,
       has_schema_privilege(r.rolname, 'user_module', 'USAGE') AS schema_usage,
       has_table_privilege(r.rolname, 'user_module."user"', 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER') AS user_table,
       has_table_privilege(r.rolname, 'user_module.event', 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES') AS event_table,
       has_table_privilege(r.rolname, 'user_module.event', 'TRIGGER') AS event_trigger,
       has_sequence_privilege(r.rolname, 'user_module.event_id_seq', 'USAGE,SELECT,UPDATE') AS event_sequence
  FROM pg_roles r
 WHERE r.rolname IN ('regress_admin', 'regress_reader', 'regress_invitee', 'regress_nobody',
                     'user_module_admin', 'user_module_reader', 'user_module_invitee')
 ORDER BY r.rolname;
-- The tables belong to user_module_owner, which the functions switch to: it
-- cannot log in, is not a superuser, and nobody is a member of it or may
-- become one. It may call none of the functions itself.
SELECT c.relname, c.relowner::regrole AS owner
  FROM pg_class c WHERE c.relnamespace = 'user_module'::regnamespace AND c.relkind IN ('r', 'S')
 ORDER BY c.relname;
SELECT rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
  FROM pg_roles WHERE rolname = 'user_module_owner';
SELECT count(*) AS members FROM pg_auth_members WHERE roleid = 'user_module_owner'::regrole;
SELECT count(*) AS member_of FROM pg_auth_members WHERE member = 'user_module_owner'::regrole;
SELECT count(*) AS functions_it_may_call
  FROM pg_proc p WHERE p.pronamespace = 'user_module'::regnamespace
   AND has_function_privilege('user_module_owner', p.oid, 'EXECUTE');
-- EXECUTE per role and function
SELECT p.proname,
       has_function_privilege('regress_admin', p.oid, 'EXECUTE') AS admin,
       has_function_privilege('regress_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('regress_invitee', p.oid, 'EXECUTE') AS invitee,
       has_function_privilege('regress_nobody', p.oid, 'EXECUTE') AS nobody
  FROM pg_proc p WHERE p.pronamespace = 'user_module'::regnamespace ORDER BY p.proname;

-- one call of every function, as text, for the loops below
CREATE TABLE public.calls (fn text PRIMARY KEY, stmt text NOT NULL);
INSERT INTO public.calls VALUES
	('create_user',       $$SELECT user_module.create_user('new-' || current_user || '@priv.test', id => 'new-' || current_user)$$),
	('create_users',      $$SELECT user_module.create_users(jsonb_build_array(jsonb_build_object('email', 'bulk-' || current_user || '@priv.test', 'id', 'bulk-' || current_user)))$$),
	('retrieve_user',     $$SELECT user_module.retrieve_user('p1')$$),
	('list_users',        $$SELECT user_module.list_users()$$),
	('count_users',       $$SELECT user_module.count_users()$$),
	('update_user',       $$SELECT user_module.update_user('p1', jsonb_build_object('last_name', current_user))$$),
	('update_users',      $$SELECT user_module.update_users(jsonb_build_array(jsonb_build_object('id', 'p1', 'first_name', current_user)))$$),
	('soft_delete_users', $$SELECT user_module.soft_delete_users(ARRAY['new-' || current_user])$$),
	('restore_users',     $$SELECT user_module.restore_users(ARRAY['new-' || current_user])$$),
	('delete_users',      $$SELECT user_module.delete_users(ARRAY['new-' || current_user, 'bulk-' || current_user])$$),
	('claim_events',      $$SELECT user_module.claim_events(0)$$),
	('purge_events',      $$SELECT user_module.purge_events('100 years')$$);
GRANT SELECT ON public.calls TO PUBLIC;
-- direct access to the tables and the sequence
CREATE TABLE public.direct (what text PRIMARY KEY, stmt text NOT NULL);
INSERT INTO public.direct VALUES
	('select user',   $$SELECT * FROM user_module."user"$$),
	('insert user',   $$INSERT INTO user_module."user" (id, email, created_at, updated_at) VALUES ('x', 'x@x.x', now(), now())$$),
	('update user',   $$UPDATE user_module."user" SET first_name = 'x'$$),
	('delete user',   $$DELETE FROM user_module."user"$$),
	('truncate user', $$TRUNCATE user_module."user"$$),
	('select event',  $$SELECT * FROM user_module.event$$),
	('insert event',  $$INSERT INTO user_module.event (name, entity_id, data) VALUES ('user.created', 'x', '{"id":"x"}')$$),
	('update event',  $$UPDATE user_module.event SET name = 'x'$$),
	('delete event',  $$DELETE FROM user_module.event$$),
	('truncate event', $$TRUNCATE user_module.event$$),
	('nextval',       $$SELECT nextval('user_module.event_id_seq')$$),
	('setval',        $$SELECT setval('user_module.event_id_seq', 1)$$),
	('lock user',     $$LOCK TABLE user_module."user"$$),
	('trigger user',  $$CREATE TRIGGER t BEFORE INSERT ON user_module."user" FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$),
	('trigger event', $$CREATE TRIGGER t BEFORE UPDATE ON user_module.event FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$);
GRANT SELECT ON public.direct TO PUBLIC;

------------------------------------------------------------------------------
-- As regress_admin: every function; no direct access
------------------------------------------------------------------------------

SELECT coalesce(max(id), 0) AS mark FROM user_module.event \gset
SET ROLE regress_admin;
SELECT current_user;
SELECT fn, public.outcome(stmt) FROM public.calls ORDER BY fn;
-- nothing, not even a trigger on the outbox (subscribers.sql, threats.sql)
SELECT what, public.expect_error(stmt, '42501') FROM public.direct ORDER BY what;
-- an error inside a function leaves the caller's identity and rights as they were
SELECT public.expect_error($$SELECT user_module.create_user('p1@priv.test')$$, '23505');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"nope"}]')$$, 'P0002');
SELECT current_user, session_user = current_user AS is_session_user;
-- and the caller's search path too
SELECT current_schemas(false);
SELECT public.expect_error($$SELECT count(*) FROM user_module."user"$$, '42501');
DO $$
BEGIN
	PERFORM user_module.create_user('p1@priv.test');
EXCEPTION WHEN unique_violation THEN
	RAISE NOTICE 'caught 23505 as %', current_user;
	BEGIN
		PERFORM count(*) FROM user_module."user";
	EXCEPTION WHEN insufficient_privilege THEN
		RAISE NOTICE 'and still no direct access';
	END;
END
$$;
-- the settings are the superuser's
SELECT public.expect_error($$SET user_module.notify = off$$, '42501');
SELECT public.expect_error($$SET user_module.invite_valid_duration = '1h'$$, '42501');
SELECT public.expect_sqlstate($$SHOW user_module.jwt_secret$$, '42501');
-- the admin's work is done in its name, with events
SELECT id, first_name, last_name FROM user_module.retrieve_user('p1');
RESET ROLE;
SELECT name, entity_id FROM user_module.event WHERE id > :mark ORDER BY id;
SELECT current_user;

------------------------------------------------------------------------------
-- As regress_reader: retrieve, list and count only
------------------------------------------------------------------------------

SELECT public.module_state() AS state0 \gset
SET ROLE regress_reader;
SELECT fn, public.outcome(stmt) FROM public.calls ORDER BY fn;
SELECT what, public.expect_error(stmt, '42501') FROM public.direct ORDER BY what;
-- what a reader sees is what an admin sees
SELECT id, email, first_name FROM user_module.retrieve_user('p1');
SELECT id, deleted_at IS NOT NULL AS deleted FROM user_module.retrieve_user('p2', true);
SELECT id FROM user_module.list_users(with_deleted => true);
SELECT user_module.count_users('{"q":"priv"}', true);
-- and its errors are the usual ones
SELECT public.expect_error($$SELECT user_module.retrieve_user('nope')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.list_users('{"nope":1}')$$, '22023');
-- the privilege check comes before input validation
SELECT public.expect_error($$SELECT user_module.create_user(NULL)$$, '42501');
SELECT public.expect_error($$SELECT user_module.update_user(NULL, NULL)$$, '42501');
SELECT public.expect_error($$SELECT user_module.claim_events(-1)$$, '42501');
RESET ROLE;
SELECT public.module_state() = :'state0' AS nothing_changed;

------------------------------------------------------------------------------
-- As regress_invitee: none of the user functions
------------------------------------------------------------------------------

SET ROLE regress_invitee;
SELECT fn, public.expect_error(stmt, '42501') FROM public.calls ORDER BY fn;
SELECT what, public.expect_error(stmt, '42501') FROM public.direct ORDER BY what;
RESET ROLE;
SELECT public.module_state() = :'state0' AS nothing_changed;

------------------------------------------------------------------------------
-- As regress_nobody (PUBLIC only): nothing at all
------------------------------------------------------------------------------

SET ROLE regress_nobody;
SELECT fn, public.expect_error(stmt, '42501') FROM public.calls ORDER BY fn;
SELECT what, public.expect_error(stmt, '42501') FROM public.direct ORDER BY what;
-- without USAGE on the schema, its objects are not even found by name
SET search_path = user_module, public;
SELECT public.expect_error($$SELECT count_users()$$, '42883');
SELECT public.expect_error($$SELECT * FROM "user"$$, '42P01');
RESET search_path;
RESET ROLE;
SELECT public.module_state() = :'state0' AS nothing_changed;

------------------------------------------------------------------------------
-- Membership is what counts: granting and revoking the module roles
------------------------------------------------------------------------------

GRANT user_module_reader TO regress_nobody;
SET ROLE regress_nobody;
SELECT public.outcome($$SELECT user_module.count_users()$$) AS count_users,
       public.expect_error($$SELECT user_module.create_user('x@priv.test')$$, '42501') AS create_user;
RESET ROLE;
REVOKE user_module_reader FROM regress_nobody;
SET ROLE regress_nobody;
SELECT public.expect_error($$SELECT user_module.count_users()$$, '42501') AS count_users;
RESET ROLE;
-- a role that is a member but does not inherit must SET ROLE first
-- (regress_noinherit: NOINHERIT, member of user_module_admin, made in setup.sql)
SET ROLE regress_noinherit;
SELECT public.expect_error($$SELECT user_module.count_users()$$, '42501') AS count_users;
SET ROLE user_module_admin;
SELECT public.outcome($$SELECT user_module.count_users()$$) AS count_users;
RESET ROLE;

DROP TABLE public.calls, public.direct;
SELECT count(*) AS deleted FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users(with_deleted => true)));
SELECT count(*) > 0 AS claimed FROM user_module.claim_events(1000000);
