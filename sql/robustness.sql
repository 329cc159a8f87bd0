--
-- robustness: hostile and extreme input. Every call either succeeds or fails
-- with a contract SQLSTATE (22023, P0002, 23505), or with PostgreSQL's own
-- error before our code runs (the jsonb parser: 54001 for nesting too deep,
-- 22P02/22P05 for invalid JSON text). The backend never crashes: the file ends
-- with SELECT 1 on the same connection.
--
-- public.outcome(stmt) prints 'ok' or '<SQLSTATE>: <message>' (no detail, so
-- a 1 MB value a message might quote cannot flood the output).
--

SELECT count(*) AS users, (SELECT count(*) FROM user_module.event) AS events FROM user_module."user";

------------------------------------------------------------------------------
-- NULL for every argument
------------------------------------------------------------------------------

SELECT stmt, public.outcome(stmt) FROM (VALUES
	($$SELECT user_module.create_user(NULL, NULL, NULL, NULL, NULL, NULL)$$),
	($$SELECT user_module.create_user('nulls@robust.test', NULL, NULL, NULL, NULL, NULL)$$),
	($$SELECT user_module.create_users(NULL)$$),
	($$SELECT user_module.create_users('[{"email":"nulls2@robust.test","id":null,"first_name":null,"last_name":null,"avatar_url":null,"metadata":null}]')$$),
	($$SELECT user_module.retrieve_user(NULL, NULL)$$),
	($$SELECT user_module.retrieve_user('nope', NULL)$$),
	($$SELECT user_module.list_users(NULL, NULL, NULL, NULL, NULL)$$),
	($$SELECT user_module.count_users(NULL, NULL)$$),
	($$SELECT user_module.update_user(NULL, NULL)$$),
	($$SELECT user_module.update_user('nope', NULL)$$),
	($$SELECT user_module.update_user(NULL, '{}')$$),
	($$SELECT user_module.update_users(NULL)$$),
	($$SELECT user_module.delete_users(NULL)$$),
	($$SELECT user_module.soft_delete_users(NULL)$$),
	($$SELECT user_module.restore_users(NULL)$$),
	($$SELECT user_module.delete_users(ARRAY[NULL, NULL]::text[])$$),
	($$SELECT user_module.soft_delete_users(ARRAY[NULL]::text[])$$),
	($$SELECT user_module.restore_users(ARRAY[NULL]::text[])$$),
	($$SELECT user_module.claim_events(NULL)$$)) v(stmt);
SELECT first_name, last_name, avatar_url, metadata, public.is_user_ulid(id) AS generated_id
  FROM user_module.list_users('{"email":["nulls@robust.test","nulls2@robust.test"]}');
-- NULL in a multi-dimensional or empty array
SELECT count(*) FROM user_module.delete_users('{{NULL,"x"},{"y",NULL}}');
SELECT count(*) FROM user_module.delete_users('{}');

------------------------------------------------------------------------------
-- Empty strings
------------------------------------------------------------------------------

SELECT stmt, public.outcome(stmt) FROM (VALUES
	($$SELECT user_module.create_user('')$$),
	($$SELECT user_module.create_user('empty@robust.test', '', '', '', '{}', 'empty')$$),
	($$SELECT user_module.create_user('empty2@robust.test', id => '')$$),
	($$SELECT user_module.create_users('')$$),
	($$SELECT user_module.create_users('[{"email":"","id":""}]')$$),
	($$SELECT user_module.retrieve_user('')$$),
	($$SELECT user_module.update_user('', '{}')$$),
	($$SELECT user_module.update_user('empty', '{"first_name":"","last_name":"","avatar_url":"","metadata":{"":""}}')$$),
	($$SELECT user_module.update_user('empty', '{"email":""}')$$),
	($$SELECT user_module.update_users('[{"id":""}]')$$),
	($$SELECT user_module.delete_users(ARRAY[''])$$),
	($$SELECT user_module.list_users('{"id":"","email":"","first_name":"","last_name":""}')$$),
	($$SELECT user_module.list_users('{"q":""}', 0, NULL, '')$$),
	($$SELECT user_module.list_users('{"created_at":{"$gt":""}}')$$)) v(stmt);
SELECT id, '[' || first_name || ']' AS first_name, '[' || last_name || ']' AS last_name,
       '[' || avatar_url || ']' AS avatar_url, metadata
  FROM user_module.retrieve_user('empty');

