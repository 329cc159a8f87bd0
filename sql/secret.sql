--
-- secret: the signing key cannot be read or set by anyone but a superuser,
-- is never shown (even to superusers: SHOW gives a mask), and no message
-- echoes it. Nothing here changes the key.
--
SHOW user_module.jwt_secret;
SELECT setting FROM pg_settings WHERE name = 'user_module.jwt_secret';

SET ROLE regress_admin;
SELECT expect_error('SHOW user_module.jwt_secret', '42501');
SELECT expect_error($$SELECT current_setting('user_module.jwt_secret')$$, '42501');
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
-- A short key is refused without being echoed.
ALTER SYSTEM SET user_module.jwt_secret = 'tooshort';
\echo :LAST_ERROR_SQLSTATE

-- (Without a key, and without preloading, token functions fail with 55000:
-- sql/no_key.sql and sql/not_preloaded.sql, which test/run runs on clusters
-- of their own, so this file never changes the server's key.)
SELECT count(*) FROM user_module.claim_events(1000) \g /dev/null
