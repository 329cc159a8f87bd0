--
-- users_errors: every error path of the user functions, with its SQLSTATE,
-- and proof that a failing call changes nothing (rows and events).
-- Errors of filters, q, order_by, skip and take are in filters.sql;
-- claim_events in events.sql; privileges (42501) in privileges.sql.
--
-- public.expect_error prints '<SQLSTATE>: <message> | <detail>' when the
-- SQLSTATE is the expected one, 'WRONG ...' or 'no error' otherwise.
--

SELECT id, email FROM user_module.create_users('[
	{"id":"e1","email":"e1@err.test","first_name":"E","last_name":"One","metadata":{"a":1}},
	{"id":"e2","email":"E2@err.test"},
	{"id":"gone","email":"gone@err.test"}]');
SELECT user_module.soft_delete_users(ARRAY['gone']) AS soft_deleted;
SELECT public.module_state() AS state0 \gset

------------------------------------------------------------------------------
-- create_user: invalid email (22023, "invalid email address" + a detail)
------------------------------------------------------------------------------

SELECT public.expect_error($$SELECT user_module.create_user(NULL)$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user(E'  \t\n ')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('plainaddress')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('a@b@example.com')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('@example.com')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('someone@')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('@')$$, '22023');
-- local part: 64 characters at most
SELECT public.expect_error(format($$SELECT user_module.create_user(%L)$$, repeat('a', 65) || '@example.com'), '22023');
SELECT public.expect_error(format($$SELECT user_module.create_user(%L)$$, repeat('é', 65) || '@example.com'), '22023');
-- whole address: 254 characters at most (after trimming)
SELECT public.expect_error(format($$SELECT user_module.create_user(%L)$$, 'a@' || repeat('b', 253)), '22023');
SELECT public.expect_error(format($$SELECT user_module.create_user(%L)$$, 'a@' || repeat('é', 253)), '22023');
-- white space and control characters inside, ASCII and Unicode
SELECT public.expect_error($$SELECT user_module.create_user('a b@example.com')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('ab@exa mple.com')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user(E'a\tb@example.com')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user(E'a\nb@example.com')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('a' || chr(1) || 'b@example.com')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('a' || chr(127) || 'b@example.com')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u0085b@example.com')$$, '22023');   -- NEL
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u00a0b@example.com')$$, '22023');   -- NO-BREAK SPACE
SELECT public.expect_error($$SELECT user_module.create_user(E'\u00a0ab@example.com')$$, '22023');   -- not trimmed: not ASCII
SELECT public.expect_error($$SELECT user_module.create_user(E'ab@example.com\u00a0')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u1680b@example.com')$$, '22023');   -- OGHAM SPACE MARK
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u2003b@example.com')$$, '22023');   -- EM SPACE
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u200ab@example.com')$$, '22023');   -- HAIR SPACE
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u2028b@example.com')$$, '22023');   -- LINE SEPARATOR
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u2029b@example.com')$$, '22023');   -- PARAGRAPH SEPARATOR
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u202fb@example.com')$$, '22023');   -- NARROW NO-BREAK SPACE
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u205fb@example.com')$$, '22023');   -- MEDIUM MATHEMATICAL SPACE
SELECT public.expect_error($$SELECT user_module.create_user(E'a\u3000b@example.com')$$, '22023');   -- IDEOGRAPHIC SPACE
SELECT public.expect_error($$SELECT user_module.create_user(E'a\ufeffb@example.com')$$, '22023');   -- BYTE ORDER MARK
-- the limits themselves are fine (rolled back: only the outcome matters)
BEGIN;
SELECT length(email) FROM user_module.create_user(repeat('a', 64) || '@' || repeat('b', 189));
SELECT length(email) FROM user_module.create_user(repeat('é', 64) || '@' || repeat('ü', 189));
SELECT length(email) FROM user_module.create_user('  ' || repeat('c', 64) || '@' || repeat('d', 189) || '  ');
SELECT email FROM user_module.create_user('x@y');
ROLLBACK;

------------------------------------------------------------------------------
-- create_user: other arguments
------------------------------------------------------------------------------

-- id: non-empty, at most 255 characters
SELECT public.expect_error($$SELECT user_module.create_user('id@err.test', id => '')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('id@err.test', id => repeat('x', 256))$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('id@err.test', id => repeat('é', 256))$$, '22023');
-- names: at most 255 characters
SELECT public.expect_error($$SELECT user_module.create_user('n@err.test', first_name => repeat('x', 256))$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('n@err.test', last_name => repeat('x', 256))$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('n@err.test', first_name => repeat('ж', 256))$$, '22023');
BEGIN;
SELECT length(first_name), length(last_name)
  FROM user_module.create_user('n@err.test', repeat('ж', 255), repeat('x', 255));
ROLLBACK;
-- metadata: a JSON object or NULL
SELECT public.expect_error($$SELECT user_module.create_user('m@err.test', metadata => '[]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('m@err.test', metadata => '[{"a":1}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('m@err.test', metadata => '"text"')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('m@err.test', metadata => '42')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_user('m@err.test', metadata => 'true')$$, '22023');
-- the JSON null is no metadata, as "metadata": null is in create_users
BEGIN;
SELECT metadata IS NULL AS no_metadata FROM user_module.create_user('m@err.test', metadata => 'null');
ROLLBACK;
-- duplicates: 23505
SELECT public.expect_error($$SELECT user_module.create_user('e1@err.test')$$, '23505');
SELECT public.expect_error($$SELECT user_module.create_user('E1@ERR.TEST')$$, '23505');
SELECT public.expect_error($$SELECT user_module.create_user(' e2@err.test ')$$, '23505');
SELECT public.expect_error($$SELECT user_module.create_user('new@err.test', id => 'e1')$$, '23505');
-- a soft-deleted user's id is still taken
SELECT public.expect_error($$SELECT user_module.create_user('new@err.test', id => 'gone')$$, '23505');

SELECT public.module_state() = :'state0' AS nothing_changed;

------------------------------------------------------------------------------
-- create_users
------------------------------------------------------------------------------

SELECT public.expect_error($$SELECT user_module.create_users(NULL)$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('"a@b.c"')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('42')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('true')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('null')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[1]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[null]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('["a@b.c"]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[[{"email":"a@b.c"}]]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c"}, 2]')$$, '22023');
-- email is required
SELECT public.expect_error($$SELECT user_module.create_users('{}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"first_name":"x"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":null}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":""}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"bad address@x.y"}]')$$, '22023');
-- unknown keys (Medusa would drop them; the contract refuses them)
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","roles":["admin"]}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","Email":"a@b.c"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","created_at":"2020-01-01"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","deleted_at":null}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","":1}]')$$, '22023');
-- wrong JSON type for a key
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":42}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":["a@b.c"]}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","id":7}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","first_name":true}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","last_name":{"x":1}}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","avatar_url":[]}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","metadata":[]}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","metadata":"{}"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","metadata":1}]')$$, '22023');
-- limits on id and names
SELECT public.expect_error($$SELECT user_module.create_users('[{"email":"a@b.c","id":""}]')$$, '22023');
SELECT public.expect_error(format($$SELECT user_module.create_users(%L)$$, jsonb_build_array(jsonb_build_object('email', 'a@b.c', 'id', repeat('i', 256)))), '22023');
SELECT public.expect_error(format($$SELECT user_module.create_users(%L)$$, jsonb_build_array(jsonb_build_object('email', 'a@b.c', 'last_name', repeat('n', 256)))), '22023');
-- the bad element may come after good ones: still nothing is written
SELECT public.expect_error($$SELECT user_module.create_users('[{"id":"ok1","email":"ok1@err.test"},{"id":"ok2","email":"ok2@err.test"},{"id":"bad","email":"ok3@err.test","x":1}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.create_users('[{"id":"ok1","email":"ok1@err.test"},{"id":"ok2","email":"ok2@err.test"},{"id":"e1","email":"ok3@err.test"}]')$$, '23505');
SELECT public.expect_error($$SELECT user_module.create_users('[{"id":"ok1","email":"same@err.test"},{"id":"ok2","email":" SAME@err.test"}]')$$, '23505');

SELECT public.module_state() = :'state0' AS nothing_changed;

------------------------------------------------------------------------------
-- retrieve_user
------------------------------------------------------------------------------

SELECT public.expect_error($$SELECT user_module.retrieve_user(NULL)$$, '22023');
SELECT public.expect_error($$SELECT user_module.retrieve_user(NULL, true)$$, '22023');
SELECT public.expect_error($$SELECT user_module.retrieve_user('does-not-exist')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.retrieve_user('does-not-exist', true)$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.retrieve_user('')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.retrieve_user('E1')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.retrieve_user('gone')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.retrieve_user('gone', false)$$, 'P0002');
-- a long id is clipped in the message
SELECT public.expect_error(format($$SELECT user_module.retrieve_user(%L)$$, repeat('z', 300)), 'P0002');

------------------------------------------------------------------------------
-- update_user
------------------------------------------------------------------------------

SELECT public.expect_error($$SELECT user_module.update_user(NULL, '{}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', NULL)$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user(NULL, NULL)$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '[]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '[{"first_name":"x"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '"x"')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', 'null')$$, '22023');
-- unknown keys, and keys that cannot change
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"x":1}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"id":"e9"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"id":"e1"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"created_at":"2020-01-01"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"updated_at":"2020-01-01"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"deleted_at":null}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"first_name":"ok","roles":[]}')$$, '22023');
-- email: never null, always valid
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"email":null}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"email":""}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"email":"   "}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"email":"a@b@c"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"email":"a\u00a0b@c.d"}')$$, '22023');
SELECT public.expect_error(format($$SELECT user_module.update_user('e1', %L)$$, jsonb_build_object('email', repeat('l', 65) || '@x.y')), '22023');
-- wrong JSON types
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"email":1}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"first_name":1}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"last_name":false}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"avatar_url":{}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"metadata":[]}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"metadata":"x"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"metadata":0}')$$, '22023');
-- name limits
SELECT public.expect_error(format($$SELECT user_module.update_user('e1', %L)$$, jsonb_build_object('first_name', repeat('x', 256))), '22023');
SELECT public.expect_error(format($$SELECT user_module.update_user('e1', %L)$$, jsonb_build_object('last_name', repeat('ж', 256))), '22023');
-- missing and soft-deleted users: P0002
SELECT public.expect_error($$SELECT user_module.update_user('does-not-exist', '{"first_name":"x"}')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.update_user('does-not-exist', '{}')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.update_user('gone', '{"first_name":"x"}')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.update_user('E1', '{"first_name":"x"}')$$, 'P0002');
-- taking another live user's email: 23505
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"email":"e2@err.test"}')$$, '23505');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"email":"E2@ERR.TEST","first_name":"changed too"}')$$, '23505');
-- (a soft-deleted user's email is free)
BEGIN;
SELECT id, email FROM user_module.update_user('e1', '{"email":"GONE@err.test"}');
ROLLBACK;

SELECT public.module_state() = :'state0' AS nothing_changed;

------------------------------------------------------------------------------
-- update_users
------------------------------------------------------------------------------

SELECT public.expect_error($$SELECT user_module.update_users(NULL)$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('"e1"')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('7')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('[1]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('["e1"]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"e1"}, null]')$$, '22023');
-- each element needs a string id
SELECT public.expect_error($$SELECT user_module.update_users('[{"first_name":"x"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"e1","first_name":"x"},{"first_name":"y"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":null,"first_name":"x"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":1,"first_name":"x"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":["e1"],"first_name":"x"}]')$$, '22023');
-- unknown keys, bad values
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"e1","nickname":"x"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"e1","email":null}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"e1","email":"nope"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"e1","metadata":[1]}]')$$, '22023');
SELECT public.expect_error(format($$SELECT user_module.update_users(%L)$$, jsonb_build_array(jsonb_build_object('id', 'e1', 'first_name', repeat('x', 256)))), '22023');
-- missing ids: P0002 naming every missing id, and nothing changes
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"nope","first_name":"x"}]')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"e1","first_name":"changed"},{"id":"nope","first_name":"x"}]')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"nope1"},{"id":"e1","first_name":"changed"},{"id":"nope2"},{"id":"gone"}]')$$, 'P0002');
-- a missing id listed twice is one missing user
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"nope","first_name":"x"},{"id":"nope","first_name":"y"}]')$$, 'P0002');
-- the single-object form
SELECT public.expect_error($$SELECT user_module.update_users('{"id":"nope","first_name":"x"}')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.update_users('{"first_name":"x"}')$$, '22023');
-- a batch that gives two live users one email: 23505, nothing changes
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"e1","first_name":"changed"},{"id":"e2","email":"e1@err.test"}]')$$, '23505');
-- swapping two emails in one batch collides on the way (one row at a time)
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"e1","email":"e2@err.test"},{"id":"e2","email":"e1@err.test"}]')$$, '23505');

