--
-- users: the normal path of every user function.
--
-- Output avoids what changes from run to run: generated ids are checked with
-- a pattern and by their order, timestamps by comparison, event ids relative
-- to a mark taken with \gset.
--

------------------------------------------------------------------------------
-- Medusa's module tests (packages/modules/user/integration-tests, user.spec.ts
-- U2-U14), translated. Each ran on an empty database, so each runs here in a
-- transaction that is rolled back. Fixture: [{id:"1", email:"user_1@test.com"},
-- {id:"2", email:"user_2@test.com"}].
------------------------------------------------------------------------------

SELECT count(*) AS users_before FROM user_module."user";

-- U2: should list users (default order: id)
BEGIN;
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT id, email FROM user_module.list_users();
ROLLBACK;

-- U3: should list users by id
BEGIN;
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT id, email FROM user_module.list_users('{"id":["1"]}');
ROLLBACK;

-- U4: should list and count users
BEGIN;
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT user_module.count_users() AS count;
SELECT id FROM user_module.list_users();
ROLLBACK;

-- U5: should list and count users by id (a scalar id)
BEGIN;
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT user_module.count_users('{"id":"1"}') AS count;
SELECT id FROM user_module.list_users('{"id":"1"}');
ROLLBACK;

-- U6: should return a user for the given id
-- U7: should throw when the user does not exist
-- U8: should throw when no id is given
-- U9: select only the id
BEGIN;
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT id, email FROM user_module.retrieve_user('1');
SELECT public.expect_error($$SELECT user_module.retrieve_user('does-not-exist')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.retrieve_user(NULL)$$, '22023');
SELECT to_jsonb(r) FROM (SELECT id FROM user_module.retrieve_user('1')) r;
ROLLBACK;

-- U10: should delete the users given an id
BEGIN;
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT user_module.delete_users(ARRAY['1']) AS deleted;
SELECT count(*) FROM user_module.list_users('{"id":["1"]}');
ROLLBACK;

-- U11: update of an id that does not exist
BEGIN;
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"does-not-exist"}]')$$, 'P0002');
ROLLBACK;

-- U12: an update emits exactly one user.updated event for the user
BEGIN;
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT coalesce(max(id), 0) AS mark FROM user_module.event \gset
SELECT id, first_name FROM user_module.update_users('[{"id":"1","first_name":"John"}]');
SELECT name, entity_id, data FROM user_module.event WHERE id > :mark ORDER BY id;
ROLLBACK;

-- U13: should create a user
BEGIN;
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT user_module.count_users('{"id":["1"]}') AS count;
SELECT id FROM user_module.list_users('{"id":["1"]}');
ROLLBACK;

-- U14: creating emits one user.created event per user
BEGIN;
SELECT coalesce(max(id), 0) AS mark FROM user_module.event \gset
SELECT id FROM user_module.create_users('[{"id":"1","email":"user_1@test.com"},{"id":"2","email":"user_2@test.com"}]');
SELECT name, entity_id, data FROM user_module.event WHERE id > :mark ORDER BY id;
ROLLBACK;

SELECT count(*) AS users_after_medusa_tests FROM user_module."user";

------------------------------------------------------------------------------
-- create_user: every argument, defaults, generated id
------------------------------------------------------------------------------

SELECT id, first_name, last_name, email, avatar_url, metadata,
       created_at = updated_at AS same_times, created_at = now() AS created_now,
       deleted_at IS NULL AS live
  FROM user_module.create_user('ada@example.com', 'Ada', 'Lovelace',
                               'https://example.com/ada.png', '{"role": "admin", "n": 1}', 'ada');
-- only the email is required; the rest defaults to NULL and the id is generated
SELECT public.is_user_ulid(id) AS ulid, first_name, last_name, email, avatar_url, metadata
  FROM user_module.create_user('grace@example.com');
-- named arguments
SELECT id, first_name, email, metadata
  FROM user_module.create_user(email => 'alan@example.com', id => 'alan', first_name => 'Alan');
-- the ULID's time part is the creation time (within a minute)
SELECT abs(public.ulid_ms(id) - (extract(epoch FROM created_at) * 1000)::bigint) < 60000 AS ulid_time_ok
  FROM user_module.retrieve_user((SELECT id FROM user_module.list_users('{"email":"grace@example.com"}')));

------------------------------------------------------------------------------
-- ULIDs: format and strict monotonicity within a session
------------------------------------------------------------------------------