------------------------------------------------------------------------------
-- 1 MB strings
------------------------------------------------------------------------------

SELECT stmt, public.outcome(stmt) FROM (VALUES
	($$SELECT user_module.create_user(repeat('x', 1000000))$$),
	($$SELECT user_module.create_user(repeat('x', 1000000) || '@example.com')$$),
	($$SELECT user_module.create_user('a@' || repeat('x', 1000000))$$),
	($$SELECT user_module.create_user(repeat(' ', 1000000))$$),
	($$SELECT user_module.create_user(repeat(' ', 500000) || 'padded@robust.test' || repeat(' ', 500000), id => 'padded')$$),
	($$SELECT user_module.create_user(repeat('é', 1000000) || '@x.y')$$),
	($$SELECT user_module.create_user('big@robust.test', first_name => repeat('x', 1000000))$$),
	($$SELECT user_module.create_user('big@robust.test', last_name => repeat('x', 1000000))$$),
	($$SELECT user_module.create_user('big@robust.test', id => repeat('x', 1000000))$$),
	($$SELECT user_module.create_user('big@robust.test', avatar_url => repeat('x', 1000000), id => 'big-avatar')$$),
	($$SELECT user_module.create_user('bigmeta@robust.test', metadata => jsonb_build_object('v', repeat('x', 1000000), repeat('k', 1000000), 1), id => 'big-meta')$$),
	($$SELECT user_module.create_users(jsonb_build_array(jsonb_build_object('email', 'x@y.z', repeat('k', 1000000), 1)))$$),
	($$SELECT user_module.create_users(jsonb_build_array(jsonb_build_object('email', repeat('x', 1000000))))$$),
	($$SELECT user_module.retrieve_user(repeat('x', 1000000))$$),
	($$SELECT user_module.update_user(repeat('x', 1000000), '{}')$$),
	($$SELECT user_module.update_user('big-meta', jsonb_build_object(repeat('k', 1000000), 1))$$),
	($$SELECT user_module.update_user('big-meta', jsonb_build_object('first_name', repeat('x', 1000000)))$$),
	($$SELECT user_module.update_user('big-meta', jsonb_build_object('metadata', jsonb_build_object('w', repeat('y', 1000000))))$$),
	($$SELECT user_module.update_users(jsonb_build_array(jsonb_build_object('id', repeat('x', 1000000))))$$),
	($$SELECT user_module.delete_users(ARRAY[repeat('x', 1000000)])$$),
	($$SELECT user_module.soft_delete_users(ARRAY[repeat('x', 1000000)])$$),
	($$SELECT user_module.list_users(jsonb_build_object('id', repeat('x', 1000000)))$$),
	($$SELECT user_module.list_users(jsonb_build_object('email', repeat('x', 1000000)))$$),
	($$SELECT user_module.list_users(jsonb_build_object('first_name', jsonb_build_array(repeat('x', 1000000), 'y')))$$),
	($$SELECT user_module.list_users(jsonb_build_object('q', repeat('x', 1000000)))$$),
	($$SELECT user_module.list_users(jsonb_build_object('q', repeat('x ', 500000)))$$),
	($$SELECT user_module.count_users(jsonb_build_object('q', repeat(' ', 1000000)))$$),
	($$SELECT user_module.list_users(jsonb_build_object(repeat('k', 1000000), 1))$$),
	($$SELECT user_module.list_users(jsonb_build_object('created_at', jsonb_build_object('$gt', repeat('1', 1000000))))$$),
	($$SELECT user_module.list_users(jsonb_build_object('created_at', jsonb_build_object(repeat('$', 1000000), 'now')))$$),
	($$SELECT user_module.list_users(order_by => repeat('x', 1000000))$$),
	($$SELECT user_module.list_users(order_by => repeat('id,', 333333) || 'id')$$),
	($$SELECT user_module.list_users(order_by => repeat(' ', 1000000))$$)) v(stmt);
-- what was stored is what was given
SELECT id, email, length(avatar_url) AS avatar_len FROM user_module.retrieve_user('big-avatar');
SELECT id, email FROM user_module.retrieve_user('padded');
SELECT id, length(metadata->>'v') AS v_len, length(metadata->>'w') AS w_len,
       (SELECT max(length(k)) FROM jsonb_object_keys(metadata) k) AS longest_key
  FROM user_module.retrieve_user('big-meta');
