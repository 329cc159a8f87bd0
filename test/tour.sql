-- The guided tour of user_module, run by test/tour (psql -X -q, as the
-- superuser of a throwaway cluster where CREATE EXTENSION has just run).
-- Each step prints a heading, the SQL it runs, and what came back.

\set ON_ERROR_STOP on
\pset footer off
\pset null '(null)'
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- Plumbing (\gset of ids and marks) stays quiet; the calls worth reading are echoed.
\set ECHO none
\set QUIET on

\echo
\echo '== 1. Create a user =========================================================='
\echo 'The email is trimmed and kept in the case given; the id is generated: user_ + ULID.'
\echo
\set ECHO queries
SELECT id, email, first_name, last_name, metadata
  FROM user_module.create_user('  Alice@Example.com ', 'Alice', 'Liddell',
                               metadata => '{"team": "ops", "plan": "free"}');
\set ECHO none
SELECT id AS alice FROM user_module.list_users('{"email": "alice@example.com"}') \gset

\echo
\echo 'Input is checked strictly; every rejection is SQLSTATE 22023:'
\set ON_ERROR_STOP off
\set ECHO queries
SELECT * FROM user_module.create_user('alice.example.com');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ECHO queries
SELECT * FROM user_module.create_users('[{"email": "x@example.com", "roles": ["admin"]}]');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on

\echo
\echo '== 2. Create several users in one call ======================================='
\echo 'A JSON array in, rows out in input order; all or nothing.'
\echo
\set ECHO queries
SELECT id, email, first_name, last_name
  FROM user_module.create_users('[
         {"email": "bob@example.com",   "first_name": "Bob",   "last_name": "Builder"},
         {"email": "carol@example.org", "first_name": "Carol", "last_name": "Smith"},
         {"email": "dave@example.org",  "first_name": "Dave",  "last_name": "Smith",
          "metadata": {"team": "sales"}}
       ]');
\set ECHO none
SELECT clock_timestamp() AS mark \gset
\echo
\echo 'A duplicate inside a batch fails the whole batch (23505), and nothing is written:'
\set ON_ERROR_STOP off
\set ECHO queries
SELECT id FROM user_module.create_users('[{"email": "erin@example.com"}, {"email": "ERIN@example.com"}]');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
\set ECHO queries
SELECT id, email, first_name FROM user_module.create_users('[{"email": "erin@example.com", "first_name": "Erin"}]');
SELECT user_module.count_users() AS live_users;
\set ECHO none

\echo
\echo '== 3. Search with q =========================================================='
\echo 'Every word must occur, case-insensitively, in first_name, last_name or email.'
\echo
\set ECHO queries
SELECT id, email, first_name, last_name FROM user_module.list_users('{"q": "smith"}');
SELECT id, email, first_name, last_name FROM user_module.list_users('{"q": "SMITH example.org car"}');
\set ECHO none
\echo
\echo '% and _ are plain characters, not wildcards (no email here contains "_"):'
\set ECHO queries
SELECT user_module.count_users('{"q": "_"}') AS matches;
\set ECHO none

\echo
\echo '== 4. Filters, paging and ordering ==========================================='
\echo 'email compares case-insensitively; an array means "any of".'
\echo
\set ECHO queries
SELECT id, email FROM user_module.list_users('{"email": ["BOB@EXAMPLE.COM", "dave@example.org"]}');
SELECT id, first_name FROM user_module.list_users('{"first_name": ["Carol", "Erin"], "last_name": "Smith"}');
\set ECHO none
\echo
\echo 'Time columns take $gt, $gte, $lt, $lte, $eq (here: users created after the batch above):'
\set ECHO queries
SELECT email FROM user_module.list_users(jsonb_build_object('created_at', jsonb_build_object('$gt', :'mark')));
\set ECHO none
\echo
\echo 'Paging: skip and take; order_by lists columns, "-" for descending, ties broken by id:'
\set ECHO queries
SELECT first_name, last_name, email FROM user_module.list_users(order_by => '-last_name,first_name');
SELECT first_name, last_name, email FROM user_module.list_users(order_by => '-last_name,first_name', skip => 1, take => 2);
SELECT user_module.count_users('{"last_name": "Smith"}') AS smiths;
\set ECHO none
\echo
\echo 'An unknown filter or column is an error, not an empty result:'
\set ON_ERROR_STOP off
\set ECHO queries
SELECT * FROM user_module.list_users('{"avatar_url": "x"}');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ECHO queries
SELECT * FROM user_module.list_users(order_by => 'password');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on

