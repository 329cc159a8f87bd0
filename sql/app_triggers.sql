--
-- app_triggers: an application's triggers as callers of the module.
--
-- app.staff is an application table. Its BEFORE INSERT trigger invites each
-- new member (user_module.create_invite with {"staff_name": name}) and stores
-- the invite's id in the row; its AFTER UPDATE trigger, when left_at is set,
-- withdraws the pending invite (soft_delete_invites) and deactivates the
-- account made from it (soft_delete_users). This file proves that
--   * inserting staff rows creates invites and invite.created events;
--   * a multi-row INSERT in which one row's email is invalid (22023) or taken
--     by a live invite or user (23505) fails as a whole: no staff rows, no
--     invites, no events, and the client gets the contract's SQLSTATE;
--   * the trigger runs as the role that writes the table (current_user), not
--     as the table's owner: a writer that is not in user_module_admin gets
--     42501 and leaves nothing behind, the same writer granted
--     user_module_admin succeeds;
--   * the AFTER UPDATE trigger's calls and events belong to the UPDATE, and
--     fail with it.
-- Generated ids are printed as "invite of <staff email>" or "<user EMAIL>".
--

SET client_min_messages = warning;
DROP ROLE IF EXISTS um_test_hr;
DROP ROLE IF EXISTS um_test_clerk;
RESET client_min_messages;
-- may write staff rows and invite (user_module_admin)
CREATE ROLE um_test_hr IN ROLE user_module_admin;
-- may write staff rows, but is in none of the module's roles
CREATE ROLE um_test_clerk;

CREATE SCHEMA app;
CREATE TABLE app.staff (
	id serial PRIMARY KEY,
	email text NOT NULL,
	name text,
	invite_id text,
	left_at timestamptz
);
GRANT USAGE ON SCHEMA app TO um_test_hr, um_test_clerk;
GRANT SELECT, INSERT, UPDATE ON app.staff TO um_test_hr, um_test_clerk;
GRANT USAGE ON SEQUENCE app.staff_id_seq TO um_test_hr, um_test_clerk;

-- BEFORE INSERT: invite the new member, keep the invite's id in the row.
-- Not SECURITY DEFINER: it runs as whoever inserts.
CREATE FUNCTION app.staff_invite() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	SELECT i.id INTO NEW.invite_id
	  FROM user_module.create_invite(NEW.email, jsonb_build_object('staff_name', NEW.name)) i;
	RETURN NEW;
END
$$;
CREATE TRIGGER staff_invite BEFORE INSERT ON app.staff
	FOR EACH ROW EXECUTE FUNCTION app.staff_invite();

-- AFTER UPDATE, when left_at is set: withdraw a pending invite (an accepted
-- one is already soft-deleted) and deactivate the user with the email.
CREATE FUNCTION app.staff_left() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM user_module.soft_delete_invites(ARRAY[NEW.invite_id]);
	PERFORM user_module.soft_delete_users(ARRAY(
		SELECT u.id FROM user_module.list_users(jsonb_build_object('email', NEW.email)) u));
	RETURN NULL;
END
$$;
CREATE TRIGGER staff_left AFTER UPDATE OF left_at ON app.staff
	FOR EACH ROW WHEN (OLD.left_at IS NULL AND NEW.left_at IS NOT NULL)
	EXECUTE FUNCTION app.staff_left();

-- an entity id as printed: a staff member's invite, a generated user
CREATE FUNCTION pg_temp.label(entity_id text) RETURNS text
LANGUAGE sql
AS $$
	SELECT coalesce((SELECT 'invite of ' || s.email FROM app.staff s WHERE s.invite_id = entity_id),
	                (SELECT '<user ' || u.email || '>'
	                   FROM user_module.list_users(jsonb_build_object('id', entity_id), with_deleted => true) u
	                  WHERE entity_id ~ '^user_[0-9A-HJKMNP-TV-Z]{26}$'),
	                entity_id)
$$;
CREATE FUNCTION pg_temp.events_since(mark bigint)
RETURNS TABLE (n bigint, name text, entity text)
LANGUAGE sql
AS $$
	SELECT e.id - mark, e.name, pg_temp.label(e.entity_id)
	  FROM user_module.event e WHERE e.id > mark ORDER BY e.id
$$;
-- staff rows and invites for the emails of this file (@staff.test)
CREATE FUNCTION pg_temp.state()
RETURNS TABLE (staff bigint, invites bigint, users bigint)
LANGUAGE sql
AS $$
	SELECT (SELECT count(*) FROM app.staff),
	       (SELECT count(*) FROM user_module.list_invites('{"q":"@staff.test"}', with_deleted => true)),
	       (SELECT count(*) FROM user_module.list_users('{"q":"@staff.test"}', with_deleted => true))
$$;

-- who may do what: both may write staff rows, only um_test_hr may invite
SELECT r AS role,
       has_table_privilege(r, 'app.staff', 'INSERT') AS insert_staff,
       has_function_privilege(r, 'user_module.create_invite(text, jsonb, text)', 'EXECUTE') AS create_invite,
       has_function_privilege(r, 'user_module.soft_delete_invites(text[])', 'EXECUTE') AS soft_delete_invites
  FROM unnest(ARRAY['um_test_hr', 'um_test_clerk']) r;

------------------------------------------------------------------------------
-- Inserting staff invites them
------------------------------------------------------------------------------

SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SET ROLE um_test_hr;
INSERT INTO app.staff (email, name) VALUES ('ann@staff.test', 'Ann'), ('Bob@Staff.test', 'Bob')
RETURNING email, name, invite_id IS NOT NULL AS invited;
RESET ROLE;
-- each row holds the id of its invite, made with the row's email and name
SELECT s.email, i.email AS invite_email, i.metadata, i.accepted, i.deleted_at IS NULL AS live
  FROM app.staff s JOIN user_module.list_invites('{"q":"@staff.test"}') i ON i.id = s.invite_id
 ORDER BY lower(s.email);
