-- test/bench/setup.sql: the extension, the raw baseline tables, and helpers
-- that derive deterministic names, emails and ids from an integer, so both
-- sides of every comparison insert and read the same data.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
CREATE EXTENSION user_module;

------------------------------------------------------------------------------
-- The raw baseline: tables identical to user_module's (columns, defaults,
-- constraints, every index including the trigram and partial ones), in their
-- own schema, written to with plain SQL.
------------------------------------------------------------------------------
CREATE SCHEMA raw;
CREATE TABLE raw."user" (LIKE user_module."user" INCLUDING ALL);
CREATE TABLE raw.event (LIKE user_module.event INCLUDING ALL);
-- LIKE copies the default nextval('user_module.event_id_seq'): give raw its own counter.
CREATE SEQUENCE raw.event_id_seq OWNED BY raw.event.id;
ALTER TABLE raw.event ALTER COLUMN id SET DEFAULT nextval('raw.event_id_seq');

-- Refuse to measure anything if a copy differs from its original:
-- bench.check_raw_copy('user') compares raw."user" with user_module."user".
CREATE SCHEMA bench;
CREATE FUNCTION bench.check_raw_copy(t text) RETURNS void LANGUAGE plpgsql AS $check$
DECLARE
	orig text[];
	copy text[];
