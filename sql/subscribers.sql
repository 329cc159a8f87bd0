--
-- subscribers: functions registered with add_subscriber, the way to react to
-- events inside the database.
--
-- A subscriber is a function (event user_module.event) RETURNS void. It runs
-- right after its event's row is written, in the same transaction: if it
-- fails, the call fails and leaves nothing; if the call is rolled back (also
-- to a savepoint), the subscriber's work goes with it. It runs
--   * as the role that owns the function, whoever calls (superuser, invitee);
--   * as a security-restricted operation: no SET ROLE, no temporary objects;
--   * with search_path "pg_catalog, pg_temp" unless it has a SET clause, and
--     every setting it changes is discarded when it returns.
-- Only a role with the privileges of the function's owner may register it.
--
-- Event ids are printed relative to a mark, as in events.sql.
--

SELECT count(*) AS claimed_before FROM user_module.claim_events(1000000);
CREATE SCHEMA app;
GRANT USAGE, CREATE ON SCHEMA app TO regress_admin;

------------------------------------------------------------------------------
-- An administrator's subscriber: queue the invite e-mail
------------------------------------------------------------------------------

SET ROLE regress_admin;
CREATE TABLE app.mail (
	invite_id   text PRIMARY KEY,
	email       text NOT NULL,
	has_token   boolean NOT NULL,
	ran_as      text NOT NULL,
	search_path text NOT NULL
);
-- A plain function: it runs as its owner anyway. Its own search_path holds.
CREATE FUNCTION app.queue_invite_mail(event user_module.event) RETURNS void
LANGUAGE plpgsql SET search_path = app, pg_catalog
AS $$
DECLARE
	invite record;
BEGIN
	SELECT * INTO invite FROM user_module.retrieve_invite(event.entity_id);
	IF invite.email LIKE 'blocked@%' THEN
		RAISE EXCEPTION 'mail to % is blocked', invite.email USING ERRCODE = 'P0001';
	END IF;
	INSERT INTO mail VALUES (invite.id, invite.email, invite.token IS NOT NULL,
	                         current_user, current_setting('search_path'))
	ON CONFLICT (invite_id) DO UPDATE SET has_token = EXCLUDED.has_token;
END
$$;
SELECT * FROM user_module.add_subscriber('app.queue_invite_mail(user_module.event)',
                                         '{invite.created,invite.resent}') \gset sub_
SELECT :'sub_handler' AS handler, :'sub_events' AS events;
SELECT handler, events FROM user_module.list_subscribers();

RESET ROLE;
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SET ROLE regress_admin;
SELECT id, email FROM user_module.create_invite('Sub1@Example.com', id => 'sub-i1');
SELECT id, email FROM user_module.create_invites('[{"id":"sub-i2","email":"sub2@example.com"},{"id":"sub-i3","email":"sub3@example.com"}]');
-- the subscriber ran as its owner, with its own search path, and could read tokens
SELECT * FROM app.mail ORDER BY invite_id;
-- the caller's identity and search path are untouched
SELECT current_user, current_setting('search_path') AS search_path;

-- a call that is rolled back takes the queued mail back too
BEGIN;
SELECT id FROM user_module.create_invite('sub4@example.com', id => 'sub-i4');
SELECT count(*) AS queued_in_transaction FROM app.mail WHERE invite_id = 'sub-i4';
ROLLBACK;
SELECT count(*) AS queued_after_rollback FROM app.mail WHERE invite_id = 'sub-i4';
-- and so does ROLLBACK TO SAVEPOINT, for that step only
BEGIN;
SELECT id FROM user_module.create_invite('sub5@example.com', id => 'sub-i5');
SAVEPOINT before_six;
SELECT id FROM user_module.create_invite('sub6@example.com', id => 'sub-i6');
ROLLBACK TO SAVEPOINT before_six;
COMMIT;
SELECT invite_id FROM app.mail WHERE invite_id IN ('sub-i5', 'sub-i6');

