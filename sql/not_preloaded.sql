--
-- not_preloaded: a cluster whose postgresql.conf sets a key but does not
-- preload user_module (test/run starts it). The key's setting was a plain
-- placeholder until the library loaded, so it is not trusted: every function
-- that needs it fails with 55000 and a hint; users still work.
--
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
CREATE EXTENSION user_module;
RESET client_min_messages;
\set VERBOSITY default
SELECT id FROM user_module.create_user('still@works.test', id => 'u1');
SELECT user_module.create_invite('nokey@test.com');
\echo :LAST_ERROR_SQLSTATE
SELECT user_module.validate_invite_token('a.b.c');
\echo :LAST_ERROR_SQLSTATE
