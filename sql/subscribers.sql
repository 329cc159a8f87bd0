--
-- subscribers: triggers on user_module.event, the way to react to events
-- inside the database (API.md, Events). Administrators may add them.
--
-- A subscriber fires inside the call that wrote the event, in the same
-- transaction: if it fails, the call fails and leaves nothing; if the call is
-- rolled back (also to a savepoint), the subscriber's work goes with it.
-- Every statement on the outbox runs as the NOLOGIN role user_module_outbox,
-- with search_path set to "pg_catalog, pg_temp":
--   * a SECURITY INVOKER subscriber has that role's rights (the outbox and
--     nothing else), never the extension owner's, who is a superuser;
--   * a SECURITY DEFINER subscriber has its owner's rights, and its own
--     SET search_path clause holds;
--   * a SET LOCAL inside a subscriber ends with the call.
-- Insert triggers fire for every function that writes events; delete
-- triggers for claim_events and purge_events.
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
-- SECURITY DEFINER with a pinned search_path, as PostgreSQL recommends for
-- functions that run with their owner's rights: unqualified names are app's.
CREATE FUNCTION app.queue_invite_mail() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = app, pg_catalog
AS $$
DECLARE
	invite record;
BEGIN
	IF NEW.name IN ('invite.created', 'invite.resent') THEN
		SELECT * INTO invite FROM user_module.retrieve_invite(NEW.entity_id);
		IF invite.email LIKE 'blocked@%' THEN
			RAISE EXCEPTION 'mail to % is blocked', invite.email USING ERRCODE = 'P0001';
		END IF;
		INSERT INTO mail VALUES (invite.id, invite.email, invite.token IS NOT NULL,
		                         current_user, current_setting('search_path'))
		ON CONFLICT (invite_id) DO UPDATE SET has_token = EXCLUDED.has_token;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER queue_invite_mail AFTER INSERT ON user_module.event
	FOR EACH ROW EXECUTE FUNCTION app.queue_invite_mail();

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
RESET ROLE;
SELECT id - :mark AS n, name, entity_id FROM user_module.event WHERE id > :mark ORDER BY id;

------------------------------------------------------------------------------
-- A subscriber may call the module again
------------------------------------------------------------------------------

SET ROLE regress_admin;
CREATE FUNCTION app.welcome_user() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
AS $$
BEGIN
	IF NEW.name = 'user.created' AND NEW.entity_id LIKE 'sub-%' THEN
		PERFORM user_module.update_user(NEW.entity_id, '{"metadata":{"welcomed":true}}');
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER welcome_user AFTER INSERT ON user_module.event
	FOR EACH ROW EXECUTE FUNCTION app.welcome_user();
RESET ROLE;
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SET ROLE regress_admin;
SELECT id, metadata FROM user_module.create_users('[{"id":"sub-u1","email":"u1@sub.test"},{"id":"other-u2","email":"u2@sub.test"}]');
-- the call returned the rows it created; the subscriber's update came after
SELECT id, metadata FROM user_module.list_users('{"id":["sub-u1","other-u2"]}');
RESET ROLE;
-- the subscriber's own event follows the ones that fired it
SELECT id - :mark AS n, name, entity_id FROM user_module.event WHERE id > :mark ORDER BY id;
DROP TRIGGER welcome_user ON user_module.event;

------------------------------------------------------------------------------
-- A SECURITY INVOKER subscriber runs as user_module_outbox
------------------------------------------------------------------------------