-- 1000 in one create_users call: ids strictly increase in input order
CREATE TEMP TABLE ulid_batch AS
SELECT row_number() OVER () AS n, u.*
  FROM user_module.create_users(
         (SELECT jsonb_agg(jsonb_build_object('email', 'batch' || g || '@ulid.test') ORDER BY g)
            FROM generate_series(1, 1000) g)) u;
SELECT count(*) AS created,
       bool_and(public.is_user_ulid(id)) AS all_ulids,
       count(DISTINCT id) AS distinct_ids,
       bool_and(email = 'batch' || n || '@ulid.test') AS input_order
  FROM ulid_batch;
SELECT bool_and(prev COLLATE "C" < id COLLATE "C") AS strictly_increasing
  FROM (SELECT id, lag(id) OVER (ORDER BY n) AS prev FROM ulid_batch) s WHERE prev IS NOT NULL;

-- 1000 create_user calls in one statement
CREATE TEMP TABLE ulid_calls AS
SELECT g AS n, u.id
  FROM generate_series(1, 1000) g,
       LATERAL user_module.create_user('call' || g || '@ulid.test') u;
SELECT count(*) AS created, bool_and(public.is_user_ulid(id)) AS all_ulids,
       count(DISTINCT id) AS distinct_ids
  FROM ulid_calls;
SELECT bool_and(prev COLLATE "C" < id COLLATE "C") AS strictly_increasing
  FROM (SELECT id, lag(id) OVER (ORDER BY n) AS prev FROM ulid_calls) s WHERE prev IS NOT NULL;

-- 1000 separate statements (a PL/pgSQL loop), and they follow the earlier ones
CREATE TEMP TABLE ulid_loop (n int, id text);
DO $$
BEGIN
	FOR i IN 1..1000 LOOP
		INSERT INTO ulid_loop SELECT i, id FROM user_module.create_user('loop' || i || '@ulid.test');
	END LOOP;
END
$$;
SELECT count(*) AS created, bool_and(public.is_user_ulid(id)) AS all_ulids,
       count(DISTINCT id) AS distinct_ids
  FROM ulid_loop;
SELECT bool_and(prev COLLATE "C" < id COLLATE "C") AS strictly_increasing
  FROM (SELECT id, lag(id) OVER (ORDER BY n) AS prev FROM ulid_loop) s WHERE prev IS NOT NULL;
SELECT (SELECT max(id COLLATE "C") FROM ulid_batch) < (SELECT min(id COLLATE "C") FROM ulid_calls)
   AND (SELECT max(id COLLATE "C") FROM ulid_calls) < (SELECT min(id COLLATE "C") FROM ulid_loop)
       AS later_calls_later_ids;

SELECT count(*) AS deleted
  FROM user_module.delete_users(ARRAY(SELECT id FROM ulid_batch UNION ALL SELECT id FROM ulid_calls
                                      UNION ALL SELECT id FROM ulid_loop));
DROP TABLE ulid_batch, ulid_calls, ulid_loop;

------------------------------------------------------------------------------
-- Caller-supplied ids, trimming, case
------------------------------------------------------------------------------

-- any non-empty id of at most 255 characters is taken as is
SELECT id, email FROM user_module.create_user('one@example.com', id => '1');
SELECT id, email FROM user_module.create_user('unicode-id@example.com', id => 'ü-ид-🙂');
SELECT length(id) AS len, email FROM user_module.create_user('long-id@example.com', id => repeat('x', 255));
SELECT length(id) AS len, email FROM user_module.create_user('long-mb-id@example.com', id => repeat('é', 255));
SELECT '[' || id || ']' AS id FROM user_module.create_user('spaced-id@example.com', id => ' spaced ');
SELECT id FROM user_module.retrieve_user(' spaced ');
SELECT id FROM user_module.retrieve_user('ü-ид-🙂');
SELECT count(*) AS deleted FROM user_module.delete_users(ARRAY[repeat('x', 255), repeat('é', 255), ' spaced ']);