-- a failing subscriber fails the call: no invite, no event, no mail
SELECT public.expect_error($$SELECT user_module.create_invite('blocked@example.com', id => 'sub-i7')$$, 'P0001');
SELECT count(*) AS blocked_invites FROM user_module.list_invites('{"id":"sub-i7"}', with_deleted => true);
-- in a batch, one refused row fails the whole batch
SELECT public.expect_error($$SELECT user_module.create_invites('[{"id":"sub-i8","email":"sub8@example.com"},{"id":"sub-i9","email":"blocked@example.org"}]')$$, 'P0001');
SELECT count(*) AS batch_invites FROM user_module.list_invites('{"id":["sub-i8","sub-i9"]}', with_deleted => true);
-- events it did not subscribe to do not reach it
SELECT id FROM user_module.update_invite('sub-i1', '{"metadata":{"k":1}}');
SELECT count(*) AS mails FROM app.mail;
RESET ROLE;
SELECT id - :mark AS n, name, entity_id FROM user_module.event WHERE id > :mark ORDER BY id;

-- it runs as its owner whoever calls: the superuser, and an invitee accepting
SELECT id FROM user_module.refresh_invite_tokens('{sub-i1}');
SELECT ran_as FROM app.mail WHERE invite_id = 'sub-i1';
SET ROLE regress_admin;
CREATE TABLE app.seen (name text, entity_id text, ran_as text);
CREATE FUNCTION app.log_event(event user_module.event) RETURNS void
LANGUAGE sql AS $$ INSERT INTO app.seen VALUES (event.name, event.entity_id, current_user) $$;
SELECT (user_module.add_subscriber('app.log_event(user_module.event)')).handler;
SELECT token AS sub_token FROM user_module.retrieve_invite('sub-i2') \gset
SELECT handler, events FROM user_module.list_subscribers();
RESET ROLE;
SET ROLE regress_invitee;
SELECT email FROM user_module.accept_invite(:'sub_token');
RESET ROLE;
SELECT name, entity_id = 'sub-i2' AS is_the_invite, ran_as FROM app.seen ORDER BY name;
SET ROLE regress_admin;
SELECT user_module.remove_subscriber('app.log_event(user_module.event)') AS removed;
RESET ROLE;

-- subscribers run at the end of the call, once all its changes are made:
-- accept_invite's user.created subscriber already sees the invite accepted
SET ROLE regress_admin;
CREATE FUNCTION app.see_invite(event user_module.event) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
BEGIN
	RAISE NOTICE '% sees the invite accepted: %', event.name,
		(SELECT accepted FROM user_module.retrieve_invite('sub-late', true));
END
$$;
SELECT token AS sub_token FROM user_module.create_invite('late@sub.test', id => 'sub-late') \gset
SELECT handler FROM user_module.add_subscriber('app.see_invite(user_module.event)', '{user.created,invite.accepted}');
RESET ROLE;
SET ROLE regress_invitee;
SELECT email FROM user_module.accept_invite(:'sub_token');
RESET ROLE;
SET ROLE regress_admin;
SELECT user_module.remove_subscriber('app.see_invite(user_module.event)') AS removed;
RESET ROLE;

------------------------------------------------------------------------------
-- A subscriber may call the module again
------------------------------------------------------------------------------

SET ROLE regress_admin;
CREATE FUNCTION app.welcome_user(event user_module.event) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
BEGIN
	IF event.entity_id LIKE 'sub-%' THEN
		PERFORM user_module.update_user(event.entity_id, '{"metadata":{"welcomed":true}}');
	END IF;
END
$$;
SELECT handler FROM user_module.add_subscriber('app.welcome_user(user_module.event)', '{user.created}');
RESET ROLE;
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SET ROLE regress_admin;
SELECT id, metadata FROM user_module.create_users('[{"id":"sub-u1","email":"u1@sub.test"},{"id":"other-u2","email":"u2@sub.test"}]');
-- the call returned the rows it created; the subscriber's update came after
SELECT id, metadata FROM user_module.list_users('{"id":["sub-u1","other-u2"]}');
RESET ROLE;
-- the subscriber's own event follows the ones that fired it
SELECT id - :mark AS n, name, entity_id FROM user_module.event WHERE id > :mark ORDER BY id;
SET ROLE regress_admin;
SELECT user_module.remove_subscriber('app.welcome_user(user_module.event)') AS removed;
SELECT user_module.remove_subscriber('app.welcome_user(user_module.event)') AS removed_again;
RESET ROLE;

------------------------------------------------------------------------------
-- Contained: what a subscriber may and may not do
------------------------------------------------------------------------------

