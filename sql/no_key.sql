--
-- no_key: a cluster with user_module preloaded but no key, neither a key
-- file nor an inline key (test/run starts it). Every function that signs or
-- verifies a token fails with 55000; users, and invites read without tokens,
-- still work.
--
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
CREATE EXTENSION user_module;
RESET client_min_messages;
\set VERBOSITY default
SHOW user_module.jwt_secret;

SELECT id FROM user_module.create_user('still@works.test', id => 'u1');
SELECT user_module.create_invite('nokey@test.com');
\echo :LAST_ERROR_SQLSTATE
SELECT user_module.create_invites('[{"email": "nokey@test.com"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT user_module.validate_invite_token('a.b.c');
\echo :LAST_ERROR_SQLSTATE
SELECT user_module.accept_invite('a.b.c');
\echo :LAST_ERROR_SQLSTATE
SELECT user_module.refresh_invite_tokens('{x}');
\echo :LAST_ERROR_SQLSTATE
-- an invite written without the functions (as a restore would) reads with a
-- NULL token for a reader, and fails for an admin, who would get tokens
INSERT INTO user_module.invite (id, email, expires_at, token_jti, token_issued_at)
VALUES ('i1', 'restored@test.com', now() + interval '1 day', gen_random_uuid(), now());
CREATE ROLE regress_nokey_reader IN ROLE user_module_reader;
SET ROLE regress_nokey_reader;
SELECT id, email, token FROM user_module.list_invites();
RESET ROLE;
SELECT user_module.retrieve_invite('i1');
\echo :LAST_ERROR_SQLSTATE
SELECT user_module.count_invites();
DROP ROLE regress_nokey_reader;
