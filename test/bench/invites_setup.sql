-- test/bench/invites_setup.sql: run after setup.sql. The raw copy of the
-- invite table, the helpers and the token pools of invites.sh.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- The raw baseline: a table identical to user_module.invite (columns,
-- defaults, constraints, every index including the trigram and partial ones).
CREATE TABLE raw.invite (LIKE user_module.invite INCLUDING ALL);
DO $check$
BEGIN
	PERFORM bench.check_raw_copy('invite');
	IF (SELECT count(*) FROM pg_index WHERE indrelid = 'raw.invite'::regclass) < 8
	   OR NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
					  JOIN pg_am am ON am.oid = c.relam
					  WHERE i.indrelid = 'raw.invite'::regclass AND am.amname = 'gin')
	   OR (SELECT count(*) FROM pg_index WHERE indrelid = 'raw.invite'::regclass
			AND indpred IS NOT NULL) < 2 THEN
		RAISE EXCEPTION 'raw.invite lacks the trigram or the partial indexes';
	END IF;
END
$check$;

-- bench.iid(n): an invite id of the shape of a generated one ('invite_' + 26
-- characters), for the raw side, which has no ULID generator. Inlinable.
CREATE FUNCTION bench.iid(n bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT 'invite_' || lpad(n::text, 26, '0') $$;

-- create_invites input for invites lo .. lo+cnt-1 (emails as bench.email).
CREATE FUNCTION bench.invites_json(lo bigint, cnt bigint, tag text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_agg(jsonb_build_object('email', bench.email(n, tag)) ORDER BY n)
	  FROM generate_series(lo, lo + cnt - 1) AS n
$$;

-- Token pools: k -> invite id and its current token, as create_invites
-- returned them. bench.token serves validation (random k), bench.accept_token
-- acceptance (k in order, each token once).
CREATE TABLE bench.token (k int PRIMARY KEY, id text COLLATE "C" NOT NULL, token text NOT NULL);
CREATE TABLE bench.accept_token (k int PRIMARY KEY, id text COLLATE "C" NOT NULL, token text NOT NULL);

-- Ids refreshed in one call, per round (the same ids on both sides).
CREATE TABLE bench.refresh_ids (round int PRIMARY KEY, ids text[] NOT NULL);

-- The inputs of the bulk comparison: the same invites as JSON and as arrays.
CREATE TABLE bench.invite_bulk_input (invites jsonb, ids text[], emails text[]);

-- This backend's CPU time so far in ns (user + system, from the scheduler).
CREATE FUNCTION bench.cpu_ns() RETURNS bigint LANGUAGE sql VOLATILE AS
$$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint $$;

-- Loads invites lo .. lo+cnt-1 (tag) with create_invites, cnt at a time,
-- and keeps their tokens in the pool (bench.token or bench.accept_token).
CREATE PROCEDURE bench.load_invites(pool regclass, lo bigint, cnt bigint, tag text, chunk int)
LANGUAGE plpgsql AS $$
DECLARE
	s bigint := lo;
	n bigint;
BEGIN
	WHILE s < lo + cnt LOOP
		n := least(chunk, lo + cnt - s);
		EXECUTE format('INSERT INTO %s (k, id, token)
						SELECT $1 - 1 + c.ordinality, c.id, c.token
						  FROM user_module.create_invites(bench.invites_json($1, $2, $3)) WITH ORDINALITY AS c',
					   pool)
		  USING s, n, tag;
		COMMIT;
		s := s + n;
	END LOOP;
END
$$;