BEGIN
	-- index definitions without the index name and schema
	SELECT array_agg(regexp_replace(regexp_replace(pg_get_indexdef(i.indexrelid),
			'^CREATE (UNIQUE )?INDEX \S+ ON \S+', 'CREATE \1INDEX ON'), 'user_module\.', '', 'g')
			ORDER BY 1)
	  INTO orig FROM pg_index i WHERE i.indrelid = format('user_module.%I', t)::regclass;
	SELECT array_agg(regexp_replace(regexp_replace(pg_get_indexdef(i.indexrelid),
			'^CREATE (UNIQUE )?INDEX \S+ ON \S+', 'CREATE \1INDEX ON'), 'raw\.', '', 'g')
			ORDER BY 1)
	  INTO copy FROM pg_index i WHERE i.indrelid = format('raw.%I', t)::regclass;
	IF orig IS DISTINCT FROM copy THEN
		RAISE EXCEPTION 'raw.% has other indexes than user_module.%', t, t
			USING DETAIL = format('user_module: %s; raw: %s', orig, copy);
	END IF;
	-- columns: name, type, collation, not null
	SELECT array_agg(format('%s %s %s %s', a.attname, format_type(a.atttypid, a.atttypmod),
			a.attcollation, a.attnotnull) ORDER BY a.attnum)
	  INTO orig FROM pg_attribute a
	 WHERE a.attrelid = format('user_module.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
	SELECT array_agg(format('%s %s %s %s', a.attname, format_type(a.atttypid, a.atttypmod),
			a.attcollation, a.attnotnull) ORDER BY a.attnum)
	  INTO copy FROM pg_attribute a
	 WHERE a.attrelid = format('raw.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
	IF orig IS DISTINCT FROM copy THEN
		RAISE EXCEPTION 'raw.% has other columns than user_module.%', t, t;
	END IF;
	-- check constraints
	SELECT array_agg(pg_get_constraintdef(c.oid) ORDER BY 1) INTO orig
	  FROM pg_constraint c WHERE c.conrelid = format('user_module.%I', t)::regclass;
	SELECT array_agg(pg_get_constraintdef(c.oid) ORDER BY 1) INTO copy
	  FROM pg_constraint c WHERE c.conrelid = format('raw.%I', t)::regclass;
	IF orig IS DISTINCT FROM copy THEN
		RAISE EXCEPTION 'raw.% has other constraints than user_module.%', t, t;
	END IF;
END
$check$;

DO $check$
BEGIN
	PERFORM bench.check_raw_copy('user');
	PERFORM bench.check_raw_copy('event');
	IF (SELECT count(*) FROM pg_index WHERE indrelid = 'raw."user"'::regclass) < 9
	   OR NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
					  JOIN pg_am am ON am.oid = c.relam
					  WHERE i.indrelid = 'raw."user"'::regclass AND am.amname = 'gin')
	   OR (SELECT count(*) FROM pg_index WHERE indrelid = 'raw."user"'::regclass
			AND indpred IS NOT NULL) < 2 THEN
		RAISE EXCEPTION 'raw."user" lacks the trigram or the partial indexes';
	END IF;
END
$check$;

------------------------------------------------------------------------------
-- Data helpers: user n has a first and last name from lists of 200 each and
-- the email first.last.<tag>n@domain<K>.com; bench.uid(n) is an id of the
-- same shape as a generated one ('user_' + 26 characters). They must stay
-- inlinable (immutable operators only: text || text, not text || bigint),
-- else every pgbench transaction plans their SQL bodies anew.
------------------------------------------------------------------------------
CREATE FUNCTION bench.first_names() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ARRAY[
	'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David',
	'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah',
	'Charles', 'Karen', 'Christopher', 'Lisa', 'Daniel', 'Nancy', 'Matthew', 'Betty', 'Anthony',
	'Sandra', 'Mark', 'Margaret', 'Donald', 'Ashley', 'Steven', 'Kimberly', 'Andrew', 'Emily', 'Paul',
	'Donna', 'Joshua', 'Michelle', 'Kenneth', 'Carol', 'Kevin', 'Amanda', 'Brian', 'Melissa',
	'George', 'Deborah', 'Timothy', 'Stephanie', 'Ronald', 'Dorothy', 'Jason', 'Rebecca', 'Edward',
	'Sharon', 'Jeffrey', 'Laura', 'Ryan', 'Cynthia', 'Jacob', 'Amy', 'Gary', 'Kathleen', 'Nicholas',
	'Angela', 'Eric', 'Shirley', 'Jonathan', 'Brenda', 'Stephen', 'Emma', 'Larry', 'Anna', 'Justin',
	'Pamela', 'Scott', 'Nicole', 'Brandon', 'Samantha', 'Benjamin', 'Katherine', 'Samuel',
	'Christine', 'Gregory', 'Helen', 'Alexander', 'Debra', 'Patrick', 'Rachel', 'Frank', 'Carolyn',
	'Raymond', 'Janet', 'Jack', 'Maria', 'Dennis', 'Catherine', 'Jerry', 'Heather', 'Tyler', 'Diane',
	'Aaron', 'Olivia', 'Jose', 'Julie', 'Adam', 'Joyce', 'Nathan', 'Victoria', 'Henry', 'Ruth',
	'Zachary', 'Virginia', 'Douglas', 'Lauren', 'Peter', 'Kelly', 'Kyle', 'Christina', 'Noah', 'Joan',
	'Ethan', 'Evelyn', 'Jeremy', 'Judith', 'Walter', 'Andrea', 'Christian', 'Hannah', 'Keith',
	'Megan', 'Roger', 'Cheryl', 'Terry', 'Jacqueline', 'Austin', 'Martha', 'Sean', 'Madison',
	'Gerald', 'Teresa', 'Carl', 'Gloria', 'Harold', 'Sara', 'Dylan', 'Janice', 'Arthur', 'Ann',
	'Lawrence', 'Kathryn', 'Jordan', 'Abigail', 'Jesse', 'Sophia', 'Bryan', 'Frances', 'Billy',
	'Jean', 'Bruce', 'Alice', 'Gabriel', 'Judy', 'Joe', 'Isabella', 'Logan', 'Julia', 'Alan', 'Grace',
	'Juan', 'Amber', 'Albert', 'Denise', 'Willie', 'Danielle', 'Elijah', 'Marilyn', 'Wayne',
	'Beverly', 'Randy', 'Charlotte', 'Vincent', 'Natalie', 'Mason', 'Theresa', 'Roy', 'Diana',
	'Ralph', 'Brittany', 'Bobby', 'Doris', 'Russell', 'Kayla', 'Bradley', 'Alexis', 'Philip', 'Lori',
	'Eugene', 'Marie'
]::text[] $$;
CREATE FUNCTION bench.last_names() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ARRAY[
	'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez',
	'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore',
	'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez',
	'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen',
	'Hill', 'Flores', 'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell',
	'Carter', 'Roberts', 'Gomez', 'Phillips', 'Evans', 'Turner', 'Diaz', 'Parker', 'Cruz', 'Edwards',
	'Collins', 'Reyes', 'Stewart', 'Morris', 'Morales', 'Murphy', 'Cook', 'Rogers', 'Gutierrez',
	'Ortiz', 'Morgan', 'Cooper', 'Peterson', 'Bailey', 'Reed', 'Kelly', 'Howard', 'Ramos', 'Kim',
	'Cox', 'Ward', 'Richardson', 'Watson', 'Brooks', 'Chavez', 'Wood', 'James', 'Bennett', 'Gray',
	'Mendoza', 'Ruiz', 'Hughes', 'Price', 'Alvarez', 'Castillo', 'Sanders', 'Patel', 'Myers', 'Long',
	'Ross', 'Foster', 'Jimenez', 'Powell', 'Jenkins', 'Perry', 'Russell', 'Sullivan', 'Bell',
	'Coleman', 'Butler', 'Henderson', 'Barnes', 'Gonzales', 'Fisher', 'Vasquez', 'Simmons', 'Romero',
	'Jordan', 'Patterson', 'Alexander', 'Hamilton', 'Graham', 'Reynolds', 'Griffin', 'Wallace',
	'Moreno', 'West', 'Cole', 'Hayes', 'Bryant', 'Herrera', 'Gibson', 'Ellis', 'Tran', 'Medina',
	'Aguilar', 'Stevens', 'Murray', 'Ford', 'Castro', 'Marshall', 'Owens', 'Harrison', 'Fernandez',
	'McDonald', 'Woods', 'Washington', 'Kennedy', 'Wells', 'Vargas', 'Henry', 'Chen', 'Freeman',
	'Webb', 'Tucker', 'Guzman', 'Burns', 'Crawford', 'Olson', 'Simpson', 'Porter', 'Hunter', 'Gordon',
	'Mendez', 'Silva', 'Shaw', 'Snyder', 'Mason', 'Dixon', 'Munoz', 'Hunt', 'Hicks', 'Holmes',
	'Palmer', 'Wagner', 'Black', 'Robertson', 'Boyd', 'Rose', 'Stone', 'Salazar', 'Fox', 'Warren',
	'Mills', 'Meyer', 'Rice', 'Schmidt', 'Garza', 'Daniels', 'Ferguson', 'Nichols', 'Stephens',
	'Soto', 'Weaver', 'Ryan', 'Gardner', 'Payne', 'Grant', 'Dunn', 'Kelley', 'Spencer', 'Hawkins'
]::text[] $$;
CREATE FUNCTION bench.first_name(n bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (bench.first_names())[(hashint8(n)::bigint & 2147483647) % 200 + 1] $$;
CREATE FUNCTION bench.last_name(n bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (bench.last_names())[(hashint8(-n)::bigint & 2147483647) % 200 + 1] $$;
CREATE FUNCTION bench.email(n bigint, tag text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT lower(bench.first_name(n) || '.' || bench.last_name(n) || '.' || tag || n::text
			|| '@domain' || (n % 50)::text || '.com') $$;
CREATE FUNCTION bench.uid(n bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT 'user_' || lpad(n::text, 26, '0') $$;

-- create_users input for users lo .. lo+cnt-1, optionally with ids.
CREATE FUNCTION bench.users_json(lo bigint, cnt bigint, tag text, with_ids boolean DEFAULT false)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_agg(CASE WHEN with_ids THEN jsonb_build_object('id', bench.uid(n)) ELSE '{}' END
					 || jsonb_build_object('first_name', bench.first_name(n),
										   'last_name', bench.last_name(n),
										   'email', bench.email(n, tag)) ORDER BY n)
	  FROM generate_series(lo, lo + cnt - 1) AS n
$$;

-- The inputs of the bulk comparison: the same users as JSON and as arrays.
CREATE TABLE bench.bulk_input (
	users jsonb, ids text[], first_names text[], last_names text[], emails text[]);

-- Results: one row per side, round and measurement.
CREATE TABLE bench.result (
	op text, side text, round int, value double precision, at timestamptz DEFAULT clock_timestamp());

-- list_users/count_users workload at scale: two-word queries like "anna smi".
CREATE TABLE bench.query (k int PRIMARY KEY, q text, p1 text, p2 text, email text);
CREATE TABLE bench.latency (op text, side text, round int, k int, ms double precision, n bigint);

-- The helpers must inline into a generic plan (see above).
DO $inline$
DECLARE
	line text;
BEGIN
	SET LOCAL plan_cache_mode = force_generic_plan;
	PREPARE bench_inline_check(bigint, text) AS
		SELECT bench.first_name($1), bench.last_name($1), bench.email($1, $2), bench.uid($1);
	FOR line IN EXECUTE 'EXPLAIN VERBOSE EXECUTE bench_inline_check(1, ''x'')' LOOP
		IF line ~ 'bench\.' THEN
			RAISE EXCEPTION 'a bench helper function is not inlined: %', line;
		END IF;
	END LOOP;
	DEALLOCATE bench_inline_check;
END
$inline$;