-- ASCII white space around an email is trimmed; the case given is kept
SELECT id, email FROM user_module.create_user(E' \t\n\r trim@example.com \t\n\r\f' || chr(11), id => 'trim');
SELECT id, email FROM user_module.create_user('MiXeD.Case@Example.COM', id => 'mixed');
SELECT email FROM user_module.retrieve_user('mixed');
-- trimming applies to create_users and update_user too
SELECT id, email FROM user_module.create_users('[{"id":"trim2","email":"  trim2@example.com\n"}]');
SELECT id, email FROM user_module.update_user('trim2', '{"email":"\tTrim2@Example.com  "}');
-- names, avatar and metadata are stored as given (no trimming)
SELECT '[' || first_name || ']' AS first_name, '[' || last_name || ']' AS last_name, '[' || avatar_url || ']' AS avatar_url
  FROM user_module.create_user('names@example.com', '  Ada ', ' ', '', NULL, 'names');

------------------------------------------------------------------------------
-- Email uniqueness among live users is case-insensitive
------------------------------------------------------------------------------

SELECT id, email FROM user_module.create_user('Dup@Example.com', id => 'dup1');
SELECT public.expect_error($$SELECT user_module.create_user('dup@example.COM', id => 'dup2')$$, '23505');
SELECT public.expect_error($$SELECT user_module.create_user('  DUP@EXAMPLE.COM ', id => 'dup2')$$, '23505');
SELECT public.expect_error($$SELECT user_module.create_users('[{"id":"dup2","email":"dUP@example.com"}]')$$, '23505');
SELECT public.expect_error($$SELECT user_module.update_user('1', '{"email":"DUP@example.com"}')$$, '23505');
-- a duplicate id is refused whatever the email
SELECT public.expect_error($$SELECT user_module.create_user('other@example.com', id => 'dup1')$$, '23505');
-- ids are case-sensitive: 'DUP1' is another id
SELECT id, email FROM user_module.create_user('dup-upper-id@example.com', id => 'DUP1');
-- a user may change the case of its own email
SELECT id, email FROM user_module.update_user('dup1', '{"email":"DUP@example.com"}');

-- a soft-deleted user's email is free again, in any case
SELECT user_module.soft_delete_users(ARRAY['dup1']) AS soft_deleted;
SELECT id, email FROM user_module.create_user('dup@EXAMPLE.com', id => 'dup2');
-- restoring the first one now collides with the new live user: 23505, nothing changes
SELECT public.expect_error($$SELECT user_module.restore_users(ARRAY['dup1'])$$, '23505');
SELECT id, deleted_at IS NOT NULL AS deleted FROM user_module.list_users('{"id":["dup1","dup2"]}', with_deleted => true);
-- once the address is free again, the restore works
SELECT user_module.soft_delete_users(ARRAY['dup2']) AS soft_deleted;
SELECT user_module.restore_users(ARRAY['dup1']) AS restored;
SELECT id, email, deleted_at IS NULL AS live FROM user_module.retrieve_user('dup1');
-- two soft-deleted users may share an address
SELECT user_module.soft_delete_users(ARRAY['dup1']) AS soft_deleted;
SELECT count(*) FROM user_module.list_users('{"email":"dup@example.com"}', with_deleted => true);
-- but only one of them can come back
SELECT public.expect_error($$SELECT user_module.restore_users(ARRAY['dup1', 'dup2'])$$, '23505');
SELECT count(*) AS live FROM user_module.list_users('{"email":"dup@example.com"}');
SELECT user_module.delete_users(ARRAY['dup1', 'dup2', 'DUP1']) AS deleted;

------------------------------------------------------------------------------
-- create_users: input order, all or nothing
------------------------------------------------------------------------------

SELECT id, email FROM user_module.create_users('[{"id":"c","email":"c@order.test"},{"id":"a","email":"a@order.test"},{"id":"b","email":"b@order.test"}]');
-- a single object is one row
SELECT id, email, first_name, metadata FROM user_module.create_users('{"id":"single","email":"single@example.com","first_name":"Sin","metadata":{"k":"v"}}');
-- every key
SELECT id, first_name, last_name, email, avatar_url, metadata
  FROM user_module.create_users('[{"id":"all-keys","email":"all@example.com","first_name":"F","last_name":"L","avatar_url":"https://a/b.png","metadata":{"x":[1,2]}}]');
-- JSON null is SQL NULL for the optional keys (and id null means generate one)
SELECT public.is_user_ulid(id) AS ulid, first_name, last_name, avatar_url, metadata
  FROM user_module.create_users('[{"id":null,"email":"nulls@example.com","first_name":null,"last_name":null,"avatar_url":null,"metadata":null}]');
-- [] gives no rows and no events
SELECT coalesce(max(id), 0) AS mark FROM user_module.event \gset
SELECT count(*) FROM user_module.create_users('[]');
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;

