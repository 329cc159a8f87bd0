-- The leak check's harness (test/leak/leak.sh): one procedure per function
-- of the contract that makes calls first .. first + calls - 1 of it in the
-- calling session, committing every 10,000 calls as an application pool's
-- session would, and leak.mark, which records the backend's memory between
-- two such CALLs.
--
-- Every procedure mixes successful calls with the main error paths of its
-- function (about one call in five): each error call sits in its own
-- exception block that catches only the SQLSTATE it expects, and raises if
-- the call did not fail, so a run also proves that it took those paths.
-- Successful calls have no exception block (no subtransaction), as in an
-- application. Arguments are realistic: unique emails for creates, existing
-- ids for reads and writes, filters with q and order_by, real tokens.
--
-- The q words are the local parts of emails (u1234): a word that every row
-- has trigrams of (First1234, leak) makes a q search cost milliseconds on a
-- million rows (16 to 28 ms measured), which would make this check slow.
--
-- Note: FOR i IN a .. b makes its own integer i (the bigint i declared is
-- hidden), so a product of i that can pass 2^31 casts i to bigint first.
CREATE SCHEMA leak;

-- One row per checkpoint: how many calls of fn the session had made, when,
-- and its memory: the total of its memory contexts (palloc) and its private
-- anonymous resident memory (malloc, OpenSSL, everything but shared memory).
--
-- The contexts total leaves out one context: "WAL record construction"
-- (xloginsert.c) is enlarged by XLogEnsureRecordSpace to hold the largest WAL
-- record the session has built so far and never shrinks. It grows in steps
-- of some ten kB when a write first meets a larger record (a GIN pending-list
-- flush of the q index registers many buffers) and is bounded by
-- XLR_MAX_BLOCK_ID: about 100 kB more than at the start, once, whenever in
-- the run that first happens. Not a leak; RssAnon still counts it.
CREATE TABLE leak.checkpoint (
	fn        text NOT NULL,
	calls     bigint NOT NULL,
	at        timestamptz NOT NULL,
	contexts  bigint NOT NULL,
	rss_anon  bigint NOT NULL,
	PRIMARY KEY (fn, calls)
);

CREATE FUNCTION leak.mark(fn text, calls bigint) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO leak.checkpoint
	SELECT fn, calls, pg_catalog.clock_timestamp(),
		(SELECT pg_catalog.sum(total_bytes) FROM pg_catalog.pg_backend_memory_contexts
		 WHERE name OPERATOR(pg_catalog.<>) 'WAL record construction'),
		(pg_catalog.regexp_match(pg_catalog.pg_read_file('/proc/self/status'),
			'RssAnon:\s+(\d+) kB'))[1]::bigint * 1024
$$;

-- Pools of existing rows the procedures pick from by number (1 .. max(n)).
CREATE TABLE leak.uid (n int PRIMARY KEY, id text NOT NULL, email text NOT NULL,
	first_name text, created_at timestamptz);
CREATE TABLE leak.vid (n int PRIMARY KEY, id text NOT NULL, email text NOT NULL,
	created_at timestamptz);
-- tokens: pool invites' current tokens (validate), fresh invites' (accept)
CREATE TABLE leak.tok (n int PRIMARY KEY, token text NOT NULL);
CREATE TABLE leak.acc (n int PRIMARY KEY, token text NOT NULL);
-- a token of an expired invite, of an accepted one
CREATE TABLE leak.special (kind text PRIMARY KEY, token text NOT NULL);

CREATE PROCEDURE leak.fill_uid() LANGUAGE sql AS $$
	TRUNCATE leak.uid;
	INSERT INTO leak.uid
	SELECT row_number() OVER (ORDER BY id), id, email, first_name, created_at
	FROM user_module."user" WHERE deleted_at IS NULL;
	ANALYZE leak.uid;
$$;

CREATE PROCEDURE leak.fill_vid() LANGUAGE sql AS $$
	TRUNCATE leak.vid;
	INSERT INTO leak.vid
	SELECT row_number() OVER (ORDER BY id), id, email, created_at
	FROM user_module.invite WHERE deleted_at IS NULL;
	ANALYZE leak.vid;
$$;