SELECT count(*) FROM user_module.list_users('{"q":"xxxxxxxxxx"}');
-- messages quote a long value clipped to 64 bytes
SELECT public.expect_error(format($$SELECT user_module.list_users(%L)$$, jsonb_build_object(repeat('k', 1000000), 1)), '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => repeat('x', 1000000))$$, '22023');
SELECT public.expect_error($$SELECT user_module.update_user(repeat('é', 1000000), '{}')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.create_users(jsonb_build_array(jsonb_build_object('email', 'x@y.z', repeat('ü', 1000000), 1)))$$, '22023');

------------------------------------------------------------------------------
-- Emails of 254, 255 and more characters
------------------------------------------------------------------------------

SELECT n, public.outcome(format($$SELECT user_module.create_user(%L, id => %L)$$,
                                repeat('l', 64) || '@' || repeat('d', n - 65), 'len-' || n))
  FROM unnest(ARRAY[254, 255, 256, 300, 1000, 65536]) n;
SELECT id, length(email) FROM user_module.list_users('{"id":["len-254","len-255"]}');

------------------------------------------------------------------------------
-- Deeply nested JSON
------------------------------------------------------------------------------

-- 10,000 levels parse; 100,000 exceed the stack in PostgreSQL's own parser (54001)
SELECT stmt, public.outcome(stmt) FROM (VALUES
	($$SELECT user_module.create_user('deep@robust.test', metadata => ('{"a":' || repeat('[', 10000) || repeat(']', 10000) || '}')::jsonb, id => 'deep')$$),
	($$SELECT user_module.update_user('deep', ('{"metadata":{"b":' || repeat('{"c":', 10000) || '1' || repeat('}', 10000) || '}}')::jsonb)$$),
	($$SELECT user_module.update_user('deep', ('{"metadata":{"b":' || repeat('{"c":', 10000) || '1' || repeat('}', 10000) || '}}')::jsonb)$$),
	($$SELECT user_module.create_user('deep2@robust.test', metadata => ('{"a":' || repeat('[', 100000) || repeat(']', 100000) || '}')::jsonb)$$),
	($$SELECT user_module.create_users((repeat('[', 10000) || repeat(']', 10000))::jsonb)$$),
	($$SELECT user_module.create_users(('[{"email":"d@e.f","metadata":' || repeat('{"x":', 10000) || 'null' || repeat('}', 10000) || '}]')::jsonb)$$),
	($$SELECT user_module.update_users((repeat('[', 10000) || repeat(']', 10000))::jsonb)$$),
	($$SELECT user_module.list_users(('{"id":' || repeat('[', 10000) || repeat(']', 10000) || '}')::jsonb)$$),
	($$SELECT user_module.list_users(('{"created_at":' || repeat('{"$gt":', 10000) || '1' || repeat('}', 10000) || '}')::jsonb)$$),
	($$SELECT user_module.list_users(('{"q":' || repeat('[', 10000) || repeat(']', 10000) || '}')::jsonb)$$)) v(stmt);
SELECT id, jsonb_typeof(metadata->'a') AS a, jsonb_typeof(metadata->'b') AS b,
       metadata #> ('{b,' || repeat('c,', 9999) || 'c}')::text[] AS innermost
  FROM user_module.retrieve_user('deep');
SELECT count(*) AS deep2 FROM user_module.list_users('{"email":"deep2@robust.test"}');

------------------------------------------------------------------------------
-- A huge metadata object (100,000 keys) and its merge
------------------------------------------------------------------------------

SELECT id, (SELECT count(*) FROM jsonb_object_keys(metadata)) AS keys
  FROM user_module.create_user('hugemeta@robust.test', id => 'huge-meta',
       metadata => (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 100000) g));
-- 50,000 keys replaced, 50,000 added, 25,000 removed with ""
SELECT (SELECT count(*) FROM jsonb_object_keys(metadata)) AS keys,
       metadata->>'k1' AS k1, metadata->>'k50001' AS k50001, metadata->>'k125000' AS k125000,
       metadata ? 'k25000' AS has_k25000, metadata ? 'k25001' AS has_k25001
  FROM user_module.update_user('huge-meta', jsonb_build_object('metadata',
       (SELECT jsonb_object_agg('k' || g, CASE WHEN g <= 25000 THEN '""'::jsonb ELSE to_jsonb('new' || g) END)
          FROM generate_series(1, 150000) g WHERE g <= 25000 OR g > 50000)));