SET ROLE regress_admin;
CREATE FUNCTION app.report(event user_module.event) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	RAISE NOTICE '%: as %, search_path "%", may read users: %',
		event.name, current_user, current_setting('search_path'),
		has_table_privilege('user_module."user"', 'SELECT');
	-- a plain SET outlives a function, but not a subscriber
	PERFORM set_config('search_path', 'app', false);
	PERFORM set_config('work_mem', '77MB', false);
END
$$;
SELECT handler FROM user_module.add_subscriber('app.report(user_module.event)', '{user.created,user.updated}');
SELECT id FROM user_module.create_user('report@sub.test', id => 'report-u1');
SELECT current_setting('search_path') AS search_path_after_call, current_setting('work_mem') AS work_mem;
RESET ROLE;
-- whoever calls, superuser included, the subscriber gets its owner's rights
SELECT id FROM user_module.update_user('report-u1', '{"first_name":"R"}');
SELECT current_user, current_setting('search_path') AS search_path_after_call;
SET ROLE regress_admin;
SELECT user_module.remove_subscriber('app.report(user_module.event)') AS removed;

-- it cannot become another role, nor create temporary objects in the
-- caller's session, nor read what its owner may not
CREATE FUNCTION app.overreach(event user_module.event) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	EXECUTE current_setting('app.attempt');
END
$$;
SELECT handler FROM user_module.add_subscriber('app.overreach(user_module.event)', '{user.created}');
RESET ROLE;
-- (the session has a temporary schema already: creating in it is refused all
-- the same; outside a call it works, an index too, which PostgreSQL builds as
-- a security-restricted operation)
CREATE TEMP TABLE callers_own (x int UNIQUE);
CREATE TABLE public.attempts (n int, stmt text);
INSERT INTO public.attempts VALUES
	(1, 'SET ROLE postgres'),
	(2, 'SET SESSION AUTHORIZATION postgres'),
	(3, 'CREATE TEMP TABLE planted (x int)'),
	(4, 'CREATE FUNCTION pg_temp.lower(text) RETURNS text LANGUAGE sql AS $f$ SELECT $1 $f$'),
	(5, 'SELECT count(*) FROM user_module."user"'),
	(6, 'LISTEN user_module_events');
GRANT SELECT ON public.attempts TO PUBLIC;
SELECT n, stmt,
       public.expect_error(format($$SELECT set_config('app.attempt', %L, false), user_module.create_user('over%s@sub.test', id => 'over-u%s')$$,
                                  stmt, n, n), '42501') AS as_superuser
  FROM public.attempts ORDER BY n;
SET ROLE regress_admin;
SELECT n, public.expect_error(format($$SELECT set_config('app.attempt', %L, false), user_module.create_user('over%s@sub.test', id => 'over-u%s')$$,
                                     stmt, n, n), '42501') AS as_admin
  FROM public.attempts ORDER BY n;
RESET ROLE;
SELECT count(*) AS created FROM user_module.list_users('{"q":"over"}', with_deleted => true);
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r') AS temp_tables,
       (SELECT count(*) FROM pg_proc WHERE pronamespace = pg_my_temp_schema()) AS temp_functions;
SET ROLE regress_admin;
SELECT user_module.remove_subscriber('app.overreach(user_module.event)') AS removed;
RESET ROLE;

------------------------------------------------------------------------------
-- Who may register what
------------------------------------------------------------------------------