CREATE FUNCTION leak.u(k bigint) RETURNS leak.uid
LANGUAGE sql STABLE AS $$ SELECT * FROM leak.uid WHERE n = k $$;
CREATE FUNCTION leak.v(k bigint) RETURNS leak.vid
LANGUAGE sql STABLE AS $$ SELECT * FROM leak.vid WHERE n = k $$;

-- The harness alone: a loop that calls nothing of ours. Its growth is what
-- the measure shows with no leak at all.
CREATE PROCEDURE leak.run_control(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		PERFORM pg_catalog.md5(i::text);
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM 1 / 0;
			EXCEPTION WHEN division_by_zero THEN NULL;
			END;
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

------------------------------------------------------------------------------
-- Users
------------------------------------------------------------------------------

CREATE PROCEDURE leak.run_create_user(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN	-- the previous call's email again
				PERFORM user_module.create_user('U' || (i - 1) || '@leak.example', 'Dup');
				RAISE EXCEPTION 'create_user % did not fail', i;
			EXCEPTION WHEN unique_violation THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN
				PERFORM user_module.create_user('u' || i || ' @leak.example');
				RAISE EXCEPTION 'create_user % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			PERFORM user_module.create_user('u' || i || '@leak.example', 'First' || i,
				'Last' || i % 100, CASE WHEN i % 2 = 0 THEN 'https://img.example/' || i END,
				pg_catalog.jsonb_build_object('n', i, 'tags', pg_catalog.jsonb_build_array('a', 'b')));
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_create_users(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; batch jsonb;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		-- 1 to 3 rows
		SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('email', 'c' || i || '_' || j || '@leak.example',
			'first_name', 'C' || i, 'metadata', pg_catalog.jsonb_build_object('j', j)))
		INTO batch FROM pg_catalog.generate_series(1, 1 + i % 3) j;
		IF i % 10 = 0 THEN
			BEGIN	-- the same email twice in one batch
				PERFORM user_module.create_users(batch || pg_catalog.jsonb_build_array(batch -> 0));
				RAISE EXCEPTION 'create_users % did not fail', i;
			EXCEPTION WHEN unique_violation THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN
				PERFORM user_module.create_users(batch || '[{"email": "x@leak.example", "nick": "x"}]');
				RAISE EXCEPTION 'create_users % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			PERFORM user_module.create_users(batch);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_retrieve_user(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.uid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.retrieve_user('user_01LEAKMISSING' || i);
				RAISE EXCEPTION 'retrieve_user % did not fail', i;
			EXCEPTION WHEN no_data_found THEN NULL;
			END;
		ELSE
			PERFORM user_module.retrieve_user((leak.u(i % m + 1)).id, i % 10 = 5);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_list_users(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.uid); a leak.uid; b leak.uid;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		a := leak.u(i % m + 1);
		b := leak.u((i::bigint * 7919) % m + 1);
		CASE i % 10
		WHEN 0 THEN
			BEGIN
				PERFORM user_module.list_users('{}', 0, 10, '-nope,id');
				RAISE EXCEPTION 'list_users % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		WHEN 1, 2 THEN
			PERFORM user_module.list_users(pg_catalog.jsonb_build_object('q', pg_catalog.upper(pg_catalog.split_part(a.email, '@', 1))),
				0, 10, '-created_at,id');
		WHEN 3, 4 THEN
			PERFORM user_module.list_users(pg_catalog.jsonb_build_object('email', pg_catalog.jsonb_build_array(pg_catalog.upper(a.email), b.email)),
				0, NULL, 'email');
		WHEN 5, 6 THEN
			PERFORM user_module.list_users(pg_catalog.jsonb_build_object('first_name', a.first_name), 0, 5);
		WHEN 7 THEN
			PERFORM user_module.list_users(pg_catalog.jsonb_build_object('first_name', pg_catalog.jsonb_build_array(a.first_name, b.first_name),
				'created_at', pg_catalog.jsonb_build_object('$gte', a.created_at, '$lte', pg_catalog.now())), (i % 2)::int, 10, 'created_at');
		WHEN 8 THEN
			PERFORM user_module.list_users(pg_catalog.jsonb_build_object('id', pg_catalog.jsonb_build_array(a.id, b.id, 'user_none')),
				0, NULL, 'id', true);
		ELSE
			PERFORM user_module.list_users(pg_catalog.jsonb_build_object('last_name', 'Last' || i % 100, 'first_name', a.first_name),
				0, 10, 'last_name,-email');
		END CASE;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_count_users(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.uid); a leak.uid; b leak.uid;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		a := leak.u(i % m + 1);
		b := leak.u((i::bigint * 7919) % m + 1);
		CASE i % 5
		WHEN 0 THEN
			BEGIN
				PERFORM user_module.count_users('{"created_at": {"$since": "2020-01-01"}}');
				RAISE EXCEPTION 'count_users % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		WHEN 1 THEN
			PERFORM user_module.count_users(pg_catalog.jsonb_build_object('q', pg_catalog.split_part(a.email, '@', 1) || ' ' || pg_catalog.split_part(b.email, '@', 1)));
		WHEN 2 THEN
			PERFORM user_module.count_users(pg_catalog.jsonb_build_object('email', a.email), true);
		WHEN 3 THEN
			PERFORM user_module.count_users(pg_catalog.jsonb_build_object('id', pg_catalog.jsonb_build_array(a.id, b.id)));
		ELSE
			PERFORM user_module.count_users(pg_catalog.jsonb_build_object('first_name', a.first_name,
				'created_at', pg_catalog.jsonb_build_object('$gte', a.created_at, '$lt', a.created_at + interval '1 hour')));
		END CASE;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_update_user(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.uid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.update_user('user_01LEAKMISSING' || i, '{"first_name": "X"}');
				RAISE EXCEPTION 'update_user % did not fail', i;
			EXCEPTION WHEN no_data_found THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN
				PERFORM user_module.update_user((leak.u(i % m + 1)).id, '{"nick": "X"}');
				RAISE EXCEPTION 'update_user % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			PERFORM user_module.update_user((leak.u(i % m + 1)).id,
				pg_catalog.jsonb_build_object('last_name', 'L' || i,
					'metadata', pg_catalog.jsonb_build_object('k', i, 'n', '')));
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_update_users(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.uid); batch jsonb;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		batch := pg_catalog.jsonb_build_array(
			pg_catalog.jsonb_build_object('id', (leak.u(i % m + 1)).id, 'first_name', 'F' || i),
			pg_catalog.jsonb_build_object('id', (leak.u((i + m / 2) % m + 1)).id,
				'metadata', pg_catalog.jsonb_build_object('u', i)));
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.update_users(batch || '[{"id": "user_01LEAKMISSING", "last_name": "X"}]');
				RAISE EXCEPTION 'update_users % did not fail', i;
			EXCEPTION WHEN no_data_found THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN
				PERFORM user_module.update_users(batch || '[{"last_name": "no id"}]');
				RAISE EXCEPTION 'update_users % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			PERFORM user_module.update_users(batch);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

-- The three delete procedures take pool users in turn, one per call (the
-- second time round they change nothing, which is a path of its own).
CREATE PROCEDURE leak.run_soft_delete_users(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.uid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN	-- an unknown id along
			PERFORM user_module.soft_delete_users(ARRAY[(leak.u(i % m + 1)).id, 'user_01LEAKMISSING']);
		ELSE
			PERFORM user_module.soft_delete_users(ARRAY[(leak.u(i % m + 1)).id]);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

-- Pool users 1 .. 10 have live namesakes (leak.sh): restoring one is 23505.
CREATE PROCEDURE leak.run_restore_users(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.uid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.restore_users(ARRAY[(leak.u(11 + i % (m - 10))).id, (leak.u(1 + i / 10 % 10)).id]);
				RAISE EXCEPTION 'restore_users % did not fail', i;
			EXCEPTION WHEN unique_violation THEN NULL;
			END;
		ELSE
			PERFORM user_module.restore_users(ARRAY[(leak.u(11 + i % (m - 10))).id]);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_delete_users(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.uid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			PERFORM user_module.delete_users(ARRAY[(leak.u(i % m + 1)).id, 'user_01LEAKMISSING']);
		ELSE
			PERFORM user_module.delete_users(ARRAY[(leak.u(i % m + 1)).id]);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

------------------------------------------------------------------------------
-- Invites
------------------------------------------------------------------------------

CREATE PROCEDURE leak.run_create_invite(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.create_invite('I' || (i - 1) || '@leak.example');
				RAISE EXCEPTION 'create_invite % did not fail', i;
			EXCEPTION WHEN unique_violation THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN
				PERFORM user_module.create_invite('i' || i || '@leak.example', '[1, 2]');
				RAISE EXCEPTION 'create_invite % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			PERFORM user_module.create_invite('i' || i || '@leak.example',
				pg_catalog.jsonb_build_object('n', i, 'role', 'admin'));
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_create_invites(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; batch jsonb;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('email', 'ci' || i || '_' || j || '@leak.example',
			'metadata', pg_catalog.jsonb_build_object('j', j)))
		INTO batch FROM pg_catalog.generate_series(1, 1 + i % 3) j;
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.create_invites(batch || pg_catalog.jsonb_build_array(batch -> 0));
				RAISE EXCEPTION 'create_invites % did not fail', i;
			EXCEPTION WHEN unique_violation THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN
				PERFORM user_module.create_invites(batch || '[{"email": "no-at-sign"}]');
				RAISE EXCEPTION 'create_invites % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			PERFORM user_module.create_invites(batch);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_retrieve_invite(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.vid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.retrieve_invite('invite_01LEAKMISSING' || i);
				RAISE EXCEPTION 'retrieve_invite % did not fail', i;
			EXCEPTION WHEN no_data_found THEN NULL;
			END;
		ELSE
			PERFORM user_module.retrieve_invite((leak.v(i % m + 1)).id, i % 10 = 5);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_list_invites(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.vid); a leak.vid; b leak.vid;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		a := leak.v(i % m + 1);
		b := leak.v((i::bigint * 7919) % m + 1);
		CASE i % 10
		WHEN 0 THEN
			BEGIN
				PERFORM user_module.list_invites('{}', -1);
				RAISE EXCEPTION 'list_invites % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		WHEN 1, 2 THEN
			PERFORM user_module.list_invites(pg_catalog.jsonb_build_object('q', pg_catalog.split_part(a.email, '@', 1)),
				0, 10, '-created_at,id');
		WHEN 3, 4 THEN
			PERFORM user_module.list_invites(pg_catalog.jsonb_build_object('email', pg_catalog.jsonb_build_array(pg_catalog.upper(a.email), b.email)),
				0, NULL, 'email');
		WHEN 5, 6 THEN
			PERFORM user_module.list_invites(pg_catalog.jsonb_build_object('id', pg_catalog.jsonb_build_array(a.id, b.id), 'accepted', false,
				'expires_at', pg_catalog.jsonb_build_object('$gt', pg_catalog.now())), (i % 2)::int, 10, '-expires_at');
		WHEN 7 THEN
			PERFORM user_module.list_invites(pg_catalog.jsonb_build_object('email', a.email,
				'created_at', pg_catalog.jsonb_build_object('$gte', a.created_at, '$lte', pg_catalog.now())), 0, 10, 'created_at');
		WHEN 8 THEN
			PERFORM user_module.list_invites(pg_catalog.jsonb_build_object('id', pg_catalog.jsonb_build_array(a.id, b.id, 'invite_none')),
				0, NULL, 'id', true);
		ELSE
			PERFORM user_module.list_invites(pg_catalog.jsonb_build_object('q', pg_catalog.split_part(a.email, '@', 1) || ' ' || pg_catalog.split_part(b.email, '@', 1)),
				0, 10, 'email,-id');
		END CASE;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_count_invites(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.vid); a leak.vid; b leak.vid;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		a := leak.v(i % m + 1);
		b := leak.v((i::bigint * 7919) % m + 1);
		CASE i % 5
		WHEN 0 THEN
			BEGIN
				PERFORM user_module.count_invites('{"accepted": "yes"}');
				RAISE EXCEPTION 'count_invites % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		WHEN 1 THEN
			PERFORM user_module.count_invites(pg_catalog.jsonb_build_object('q', pg_catalog.split_part(a.email, '@', 1)));
		WHEN 2 THEN
			PERFORM user_module.count_invites(pg_catalog.jsonb_build_object('email', a.email), true);
		WHEN 3 THEN
			PERFORM user_module.count_invites(pg_catalog.jsonb_build_object('id', pg_catalog.jsonb_build_array(a.id, b.id)));
		ELSE
			PERFORM user_module.count_invites(pg_catalog.jsonb_build_object('email', b.email, 'accepted', false));
		END CASE;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_update_invite(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.vid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.update_invite('invite_01LEAKMISSING' || i, '{"metadata": {"a": 1}}');
				RAISE EXCEPTION 'update_invite % did not fail', i;
			EXCEPTION WHEN no_data_found THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN	-- only metadata may change
				PERFORM user_module.update_invite((leak.v(i % m + 1)).id, '{"email": "other@leak.example"}');
				RAISE EXCEPTION 'update_invite % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			PERFORM user_module.update_invite((leak.v(i % m + 1)).id,
				pg_catalog.jsonb_build_object('metadata', pg_catalog.jsonb_build_object('k', i, 'role', '')));
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_update_invites(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.vid); batch jsonb;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		batch := pg_catalog.jsonb_build_array(
			pg_catalog.jsonb_build_object('id', (leak.v(i % m + 1)).id, 'metadata', pg_catalog.jsonb_build_object('a', i)),
			pg_catalog.jsonb_build_object('id', (leak.v((i + m / 2) % m + 1)).id,
				'metadata', pg_catalog.jsonb_build_object('b', i)));
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.update_invites(batch || '[{"id": "invite_01LEAKMISSING", "metadata": null}]');
				RAISE EXCEPTION 'update_invites % did not fail', i;
			EXCEPTION WHEN no_data_found THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN
				PERFORM user_module.update_invites(batch || '[{"metadata": {}}]');
				RAISE EXCEPTION 'update_invites % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			PERFORM user_module.update_invites(batch);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_refresh_invite_tokens(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.vid); ids text[];
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		-- 1 to 3 invites
		SELECT pg_catalog.array_agg((leak.v((i + j * 1000) % m + 1)).id) INTO ids
		FROM pg_catalog.generate_series(0, i % 3) j;
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.refresh_invite_tokens(ids || 'invite_01LEAKMISSING'::text);
				RAISE EXCEPTION 'refresh_invite_tokens % did not fail', i;
			EXCEPTION WHEN no_data_found THEN NULL;
			END;
		ELSE
			PERFORM user_module.refresh_invite_tokens(ids);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_validate_invite_token(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE
	i bigint; m bigint := (SELECT max(n) FROM leak.tok); t text;
	expired text := (SELECT token FROM leak.special WHERE kind = 'expired');
	accepted text := (SELECT token FROM leak.special WHERE kind = 'accepted');
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		t := (SELECT token FROM leak.tok WHERE tok.n = i % m + 1);
		CASE i % 10
		WHEN 0 THEN
			BEGIN
				PERFORM user_module.validate_invite_token('eyJhbGciOiJIUzI1NiJ9.e30.' || i);
				RAISE EXCEPTION 'validate_invite_token % did not fail', i;
			EXCEPTION WHEN SQLSTATE '22U01' THEN NULL;
			END;
		WHEN 3 THEN
			BEGIN	-- another signature
				PERFORM user_module.validate_invite_token(pg_catalog.left(t, -2) ||
					CASE WHEN pg_catalog.right(t, 2) = 'AA' THEN 'AQ' ELSE 'AA' END);
				RAISE EXCEPTION 'validate_invite_token % did not fail', i;
			EXCEPTION WHEN SQLSTATE '22U01' THEN NULL;
			END;
		WHEN 6 THEN
			BEGIN
				PERFORM user_module.validate_invite_token(expired);
				RAISE EXCEPTION 'validate_invite_token % did not fail', i;
			EXCEPTION WHEN SQLSTATE '22U02' THEN NULL;
			END;
		WHEN 9 THEN
			BEGIN
				PERFORM user_module.validate_invite_token(accepted);
				RAISE EXCEPTION 'validate_invite_token % did not fail', i;
			EXCEPTION WHEN SQLSTATE '22U03' THEN NULL;
			END;
		ELSE
			PERFORM user_module.validate_invite_token(t);
		END CASE;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

-- Every call takes the next fresh invite (leak.acc, created by leak.sh).
CREATE PROCEDURE leak.run_accept_invite(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.accept_invite('x.y.z', 'Nobody');
				RAISE EXCEPTION 'accept_invite % did not fail', i;
			EXCEPTION WHEN SQLSTATE '22U01' THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN	-- the invite the previous call accepted
				PERFORM user_module.accept_invite((SELECT token FROM leak.acc WHERE acc.n = i - 1), 'Again');
				RAISE EXCEPTION 'accept_invite % did not fail', i;
			EXCEPTION WHEN SQLSTATE '22U03' THEN NULL;
			END;
		ELSE
			PERFORM user_module.accept_invite((SELECT token FROM leak.acc WHERE acc.n = i),
				'A' || i, 'Accepted', NULL, pg_catalog.jsonb_build_object('via', 'invite'));
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_soft_delete_invites(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.vid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			PERFORM user_module.soft_delete_invites(ARRAY[(leak.v(i % m + 1)).id, 'invite_01LEAKMISSING']);
		ELSE
			PERFORM user_module.soft_delete_invites(ARRAY[(leak.v(i % m + 1)).id]);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

-- Pool invites 1 .. 10 have live namesakes (leak.sh): restoring one is 23505.
CREATE PROCEDURE leak.run_restore_invites(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.vid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.restore_invites(ARRAY[(leak.v(11 + i % (m - 10))).id, (leak.v(1 + i / 10 % 10)).id]);
				RAISE EXCEPTION 'restore_invites % did not fail', i;
			EXCEPTION WHEN unique_violation THEN NULL;
			END;
		ELSE
			PERFORM user_module.restore_invites(ARRAY[(leak.v(11 + i % (m - 10))).id]);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

CREATE PROCEDURE leak.run_delete_invites(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint; m bigint := (SELECT max(n) FROM leak.vid);
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			PERFORM user_module.delete_invites(ARRAY[(leak.v(i % m + 1)).id, 'invite_01LEAKMISSING']);
		ELSE
			PERFORM user_module.delete_invites(ARRAY[(leak.v(i % m + 1)).id]);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

------------------------------------------------------------------------------
-- Events (the outbox is filled by leak.sh)
------------------------------------------------------------------------------

-- A backlog of 1,000 events (leak.sh) that stays 1,000: every call adds 1 to
-- 3 events, as writes would, and claims as many, the oldest.
CREATE PROCEDURE leak.run_claim_events(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		INSERT INTO user_module.event (name, entity_id, data)
		SELECT 'user.updated', 'user_' || i, pg_catalog.jsonb_build_object('id', 'user_' || i)
		FROM pg_catalog.generate_series(0, i % 3);
		PERFORM user_module.claim_events((1 + i % 3)::int);
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

-- The outbox holds 1,000 recent events (leak.sh); every call adds one
-- written a week ago and purges what is older than a day: that one.

CREATE PROCEDURE leak.run_purge_events(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.purge_events(interval '-1 day');
				RAISE EXCEPTION 'purge_events % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			INSERT INTO user_module.event (name, entity_id, data, created_at)
			VALUES ('user.updated', 'user_' || i, pg_catalog.jsonb_build_object('id', 'user_' || i), pg_catalog.now() - interval '7 days');
			PERFORM user_module.purge_events(interval '1 day');
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

------------------------------------------------------------------------------
-- Subscribers (registered as the superuser running the check, who owns the
-- handlers)
------------------------------------------------------------------------------

CREATE FUNCTION leak.sub_a(event user_module.event) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION leak.sub_b(event user_module.event) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION leak.sub_c(event user_module.event) RETURNS void LANGUAGE sql AS $$ SELECT $$;
-- not a subscriber: the wrong return type
CREATE FUNCTION leak.not_a_sub(event user_module.event) RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;

-- The upsert: the same handlers again and again with other event lists; one
-- call in ten names an unknown event, one in ten a function of the wrong
-- shape (both 22023).
CREATE PROCEDURE leak.run_add_subscriber(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			BEGIN
				PERFORM user_module.add_subscriber('leak.sub_a(user_module.event)', ARRAY['user.created', 'user.exploded']);
				RAISE EXCEPTION 'add_subscriber % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSIF i % 10 = 5 THEN
			BEGIN
				PERFORM user_module.add_subscriber('leak.not_a_sub(user_module.event)');
				RAISE EXCEPTION 'add_subscriber % did not fail', i;
			EXCEPTION WHEN invalid_parameter_value THEN NULL;
			END;
		ELSE
			PERFORM user_module.add_subscriber(
				(ARRAY['leak.sub_a(user_module.event)', 'leak.sub_b(user_module.event)'])[1 + i % 2]::regprocedure,
				(ARRAY[NULL, '{user.created}', '{user.updated,invite.accepted}'])[1 + i % 3]::text[]);
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

-- Every other call removes the subscriber the call before registered (true);
-- one in ten removes what is not registered, by the text list_subscribers
-- shows or by a signature that names no function (false).
CREATE PROCEDURE leak.run_remove_subscriber(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF i % 10 = 0 THEN
			IF user_module.remove_subscriber('leak.sub_c(user_module.event)')
			   OR user_module.remove_subscriber('leak.no_such_function(user_module.event)') THEN
				RAISE EXCEPTION 'remove_subscriber % removed something', i;
			END IF;
		ELSIF i % 2 = 1 THEN
			PERFORM user_module.add_subscriber('leak.sub_b(user_module.event)', ARRAY['user.deleted']);
		ELSIF NOT user_module.remove_subscriber('leak.sub_b(user_module.event)') THEN
			RAISE EXCEPTION 'remove_subscriber % removed nothing', i;
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

-- Three subscribers registered (leak.sh).
CREATE PROCEDURE leak.run_list_subscribers(first bigint, calls bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint;
BEGIN
	FOR i IN first .. first + calls - 1 LOOP
		IF (SELECT count(*) FROM user_module.list_subscribers()) <> 3 THEN
			RAISE EXCEPTION 'list_subscribers % did not list 3', i;
		END IF;
		IF i % 10000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;

------------------------------------------------------------------------------
-- A list of the whole table: peak memory (leak.sh's list_peak)
------------------------------------------------------------------------------

-- One row per list measured: rows listed, the listing session's RssAnon just
-- before the call (idle) and the highest RssAnon another session sampled
-- while it ran, every 5 ms (peak), and how many samples that took.
CREATE TABLE leak.list_peak (
	fn       text PRIMARY KEY,
	pid      int NOT NULL,
	rows     bigint,
	seconds  numeric,
	idle     bigint,
	peak     bigint,
	samples  int
);

-- The RssAnon of a backend of this server, NULL once it has exited.
CREATE FUNCTION leak.rss_anon_of(pid int) RETURNS bigint
LANGUAGE sql AS $$
	SELECT (pg_catalog.regexp_match(pg_catalog.pg_read_file('/proc/' || pid || '/status', 0, 65536, true),
		'RssAnon:\s+(\d+) kB'))[1]::bigint * 1024
$$;

-- The sampler: waits (at most 60 s) for the session whose application_name
-- is app, commits a row for fn that tells the session it is being watched,
-- then samples its RssAnon until it exits and records the highest.
CREATE PROCEDURE leak.sample_peak(fn text, app text) LANGUAGE plpgsql AS $$
DECLARE target int; v bigint; top bigint := 0; n int := 0;
BEGIN
	FOR i IN 1 .. 6000 LOOP
		PERFORM pg_catalog.pg_stat_clear_snapshot();
		SELECT a.pid INTO target FROM pg_catalog.pg_stat_activity a WHERE a.application_name = app;
		EXIT WHEN target IS NOT NULL;
		PERFORM pg_catalog.pg_sleep(0.01);
	END LOOP;
	IF target IS NULL THEN
		RAISE EXCEPTION 'no session named % appeared', app;
	END IF;
	INSERT INTO leak.list_peak (fn, pid) VALUES (fn, target);
	COMMIT;
	LOOP
		v := leak.rss_anon_of(target);
		EXIT WHEN v IS NULL;
		top := greatest(top, v);
		n := n + 1;
		PERFORM pg_catalog.pg_sleep(0.005);
	END LOOP;
	UPDATE leak.list_peak p SET peak = top, samples = n WHERE p.fn = sample_peak.fn;
END $$;

-- The listing session, before its call: waits until the sampler watches it,
-- then records its own RssAnon as idle.
CREATE PROCEDURE leak.watched(fn text) LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1 .. 6000 LOOP
		EXIT WHEN EXISTS (SELECT FROM leak.list_peak p WHERE p.fn = watched.fn);
		PERFORM pg_catalog.pg_sleep(0.01);
	END LOOP;
	UPDATE leak.list_peak p SET idle = leak.rss_anon_of(pg_catalog.pg_backend_pid())
	WHERE p.fn = watched.fn AND p.pid = pg_catalog.pg_backend_pid();
	IF NOT FOUND THEN
		RAISE EXCEPTION 'the sampler of % did not start', fn;
	END IF;
END $$;