-- the same patch again is no change: no event
SELECT coalesce(max(id), 0) AS mark FROM user_module.event \gset
SELECT (SELECT count(*) FROM jsonb_object_keys(metadata)) AS keys
  FROM user_module.update_user('huge-meta', jsonb_build_object('metadata',
       (SELECT jsonb_object_agg('k' || g, CASE WHEN g <= 25000 THEN '""'::jsonb ELSE to_jsonb('new' || g) END)
          FROM generate_series(1, 150000) g WHERE g <= 25000 OR g > 50000)));
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;

------------------------------------------------------------------------------
-- Weird Unicode
------------------------------------------------------------------------------

-- unaligned: psql's idea of these characters' widths changes with the Unicode
-- version of each major (17 pads emoji sequences differently from 15)
\pset format unaligned
SELECT stmt, public.outcome(stmt) FROM (VALUES
	-- internationalized addresses, emoji, combining marks, right-to-left, zero-width joiner
	($$SELECT user_module.create_user('😀@例え.テスト', 'Zoë', 'Ørsted', id => 'u-emoji')$$),
	($$SELECT user_module.create_user('ÜSER@Bücher.example', 'e' || chr(769), 'שָׁלוֹם', id => 'u-accent')$$),
	($$SELECT user_module.create_user('üser@bücher.EXAMPLE', id => 'u-accent2')$$),
	($$SELECT user_module.create_user('👩‍💻@zwj.example', '👩‍👩‍👧‍👦', '‮reversed', id => 'u-zwj')$$),
	($$SELECT user_module.create_user(E'zero\u200bwidth@robust.test', id => 'u-zwsp')$$),
	($$SELECT user_module.create_user(E'nonchar\uffff@robust.test', E'\ufffe', id => 'u-nonchar')$$),
	($$SELECT user_module.create_user(repeat('ꙮ', 64) || '@' || repeat('𝔘', 189), id => 'u-astral')$$),
	($$SELECT user_module.create_user(repeat('ꙮ', 65) || '@x.y')$$),
	($$SELECT user_module.create_user('astral@robust.test', repeat('𝔘', 255), repeat('🙂', 255), id => 'u-names')$$),
	($$SELECT user_module.create_user('astral2@robust.test', repeat('𝔘', 256))$$),
	($$SELECT user_module.create_user('astral3@robust.test', id => repeat('🙂', 255) || '🙂')$$),
	-- invalid JSON text never reaches our code
	($$SELECT user_module.create_users('[{"email":"\ud800@x.y"}]')$$),
	($$SELECT user_module.create_users('[{"email":"a\u0000b@x.y"}]')$$),
	($$SELECT user_module.update_user('u-emoji', '{"metadata":{"\u0000":1}}')$$),
	($$SELECT user_module.create_users('[{"email":"a@b.c",}]')$$)) v(stmt);
SELECT id, email, first_name, last_name, length(email) AS email_len
  FROM user_module.list_users('{"id":["u-emoji","u-accent","u-zwj","u-zwsp","u-nonchar"]}');
\pset format aligned
SELECT id, length(email) AS email_len, length(first_name) AS first_len, length(last_name) AS last_len
  FROM user_module.list_users('{"id":["u-astral","u-names"]}');
-- lookups with the same odd text find the rows
SELECT id FROM user_module.list_users('{"email":"😀@例え.テスト"}');
SELECT id FROM user_module.list_users('{"email":"üser@bücher.example"}');
SELECT id FROM user_module.list_users('{"q":"ørsted 例え"}');
SELECT id FROM user_module.list_users('{"q":"👩‍👩‍👧‍👦"}');
SELECT id FROM user_module.retrieve_user('u-zwj');

------------------------------------------------------------------------------
-- 100,000 users in one create_users call, then 100,000 ids at once
------------------------------------------------------------------------------

SELECT count(*) AS created FROM user_module.create_users(
	(SELECT jsonb_agg(jsonb_build_object('id', 'bulk-' || g, 'email', 'Bulk' || g || '@bulk.test', 'first_name', 'B' || g) ORDER BY g)
	   FROM generate_series(1, 100000) g));
SELECT user_module.count_users('{"q":"@bulk.test"}') AS bulk,
       user_module.count_users('{"email":["BULK1@bulk.test","bulk100000@BULK.TEST","bulk100001@bulk.test"]}') AS by_email,
       (SELECT count(*) FROM user_module.list_users('{"q":"bulk.test"}')) AS listed;