-- all or nothing: a duplicate email inside one batch writes no row and no event
SELECT count(*) AS users_before FROM user_module."user" \gset
SELECT public.expect_error($$SELECT user_module.create_users('[{"id":"b1","email":"batch@example.com"},{"id":"b2","email":"other@example.com"},{"id":"b3","email":"BATCH@example.com"}]')$$, '23505');
-- a duplicate id inside one batch
SELECT public.expect_error($$SELECT user_module.create_users('[{"id":"b1","email":"b1@example.com"},{"id":"b1","email":"b2@example.com"}]')$$, '23505');
-- one element colliding with an existing user
SELECT public.expect_error($$SELECT user_module.create_users('[{"id":"b1","email":"b1@example.com"},{"id":"b2","email":"ADA@example.com"}]')$$, '23505');
-- one invalid element, last in the batch
SELECT public.expect_error($$SELECT user_module.create_users('[{"id":"b1","email":"b1@example.com"},{"id":"b2","email":"b2@example.com"},{"id":"b3","email":"not-an-email"}]')$$, '22023');
-- the same at top level: the statement fails and leaves nothing behind
SELECT user_module.create_users('[{"id":"b1","email":"b1@example.com"},{"id":"b2","email":"B1@example.com"}]');
SELECT count(*) - :users_before AS new_users FROM user_module."user";
SELECT count(*) AS new_events FROM user_module.event WHERE id > :mark;
SELECT count(*) AS batch_users FROM user_module.list_users('{"id":["b1","b2","b3"]}', with_deleted => true);

------------------------------------------------------------------------------
-- retrieve_user
------------------------------------------------------------------------------

SELECT id, email, first_name, last_name, deleted_at IS NULL AS live FROM user_module.retrieve_user('ada');
SELECT id FROM user_module.retrieve_user('ada', true);
SELECT id FROM user_module.retrieve_user('ada', with_deleted => false);
SELECT user_module.soft_delete_users(ARRAY['alan']) AS soft_deleted;
SELECT public.expect_error($$SELECT user_module.retrieve_user('alan')$$, 'P0002');
SELECT id, deleted_at IS NOT NULL AS deleted FROM user_module.retrieve_user('alan', with_deleted => true);
SELECT user_module.restore_users(ARRAY['alan']) AS restored;
SELECT id, deleted_at IS NULL AS live FROM user_module.retrieve_user('alan');

------------------------------------------------------------------------------
-- list_users / count_users (details in filters.sql)
------------------------------------------------------------------------------

SELECT id, email FROM user_module.list_users('{"id":["a","b","c"]}');
SELECT id, email FROM user_module.list_users('{"id":["a","b","c"]}', 1, 1);
SELECT id, email FROM user_module.list_users('{"id":["a","b","c"]}', order_by => '-id');
SELECT user_module.count_users('{"id":["a","b","c"]}') AS count;
SELECT user_module.count_users() = (SELECT count(*) FROM user_module.list_users()) AS count_matches_list;
SELECT user_module.count_users() = (SELECT count(*) FROM user_module."user" WHERE deleted_at IS NULL) AS count_matches_table;

------------------------------------------------------------------------------
-- update_user / update_users
------------------------------------------------------------------------------

SELECT FROM pg_sleep(0.01);
SELECT id, first_name, last_name, email, avatar_url, metadata, updated_at > created_at AS updated_moved
  FROM user_module.update_user('a', '{"first_name":"Alpha","last_name":"A.","avatar_url":"https://x/a.png","metadata":{"k":1}}');
-- JSON null clears a field
SELECT id, first_name, last_name, avatar_url, metadata
  FROM user_module.update_user('a', '{"first_name":null,"avatar_url":null,"metadata":null}');
-- {} changes nothing and returns the row
SELECT id, last_name FROM user_module.update_user('a', '{}');
-- the email can change; the new one is checked and trimmed
SELECT id, email FROM user_module.update_user('a', '{"email":" alpha@order.test "}');
SELECT public.expect_error($$SELECT user_module.update_user('a', '{"email":"no-at-sign"}')$$, '22023');
SELECT email FROM user_module.retrieve_user('a');