SELECT * FROM pg_temp.events_since(:mark);

------------------------------------------------------------------------------
-- One bad row fails the whole statement, with the contract's SQLSTATE
------------------------------------------------------------------------------

-- a live user, whose email cannot be invited
SELECT id FROM user_module.create_user('frank@staff.test', id => 'um-test-frank');
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SET ROLE um_test_hr;
-- an invalid email (22023) in the second row: the first row's invite goes too
INSERT INTO app.staff (email, name) VALUES ('cat@staff.test', 'Cat'), ('dan at staff.test', 'Dan');
\echo :LAST_ERROR_SQLSTATE
-- the email of a live invite, in another case (23505)
INSERT INTO app.staff (email, name) VALUES ('cat@staff.test', 'Cat'), ('ANN@staff.test', 'Ann again');
\echo :LAST_ERROR_SQLSTATE
-- two rows of the statement with one email (23505)
INSERT INTO app.staff (email, name) VALUES ('eve@staff.test', 'Eve'), ('gil@staff.test', 'Gil'), ('Eve@Staff.Test', 'Eve too');
\echo :LAST_ERROR_SQLSTATE
-- the email of a live user (23505)
INSERT INTO app.staff (email, name) VALUES ('cat@staff.test', 'Cat'), ('frank@staff.test', 'Frank');
\echo :LAST_ERROR_SQLSTATE
-- INSERT ... SELECT is one statement too
INSERT INTO app.staff (email, name)
SELECT e, initcap(split_part(e, '@', 1)) FROM unnest(ARRAY['hal@staff.test', 'ivy@staff.test', 'bob@staff.test']) e;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- nothing of any of them: still two staff rows, their two invites, and Frank
SELECT email FROM app.staff ORDER BY lower(email);
SELECT * FROM pg_temp.state();
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;

------------------------------------------------------------------------------
-- The trigger runs as the writer: EXECUTE on create_invite is needed
------------------------------------------------------------------------------

SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SET ROLE um_test_clerk;
SELECT current_user;
-- the table's owner (the superuser) could invite; the writer cannot (42501:
-- "permission denied for function create_invite" here, where the trigger's
-- statement was planned before by um_test_hr; "for schema user_module" where
-- the writer is the first to plan it, as in the UPDATE below)
INSERT INTO app.staff (email, name) VALUES ('jo@staff.test', 'Jo');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM pg_temp.state();
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;
-- the same writer, granted user_module_admin
GRANT user_module_admin TO um_test_clerk;
SET ROLE um_test_clerk;
INSERT INTO app.staff (email, name) VALUES ('jo@staff.test', 'Jo')
RETURNING email, invite_id IS NOT NULL AS invited;
RESET ROLE;
REVOKE user_module_admin FROM um_test_clerk;
SELECT * FROM pg_temp.state();
SELECT * FROM pg_temp.events_since(:mark);

------------------------------------------------------------------------------
-- AFTER UPDATE: leaving withdraws the invite, or deactivates the account
------------------------------------------------------------------------------

-- Ann accepts her invite
SELECT u.email, u.first_name
  FROM app.staff s, user_module.retrieve_invite(s.invite_id) i,
       user_module.accept_invite(i.token, i.metadata->>'staff_name') u
 WHERE s.email = 'ann@staff.test';
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
-- an update that does not set left_at calls nothing
SET ROLE um_test_hr;
UPDATE app.staff SET name = 'Robert' WHERE email = 'Bob@Staff.test';
RESET ROLE;
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;
-- a writer without the module's roles cannot let anyone leave: 42501, and
-- the UPDATE is undone with the trigger
SET ROLE um_test_clerk;
UPDATE app.staff SET left_at = now() WHERE email = 'jo@staff.test';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT email, left_at IS NULL AS still_here FROM app.staff WHERE email = 'jo@staff.test';
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;
-- Ann (accepted) and Bob (pending) leave
SET ROLE um_test_hr;
UPDATE app.staff SET left_at = now() WHERE email IN ('ann@staff.test', 'Bob@Staff.test');
RESET ROLE;
SELECT * FROM pg_temp.events_since(:mark);
SELECT s.email, s.left_at IS NOT NULL AS has_left, i.accepted, i.deleted_at IS NULL AS invite_live,
       coalesce((SELECT CASE WHEN u.deleted_at IS NULL THEN 'live' ELSE 'deleted' END
                   FROM user_module.list_users(jsonb_build_object('email', s.email), with_deleted => true) u), 'none') AS "user"
  FROM app.staff s JOIN user_module.list_invites('{"q":"@staff.test"}', with_deleted => true) i ON i.id = s.invite_id
 ORDER BY lower(s.email);

------------------------------------------------------------------------------
-- Clean up: the schema, this file's rows and events, the roles
------------------------------------------------------------------------------

SET client_min_messages = warning;
DROP SCHEMA app CASCADE;
RESET client_min_messages;
SELECT count(*) AS deleted
  FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users('{"q":"@staff.test"}', with_deleted => true)));
SELECT count(*) AS deleted
  FROM user_module.delete_invites(ARRAY(SELECT id FROM user_module.list_invites('{"q":"@staff.test"}', with_deleted => true)));
SELECT count(*) FROM user_module.claim_events(1000000) \g /dev/null
DROP OWNED BY um_test_hr, um_test_clerk;
DROP ROLE um_test_hr;
DROP ROLE um_test_clerk;
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname LIKE 'um\_test\_%';