SET ROLE regress_admin;
CREATE FUNCTION app.report() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	RAISE NOTICE '% %: as %, search_path "%", may read users: %, is superuser: %',
		TG_OP, NEW.name, current_user, current_setting('search_path'),
		has_table_privilege('user_module."user"', 'SELECT'),
		(SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
	-- SET LOCAL inside a subscriber ends with the call (as in any function
	-- with a SET clause; a plain SET would outlive it)
	PERFORM set_config('search_path', 'app', true);
	RETURN NULL;
END
$$;
CREATE TRIGGER report AFTER INSERT ON user_module.event
	FOR EACH ROW EXECUTE FUNCTION app.report();
SELECT id FROM user_module.create_user('report@sub.test', id => 'report-u1');
SELECT current_setting('search_path') AS search_path_after_call;
RESET ROLE;
-- whoever calls, superuser included, the subscriber gets the same rights
SELECT id FROM user_module.update_user('report-u1', '{"first_name":"R"}');
SELECT current_user, current_setting('search_path') AS search_path_after_call;
DROP TRIGGER report ON user_module.event;

-- so it cannot reach what the extension owner could
SET ROLE regress_admin;
CREATE FUNCTION app.overreach() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM count(*) FROM user_module."user";
	RETURN NULL;
END
$$;
CREATE TRIGGER overreach AFTER INSERT ON user_module.event
	FOR EACH ROW EXECUTE FUNCTION app.overreach();
SELECT public.expect_error($$SELECT user_module.create_user('over@sub.test', id => 'over-u1')$$, '42501');
RESET ROLE;
SELECT public.expect_error($$SELECT user_module.create_user('over@sub.test', id => 'over-u1')$$, '42501');
SELECT count(*) AS created FROM user_module.list_users('{"id":"over-u1"}', with_deleted => true);
DROP TRIGGER overreach ON user_module.event;
-- nor set itself up as another role
SET ROLE regress_admin;
CREATE OR REPLACE FUNCTION app.overreach() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	SET ROLE postgres;
	RETURN NULL;
END
$$;
CREATE TRIGGER overreach AFTER INSERT ON user_module.event
	FOR EACH ROW EXECUTE FUNCTION app.overreach();
RESET ROLE;
SELECT public.expect_error($$SELECT user_module.create_user('over@sub.test', id => 'over-u1')$$, '42501');
DROP TRIGGER overreach ON user_module.event;

------------------------------------------------------------------------------
-- Delete triggers fire for claim_events and purge_events
------------------------------------------------------------------------------

SET ROLE regress_admin;
CREATE TABLE app.delivered (event_id bigint, name text, ran_as text);
CREATE FUNCTION app.record_delivery() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = app, pg_catalog
AS $$
BEGIN
	INSERT INTO delivered VALUES (OLD.id, OLD.name, current_user);
	RETURN NULL;
END
$$;
CREATE TRIGGER record_delivery AFTER DELETE ON user_module.event
	FOR EACH ROW EXECUTE FUNCTION app.record_delivery();
RESET ROLE;
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SET ROLE regress_admin;
SELECT count(*) AS claimed FROM user_module.claim_events(1000000);
SELECT id FROM user_module.create_user('d1@sub.test', id => 'sub-d1');
-- a worker that rolls back gives the event back, and its record goes too
BEGIN;
SELECT entity_id FROM user_module.claim_events(10);
ROLLBACK;
SELECT count(*) AS recorded_after_rollback FROM app.delivered WHERE event_id > :mark;
SELECT entity_id FROM user_module.claim_events(10);
-- purge_events deletes through the same trigger
SELECT id FROM user_module.create_user('d2@sub.test', id => 'sub-d2');
SELECT user_module.purge_events('0') AS purged;
RESET ROLE;
SELECT event_id - :mark AS n, name, ran_as FROM app.delivered WHERE event_id > :mark ORDER BY event_id;

------------------------------------------------------------------------------
-- Clean up
------------------------------------------------------------------------------

-- DROP TRIGGER takes the table's owner; an admin removes its subscribers by
-- dropping their functions with CASCADE
SET ROLE regress_admin;
SELECT public.expect_error($$DROP TRIGGER queue_invite_mail ON user_module.event$$, '42501');
SET client_min_messages = warning;
DROP FUNCTION app.queue_invite_mail(), app.record_delivery() CASCADE;
RESET client_min_messages;
RESET ROLE;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'user_module.event'::regclass;
SET client_min_messages = warning;
DROP SCHEMA app CASCADE;
RESET client_min_messages;
SELECT count(*) > 0 AS deleted FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users(with_deleted => true)));
SELECT count(*) > 0 AS deleted FROM user_module.delete_invites(ARRAY(SELECT id FROM user_module.list_invites(with_deleted => true)));
SELECT count(*) > 0 AS claimed FROM user_module.claim_events(1000000);