\echo
\echo '== 5. Update, with a metadata merge =========================================='
\echo 'Keys merge one level deep; a key set to "" is removed; JSON null clears all.'
\echo
SELECT updated_at AS alice_before FROM user_module.retrieve_user(:'alice') \gset
\set ECHO queries
SELECT metadata FROM user_module.retrieve_user(:'alice');
SELECT first_name, metadata, updated_at > :'alice_before' AS updated_at_moved
  FROM user_module.update_user(:'alice', '{"first_name": "Alicia", "metadata": {"plan": "pro", "team": ""}}');
\set ECHO none

\echo
\echo '== 6. An update that changes nothing ========================================='
\echo 'Same values again: the row comes back, updated_at stays, and no event is written'
\echo '(Alice still has one user.updated, from step 5).'
\echo
SELECT updated_at AS alice_before FROM user_module.retrieve_user(:'alice') \gset
\set ECHO queries
SELECT first_name, metadata, updated_at = :'alice_before' AS updated_at_unchanged
  FROM user_module.update_user(:'alice', '{"first_name": "Alicia", "metadata": {"plan": "pro"}}');
SELECT name FROM user_module.event WHERE entity_id = :'alice' ORDER BY id;
\set ECHO none

\echo
\echo '== 7. Soft delete, restore, and case-insensitive uniqueness =================='
\echo
\set ECHO queries
SELECT * FROM user_module.soft_delete_users(ARRAY[:'alice']);
\set ECHO none
\echo
\echo 'A soft-deleted user is gone from reads unless with_deleted => true:'
\set ON_ERROR_STOP off
\set ECHO queries
SELECT * FROM user_module.retrieve_user(:'alice');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
\set ECHO queries
SELECT email, deleted_at IS NOT NULL AS deleted FROM user_module.retrieve_user(:'alice', with_deleted => true);
\set ECHO none
\echo
\echo 'Its email is free again. A new user takes it, in another case:'
\set ECHO queries
SELECT id, email FROM user_module.create_user('ALICE@example.com', 'Alice', 'Newcomer');
\set ECHO none
\echo
\echo 'Restoring the old user would give two live users one email: 23505.'
\set ON_ERROR_STOP off
\set ECHO queries
SELECT * FROM user_module.restore_users(ARRAY[:'alice']);
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on

\echo
\echo '== 8. A workflow is a transaction; a savepoint undoes one step ==============='
\echo 'Step 1 creates Frank; step 2 updates him; step 3 fails. ROLLBACK TO SAVEPOINT'
\echo 'takes back steps 2 and 3, rows and events alike, and keeps step 1.'
\echo
\set ECHO queries
BEGIN;
SELECT id, email FROM user_module.create_user('frank@example.com', 'Frank');
\set ECHO none
SELECT id AS frank FROM user_module.list_users('{"email": "frank@example.com"}') \gset
\set ECHO queries
SAVEPOINT step_2;
SELECT first_name, metadata FROM user_module.update_user(:'frank', '{"metadata": {"onboarded": true}}');
SELECT name, entity_id FROM user_module.event WHERE entity_id = :'frank' ORDER BY id;
\set ECHO none
\set ON_ERROR_STOP off
\set ECHO queries
SELECT * FROM user_module.create_user('FRANK@example.com');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
\set ECHO queries
ROLLBACK TO SAVEPOINT step_2;
SELECT name, entity_id FROM user_module.event WHERE entity_id = :'frank' ORDER BY id;
COMMIT;
SELECT email, first_name, metadata FROM user_module.retrieve_user(:'frank');
\set ECHO none
\echo
\echo 'Without a savepoint, an error in any step takes back every step. Here a team is'
\echo 'created, one member invited, and the invite accepted with a forged token:'
\set ECHO none
SELECT user_module.count_users() AS users_before, user_module.count_invites() AS invites_before,
       (SELECT count(*) FROM user_module.event) AS events_before \gset
