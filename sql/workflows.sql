--
-- workflows: transactions are the workflows.
--
-- Medusa composes module calls into workflows (createUsersWorkflow,
-- createInvitesWorkflow, acceptInviteWorkflow, ...) and undoes the steps that
-- ran when a later one fails, by running each step's compensation backwards
-- (createUsersStep: deleteUsers; createInviteStep: deleteInvites; emitEventStep:
-- clearGroupedEvents). Here every user_module function is one atomic step and
-- PostgreSQL's transaction is the workflow: this file proves that
--   a. an error in the last step of a multi-step transaction (create users,
--      create invites, accept one with its token, update a user) rolls back
--      every step: no users, no invites, no events, and the ids and emails are
--      free again;
--   b. SAVEPOINT / ROLLBACK TO SAVEPOINT undoes exactly one step and its
--      events, and the rest commits with exactly its events;
--   c. a PL/pgSQL exception block is such a savepoint: a function tries each
--      step, catches 23505, 22023 and the token codes 22U01/22U02/22U03 by
--      SQLSTATE, records them, and keeps the other steps; an error it does not
--      catch undoes the whole call;
--   d. an accepted invite in a transaction that then fails is live, not
--      accepted, and its token valid again after the rollback;
--   e. a Medusa-style "create user and send invites" workflow written as one
--      function is all or nothing.
-- NOTIFY at commit is tested in test/specs/notify.spec.
--
-- Event ids are printed relative to a mark (the last id the sequence gave).
-- A sequence is not transactional: ids taken by undone events stay used, so
-- an undone step shows as a gap. Ids the module generates (the user that
-- accept_invite creates) are printed as <user EMAIL>, tokens never.
--

-- an entity id as printed: a generated user id as the user's email
CREATE FUNCTION pg_temp.label(entity_id text) RETURNS text
LANGUAGE sql
AS $$
	SELECT CASE WHEN entity_id ~ '^user_[0-9A-HJKMNP-TV-Z]{26}$'
	            THEN coalesce((SELECT '<user ' || u.email || '>'
	                             FROM user_module.list_users(jsonb_build_object('id', entity_id), with_deleted => true) u),
	                          '<deleted user>')
	            ELSE entity_id END
$$;
-- the events written since the mark, in order
CREATE FUNCTION pg_temp.events_since(mark bigint)
RETURNS TABLE (n bigint, name text, entity text)
LANGUAGE sql
AS $$
	SELECT e.id - mark, e.name, pg_temp.label(e.entity_id)
	  FROM user_module.event e WHERE e.id > mark ORDER BY e.id
$$;
-- what is left of the rows a section used (ids and emails start with the prefix)
CREATE FUNCTION pg_temp.left_over(prefix text)
RETURNS TABLE (users bigint, invites bigint)
LANGUAGE sql
AS $$
	SELECT (SELECT count(*) FROM user_module.list_users(jsonb_build_object('q', prefix), with_deleted => true)),
	       (SELECT count(*) FROM user_module.list_invites(jsonb_build_object('q', prefix), with_deleted => true))
$$;

------------------------------------------------------------------------------
-- a. A failing last step rolls back every step and every event
------------------------------------------------------------------------------

SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
BEGIN;
SELECT id, email FROM user_module.create_users('[{"id":"wf-a-u1","email":"wf-a-u1@wf.test"},{"id":"wf-a-u2","email":"wf-a-u2@wf.test"}]');
SELECT id, email FROM user_module.create_invites('[{"id":"wf-a-i1","email":"wf-a-i1@wf.test"},{"id":"wf-a-i2","email":"wf-a-i2@wf.test"}]');
SELECT u.email, u.first_name FROM user_module.retrieve_invite('wf-a-i1') i, user_module.accept_invite(i.token, 'Accepted') u;
SELECT id, first_name FROM user_module.update_user('wf-a-u2', '{"first_name":"Updated"}');
-- inside the transaction: every step's events
SELECT * FROM pg_temp.events_since(:mark);
-- the last step fails: 23505, the accepted invite's email now belongs to a user
SELECT user_module.create_user('WF-A-I1@wf.test', id => 'wf-a-u3');
SELECT 'not run';
-- COMMIT of a failed transaction rolls it back
COMMIT;
SELECT * FROM pg_temp.left_over('wf-a-');
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;