-- not the wrong shape
SET ROLE regress_admin;
CREATE FUNCTION app.no_arg() RETURNS void LANGUAGE sql AS '';
CREATE FUNCTION app.wrong_arg(text) RETURNS void LANGUAGE sql AS '';
CREATE FUNCTION app.returns_int(event user_module.event) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE PROCEDURE app.proc(event user_module.event) LANGUAGE sql AS '';
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.no_arg()')$$, '22023');
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.wrong_arg(text)')$$, '22023');
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.returns_int(user_module.event)')$$, '22023');
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.proc(user_module.event)')$$, '22023');
SELECT public.expect_error($$SELECT user_module.add_subscriber(NULL)$$, '22023');
-- nor events that do not exist
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.queue_invite_mail(user_module.event)', '{user.create}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.queue_invite_mail(user_module.event)', '{}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.queue_invite_mail(user_module.event)', '{NULL}')$$, '22023');
RESET ROLE;
-- not a function owned by a role the admin is not: it would run with that
-- role's rights (here the superuser's, and another non-superuser's)
CREATE FUNCTION app.superuser_handler(event user_module.event) RETURNS void LANGUAGE sql AS '';
CREATE FUNCTION app.hostile_handler(event user_module.event) RETURNS void LANGUAGE sql AS '';
ALTER FUNCTION app.hostile_handler(user_module.event) OWNER TO regress_hostile;
SET ROLE regress_admin;
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.superuser_handler(user_module.event)')$$, '42501');
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.hostile_handler(user_module.event)')$$, '42501');
RESET ROLE;
-- nor a function in a temporary schema
SET ROLE regress_admin;
CREATE FUNCTION pg_temp.fleeting(event user_module.event) RETURNS void LANGUAGE sql AS '';
SELECT left(public.expect_error($$SELECT user_module.add_subscriber('pg_temp.fleeting(user_module.event)')$$, '22023'), 5) AS sqlstate;
RESET ROLE;
-- nor run as the tables' owner: a function of that role stops the module
ALTER FUNCTION app.superuser_handler(user_module.event) OWNER TO user_module_owner;
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.superuser_handler(user_module.event)')$$, '55000');
DROP FUNCTION app.superuser_handler(user_module.event);
-- readers, invitees and others may not register, list or remove
SET ROLE regress_reader;
SELECT public.expect_error($$SELECT user_module.add_subscriber('app.queue_invite_mail(user_module.event)')$$, '42501');
SELECT public.expect_error($$SELECT user_module.list_subscribers()$$, '42501');
SELECT public.expect_error($$SELECT user_module.remove_subscriber('app.queue_invite_mail(user_module.event)')$$, '42501');
RESET ROLE;
SET ROLE regress_nobody;
SELECT public.expect_error($$SELECT user_module.list_subscribers()$$, '42501');
RESET ROLE;

------------------------------------------------------------------------------
-- A handler that changed hands is not called: it would run as its new owner
------------------------------------------------------------------------------

-- REASSIGN OWNED, the usual way to retire a role, gives the function to the
-- superuser; code the admin can still steer must not then run as superuser
SET ROLE regress_admin;
CREATE FUNCTION app.steerable(event user_module.event) RETURNS void LANGUAGE plpgsql
AS $$ BEGIN RAISE NOTICE 'steerable ran as %', current_user; END $$;
SELECT handler, owner FROM user_module.add_subscriber('app.steerable(user_module.event)', '{user.created}');
SELECT id FROM user_module.create_user('steer1@sub.test', id => 'sub-s1');
RESET ROLE;
ALTER FUNCTION app.steerable(user_module.event) OWNER TO postgres;
SELECT public.expect_error($$SELECT user_module.create_user('steer2@sub.test', id => 'sub-s2')$$, '55000');
SET ROLE regress_admin;
SELECT user_module.remove_subscriber('app.steerable(user_module.event)') AS removed;
RESET ROLE;

------------------------------------------------------------------------------
-- A dropped handler stops the calls that would have reached it, loudly
------------------------------------------------------------------------------

SET ROLE regress_admin;
DROP FUNCTION app.queue_invite_mail(user_module.event);
SELECT public.expect_error($$SELECT user_module.create_invite('dropped@sub.test', id => 'sub-i10')$$, '55000');
SELECT count(*) AS created FROM user_module.list_invites('{"id":"sub-i10"}', with_deleted => true);
-- users are not affected: it subscribed to invite events only
SELECT id FROM user_module.create_user('unaffected@sub.test', id => 'sub-u3');
SELECT user_module.remove_subscriber('app.queue_invite_mail(user_module.event)') AS removed;
SELECT id FROM user_module.create_invite('dropped@sub.test', id => 'sub-i10');
SELECT count(*) AS subscribers FROM user_module.list_subscribers();
RESET ROLE;

------------------------------------------------------------------------------
-- Clean up
------------------------------------------------------------------------------

SET client_min_messages = warning;
DROP SCHEMA app CASCADE;
DROP TABLE public.attempts;
RESET client_min_messages;
SELECT count(*) > 0 AS deleted FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users(with_deleted => true)));
SELECT count(*) > 0 AS deleted FROM user_module.delete_invites(ARRAY(SELECT id FROM user_module.list_invites(with_deleted => true)));
SELECT count(*) > 0 AS claimed FROM user_module.claim_events(1000000);
