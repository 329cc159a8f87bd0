-- test/bench/scale_setup.sql: run after setup.sql and invites_setup.sql. The
-- loader and the timed loops of scale.sh. User n of the loaded data has the
-- email bench.email(n, 'u'), invite n the email bench.email(n, 'i'); keys are
-- drawn as numbers n and found through the email, so that they stay valid
-- after a run replaced an invite (new id) or refreshed its token.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- Calls timed inside the server; round 0 are warm-up calls, round -1 the
-- calls whose plans auto_explain logs (neither enters the figures).
CREATE TABLE bench.scale_latency (
	op text, size bigint, round int, i int, ms double precision);

-- The keys and arguments of the calls of one run of bench.scale_run (i: call
-- number), prepared before the calls so that the timing leaves them out.
CREATE UNLOGGED TABLE bench.scale_key (
	i int PRIMARY KEY, n bigint, id text, email text, token text, arg jsonb);

-- Grows the data from lo - 1 to lo + cnt - 1 users and as many invites,
-- through the bulk functions, chunk rows per call and transaction.
CREATE PROCEDURE bench.scale_grow(lo bigint, cnt bigint, chunk int)
LANGUAGE plpgsql AS $$
DECLARE
	s bigint := lo;
	n bigint;
BEGIN
	WHILE s < lo + cnt LOOP
		n := least(chunk, lo + cnt - s);
		PERFORM count(*) FROM user_module.create_users(bench.users_json(s, n, 'u'));
		PERFORM count(*) FROM user_module.create_invites(bench.invites_json(s, n, 'i'));
		COMMIT;
		s := s + n;
	END LOOP;
END
$$;