-- The same steps again (so the ids and emails were free), failing on an
-- invalid token (22U01): a token whose signature was altered.
BEGIN;
SELECT id, email FROM user_module.create_users('[{"id":"wf-a-u1","email":"wf-a-u1@wf.test"},{"id":"wf-a-u2","email":"wf-a-u2@wf.test"}]');
SELECT id, email FROM user_module.create_invites('[{"id":"wf-a-i1","email":"wf-a-i1@wf.test"},{"id":"wf-a-i2","email":"wf-a-i2@wf.test"}]');
SELECT u.email, u.first_name FROM user_module.retrieve_invite('wf-a-i1') i, user_module.accept_invite(i.token, 'Accepted') u;
SELECT id, first_name FROM user_module.update_user('wf-a-u2', '{"first_name":"Updated"}');
SELECT count(*) AS events_inside FROM user_module.event WHERE id > :mark;
SELECT u.email FROM user_module.retrieve_invite('wf-a-i2') i, user_module.accept_invite(i.token || 'x') u;
COMMIT;
SELECT * FROM pg_temp.left_over('wf-a-');
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;
-- the emails may be invited (and the ids used) again
BEGIN;
SELECT id, email, accepted FROM user_module.create_invites('[{"id":"wf-a-i1","email":"wf-a-i1@wf.test"},{"id":"wf-a-i2","email":"WF-A-I2@wf.test"},{"id":"wf-a-i3","email":"wf-a-u1@wf.test"}]');
ROLLBACK;
SELECT * FROM pg_temp.left_over('wf-a-');
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;

------------------------------------------------------------------------------
-- b. ROLLBACK TO SAVEPOINT undoes one step and its events, the rest commits
------------------------------------------------------------------------------

SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
BEGIN;
SELECT id, email FROM user_module.create_users('[{"id":"wf-b-u1","email":"wf-b-u1@wf.test"},{"id":"wf-b-u2","email":"wf-b-u2@wf.test"}]');
SELECT id, email FROM user_module.create_invites('[{"id":"wf-b-i1","email":"wf-b-i1@wf.test"},{"id":"wf-b-i2","email":"wf-b-i2@wf.test"}]');
-- a step that fails at once (an invalid token): nothing to undo but the error
SAVEPOINT accept_step;
SELECT user_module.accept_invite('not.a.token');
ROLLBACK TO SAVEPOINT accept_step;
SELECT u.email, u.first_name FROM user_module.retrieve_invite('wf-b-i1') i, user_module.accept_invite(i.token, 'Bee') u;
-- a step of two calls whose second fails (23505: the email of the user just
-- made from the invite): the first call and its event are undone as well
SAVEPOINT update_step;
SELECT id, first_name FROM user_module.update_user('wf-b-u1', '{"first_name":"Undone"}');
SELECT id FROM user_module.update_user('wf-b-u2', '{"email":"WF-B-I1@wf.test"}');
ROLLBACK TO SAVEPOINT update_step;
SELECT id, first_name FROM user_module.update_user('wf-b-u2', '{"first_name":"Kept"}');
COMMIT;
-- exactly the events of the steps that stayed; 7 was the undone update's
SELECT * FROM pg_temp.events_since(:mark);
SELECT pg_temp.label(id) AS id, email, first_name, deleted_at IS NULL AS live
  FROM user_module.list_users('{"q":"wf-b-"}', order_by => 'email', with_deleted => true);
SELECT id, email, accepted, deleted_at IS NULL AS live
  FROM user_module.list_invites('{"q":"wf-b-"}', with_deleted => true);

------------------------------------------------------------------------------
-- c. Exception blocks: try each step, record the failures, keep the rest
------------------------------------------------------------------------------