SELECT public.module_state() = :'state0' AS nothing_changed;

------------------------------------------------------------------------------
-- delete_users, soft_delete_users, restore_users
------------------------------------------------------------------------------

SELECT public.expect_error($$SELECT user_module.delete_users(NULL)$$, '22023');
SELECT public.expect_error($$SELECT user_module.soft_delete_users(NULL)$$, '22023');
SELECT public.expect_error($$SELECT user_module.restore_users(NULL)$$, '22023');
-- restoring into an email a live user has: 23505
BEGIN;
SELECT id FROM user_module.create_user('Gone@Err.Test', id => 'taker');
SELECT public.expect_error($$SELECT user_module.restore_users(ARRAY['gone'])$$, '23505');
-- the whole call fails, also for the ids that could be restored
SELECT user_module.soft_delete_users(ARRAY['e2']) AS soft_deleted;
SELECT public.expect_error($$SELECT user_module.restore_users(ARRAY['e2', 'gone'])$$, '23505');
SELECT id, deleted_at IS NOT NULL AS deleted FROM user_module.list_users('{"id":["e2","gone","taker"]}', with_deleted => true);
ROLLBACK;

SELECT public.module_state() = :'state0' AS nothing_changed;

------------------------------------------------------------------------------
-- Failing at top level: the statement (or the transaction) leaves nothing
------------------------------------------------------------------------------