-- m distinct numbers of 1 .. nmax in random order (random(), so setseed
-- makes them repeatable).
CREATE FUNCTION bench.scale_draw(nmax bigint, m int) RETURNS bigint[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	picked bigint[];
BEGIN
	IF m > nmax THEN
		RAISE EXCEPTION 'cannot draw % distinct numbers of %', m, nmax;
	END IF;
	IF m * 4 > nmax THEN
		-- dense: shuffle the whole range
		SELECT (array_agg(n ORDER BY random()))[1:m] INTO picked FROM generate_series(1, nmax) AS n;
	ELSE
		-- sparse: twice as many draws leave far more than m distinct
		-- numbers; keep each one's first draw, in draw order
		SELECT array_agg(n ORDER BY first) INTO picked
		  FROM (SELECT n, min(d) AS first
				  FROM (SELECT d, 1 + floor(random() * nmax)::bigint AS n
						  FROM generate_series(1, 2 * m + 10) AS d) draws
				 GROUP BY n ORDER BY first LIMIT m) s;
	END IF;
	IF cardinality(picked) <> m THEN
		RAISE EXCEPTION 'drew % distinct numbers, not %', cardinality(picked), m;
	END IF;
	RETURN picked;
END
$$;

-- The ids of m random live invites (for one refresh_invite_tokens call).
CREATE FUNCTION bench.scale_invite_ids(nmax bigint, m int) RETURNS text[]
LANGUAGE sql VOLATILE AS $$
	SELECT array_agg(i.id ORDER BY d.o)
	  FROM unnest(bench.scale_draw(nmax, m)) WITH ORDINALITY AS d(n, o)
	  JOIN user_module.invite i ON lower(i.email) = bench.email(d.n, 'i') AND i.deleted_at IS NULL
$$;

-- bench.scale_run(op, size, rnd, ncalls): ncalls calls of one operation on
-- keys drawn from the size loaded users or invites, each timed alone
-- (clock_timestamp() around it) and committed alone, so that every call
-- runs as its own transaction would (the commit itself is not timed). What
-- a run creates it removes again, and what it accepts it replaces by an
-- invite of the same email, so that every run finds size users and invites.
-- With explain, auto_explain (loaded by the caller) logs the plans of the
-- timed calls, and of nothing else.
CREATE PROCEDURE bench.scale_run(op text, size bigint, rnd int, ncalls int, explain boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
	k record;
	t0 timestamptz;
	t1 timestamptz;
	t2 timestamptz;
	t3 timestamptz;
	ids text[];
	created text[] := '{}';
	accepted_users text[] := '{}';
	accepted_invites text[] := '{}';
	accepted_emails text[] := '{}';
	new_id text;
	missing bigint;
BEGIN
	-- the same keys in every run of this op and round
	PERFORM setseed(hashtext(op || '/' || rnd)::double precision / 2147483648);
	TRUNCATE bench.scale_key;
	IF op IN ('create_user', 'create_invite', 'refresh_1000') THEN
		-- new emails, or ids drawn per call
		INSERT INTO bench.scale_key (i, n, email)
		SELECT i, i, bench.email(i, CASE op WHEN 'create_user' THEN 'new_u' ELSE 'new_i' END)
		  FROM generate_series(1, ncalls) AS i;
	ELSIF op IN ('validate_invite_token', 'refresh_1', 'accept_invite', 'list_invites_email') THEN
		INSERT INTO bench.scale_key (i, n, id, email, token, arg)
		SELECT d.i, d.n, v.id, v.email,
			   CASE WHEN op IN ('validate_invite_token', 'accept_invite')
					THEN (user_module.retrieve_invite(v.id)).token END,
			   -- another case than stored: the filter is case-insensitive
			   jsonb_build_object('email', upper(v.email))
		  FROM unnest(bench.scale_draw(size, ncalls)) WITH ORDINALITY AS d(n, i)
		  LEFT JOIN user_module.invite v ON lower(v.email) = bench.email(d.n, 'i') AND v.deleted_at IS NULL;
	ELSE
		INSERT INTO bench.scale_key (i, n, id, email, arg)
		SELECT d.i, d.n, u.id, u.email,
			   CASE
			   -- two words: prefixes of a first and a last name, as someone
			   -- types them ("anna smi"); few matches
			   WHEN op IN ('list_users_q2', 'count_users_q2') THEN
					jsonb_build_object('q', lower(left(u.first_name, 4)) || ' ' || lower(left(u.last_name, 3)))
			   -- one word, a whole last name: 1 user in 200 or so matches
			   WHEN op = 'list_users_q1' THEN jsonb_build_object('q', lower(u.last_name))
			   WHEN op = 'count_users_email' THEN jsonb_build_object('email', upper(u.email))
			   WHEN op = 'update_user' THEN
					jsonb_build_object('metadata', jsonb_build_object('scale', rnd * 100000 + d.i))
			   END
		  FROM unnest(bench.scale_draw(size, ncalls)) WITH ORDINALITY AS d(n, i)
		  LEFT JOIN user_module."user" u ON lower(u.email) = bench.email(d.n, 'u') AND u.deleted_at IS NULL;
	END IF;
	SELECT count(*) INTO missing FROM bench.scale_key
	 WHERE id IS NULL AND op NOT IN ('create_user', 'create_invite', 'refresh_1000');
	IF missing > 0 THEN
		RAISE EXCEPTION '%: % keys not found among % rows', op, missing, size;
	END IF;
	-- Every run starts with the trigram indexes' pending lists (GIN
	-- fastupdate) flushed: else a q search also scans every entry the writes
	-- of the runs before it left there (up to gin_pending_list_limit, 4MB),
	-- and its latency would follow the order of the runs and autovacuum
	-- rather than the size.
	PERFORM gin_clean_pending_list('user_module.user_search'),
			gin_clean_pending_list('user_module.invite_search');
	COMMIT;

	FOR k IN SELECT * FROM bench.scale_key ORDER BY i LOOP
		IF op = 'refresh_1000' THEN
			ids := bench.scale_invite_ids(size, least(1000, size)::int);
		END IF;
		IF explain THEN
			RAISE LOG 'scale plans: %', op;
			PERFORM set_config('auto_explain.log_min_duration', '0', false);
		END IF;
		t0 := clock_timestamp();
		CASE op
		WHEN 'create_user' THEN
			SELECT u.id INTO new_id FROM user_module.create_user(k.email) AS u;
			created := created || new_id;
		WHEN 'retrieve_user' THEN
			PERFORM user_module.retrieve_user(k.id);
		WHEN 'list_users_q2', 'list_users_q1' THEN
			PERFORM count(*) FROM user_module.list_users(k.arg, 0, 20);
		WHEN 'count_users_email', 'count_users_q2' THEN
			PERFORM user_module.count_users(k.arg);
		WHEN 'update_user' THEN
			PERFORM user_module.update_user(k.id, k.arg);
		WHEN 'soft_delete_restore' THEN
			-- two operations: the soft delete, then its restore
			PERFORM count(*) FROM user_module.soft_delete_users(ARRAY[k.id]);
			t1 := clock_timestamp();
			COMMIT;
			t2 := clock_timestamp();
			PERFORM count(*) FROM user_module.restore_users(ARRAY[k.id]);
		WHEN 'create_invite' THEN
			SELECT v.id INTO new_id FROM user_module.create_invite(k.email) AS v;
			created := created || new_id;
		WHEN 'validate_invite_token' THEN
			PERFORM user_module.validate_invite_token(k.token);
		WHEN 'refresh_1' THEN
			PERFORM count(*) FROM user_module.refresh_invite_tokens(ARRAY[k.id]);
		WHEN 'refresh_1000' THEN
			PERFORM count(*) FROM user_module.refresh_invite_tokens(ids);
		WHEN 'accept_invite' THEN
			SELECT u.id INTO new_id FROM user_module.accept_invite(k.token, 'Scale', 'Bench') AS u;
			accepted_users := accepted_users || new_id;
			accepted_invites := accepted_invites || k.id;
			accepted_emails := accepted_emails || k.email;
		WHEN 'list_invites_email' THEN
			PERFORM count(*) FROM user_module.list_invites(k.arg);
		END CASE;
		t3 := clock_timestamp();
		IF explain THEN
			PERFORM set_config('auto_explain.log_min_duration', '-1', false);
		END IF;
		IF op = 'soft_delete_restore' THEN
			INSERT INTO bench.scale_latency VALUES
				('soft_delete_users', size, rnd, k.i, extract(epoch FROM t1 - t0) * 1000),
				('restore_users', size, rnd, k.i, extract(epoch FROM t3 - t2) * 1000);
		ELSE
			-- refresh_1000: the latency per id
			INSERT INTO bench.scale_latency VALUES (op, size, rnd, k.i,
				extract(epoch FROM t3 - t0) * 1000
				/ CASE WHEN op = 'refresh_1000' THEN cardinality(ids) ELSE 1 END);
		END IF;
		COMMIT;
	END LOOP;

	IF op = 'create_user' THEN
		PERFORM count(*) FROM user_module.delete_users(created);
	ELSIF op = 'create_invite' THEN
		PERFORM count(*) FROM user_module.delete_invites(created);
	ELSIF op = 'accept_invite' THEN
		PERFORM count(*) FROM user_module.delete_users(accepted_users);
		PERFORM count(*) FROM user_module.delete_invites(accepted_invites);
		PERFORM count(*) FROM user_module.create_invites(
			(SELECT jsonb_agg(jsonb_build_object('email', e)) FROM unnest(accepted_emails) AS e));
	END IF;
	COMMIT;
END
$$;

-- A latency in ms with three significant digits.
CREATE FUNCTION bench.scale_fmt(v double precision) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN v IS NULL THEN '—' WHEN v <= 0 THEN '0'
				ELSE round(v::numeric, greatest(0, 2 - floor(log(v::numeric)))::int)::text END
$$;

-- The operations of the report, in its order (filled by scale.sh).
CREATE TABLE bench.scale_op (ord int PRIMARY KEY, op text NOT NULL, label text NOT NULL);
