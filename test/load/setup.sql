-- test/load/setup.sql: the data and helpers of the mixed load (load.sh runs
-- it, untimed, in a fresh database). psql variables: nu (users), ni (invites).
--
-- Pools: the scripts pick rows by number with \set k random(...), from pools
-- laid out so that every error the load can meet has a reason:
--   load.u   k 1 .. nu/2       update, update_users, retrieve (never deleted)
--            k nu/2+1 .. nu    soft delete (never updated)
--   load.inv k 1 .. 2ni/5      validate (never refreshed nor accepted: always valid)
--            2ni/5+1 .. 3ni/5  refresh (never accepted: always live)
--            3ni/5+1 .. ni     accept (a lost race or a second accept: 22U03)
SET load.nu = :nu;
SET load.ni = :ni;
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
CREATE EXTENSION user_module;
CREATE SCHEMA load;

CREATE TABLE load.u (k integer PRIMARY KEY, id text NOT NULL);
CREATE TABLE load.inv (k integer PRIMARY KEY, id text NOT NULL, token text NOT NULL);
-- expected failures, by the wrappers below (unlogged: cheap, and only read here)
CREATE UNLOGGED TABLE load.errors (op text NOT NULL, sqlstate text NOT NULL);
-- what the claims removed from the outbox, and what the refreshes returned:
-- written in the same transaction as the call, so they are exact
CREATE UNLOGGED TABLE load.claimed (id bigint NOT NULL, name text NOT NULL, entity_id text NOT NULL);
CREATE UNLOGGED TABLE load.resent (id text NOT NULL);
-- pgbench's per-transaction log, loaded after the run
CREATE TABLE load.txlog (client int, tx int, latency text, script int, epoch bigint, us int);

CREATE FUNCTION load.fname(i bigint) RETURNS text IMMUTABLE LANGUAGE sql AS $$
	SELECT (ARRAY['Ada','Alan','Barbara','Claude','Dennis','Donald','Edsger','Frances','Grace','Hedy',
		'Ivan','John','Ken','Leslie','Margaret','Niklaus','Radia','Shafi','Tim','Vint',
		'Whitfield','Xavier','Yukihiro','Zelda','Anita','Brian','Carol','Dorothy','Edgar','Fran',
		'Guido','Hal','Ingrid','James','Katherine','Linus','Mary','Nancy','Ole','Peter',
		'Quentin','Rasmus','Sophie','Tony','Ursula','Vera','Wendy','Yann','Zhang','Jean'])[1 + i % 50]
$$;
CREATE FUNCTION load.lname(i bigint) RETURNS text IMMUTABLE LANGUAGE sql AS $$
	SELECT (ARRAY['Lovelace','Turing','Liskov','Shannon','Ritchie','Knuth','Dijkstra','Allen','Hopper','Lamarr',
		'Sutherland','McCarthy','Thompson','Lamport','Hamilton','Wirth','Perlman','Goldwasser','Berners-Lee','Cerf',
		'Diffie','Leroy','Matsumoto','Tarjan','Borg','Kernighan','Shaw','Vaughan','Codd','Allison',
		'van Rossum','Abelson','Daubechies','Gosling','Johnson','Torvalds','Jackson','Lynch','Dahl','Naur',
		'Stroustrup','Lerdorf','Wilson','Hoare','Franklin','Rubin','Hall','LeCun','Wei','Sammet',
		'Backus','Bachman','Cocke','Engelbart','Feigenbaum','Floyd','Hartmanis','Hellman','Iverson','Kahan',
		'Karp','Kay','Minsky','Newell','Pnueli','Rabin','Reddy','Rivest','Scott','Simon',
		'Stearns','Stonebraker','Sussman','Thacker','Ullman','Valiant','Wilkes','Yao','Aho','Bengio',
		'Hinton','Pearl','Milner','Kahn','Hennessy','Patterson','Catmull','Hanrahan','Metcalfe','Micali',
		'Adleman','Shamir','Clarke','Emerson','Sifakis','Cook','Corbato','Gray','Lampson','Feldman'])[1 + (i / 7) % 100]
$$;
-- emails the load creates: one space shared by create_user and create_invite
-- (so both meet taken emails, of users and of invites), in mixed case half the
-- time (uniqueness is case-insensitive)
CREATE FUNCTION load.email(r bigint, up bigint) RETURNS text IMMUTABLE LANGUAGE sql AS $$
	SELECT CASE WHEN up = 1 THEN 'W' || r || '@Load.Example' ELSE 'w' || r || '@load.example' END
$$;

-- The calls that may fail for a reason the load expects: they catch that
-- SQLSTATE only, record it, and return NULL. Any other error propagates and
-- aborts the pgbench client, and the run fails. Only the call's
-- subtransaction rolls back: the insert into load.errors stays.
CREATE FUNCTION load.create_user(email text, first_name text, last_name text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	SELECT u.id INTO r FROM user_module.create_user(email, first_name, last_name) u;
	RETURN r;
EXCEPTION WHEN unique_violation THEN	-- 23505: the email is taken
	INSERT INTO load.errors VALUES ('create_user', SQLSTATE);
	RETURN NULL;
END $$;

CREATE FUNCTION load.create_invite(email text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	SELECT i.id INTO r FROM user_module.create_invite(email) i;
	RETURN r;
EXCEPTION WHEN unique_violation THEN	-- 23505: a live user or invite has the email
	INSERT INTO load.errors VALUES ('create_invite', SQLSTATE);
	RETURN NULL;
END $$;

CREATE FUNCTION load.accept_invite(token text, first_name text, last_name text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	SELECT u.id INTO r FROM user_module.accept_invite(token, first_name, last_name) u;
	RETURN r;
EXCEPTION WHEN SQLSTATE '22U03' THEN	-- accepted already, or by a concurrent accept
	INSERT INTO load.errors VALUES ('accept_invite', SQLSTATE);
	RETURN NULL;
END $$;

-- the users, in batches of 10,000 (create_users: all or nothing per batch)
DO $$
DECLARE
	n int := current_setting('load.nu')::int;
	b int;
BEGIN
	FOR b IN 0 .. (n - 1) / 10000 LOOP
		INSERT INTO load.u (k, id)
		SELECT b * 10000 + t.ordinality, t.id
		  FROM user_module.create_users((
				SELECT jsonb_agg(jsonb_build_object('email', 'user' || g || '@load.example',
					'first_name', load.fname(g), 'last_name', load.lname(g),
					'metadata', jsonb_build_object('plan', CASE WHEN g % 10 = 0 THEN 'pro' ELSE 'free' END))
					ORDER BY g)
				  FROM generate_series(b * 10000 + 1, least(n, (b + 1) * 10000)) g))
			   WITH ORDINALITY AS t;
	END LOOP;
END $$;

-- the pending invites, with their tokens
INSERT INTO load.inv (k, id, token)
SELECT t.ordinality, t.id, t.token
  FROM user_module.create_invites((
		SELECT jsonb_agg(jsonb_build_object('email', 'Invitee' || g || '@load.example') ORDER BY g)
		  FROM generate_series(1, current_setting('load.ni')::int) g))
	   WITH ORDINALITY AS t;

-- the setup's events go to the worker as well: the run starts with an empty outbox
INSERT INTO load.claimed SELECT id, name, entity_id FROM user_module.claim_events(2000000000);
ANALYZE;
