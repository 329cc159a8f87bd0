-- test/bench/list.sql: the list_users / count_users workload over a large
-- table. bench.run_calls times each call inside the server (clock_timestamp
-- around the statement), so the figures exclude the client round trip.
\set ON_ERROR_STOP on

-- Queries like "anna smi": a first-name prefix and a last-name prefix, and an
-- existing user's email (lookups by email, case-insensitive).
TRUNCATE bench.query;
INSERT INTO bench.query (k, q, p1, p2, email)
SELECT k, w1 || ' ' || w2, '%' || w1 || '%', '%' || w2 || '%',
	   upper(left(e, 1)) || substr(e, 2)
  FROM (SELECT k,
			   lower(left(bench.first_name(k * 7 + 1), 3 + k % 2)) AS w1,
			   lower(left(bench.last_name(k * 13 + 5), 3)) AS w2,
			   bench.email((hashint8(k)::bigint & 2147483647) % :users + 1, 'l') AS e
		  FROM generate_series(1, 1000) AS k) s;

-- The search expression of the index user_search, as src/users.c writes it.
CREATE OR REPLACE FUNCTION bench.run_calls(op text, side text, rnd int, ncalls int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
	t0 timestamptz;
	n bigint;
BEGIN
	-- the raw side plans as the C code does: q statements for their values,
	-- others as the plan cache decides
	PERFORM set_config('plan_cache_mode',
					   CASE WHEN op LIKE '%q' THEN 'force_custom_plan' ELSE 'auto' END, true);
	FOR r IN SELECT * FROM bench.query WHERE k <= ncalls ORDER BY k LOOP
		t0 := clock_timestamp();
		IF side = 'um' AND op = 'list_q' THEN
			SELECT count(*) INTO n FROM user_module.list_users(jsonb_build_object('q', r.q), 0, 20);
		ELSIF side = 'raw' AND op = 'list_q' THEN
			SELECT count(*) INTO n FROM (
				SELECT * FROM user_module."user"
				 WHERE deleted_at IS NULL
				   AND ((COALESCE(first_name, ''::text) || ' '::text || COALESCE(last_name, ''::text)
						 || ' '::text || email) ~~* r.p1)
				   AND ((COALESCE(first_name, ''::text) || ' '::text || COALESCE(last_name, ''::text)
						 || ' '::text || email) ~~* r.p2)
				 ORDER BY id ASC OFFSET 0 LIMIT 20) s;
		ELSIF side = 'um' AND op = 'count_q' THEN
			n := user_module.count_users(jsonb_build_object('q', r.q));
		ELSIF side = 'raw' AND op = 'count_q' THEN
			SELECT count(*) INTO n FROM user_module."user"
			 WHERE deleted_at IS NULL
			   AND ((COALESCE(first_name, ''::text) || ' '::text || COALESCE(last_name, ''::text)
					 || ' '::text || email) ~~* r.p1)
			   AND ((COALESCE(first_name, ''::text) || ' '::text || COALESCE(last_name, ''::text)
					 || ' '::text || email) ~~* r.p2);
		ELSIF side = 'um' AND op = 'list_email' THEN
			SELECT count(*) INTO n FROM user_module.list_users(jsonb_build_object('email', r.email));
		ELSIF side = 'raw' AND op = 'list_email' THEN
			-- as one would write it by hand: lower(email) = lower($1)
			SELECT count(*) INTO n FROM (
				SELECT * FROM user_module."user"
				 WHERE deleted_at IS NULL AND lower(email) = lower(r.email)
				 ORDER BY id ASC) s;
		ELSE
			RAISE EXCEPTION 'unknown op % / side %', op, side;
		END IF;
		INSERT INTO bench.latency VALUES (op, side, rnd, r.k,
			extract(epoch FROM clock_timestamp() - t0) * 1000, n);
	END LOOP;
END
$$;
