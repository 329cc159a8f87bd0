--
-- tokens: our signature against an independent HMAC (pgcrypto), and the
-- tokens the verifier must refuse, each with its SQLSTATE.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
RESET client_min_messages;

-- The key, read by the superuser from the server's configuration files (it is
-- never printed; SHOW only gives the mask).
SHOW user_module.jwt_secret;
CREATE TEMP TABLE signing AS
SELECT substring(pg_read_file('postgresql.conf') FROM $r$\nuser_module\.jwt_secret = '([^']+)'$r$) AS key;
SELECT length(key) >= 32 AS key_found FROM signing;

CREATE FUNCTION pg_temp.b64url(data bytea) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT rtrim(translate(encode(data, 'base64'), E'+/\n', '-_'), '=') $$;

CREATE FUNCTION pg_temp.unb64url(s text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT convert_from(decode(rpad(translate(s, '-_', '+/'), (length(s) + 3) / 4 * 4, '='), 'base64'), 'UTF8') $$;

-- header.payload signed with key by pgcrypto
CREATE FUNCTION pg_temp.forge(header text, payload text, key text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT s || '.' || pg_temp.b64url(hmac(s, key, 'sha256'))
	  FROM (SELECT pg_temp.b64url(convert_to(header, 'UTF8')) || '.' ||
	               pg_temp.b64url(convert_to(payload, 'UTF8')) AS s) x
$$;

SELECT id FROM user_module.create_invite('oracle@test.com', id => 'inv_oracle');
CREATE TEMP TABLE genuine AS
SELECT token, claims(token) AS c, split_part(token, '.', 1) AS h, split_part(token, '.', 2) AS p,
       split_part(token, '.', 3) AS s
  FROM user_module.retrieve_invite('inv_oracle');

-- pgcrypto's HMAC-SHA256 over header.payload, with the key, is our signature.
SELECT g.s = pg_temp.b64url(hmac(g.h || '.' || g.p, k.key, 'sha256')) AS pgcrypto_agrees
  FROM genuine g, signing k;
-- the header is exactly {"alg":"HS256","typ":"JWT"}
SELECT pg_temp.unb64url(g.h) AS header FROM genuine g;
-- and the same JSON, signed by pgcrypto, is the same token, which validates
SELECT pg_temp.forge('{"alg":"HS256","typ":"JWT"}', pg_temp.unb64url(g.p), k.key) = g.token AS same_token
  FROM genuine g, signing k;
SELECT id FROM genuine g, user_module.validate_invite_token(g.token);

-- What the verifier refuses: one message, 22U01, whatever the cause.
CREATE TEMP TABLE refused (label text, token text);
INSERT INTO refused
SELECT v.label, v.token
  FROM genuine g, signing k,
       LATERAL (VALUES
         ('empty', ''),
         ('garbage', 'not a token'),
         ('two segments', g.h || '.' || g.p),
         ('four segments', g.token || '.' || g.s),
         ('= padding', g.token || '='),
         ('padded segment', g.h || '=.' || g.p || '.' || g.s),
         ('non-canonical last character', left(g.token, -1) ||
             CASE right(g.token, 1) WHEN 'A' THEN 'B' WHEN 'E' THEN 'F' WHEN 'I' THEN 'J' WHEN 'M' THEN 'N'
                  WHEN 'Q' THEN 'R' WHEN 'U' THEN 'V' WHEN 'Y' THEN 'Z' WHEN 'c' THEN 'd' WHEN 'g' THEN 'h'
                  WHEN 'k' THEN 'l' WHEN 'o' THEN 'p' WHEN 's' THEN 't' WHEN 'w' THEN 'x' WHEN '0' THEN '1'
                  WHEN '4' THEN '5' ELSE '9' END),
         ('one flipped signature bit', left(g.token, -5) ||
             CASE substr(g.token, length(g.token) - 4, 1) WHEN 'A' THEN 'B' ELSE 'A' END || right(g.token, 4)),
         ('another key', pg_temp.forge('{"alg":"HS256","typ":"JWT"}', g.c::text, 'another-key-another-key-another-key!')),
         ('alg none', pg_temp.forge('{"alg":"none","typ":"JWT"}', g.c::text, k.key)),
         ('alg none, no signature', pg_temp.b64url('{"alg":"none"}') || '.' || g.p || '.'),
         ('alg HS512', pg_temp.forge('{"alg":"HS512","typ":"JWT"}', g.c::text, k.key)),
         ('alg RS256', pg_temp.forge('{"alg":"RS256","typ":"JWT"}', g.c::text, k.key)),
         ('crit', pg_temp.forge('{"alg":"HS256","crit":["exp"]}', g.c::text, k.key)),
         ('duplicate header keys', pg_temp.forge('{"alg":"HS256","alg":"HS256"}', g.c::text, k.key)),
         ('typ JOSE', pg_temp.forge('{"alg":"HS256","typ":"JOSE"}', g.c::text, k.key)),
         ('typ jwt (case)', pg_temp.forge('{"alg":"HS256","typ":"jwt"}', g.c::text, k.key)),
         ('typ not a string', pg_temp.forge('{"alg":"HS256","typ":["JWT"]}', g.c::text, k.key)),
         ('payload not an object', pg_temp.forge('{"alg":"HS256"}', '[1]', k.key)),
         ('missing exp', pg_temp.forge('{"alg":"HS256"}', (g.c - 'exp')::text, k.key)),
         ('string exp', pg_temp.forge('{"alg":"HS256"}', jsonb_set(g.c, '{exp}', to_jsonb((g.c->>'exp')::text))::text, k.key)),
         ('numeric id', pg_temp.forge('{"alg":"HS256"}', jsonb_set(g.c, '{id}', '1')::text, k.key)),
         ('another jti', pg_temp.forge('{"alg":"HS256"}', jsonb_set(g.c, '{jti}', to_jsonb(gen_random_uuid()::text))::text, k.key)),
         ('unknown invite', pg_temp.forge('{"alg":"HS256"}', jsonb_set(g.c, '{id}', '"inv_nobody"')::text, k.key)),
         ('nbf in the future', pg_temp.forge('{"alg":"HS256"}', jsonb_set(g.c, '{nbf}', to_jsonb((g.c->>'iat')::bigint + 3600))::text, k.key)),
         ('over 4096 bytes', g.token || repeat('A', 4096))
       ) AS v(label, token);
SELECT label, expect_error(format('SELECT user_module.validate_invite_token(%L)', token), '22U01') AS validate,
       expect_error(format('SELECT user_module.accept_invite(%L)', token), '22U01') AS accept
  FROM refused ORDER BY label;
SELECT expect_error('SELECT user_module.validate_invite_token(NULL)', '22U01');

-- Genuine but expired (exp passed): 22U02, said only after the signature held.
SELECT expect_error(format('SELECT user_module.validate_invite_token(%L)',
         pg_temp.forge('{"alg":"HS256"}', jsonb_set(g.c, '{exp}', to_jsonb((g.c->>'iat')::bigint - 1))::text, k.key)),
       '22U02')
  FROM genuine g, signing k;
-- nbf within the minute of leeway, or in the past: accepted
SELECT v.id FROM genuine g, signing k,
       user_module.validate_invite_token(pg_temp.forge('{"alg":"HS256"}', jsonb_set(g.c, '{nbf}', to_jsonb((g.c->>'iat')::bigint + 30))::text, k.key)) v;
-- nothing a refused call did is left behind
SELECT accepted, deleted_at IS NULL AS live FROM user_module.retrieve_invite('inv_oracle');
SELECT count(*) AS events FROM user_module.event WHERE entity_id = 'inv_oracle' AND name <> 'invite.created';
SELECT count(*) FROM user_module.claim_events(1000) \g /dev/null
