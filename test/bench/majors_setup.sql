-- test/bench/majors.sh: the rows every round starts from, the same on each
-- major: 10,000 users and 2,000 invites whose tokens bench.token keeps.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\ir ../install.sql
CREATE SCHEMA bench;
SELECT count(*) FROM generate_series(0, 9) b, LATERAL user_module.create_users(
	(SELECT jsonb_agg(jsonb_build_object('id', 'bench-u' || g, 'email', 'user' || g || '@majors.test',
	                                     'first_name', 'first' || g, 'last_name', 'last' || g % 200))
	   FROM generate_series(b * 1000, b * 1000 + 999) g));
CREATE TABLE bench.token (k integer PRIMARY KEY, id text, token text);
INSERT INTO bench.token
SELECT row_number() OVER (ORDER BY i.id) - 1, i.id, i.token
  FROM user_module.create_invites((SELECT jsonb_agg(jsonb_build_object('email', 'invite' || g || '@majors.test'))
                                     FROM generate_series(1, 2000) g)) i;
VACUUM ANALYZE;
