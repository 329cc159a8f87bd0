--
-- setup: install the extension and the fixtures every later test uses.
--
-- The other files run after this one in the same database (see REGRESS in the
-- Makefile) and rely on:
--   * the extension user_module (and pg_trgm, which it requires);
--   * the login roles regress_admin, regress_reader, regress_invitee (members
--     of the three module roles), regress_nobody, regress_hostile (members
--     of none) and regress_noinherit (NOINHERIT member of user_module_admin);
--   * public.expect_error(statement, expected_sqlstate), which runs a statement
--     that must fail and reports its SQLSTATE, message and detail;
--   * public.outcome(statement), which reports 'ok' or the error, for inputs
--     that may legitimately either succeed or fail.
--
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
CREATE EXTENSION user_module;

-- Roles are cluster-wide: a previous run against the same cluster may have
-- left them behind (the database itself is recreated by pg_regress).
DROP ROLE IF EXISTS regress_admin;
DROP ROLE IF EXISTS regress_reader;
DROP ROLE IF EXISTS regress_invitee;
DROP ROLE IF EXISTS regress_nobody;
DROP ROLE IF EXISTS regress_hostile;
DROP ROLE IF EXISTS regress_noinherit;
RESET client_min_messages;

CREATE ROLE regress_admin LOGIN IN ROLE user_module_admin;
CREATE ROLE regress_reader LOGIN IN ROLE user_module_reader;
CREATE ROLE regress_invitee LOGIN IN ROLE user_module_invitee;
CREATE ROLE regress_nobody LOGIN;
CREATE ROLE regress_hostile LOGIN;
CREATE ROLE regress_noinherit LOGIN NOINHERIT IN ROLE user_module_admin;

-- What the extension installed.
SELECT extname, extversion, n.nspname AS schema, extrelocatable
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname IN ('user_module', 'pg_trgm')
 ORDER BY extname;
SELECT rolname, rolcanlogin, rolsuper
  FROM pg_roles WHERE rolname IN ('user_module_owner', 'user_module_admin', 'user_module_reader', 'user_module_invitee')
 ORDER BY rolname;
SELECT c.relname, c.relkind
  FROM pg_class c WHERE c.relnamespace = 'user_module'::regnamespace
   AND c.relkind IN ('r', 'S') ORDER BY c.relname;
SELECT p.oid::regprocedure AS function, pg_get_function_result(p.oid) AS returns
  FROM pg_proc p WHERE p.pronamespace = 'user_module'::regnamespace
 ORDER BY p.proname;
-- The table matches the contract: columns, types, nullability, in this order.
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
  FROM pg_attribute WHERE attrelid = 'user_module."user"'::regclass AND attnum > 0
 ORDER BY attnum;
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
  FROM pg_attribute WHERE attrelid = 'user_module.event'::regclass AND attnum > 0
 ORDER BY attnum;

--
-- expect_error: runs a statement that must fail. Returns
--   '<SQLSTATE>: <message>[ | <detail>]'        when the SQLSTATE is the expected one,
--   'WRONG <SQLSTATE>: <message>[ | <detail>]'  when it failed with another SQLSTATE,
--   'no error'                                  when it did not fail.
-- The statement runs in a subtransaction (the exception block), as the current
-- role, so it also serves under SET ROLE.
--
CREATE FUNCTION public.expect_error(statement text, expected_sqlstate text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	st text;
	msg text;
	det text;
BEGIN
	EXECUTE statement;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
	RETURN CASE WHEN st = expected_sqlstate THEN '' ELSE 'WRONG ' END
		|| st || ': ' || msg
		|| CASE WHEN det <> '' THEN ' | ' || det ELSE '' END;
END
$$;

--
-- expect_sqlstate: expect_error's SQLSTATE alone, for errors whose message is
-- PostgreSQL's own, which each major words differently.
--
CREATE FUNCTION public.expect_sqlstate(statement text, expected_sqlstate text)
RETURNS text
LANGUAGE sql
AS $$ SELECT split_part(public.expect_error(statement, expected_sqlstate), ':', 1) $$;

--
-- outcome: 'ok' if the statement succeeds, else '<SQLSTATE>: <message>'.
-- For inputs where either answer is acceptable, but must be recorded.
--
CREATE FUNCTION public.outcome(statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	st text;
	msg text;
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN st || ': ' || msg;
END
$$;

-- The helpers themselves behave.
SELECT public.expect_error('SELECT 1/0', '22012');
SELECT public.expect_error('SELECT 1/0', '22023');
SELECT public.expect_error('SELECT 1', '22023');
SELECT public.outcome('SELECT 1'), public.outcome('SELECT 1/0');

-- Generated ids look like this (user_ + 26 characters of Crockford base32).
CREATE FUNCTION public.is_user_ulid(id text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$ SELECT id ~ '^user_[0-9A-HJKMNP-TV-Z]{26}$' $$;

-- The millisecond timestamp in a ULID's first 10 characters.
CREATE FUNCTION public.ulid_ms(id text) RETURNS bigint
LANGUAGE sql IMMUTABLE
AS $$
	SELECT sum((strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(u, i, 1)) - 1)::numeric
	           * (32::numeric ^ (10 - i)))::bigint
	  FROM (SELECT substr(id, length(id) - 25) AS u) s, generate_series(1, 10) i
$$;

GRANT EXECUTE ON FUNCTION public.is_user_ulid(text), public.ulid_ms(text) TO PUBLIC;

-- A fingerprint of everything the module stores (rows of both tables), to
-- show that a failing call changed nothing. Readable by the superuser only.
CREATE FUNCTION public.module_state() RETURNS text
LANGUAGE sql
AS $$
	SELECT md5(coalesce((SELECT string_agg(u::text, '|' ORDER BY u.id) FROM user_module."user" u), '')
	           || '#' ||
	           coalesce((SELECT string_agg(e::text, '|' ORDER BY e.id) FROM user_module.event e), ''))
$$;
REVOKE ALL ON FUNCTION public.module_state() FROM PUBLIC;
