--
-- search_path: objects a caller plants in its own schemas must not capture
-- anything the module runs.
--
-- A non-superuser role, regress_hostile, owns schema "hostile" with lower(text)
-- returning 'x', unnest(), now(), jsonb_build_object(), jsonb_typeof(), a
-- count(*) aggregate, operators =, ||, ~~* and = ANY helpers on text that
-- always say yes, and tables "user" and event. Each hostile function writes a
-- row to hostile.log when called. The same battery of calls then runs
--   1. as regress_admin with search_path = hostile, pg_catalog, public
--      (first, in a fresh session: no plan of the module is cached yet),
--   2. as regress_admin with the default search_path (the reference),
--   3. as regress_admin with search_path = hostile, public
--      (pg_catalog implicitly first),
--   4. as the superuser with search_path = pg_temp, hostile, pg_catalog and
--      temporary tables "user" and event,
-- and every run must give exactly the reference results, with hostile.log
-- empty and the hostile tables untouched.
--
-- The battery and the helpers that run it use no operator and no unqualified
-- function that the hostile schema overrides, so only the module's own
-- statements could be captured.
--

------------------------------------------------------------------------------
-- The hostile schema
------------------------------------------------------------------------------

CREATE SCHEMA hostile AUTHORIZATION regress_hostile;
GRANT USAGE ON SCHEMA hostile TO PUBLIC;
SET ROLE regress_hostile;
CREATE TABLE hostile.log (what text, called_by text);
GRANT SELECT, INSERT ON hostile.log TO PUBLIC;