CREATE SCHEMA wf;
-- the steps of a run, each one or more statements
CREATE TABLE wf.steps (run text, n integer, label text, stmt text, PRIMARY KEY (run, n));
-- what became of each step
CREATE TABLE wf.log (run text, n integer, label text, outcome text, sqlstate text, message text);

-- Each step runs in its own BEGIN ... EXCEPTION block, which is a
-- subtransaction: a step that fails is undone with its events, and the steps
-- before and after it stay. The module's own codes are caught by SQLSTATE
-- (they have no condition names); GET STACKED DIAGNOSTICS tells which.
-- Any other error is not caught, and undoes the whole call.
CREATE FUNCTION wf.run(run_name text) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
	s wf.steps;
	outcome text;
	st text;
	msg text;
	failures integer := 0;
BEGIN
	FOR s IN SELECT * FROM wf.steps WHERE run = run_name ORDER BY n LOOP
		BEGIN
			EXECUTE s.stmt;
			outcome := 'done';
			st := NULL;
			msg := NULL;
		EXCEPTION
			WHEN unique_violation THEN
				outcome := 'duplicate';
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			WHEN invalid_parameter_value THEN
				outcome := 'bad input';
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			WHEN SQLSTATE '22U01' THEN
				outcome := 'invalid token';
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			WHEN SQLSTATE '22U02' THEN
				outcome := 'expired token';
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			WHEN SQLSTATE '22U03' THEN
				outcome := 'already accepted';
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		END;
		-- after the block: written whether the step stayed or was undone
		INSERT INTO wf.log VALUES (run_name, s.n, s.label, outcome, st, msg);
		IF st IS NOT NULL THEN
			failures := failures + 1;
		END IF;
	END LOOP;
	RETURN failures;
END
$$;