SELECT user_module.create_user('not an email');
SELECT user_module.update_user('e1', '{"email":"e2@err.test"}');
SELECT user_module.update_users('[{"id":"e1","first_name":"changed"},{"id":"nope"}]');
SELECT public.module_state() = :'state0' AS nothing_changed;

BEGIN;
SELECT id, first_name FROM user_module.update_user('e1', '{"first_name":"Changed"}');
SELECT user_module.create_user('E2@err.test');
SELECT id FROM user_module.retrieve_user('e1');
ROLLBACK;
SELECT id, first_name FROM user_module.retrieve_user('e1');
SELECT public.module_state() = :'state0' AS nothing_changed;

-- In a read-only transaction (as on a hot standby) reads work and every write
-- fails with PostgreSQL's 25006, in words that say what to do and without the
-- text of the module's own statements.
BEGIN READ ONLY;
SELECT id FROM user_module.retrieve_user('e1');
SELECT user_module.count_users();
SELECT public.expect_error($$SELECT user_module.create_user('ro@err.test')$$, '25006');
SELECT public.expect_error($$SELECT user_module.update_user('e1', '{"first_name":"RO"}')$$, '25006');
SELECT public.expect_error($$SELECT user_module.soft_delete_users(ARRAY['e1'])$$, '25006');
SELECT public.expect_error($$SELECT user_module.claim_events()$$, '25006');
ROLLBACK;
\set VERBOSITY default
BEGIN READ ONLY;
SELECT user_module.soft_delete_users(ARRAY['e1']);
ROLLBACK;
SELECT public.module_state() = :'state0' AS nothing_changed;

SELECT count(*) AS deleted FROM user_module.delete_users(ARRAY['e1', 'e2', 'gone']);
SELECT count(*) > 0 AS claimed FROM user_module.claim_events(1000000);