CREATE FUNCTION hostile.lower(text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('lower(text)', current_user); RETURN 'x'; END $$;
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('now()', current_user); RETURN '2000-01-01 00:00:00+00'; END $$;
CREATE FUNCTION hostile.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('unnest(text[])', current_user); RETURN NEXT 'hostile'; END $$;
CREATE FUNCTION hostile.unnest(jsonb[]) RETURNS SETOF jsonb LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('unnest(jsonb[])', current_user); RETURN NEXT '{"hostile":true}'; END $$;
CREATE FUNCTION hostile.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('unnest(anyarray)', current_user); RETURN; END $$;
CREATE FUNCTION hostile.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('jsonb_build_object(text,text)', current_user); RETURN '{"hostile":true}'; END $$;
CREATE FUNCTION hostile.jsonb_build_object(VARIADIC text[]) RETURNS jsonb LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('jsonb_build_object(text[])', current_user); RETURN '{"hostile":true}'; END $$;
CREATE FUNCTION hostile.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('jsonb_typeof(jsonb)', current_user); RETURN 'object'; END $$;
CREATE FUNCTION hostile.count_step(bigint) RETURNS bigint LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('count(*)', current_user); RETURN 42; END $$;
CREATE AGGREGATE hostile.count(*) (SFUNC = hostile.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION hostile.text_yes(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('text op text', current_user); RETURN true; END $$;
CREATE FUNCTION hostile.text_cat(text, text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.log VALUES ('text || text', current_user); RETURN 'x'; END $$;
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.text_yes);
CREATE OPERATOR hostile.~~* (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.text_yes);
CREATE OPERATOR hostile.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.text_cat);
CREATE TABLE hostile."user" (id text, first_name text, last_name text, email text, avatar_url text,
	metadata jsonb, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz);
INSERT INTO hostile."user" (id, email) VALUES ('planted', 'planted@hostile.test');
CREATE TABLE hostile.event (id bigint, name text, entity_id text, data jsonb, created_at timestamptz);
INSERT INTO hostile.event (id, name, entity_id) VALUES (1, 'planted', 'planted');
GRANT ALL ON hostile."user", hostile.event TO PUBLIC;
RESET ROLE;

-- The trap is armed: with hostile before pg_catalog, plain SQL is captured.
SET search_path = hostile, pg_catalog, public;
SELECT lower('ABC') AS lower, 'a'::text = 'b'::text AS equal, 'a'::text || 'b'::text AS concat,
       'abc'::text ~~* 'z'::text AS ilike, (SELECT count(*) FROM (VALUES (1), (2)) v) AS count,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS now, jsonb_build_object('id', 'x') AS jsonb_build_object;
SELECT x FROM unnest(ARRAY['a', 'b']) x;
SELECT count(*) FROM "user";
RESET search_path;
SELECT what, count(*) FROM hostile.log GROUP BY what ORDER BY what;
TRUNCATE hostile.log;

------------------------------------------------------------------------------
-- The battery
------------------------------------------------------------------------------

-- sp_run: runs one statement, returns 'ok' or '<SQLSTATE>: <message>'
-- (pg_catalog.concat: no || that the hostile schema could capture).
CREATE FUNCTION public.sp_run(stmt text) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	st text;
	msg text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN pg_catalog.concat(st, ': ', msg);
END
$$;
CREATE TABLE public.sp_battery (step int PRIMARY KEY, stmt text NOT NULL);
CREATE TABLE public.sp_results (run text, step int, n bigint, out text);
CREATE TABLE public.sp_outcomes (run text, step int, outcome text);
GRANT SELECT ON public.sp_battery TO PUBLIC;
GRANT INSERT, SELECT ON public.sp_results, public.sp_outcomes TO PUBLIC;
-- sp_run_battery: every step in order, outcomes recorded under the current run
CREATE FUNCTION public.sp_run_battery() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT step, stmt FROM public.sp_battery ORDER BY step LOOP
		INSERT INTO public.sp_outcomes VALUES (pg_catalog.current_setting('regress.run'), r.step, public.sp_run(r.stmt));
	END LOOP;
END
$$;

-- Each step records what it returned in sp_results (stable columns only).
INSERT INTO public.sp_battery VALUES
-- create, with every argument; created_at from the real clock
(1, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 1, u.n,
      ROW(u.id, u.email, u.first_name, u.last_name, u.avatar_url, u.metadata, u.created_at > '2020-01-01', u.deleted_at IS NULL)::text
    FROM user_module.create_user(' Ann.Lee@Example.COM ', 'Ann', 'Lee', 'https://a/ann.png', '{"a":1,"b":2}', 'h1')
         WITH ORDINALITY AS u(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at, n)$$),
(2, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 2, u.n,
      ROW(u.id, u.email, u.first_name, u.metadata, u.created_at > '2020-01-01')::text
    FROM user_module.create_users('[{"id":"h2","email":"BOB@example.com","first_name":"Bob"},
                                    {"id":"h3","email":"carol@example.com","last_name":"Lee","metadata":{"k":"v"}},
                                    {"id":"h4","email":"dave@example.com","first_name":"x%_y"}]')
         WITH ORDINALITY AS u(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at, n)$$),
-- a generated id
(3, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 3, 1,
      ROW(u.id ~ '^user_[0-9A-HJKMNP-TV-Z]{26}$', u.email)::text
    FROM user_module.create_user('gen@example.com') u$$),
-- uniqueness still enforced, case-insensitively; ids too
(4, $$SELECT user_module.create_user('ann.lee@example.com', id => 'h9')$$),
(5, $$SELECT user_module.create_users('[{"id":"h9","email":"x1@example.com"},{"id":"h10","email":"X1@EXAMPLE.com"}]')$$),
(6, $$SELECT user_module.create_user('new@example.com', id => 'h1')$$),
(7, $$SELECT user_module.update_user('h2', '{"email":"Ann.Lee@example.com"}')$$),
-- reads
(10, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 10, 1,
       ROW(u.id, u.email)::text FROM user_module.retrieve_user('h1') u$$),
(11, $$SELECT user_module.retrieve_user('nope')$$),
(12, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 12, u.n, u.id
     FROM user_module.list_users('{"email":["ann.lee@EXAMPLE.com","bob@example.COM"]}')
          WITH ORDINALITY AS u(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at, n)$$),
(13, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 13, u.n, u.id
     FROM user_module.list_users('{"id":["h3","h1","nope"]}', order_by => '-id')
          WITH ORDINALITY AS u(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at, n)$$),
(14, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 14, u.n, u.id
     FROM user_module.list_users('{"q":"lee"}', order_by => 'email')
          WITH ORDINALITY AS u(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at, n)$$),
(15, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 15, u.n, u.id
     FROM user_module.list_users('{"q":"%"}')
          WITH ORDINALITY AS u(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at, n)$$),
(16, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 16, u.n, u.id
     FROM user_module.list_users('{"first_name":["Ann","Bob"],"created_at":{"$gt":"2020-01-01"}}', 1, 1, 'first_name')
          WITH ORDINALITY AS u(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at, n)$$),
(17, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 17, 1,
       ROW(user_module.count_users(), user_module.count_users('{"q":"example ann"}'),
           user_module.count_users('{"email":"CAROL@example.com"}'), user_module.count_users('{"id":[]}'))::text$$),
-- updates: metadata merge, email change, no-op
(20, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 20, 1,
       ROW(u.id, u.email, u.metadata, u.updated_at > '2020-01-01')::text
     FROM user_module.update_user('h1', '{"metadata":{"a":"","c":3},"email":"ann@example.com"}') u$$),
(21, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 21, u.n,
       ROW(u.id, u.first_name, u.metadata)::text
     FROM user_module.update_users('[{"id":"h2","first_name":"Robert"},{"id":"h3","metadata":{}},{"id":"h2","metadata":{"z":1}}]')
          WITH ORDINALITY AS u(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at, deleted_at, n)$$),
(22, $$SELECT user_module.update_users('[{"id":"h2","first_name":"x"},{"id":"nope1"},{"id":"nope2"}]')$$),
-- soft delete, email reuse, restore conflict, restore, hard delete
(30, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 30, d.n, d.id
     FROM user_module.soft_delete_users(ARRAY['h4', 'h3', 'nope']) WITH ORDINALITY AS d(id, n)$$),
(31, $$SELECT user_module.create_user('DAVE@example.com', id => 'h5')$$),
(32, $$SELECT user_module.restore_users(ARRAY['h4'])$$),
(33, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 33, d.n, d.id
     FROM user_module.restore_users(ARRAY['h3', 'h1']) WITH ORDINALITY AS d(id, n)$$),
(34, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 34, 1,
       ROW(user_module.count_users(), user_module.count_users(with_deleted => true))::text$$),
(35, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 35, d.n, d.id
     FROM user_module.delete_users(ARRAY(SELECT u.id FROM user_module.list_users(with_deleted => true) u
                                          WHERE u.id !~ '^user_'))
          WITH ORDINALITY AS d(id, n)$$),
(36, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 36, d.n, 'generated'
     FROM user_module.delete_users(ARRAY(SELECT u.id FROM user_module.list_users(with_deleted => true) u))
          WITH ORDINALITY AS d(id, n)$$),
-- bad input is still refused
(40, $$SELECT user_module.create_user('no at sign')$$),
(41, $$SELECT user_module.list_users('{"nope":1}')$$),
(42, $$SELECT user_module.list_users(order_by => 'nope')$$),
(43, $$SELECT user_module.create_user('m@example.com', metadata => '[]')$$),
-- the events of the run, claimed
(50, $$INSERT INTO public.sp_results SELECT pg_catalog.current_setting('regress.run'), 50, e.n,
       ROW(e.name, CASE WHEN e.entity_id ~ '^user_' THEN 'generated' ELSE e.entity_id END,
           e.data ? 'id', e.created_at > '2020-01-01')::text
     FROM user_module.claim_events(1000) WITH ORDINALITY AS e(id, name, entity_id, data, created_at, n)$$);

------------------------------------------------------------------------------
-- Run 1: regress_admin, hostile before pg_catalog, in a fresh session
------------------------------------------------------------------------------

SELECT count(*) AS users, (SELECT count(*) FROM user_module.event) AS events FROM user_module."user";
SET regress.run = 'hostile, pg_catalog';
SET ROLE regress_admin;
SET search_path = hostile, pg_catalog, public;
SELECT public.sp_run_battery();
RESET search_path;
RESET ROLE;
SELECT count(*) AS hostile_calls FROM hostile.log;

------------------------------------------------------------------------------
-- Run 2: the reference
------------------------------------------------------------------------------

SET regress.run = 'reference';
SET ROLE regress_admin;
SELECT public.sp_run_battery();
RESET ROLE;
SELECT step, outcome FROM public.sp_outcomes WHERE run = 'reference' ORDER BY step;
SELECT step, n, out FROM public.sp_results WHERE run = 'reference' ORDER BY step, n;

------------------------------------------------------------------------------
-- Run 3: regress_admin, hostile first (pg_catalog implicitly before it)
------------------------------------------------------------------------------

SET regress.run = 'hostile';
SET ROLE regress_admin;
SET search_path = hostile, public;
SELECT public.sp_run_battery();
RESET search_path;
RESET ROLE;

------------------------------------------------------------------------------
-- Run 4: superuser, temporary tables named "user" and event first
------------------------------------------------------------------------------

CREATE TEMP TABLE "user" (LIKE hostile."user");
INSERT INTO pg_temp."user" (id, email) VALUES ('temp', 'temp@hostile.test');
CREATE TEMP TABLE event (LIKE hostile.event);
INSERT INTO pg_temp.event (id, name, entity_id) VALUES (1, 'temp', 'temp');
SET regress.run = 'pg_temp, hostile, pg_catalog';
SET search_path = pg_temp, hostile, pg_catalog, public;
SELECT public.sp_run_battery();
RESET search_path;

------------------------------------------------------------------------------
-- Every run gave the reference results; nothing hostile was called or touched
------------------------------------------------------------------------------

SELECT r.run,
       (SELECT count(*) FROM public.sp_outcomes o WHERE o.run = r.run) AS steps,
       NOT EXISTS (SELECT step, outcome FROM public.sp_outcomes WHERE run = r.run
                   EXCEPT SELECT step, outcome FROM public.sp_outcomes WHERE run = 'reference')
       AND NOT EXISTS (SELECT step, outcome FROM public.sp_outcomes WHERE run = 'reference'
                   EXCEPT SELECT step, outcome FROM public.sp_outcomes WHERE run = r.run) AS same_outcomes,
       NOT EXISTS (SELECT step, n, out FROM public.sp_results WHERE run = r.run
                   EXCEPT ALL SELECT step, n, out FROM public.sp_results WHERE run = 'reference')
       AND NOT EXISTS (SELECT step, n, out FROM public.sp_results WHERE run = 'reference'
                   EXCEPT ALL SELECT step, n, out FROM public.sp_results WHERE run = r.run) AS same_results
  FROM (SELECT DISTINCT run FROM public.sp_outcomes) r
 ORDER BY r.run;
-- any difference, for the diff
(SELECT run, step, n, out FROM public.sp_results WHERE run <> 'reference'
 EXCEPT SELECT r.run, s.step, s.n, s.out FROM public.sp_results s, (SELECT DISTINCT run FROM public.sp_results) r WHERE s.run = 'reference')
ORDER BY 1, 2, 3;
SELECT what, count(*) FROM hostile.log GROUP BY what ORDER BY what;
SELECT id, email FROM hostile."user";
SELECT id, name, entity_id FROM hostile.event;
SELECT id, email FROM pg_temp."user";
SELECT id, name, entity_id FROM pg_temp.event;
SELECT count(*) AS users, (SELECT count(*) FROM user_module.event) AS events FROM user_module."user";

DROP TABLE public.sp_battery, public.sp_results, public.sp_outcomes, pg_temp."user", pg_temp.event;
DROP FUNCTION public.sp_run(text), public.sp_run_battery();
SET client_min_messages = warning;
DROP SCHEMA hostile CASCADE;
RESET client_min_messages;
