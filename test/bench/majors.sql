-- test/bench/majors.sh: one round on one server. Times calls in a loop inside
-- the server (no client or network in the figure), each operation in a
-- transaction of its own that is rolled back, so that every round and every
-- major starts from the same rows. Prints "operation|µs per call".
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on

-- Every round starts from the same state: the rows the rolled-back writes of
-- the last round left dead are vacuumed away, and the trigram index's pending
-- list is merged (a search scans that list whole, and rechecks the dead rows).
VACUUM ANALYZE;

-- bench.per_call(statement, calls): µs per call of a statement that makes
-- `calls` calls (a loop over generate_series)
CREATE OR REPLACE FUNCTION bench.per_call(statement text, calls integer) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE statement;
	RETURN round((extract(epoch FROM clock_timestamp() - t0) * 1e6 / calls)::numeric, 2);
END $$;

BEGIN;
SELECT 'retrieve_user', bench.per_call($$SELECT count(*) FROM generate_series(1, 50000) g,
	LATERAL user_module.retrieve_user('bench-u' || (g % 10000))$$, 50000);
ROLLBACK;
BEGIN;
SELECT 'raw SQL: a user by primary key', bench.per_call($$SELECT count(*) FROM generate_series(1, 50000) g,
	LATERAL (SELECT * FROM user_module."user" u WHERE u.id = 'bench-u' || (g % 10000) AND u.deleted_at IS NULL) u$$, 50000);
ROLLBACK;
BEGIN;
SELECT 'list_users with q', bench.per_call($$SELECT count(*) FROM generate_series(1, 2000) g,
	LATERAL user_module.list_users(jsonb_build_object('q', 'last' || (g % 200)), take => 20)$$, 2000);
ROLLBACK;
BEGIN;
SELECT 'raw SQL: the same q search', bench.per_call($$SELECT count(*) FROM generate_series(1, 2000) g,
	LATERAL (SELECT * FROM user_module."user" u WHERE u.deleted_at IS NULL
	           AND (coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '') || ' ' || u.email) ILIKE '%last' || (g % 200) || '%'
	         ORDER BY u.id LIMIT 20) u$$, 2000);
ROLLBACK;
BEGIN;
SELECT 'count_users', bench.per_call($$SELECT sum(user_module.count_users(jsonb_build_object('first_name', 'first' || g)))
	FROM generate_series(1, 2000) g$$, 2000);
ROLLBACK;
BEGIN;
SELECT 'create_user', bench.per_call($$SELECT count(*) FROM generate_series(1, 10000) g,
	LATERAL user_module.create_user('new' || g || '@majors.test', 'New', 'User')$$, 10000);
ROLLBACK;
BEGIN;
SELECT 'raw SQL: insert a user', bench.per_call($$INSERT INTO user_module."user" (id, email, first_name, last_name)
	SELECT 'raw' || g, 'raw' || g || '@majors.test', 'New', 'User' FROM generate_series(1, 10000) g$$, 10000);
ROLLBACK;
BEGIN;
SELECT 'update_user', bench.per_call($$SELECT count(*) FROM generate_series(1, 10000) g,
	LATERAL user_module.update_user('bench-u' || g % 10000, jsonb_build_object('first_name', 'f' || g))$$, 10000);
ROLLBACK;
BEGIN;
SELECT 'create_invite', bench.per_call($$SELECT count(*) FROM generate_series(1, 5000) g,
	LATERAL user_module.create_invite('invitee' || g || '@majors.test')$$, 5000);
ROLLBACK;
BEGIN;
SELECT 'validate_invite_token', bench.per_call($$SELECT count(*) FROM generate_series(1, 20000) g
	JOIN bench.token t ON t.k = g % 2000, LATERAL user_module.validate_invite_token(t.token)$$, 20000);
ROLLBACK;
BEGIN;
SELECT 'accept_invite', bench.per_call($$SELECT count(*) FROM bench.token t,
	LATERAL user_module.accept_invite(t.token, 'Ann', 'Lee')$$, 2000);
ROLLBACK;
BEGIN;
SELECT 'refresh_invite_tokens, 2,000 ids', bench.per_call($$SELECT count(*)
	FROM user_module.refresh_invite_tokens((SELECT array_agg(id) FROM bench.token))$$, 1);
ROLLBACK;