\set ECHO queries
BEGIN;
SELECT id, email FROM user_module.create_users('[{"email": "ivan@example.com"}, {"email": "judy@example.com"}]');
SELECT email, expires_at FROM user_module.create_invite('ken@example.com');
\set ECHO none
\set ON_ERROR_STOP off
\set ECHO queries
SELECT * FROM user_module.accept_invite('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZvcmdlZCJ9.c2lnbmF0dXJl');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
\set ECHO queries
ROLLBACK;
SELECT user_module.count_users() - :users_before AS users_added,
       user_module.count_invites() - :invites_before AS invites_added,
       (SELECT count(*) FROM user_module.event) - :events_before AS events_added;
\set ECHO none

\echo
\echo '== 9. Invites: from creation to acceptance ==================================='
\echo 'An invite gets a signed token that expires (a day by default). The token is never'
\echo 'stored: the invite keeps its jti and issue time, and the token is re-derived with'
\echo 'the server key whenever the invite is read.'
\echo
\set ECHO queries
SELECT id, email, accepted, expires_at, metadata
  FROM user_module.create_invite('heidi@example.com', '{"role": "editor"}');
\set ECHO none
SELECT id AS invite FROM user_module.list_invites('{"email": "heidi@example.com"}') \gset
-- Reading a token's claims (decoding, not verifying); and a mailbox for the links.
CREATE FUNCTION pg_temp.jws_part(token text, part integer) RETURNS json
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT convert_from(decode(rpad(s, (length(s) + 3) / 4 * 4, '='), 'base64'), 'UTF8')::json
    FROM translate(split_part(token, '.', part), '-_', '+/') AS s
$$;
CREATE TEMP TABLE mailbox (n integer GENERATED ALWAYS AS IDENTITY, link text);
CREATE TEMP VIEW links AS SELECT n, substring(link FROM 'token=(.*)$') AS token FROM mailbox;
\echo
\echo 'The token is a compact JWS (HS256). It changes with every run, so here are its'
\echo 'header and claims, decoded: id, email, iat, exp, jti, in that order; exp - iat'
\echo 'is user_module.invite_valid_duration, and exp is the invite''s expires_at.'
\set ECHO queries
SELECT pg_temp.jws_part(token, 1) AS header FROM user_module.retrieve_invite(:'invite');
SELECT key, value FROM user_module.retrieve_invite(:'invite') i, json_each(pg_temp.jws_part(i.token, 2));
SELECT (c->>'exp')::bigint - (c->>'iat')::bigint AS lifetime_seconds,
       to_timestamp((c->>'exp')::bigint) = expires_at AS exp_is_expires_at
  FROM (SELECT expires_at, pg_temp.jws_part(token, 2)::jsonb AS c
          FROM user_module.retrieve_invite(:'invite')) AS i;
\set ECHO none
\echo
\echo 'A worker that handles invite.created builds the link and mails it; the "mailbox"'
\echo 'here is a temporary table. The token is base64url: it goes into a URL as it is.'
\set ECHO queries
INSERT INTO mailbox (link)
SELECT 'https://admin.example.com/invite?token=' || token FROM user_module.retrieve_invite(:'invite');
SELECT n, left(link, 60) || '...' AS link, length(link) AS characters FROM mailbox;
\set ECHO none
\echo
\echo 'The sign-up page takes the token from the link and validates it:'
\set ECHO queries
SELECT id, email, accepted, expires_at
  FROM user_module.validate_invite_token((SELECT token FROM links WHERE n = 1));