-- an invite that has expired (its expires_at passed, as Medusa's test sets it)
SELECT id FROM user_module.create_invite('wf-c-old@wf.test', id => 'wf-c-old');
UPDATE user_module.invite SET expires_at = now() - interval '1 day' WHERE id = 'wf-c-old';

INSERT INTO wf.steps VALUES
	('c', 1, 'create users',
	 $$SELECT user_module.create_users('[{"id":"wf-c-u1","email":"wf-c-u1@wf.test"},{"id":"wf-c-u2","email":"wf-c-u2@wf.test"}]')$$),
	('c', 2, 'create invites',
	 $$SELECT user_module.create_invites('[{"id":"wf-c-i1","email":"wf-c-i1@wf.test"},{"id":"wf-c-i2","email":"wf-c-i2@wf.test"}]')$$),
	('c', 3, 'invite a user',
	 $$SELECT user_module.create_invite('WF-C-U1@wf.test', id => 'wf-c-i3')$$),
	('c', 4, 'add a user, accept a forged token',
	 $$SELECT user_module.create_user('wf-c-u3@wf.test', id => 'wf-c-u3');
	   SELECT user_module.accept_invite('eyJhbGciOiJub25lIn0.e30.')$$),
	('c', 5, 'accept an invite',
	 $$SELECT user_module.accept_invite(token, 'Cee') FROM user_module.retrieve_invite('wf-c-i1')$$),
	('c', 6, 'accept it again',
	 $$SELECT user_module.accept_invite(token) FROM user_module.retrieve_invite('wf-c-i1', with_deleted => true)$$),
	('c', 7, 'accept an expired invite',
	 $$SELECT user_module.accept_invite(token) FROM user_module.retrieve_invite('wf-c-old')$$),
	('c', 8, 'rename a user, give another a bad email',
	 $$SELECT user_module.update_user('wf-c-u2', '{"first_name":"Undone"}');
	   SELECT user_module.update_user('wf-c-u1', '{"email":"not an email"}')$$),
	('c', 9, 'update a user',
	 $$SELECT user_module.update_user('wf-c-u1', '{"first_name":"Kept"}')$$);

SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SELECT wf.run('c') AS failures;
SELECT n, label, outcome, sqlstate, message FROM wf.log WHERE run = 'c' ORDER BY n;
-- the events of the steps that stayed (gaps: the undone steps' events)
SELECT * FROM pg_temp.events_since(:mark);
SELECT pg_temp.label(id) AS id, email, first_name, deleted_at IS NULL AS live
  FROM user_module.list_users('{"q":"wf-c-"}', order_by => 'email', with_deleted => true);
SELECT id, email, accepted, deleted_at IS NULL AS live
  FROM user_module.list_invites('{"q":"wf-c-"}', with_deleted => true);

-- An error no handler catches (P0002, no such user) undoes the whole call:
-- the steps that had succeeded, their events and their log rows.
INSERT INTO wf.steps VALUES
	('c-uncaught', 1, 'create a user', $$SELECT user_module.create_user('wf-c-u9@wf.test', id => 'wf-c-u9')$$),
	('c-uncaught', 2, 'update a missing user', $$SELECT user_module.update_user('wf-c-missing', '{"first_name":"X"}')$$),
	('c-uncaught', 3, 'never reached', $$SELECT user_module.create_user('wf-c-u10@wf.test', id => 'wf-c-u10')$$);
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SELECT public.expect_error($$SELECT wf.run('c-uncaught')$$, 'P0002');
SELECT count(*) AS log_rows FROM wf.log WHERE run = 'c-uncaught';
SELECT user_module.count_users('{"id":["wf-c-u9","wf-c-u10"]}', with_deleted => true) AS users;
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;

------------------------------------------------------------------------------
-- d. An accept inside a transaction that then fails is undone
------------------------------------------------------------------------------

SELECT id FROM user_module.create_invite('wf-d@wf.test', '{"team":"d"}', 'wf-d-i');
CREATE TEMP TABLE wf_d_token AS SELECT token FROM user_module.retrieve_invite('wf-d-i');
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
BEGIN;
SELECT u.email, u.first_name FROM wf_d_token t, user_module.accept_invite(t.token, 'Dee') u;
-- inside: accepted (and so soft-deleted); the token is spent
SELECT accepted, deleted_at IS NOT NULL AS deleted FROM user_module.retrieve_invite('wf-d-i', with_deleted => true);
SELECT public.expect_error(format('SELECT user_module.validate_invite_token(%L)', token), '22U03') FROM wf_d_token;
SELECT * FROM pg_temp.events_since(:mark);
-- the workflow's next step fails: 23505, a live user has the email now
SELECT user_module.create_invite('wf-d@wf.test', id => 'wf-d-again');
COMMIT;
-- after: live, not accepted, no user, no event, and the same token validates
SELECT id, email, accepted, deleted_at IS NULL AS live, metadata FROM user_module.retrieve_invite('wf-d-i');
SELECT v.id, v.accepted, v.token = t.token AS same_token FROM wf_d_token t, user_module.validate_invite_token(t.token) v;
SELECT user_module.count_users('{"email":"wf-d@wf.test"}', with_deleted => true) AS users;
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;
-- and it can be accepted for good
SELECT u.email, u.first_name FROM wf_d_token t, user_module.accept_invite(t.token, 'Dee') u;
SELECT * FROM pg_temp.events_since(:mark);
DROP TABLE wf_d_token;

------------------------------------------------------------------------------
-- e. A Medusa-style workflow as one function: all or nothing
------------------------------------------------------------------------------

-- Medusa                                   | here
-- -----------------------------------------+-------------------------------------------
-- createWorkflow(..., steps)               | a function: one transaction (or, called
--                                          | inside one, part of it)
-- step (createUsersStep, createInviteStep) | a user_module call
-- compensation (deleteUsers, deleteInvites)| none to write: an error rolls back every
--   run backwards when a later step fails  | earlier step and every event it wrote
-- emitEventStep, released when the run     | user_module.event rows, visible (and
--   completes, cleared on failure          | NOTIFY sent) only at commit
-- invite.created: the hook that e-mails    | the same event, for a worker to claim
--
-- create_user_and_send_invites: createUsersWorkflow for one user, then
-- createInvitesWorkflow for each email (metadata.invited_by = the new user),
-- then updateUsersWorkflow recording how many were sent.
CREATE FUNCTION wf.create_user_and_send_invites(new_user jsonb, emails text[])
RETURNS TABLE (step text, entity_id text)
LANGUAGE plpgsql
AS $$
DECLARE
	u user_module."user";
	e text;
	n bigint;
BEGIN
	SELECT * INTO STRICT u FROM user_module.create_users(jsonb_build_array(new_user));
	step := 'user created';
	entity_id := u.id;
	RETURN NEXT;
	FOR e, n IN SELECT * FROM unnest(emails) WITH ORDINALITY LOOP
		SELECT i.id INTO entity_id
		  FROM user_module.create_invite(e, jsonb_build_object('invited_by', u.id), u.id || '-inv' || n) i;
		step := 'invite created';
		RETURN NEXT;
	END LOOP;
	PERFORM user_module.update_user(u.id, jsonb_build_object('metadata', jsonb_build_object('invites_sent', cardinality(emails))));
	step := 'user updated';
	entity_id := u.id;
	RETURN NEXT;
END
$$;

SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SELECT * FROM wf.create_user_and_send_invites('{"id":"wf-e-u1","email":"wf-e-u1@wf.test","first_name":"Eve"}',
                                              ARRAY['wf-e-1@wf.test', 'wf-e-2@wf.test']);
SELECT * FROM pg_temp.events_since(:mark);
SELECT id, email, metadata FROM user_module.list_users('{"q":"wf-e-"}', with_deleted => true);
SELECT id, email, metadata FROM user_module.list_invites('{"q":"wf-e-"}', with_deleted => true);

-- Failing midway: the user and the first invite are made, the second email
-- already has a live invite (23505). Nothing of the call is left.
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SELECT * FROM wf.create_user_and_send_invites('{"id":"wf-e-u2","email":"wf-e-u2@wf.test"}',
                                              ARRAY['wf-e-3@wf.test', 'WF-E-1@wf.test', 'wf-e-4@wf.test']);
\echo :LAST_ERROR_SQLSTATE
SELECT user_module.count_users('{"id":"wf-e-u2"}', with_deleted => true) AS users,
       user_module.count_invites('{"email":["wf-e-3@wf.test","wf-e-4@wf.test"]}', with_deleted => true) AS invites,
       user_module.count_invites('{"id":["wf-e-u2-inv1","wf-e-u2-inv2","wf-e-u2-inv3"]}', with_deleted => true) AS invites_of_u2;
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;
-- within an outer transaction, under a savepoint, the failed call is undone
-- alone and the caller goes on
BEGIN;
SAVEPOINT call;
SELECT * FROM wf.create_user_and_send_invites('{"id":"wf-e-u2","email":"wf-e-u2@wf.test"}',
                                              ARRAY['wf-e-3@wf.test', 'WF-E-1@wf.test']);
ROLLBACK TO SAVEPOINT call;
SELECT * FROM wf.create_user_and_send_invites('{"id":"wf-e-u2","email":"wf-e-u2@wf.test"}',
                                              ARRAY['wf-e-3@wf.test']);
COMMIT;
SELECT * FROM pg_temp.events_since(:mark);

------------------------------------------------------------------------------
-- Clean up: this file's rows, schema and events
------------------------------------------------------------------------------

SET client_min_messages = warning;
DROP SCHEMA wf CASCADE;
RESET client_min_messages;
SELECT count(*) > 0 AS deleted
  FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users('{"q":"@wf.test"}', with_deleted => true)));
SELECT count(*) > 0 AS deleted
  FROM user_module.delete_invites(ARRAY(SELECT id FROM user_module.list_invites('{"q":"@wf.test"}', with_deleted => true)));
SELECT * FROM pg_temp.left_over('@wf.test');
SELECT count(*) FROM user_module.claim_events(1000000) \g /dev/null