SELECT id, email FROM user_module.list_users('{"q":"bulk.test"}', 99998, 10, 'first_name');
-- duplicate inside a batch of 100,000: nothing is written
SELECT public.expect_error(format($$SELECT user_module.create_users(%L)$$,
	(SELECT jsonb_agg(jsonb_build_object('email', CASE WHEN g = 100000 THEN 'DUP1@dup.test' ELSE 'dup' || g || '@dup.test' END) ORDER BY g)
	   FROM generate_series(1, 100000) g)), '23505');
SELECT user_module.count_users('{"q":"@dup.test"}') AS dup_written;
-- 100,000 ids, with repeats and unknown ids
SELECT count(*) AS soft_deleted FROM user_module.soft_delete_users(
	ARRAY(SELECT 'bulk-' || (g % 100000 + 1) FROM generate_series(1, 150000) g));
SELECT user_module.count_users('{"q":"@bulk.test"}') AS live, user_module.count_users('{"q":"@bulk.test"}', true) AS all_rows;
SELECT count(*) AS restored FROM user_module.restore_users(ARRAY(SELECT 'bulk-' || g FROM generate_series(1, 100000) g));
SELECT count(*) AS deleted_none FROM user_module.delete_users(ARRAY(SELECT 'nobody-' || g FROM generate_series(1, 100000) g));
SELECT count(*) AS deleted, min(d) AS first, max(d) AS last
  FROM user_module.delete_users(ARRAY(SELECT 'bulk-' || g FROM generate_series(1, 100000) g)) d;
SELECT name, count(*) FROM user_module.event WHERE entity_id LIKE 'bulk-%' GROUP BY name ORDER BY name;
SELECT count(*) > 400000 AS claimed FROM user_module.claim_events(1000000);

------------------------------------------------------------------------------
-- Cancelled in the middle: nothing written, the caller's identity restored
------------------------------------------------------------------------------

CREATE TEMP TABLE slow_input AS
SELECT jsonb_agg(jsonb_build_object('id', 'slow-' || g, 'email', 'slow' || g || '@slow.test') ORDER BY g) AS users
  FROM generate_series(1, 100000) g;
GRANT SELECT ON slow_input TO regress_admin;
SET ROLE regress_admin;
SET statement_timeout = '50ms';
\set VERBOSITY terse
SELECT count(*) FROM user_module.create_users((SELECT users FROM slow_input));
\set VERBOSITY default
RESET statement_timeout;
SELECT current_user, public.expect_error($$SELECT count(*) FROM user_module."user"$$, '42501');
SELECT user_module.count_users('{"q":"@slow.test"}') AS slow_written;
RESET ROLE;
SELECT count(*) AS slow_events FROM user_module.event WHERE entity_id LIKE 'slow-%';
DROP TABLE slow_input;

------------------------------------------------------------------------------
-- More statement shapes than the plan cache holds (64)
------------------------------------------------------------------------------

CREATE TEMP TABLE shapes AS
SELECT w, o, (SELECT count(*) FROM user_module.list_users(jsonb_build_object('q', rtrim(repeat('o ', w))), 0, NULL, o)) AS c
  FROM generate_series(1, 32) w, unnest(ARRAY['id', '-email', 'first_name,-created_at']) o;
SELECT count(*) AS shapes, count(DISTINCT c) AS distinct_counts FROM shapes;
-- the same calls again, after the early plans were evicted, agree
SELECT bool_and(c = (SELECT count(*) FROM user_module.list_users(jsonb_build_object('q', rtrim(repeat('o ', w))), 0, NULL, o))) AS same
  FROM shapes;
DROP TABLE shapes;

------------------------------------------------------------------------------
-- The extension dropped and created again in the same session
------------------------------------------------------------------------------

SELECT count(*) > 0 AS deleted FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users(with_deleted => true)));
DROP EXTENSION user_module;
CREATE EXTENSION user_module;
SELECT id, email FROM user_module.create_user('again@robust.test', id => 'again');
SELECT id FROM user_module.list_users('{"q":"again"}', order_by => '-email');
SELECT user_module.count_users('{"email":"AGAIN@robust.test"}');
SELECT name, entity_id FROM user_module.claim_events();

-- still alive
SELECT 1;