\set ECHO none
\echo
\echo 'The mail got lost; the invite is refreshed ("resent"): a new jti, a new expiry,'
\echo 'and the new link goes out. The old link is dead at once: 22U01.'
\set ECHO queries
INSERT INTO mailbox (link)
SELECT 'https://admin.example.com/invite?token=' || token
  FROM user_module.refresh_invite_tokens(ARRAY[:'invite']);
SELECT n, left(link, 60) || '...' AS link FROM mailbox ORDER BY n;
SELECT (SELECT token FROM links WHERE n = 1) <> (SELECT token FROM links WHERE n = 2) AS new_token;
\set ECHO none
\set ON_ERROR_STOP off
\set ECHO queries
SELECT * FROM user_module.validate_invite_token((SELECT token FROM links WHERE n = 1));
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
\echo
\echo 'The sign-up page runs as a role in user_module_invitee: it may validate and accept'
\echo 'tokens, nothing else. Accepting creates the user with the invite''s email (there is'
\echo 'no email argument), marks the invite accepted and soft-deletes it, in one step:'
\set ECHO queries
CREATE ROLE tour_signup NOLOGIN IN ROLE user_module_invitee;
GRANT SELECT ON links TO tour_signup;
SET ROLE tour_signup;
SELECT id, email, first_name, last_name
  FROM user_module.accept_invite((SELECT token FROM links WHERE n = 2), 'Heidi', 'Jones');
\set ECHO none
\echo
\echo 'The same link again: already accepted, 22U03. Reading invites is not the sign-up'
\echo 'page''s business: 42501.'
\set ON_ERROR_STOP off
\set ECHO queries
SELECT * FROM user_module.accept_invite((SELECT token FROM links WHERE n = 2), 'Mallory');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ECHO queries
SELECT * FROM user_module.list_invites();
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
\set ECHO queries
RESET ROLE;
SELECT id, accepted, deleted_at IS NOT NULL AS deleted FROM user_module.retrieve_invite(:'invite', with_deleted => true);
\set ECHO none
\echo
\echo 'What the invite wrote to the outbox:'
\set ECHO queries
SELECT name, entity_id FROM user_module.event
 WHERE entity_id IN (:'invite', (SELECT id FROM user_module.list_users('{"email": "heidi@example.com"}')))
 ORDER BY id;
\set ECHO none

\echo
\echo '== 10. The outbox: events written, and a worker claiming them ================'
\echo 'One row per user or invite changed, in the same transaction as the change. Every'
\echo 'failed or rolled-back call above left none; the invite of step 9 left'
\echo 'invite.created, invite.resent, and user.created + invite.accepted for its'
\echo 'acceptance. (The tour reads the table as superuser; applications call'
\echo 'claim_events.)'
\echo
\set ECHO queries
SELECT id, name, entity_id, data FROM user_module.event ORDER BY id;
\set ECHO none
\echo
\echo 'With user_module.notify on, each event is also sent at commit on the channel'
\echo 'user_module_events. Any role that can connect may LISTEN, so the payload is the'
\echo 'event''s id and name only; a worker reads the rest from the outbox by that id:'
\set ECHO queries
LISTEN user_module_events;
SELECT id FROM user_module.create_user('grace@example.com', 'Grace');
UNLISTEN user_module_events;
SELECT id, name, entity_id FROM user_module.event ORDER BY id DESC LIMIT 1;
\set ECHO none
\echo
\echo 'A worker takes the oldest events with claim_events(max): delete and return, in'
\echo 'id order, skipping rows another worker holds (FOR UPDATE SKIP LOCKED).'
\echo 'A worker whose transaction aborts gives its events back:'
\set ECHO queries
BEGIN;
SELECT id, name, entity_id FROM user_module.claim_events(3);
ROLLBACK;
SELECT count(*) AS events_waiting FROM user_module.event;
\set ECHO none
\echo
\echo 'A worker that commits has taken them for good:'
\set ECHO queries
SELECT id, name, entity_id FROM user_module.claim_events(3);
SELECT count(*) AS events_waiting FROM user_module.event;
\set ECHO none
\echo
\echo 'A subscriber is a function (event user_module.event) RETURNS void that an'
\echo 'administrator registers with add_subscriber(handler, events): the module calls'
\echo 'it right after writing each event it subscribes to, in the same transaction'
\echo '(an error in it fails the call). It runs as the role that owns the function,'
\echo 'with search_path pg_catalog, pg_temp, so it names its objects with their schema.'
\echo 'Only a role with the privileges of the function''s owner may register it. This'
\echo 'one, owned by a mailer role that is an administrator, queues the invitation mail'
\echo 'for every invite.created:'
\set ECHO queries
CREATE ROLE tour_mailer NOLOGIN IN ROLE user_module_admin;
CREATE SCHEMA mail AUTHORIZATION tour_mailer;
SET ROLE tour_mailer;
CREATE TABLE mail.outgoing (invite_id text, email text, link text, queued_at timestamptz DEFAULT now());
CREATE FUNCTION mail.queue_invite_mail(event user_module.event) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO mail.outgoing (invite_id, email, link)
	SELECT id, email, 'https://admin.example.com/invite?token=' || token
	  FROM user_module.retrieve_invite(event.entity_id);