-- update_users: rows come back in input order
SELECT id, first_name FROM user_module.update_users('[{"id":"c","first_name":"Charlie"},{"id":"a","first_name":"Alpha"},{"id":"b","first_name":"Bravo"}]');
-- a single object is one update
SELECT id, first_name FROM user_module.update_users('{"id":"c","first_name":"Charles"}');
-- [] does nothing
SELECT count(*) FROM user_module.update_users('[]');
-- a repeated id: both changes apply in order, one row per element, one event
SELECT coalesce(max(id), 0) AS mark FROM user_module.event \gset
SELECT id, first_name, last_name FROM user_module.update_users('[{"id":"b","first_name":"B1"},{"id":"b","last_name":"B2"},{"id":"c","first_name":"Charles"}]');
SELECT name, entity_id FROM user_module.event WHERE id > :mark ORDER BY id;
SELECT id, first_name, last_name FROM user_module.retrieve_user('b');

------------------------------------------------------------------------------
-- soft_delete_users / restore_users / delete_users
------------------------------------------------------------------------------

SELECT id FROM user_module.create_users('[{"id":"d3","email":"d3@del.test"},{"id":"d1","email":"d1@del.test"},{"id":"d2","email":"d2@del.test"},{"id":"d4","email":"d4@del.test"}]');
SELECT FROM pg_sleep(0.01);

-- the ids changed come back sorted; unknown and repeated ids are fine
SELECT user_module.soft_delete_users(ARRAY['d3', 'nope', 'd1', 'd3']) AS soft_deleted;
SELECT id, deleted_at IS NOT NULL AS deleted, updated_at > created_at AS updated_moved,
       updated_at = deleted_at AS updated_is_deleted
  FROM user_module.list_users('{"id":["d1","d2","d3"]}', with_deleted => true);
-- soft-deleted users are hidden unless with_deleted
SELECT id FROM user_module.list_users('{"id":["d1","d2","d3","d4"]}');
SELECT user_module.count_users('{"id":["d1","d2","d3","d4"]}') AS live,
       user_module.count_users('{"id":["d1","d2","d3","d4"]}', true) AS all_rows;
-- soft-deleting again changes nothing, returns nothing
SELECT count(*) FROM user_module.soft_delete_users(ARRAY['d1', 'd3']);
-- update of a soft-deleted user: it does not exist
SELECT public.expect_error($$SELECT user_module.update_user('d1', '{"first_name":"x"}')$$, 'P0002');

SELECT updated_at AS d1_deleted_updated_at FROM user_module."user" WHERE id = 'd1' \gset
SELECT FROM pg_sleep(0.01);
-- restore: only soft-deleted ids count, sorted; live and unknown ids are ignored
SELECT user_module.restore_users(ARRAY['d3', 'd2', 'd1', 'nope']) AS restored;
SELECT id, deleted_at IS NULL AS live, updated_at > :'d1_deleted_updated_at' AS updated_moved
  FROM user_module.list_users('{"id":["d1","d3"]}');
SELECT count(*) FROM user_module.restore_users(ARRAY['d1']);

-- hard delete: sorted ids of the rows removed, live or soft-deleted
SELECT user_module.soft_delete_users(ARRAY['d4']) AS soft_deleted;
SELECT user_module.delete_users(ARRAY['d4', 'd2', 'nope', 'd1', 'd2']) AS deleted;
SELECT id, deleted_at IS NULL AS live FROM user_module.list_users('{"id":["d1","d2","d3","d4"]}', with_deleted => true);
SELECT count(*) FROM user_module.delete_users(ARRAY['d4']);
-- empty arrays, and arrays with NULL elements
SELECT count(*) FROM user_module.delete_users(ARRAY[]::text[]);
SELECT count(*) FROM user_module.soft_delete_users('{}');
SELECT count(*) FROM user_module.restore_users('{}');
SELECT user_module.delete_users(ARRAY[NULL, 'd3']) AS deleted;
-- a deleted id can be used again
SELECT id, email FROM user_module.create_user('d3-again@del.test', id => 'd3');
SELECT user_module.delete_users(ARRAY['d3']) AS deleted;

------------------------------------------------------------------------------
-- claim_events drains the outbox (details in events.sql)
------------------------------------------------------------------------------

SELECT count(*) > 0 AS claimed_some FROM user_module.claim_events(1000000);
SELECT count(*) AS left_over FROM user_module.event;

-- every later file starts from an empty table and outbox
SELECT count(*) > 0 AS deleted_some
  FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users(with_deleted => true)));
SELECT count(*) > 0 AS claimed_some FROM user_module.claim_events(1000000);
SELECT (SELECT count(*) FROM user_module."user") AS users, (SELECT count(*) FROM user_module.event) AS events;
