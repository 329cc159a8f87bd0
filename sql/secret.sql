--
-- secret: the signing key (and the previous key) cannot be read or set by
-- anyone but a superuser, is never shown (even to superusers: SHOW gives a
-- mask), cannot be set with ALTER SYSTEM, and no message echoes it. The key
-- file's path is superuser-only. Nothing here changes the key.
--
SHOW user_module.jwt_secret;
SELECT setting FROM pg_settings WHERE name = 'user_module.jwt_secret';

SET ROLE regress_admin;
SELECT expect_sqlstate('SHOW user_module.jwt_secret', '42501');
SELECT expect_sqlstate($$SELECT current_setting('user_module.jwt_secret')$$, '42501');
SELECT count(*) AS in_pg_settings FROM pg_settings WHERE name = 'user_module.jwt_secret';
SELECT expect_error('SELECT * FROM pg_file_settings', '42501');
SELECT expect_error($$SET user_module.jwt_secret = 'an-attacker-key-an-attacker-key-0000'$$, '55P02');
SELECT expect_error($$SELECT set_config('user_module.jwt_secret', 'an-attacker-key-an-attacker-key-0000', false)$$, '55P02');
SELECT expect_error($$ALTER ROLE regress_admin SET user_module.jwt_secret = 'an-attacker-key-an-attacker-key-0000'$$, '55P02');
-- ALTER SYSTEM cannot run in a function: the error and its SQLSTATE as psql shows them
\set VERBOSITY terse
ALTER SYSTEM SET user_module.jwt_secret = 'an-attacker-key-an-attacker-key-0000';
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET ROLE;

-- Not even a superuser may put it into pg_db_role_setting (readable by all).
SELECT expect_error($$ALTER ROLE regress_admin SET user_module.jwt_secret = 'an-attacker-key-an-attacker-key-0000'$$, '55P02');
SELECT expect_error($$ALTER DATABASE contrib_regression SET user_module.jwt_secret = 'an-attacker-key-an-attacker-key-0000'$$, '55P02');
SELECT count(*) FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%jwt_secret%';
-- Nor into postgresql.auto.conf: ALTER SYSTEM refuses the key settings
-- whatever the value (the statement text would reach the logs and
-- pg_stat_statements), and the key file's path (see README: whoever may
-- point it elsewhere chooses the key).
\set VERBOSITY terse
ALTER SYSTEM SET user_module.jwt_secret = 'an-attacker-key-an-attacker-key-0000';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET user_module.jwt_secret = 'tooshort';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET user_module.jwt_previous_secret = 'an-attacker-key-an-attacker-key-0000';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET user_module.jwt_secret_file = 'postgresql.auto.conf';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM RESET user_module.jwt_secret;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) AS in_auto_conf FROM pg_file_settings WHERE name LIKE 'user_module.%' AND sourcefile LIKE '%postgresql.auto.conf';

-- The previous key has the same protections as the key.
SHOW user_module.jwt_previous_secret;
SELECT count(*) AS in_pg_settings FROM pg_settings WHERE name = 'user_module.jwt_previous_secret';
SELECT expect_error($$SET user_module.jwt_previous_secret = 'an-attacker-key-an-attacker-key-0000'$$, '55P02');
SELECT expect_error($$ALTER ROLE regress_admin SET user_module.jwt_previous_secret = 'an-attacker-key-an-attacker-key-0000'$$, '55P02');
SELECT expect_error($$ALTER DATABASE contrib_regression SET user_module.jwt_previous_secret = 'an-attacker-key-an-attacker-key-0000'$$, '55P02');
-- The key file's path: superusers see it (here no file is set), no one may
-- set it but in the configuration files.
SHOW user_module.jwt_secret_file;
SELECT name, setting, context FROM pg_settings WHERE name = 'user_module.jwt_secret_file';
SELECT expect_error($$SET user_module.jwt_secret_file = 'postgresql.auto.conf'$$, '55P02');
SELECT expect_error($$ALTER ROLE regress_admin SET user_module.jwt_secret_file = 'postgresql.auto.conf'$$, '55P02');
SET ROLE regress_admin;
SELECT expect_sqlstate('SHOW user_module.jwt_previous_secret', '42501');
SELECT expect_sqlstate($$SELECT current_setting('user_module.jwt_previous_secret')$$, '42501');
SELECT expect_error($$SET user_module.jwt_previous_secret = 'an-attacker-key-an-attacker-key-0000'$$, '55P02');
SELECT expect_sqlstate('SHOW user_module.jwt_secret_file', '42501');
SELECT count(*) AS in_pg_settings FROM pg_settings WHERE name LIKE 'user_module.jwt%';
\set VERBOSITY terse
ALTER SYSTEM SET user_module.jwt_previous_secret = 'an-attacker-key-an-attacker-key-0000';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET user_module.jwt_secret_file = 'postgresql.auto.conf';
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET ROLE;

-- (Without a key, and without preloading, functions fail with 55000:
-- sql/no_key.sql and sql/not_preloaded.sql; the key file, rotation with the
-- previous key and short keys: test/shell/key_file.sh. test/run runs them on
-- clusters of their own, so this file never changes the server's key.)
SELECT count(*) FROM user_module.claim_events(1000) \g /dev/null