END $$;
SELECT handler, events FROM user_module.add_subscriber('mail.queue_invite_mail(user_module.event)', ARRAY['invite.created']);
SELECT email FROM user_module.create_invites('[{"email": "leo@example.com"}, {"email": "mia@example.com"}]');
SELECT email, left(link, 60) || '...' AS link FROM mail.outgoing ORDER BY email;
RESET ROLE;
SELECT handler, events FROM user_module.list_subscribers();
\set ECHO none
\echo
\echo 'A subscriber that fails takes the whole call back with it: with the mail queue'
\echo 'refusing addresses at example.net, that invite is not created either.'
\set ECHO queries
ALTER TABLE mail.outgoing ADD CHECK (email NOT LIKE '%@example.net');
\set ECHO none
\set ON_ERROR_STOP off
\set VERBOSITY terse
\set ECHO queries
SELECT email FROM user_module.create_invite('nina@example.net');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set VERBOSITY default
\set ON_ERROR_STOP on
\set ECHO queries
SELECT count(*) AS invites_for_nina FROM user_module.list_invites('{"email": "nina@example.net"}');
SELECT user_module.remove_subscriber('mail.queue_invite_mail(user_module.event)') AS removed;
SELECT count(*) AS subscribers FROM user_module.list_subscribers();
\set ECHO none
\echo
\echo 'When nobody claims events, purge_events(retention) keeps the outbox bounded;'
\echo 'the README shows how to run it nightly with pg_cron.'
\set ECHO queries
SELECT user_module.purge_events('7 days') AS purged_older_than_a_week;
SELECT user_module.purge_events('0') AS purged_all;
\set ECHO none

\echo
\echo '== 11. Privileges ============================================================'
\echo 'Nothing is granted to PUBLIC. A role that is a member of user_module_reader may'
\echo 'retrieve, list and count users and invites, and nothing else; it never sees a'
\echo 'token, and it cannot touch the tables.'
\echo
\set ECHO queries
CREATE ROLE tour_dashboard NOLOGIN IN ROLE user_module_reader;
SET ROLE tour_dashboard;
SELECT first_name, email FROM user_module.list_users('{"q": "smith"}');
SELECT email, accepted, token FROM user_module.list_invites(with_deleted => true);
\set ECHO none
\set ON_ERROR_STOP off
\set ECHO queries
SELECT * FROM user_module.create_user('mallory@example.com');
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ECHO queries
SELECT count(*) FROM user_module."user";
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ECHO queries
SELECT * FROM user_module.claim_events();
\set ECHO none
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
\set ECHO queries
RESET ROLE;
\set ECHO none

\echo
\echo '== End of the tour. The README has the reference of every function. =========='
