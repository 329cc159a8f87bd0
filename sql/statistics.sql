--
-- statistics: what pg_stat_statements keeps of the calls (test/run runs this
-- on its cluster, which preloads pg_stat_statements with track = all, so the
-- statements the module runs inside a call are tracked too).
--
-- A token or email typed as a literal into a plain statement is replaced by
-- $n in the query text on every major, and the module's own statements carry
-- none: they take parameters. What differs: from PostgreSQL 16 on, utility
-- statements (EXPLAIN, SET, CREATE TABLE AS) are normalized as well, while 15
-- keeps their text as typed; a DO block's body is kept as typed on every
-- major. doc/security.md says so.
--
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
CREATE EXTENSION user_module;
CREATE EXTENSION pg_stat_statements SCHEMA extensions;
RESET client_min_messages;

SELECT id FROM user_module.create_invite('stats@example.com', id => 'inv-stats');
-- the values to look for, kept without putting them into any statement's text
CREATE TEMP TABLE secret (what text, value text);
INSERT INTO secret SELECT 'token', token FROM user_module.retrieve_invite('inv-stats');
SELECT token FROM user_module.retrieve_invite('inv-stats') \gset
SELECT count(*) AS reset FROM (SELECT extensions.pg_stat_statements_reset()) r;

-- as a psql user types them: the token, the email and the names as literals
SELECT email FROM user_module.validate_invite_token(:'token');
EXPLAIN (COSTS OFF) SELECT email FROM user_module.validate_invite_token(:'token');
SELECT email, first_name FROM user_module.accept_invite(:'token', 'Stats');
SELECT email FROM user_module.create_user('typed@example.com', 'Typed');
DO $$ BEGIN PERFORM user_module.create_user('in-a-do-block@example.com'); END $$;
INSERT INTO secret VALUES ('email', 'typed@example.com'), ('email in a DO block', 'in-a-do-block@example.com');

-- What kept which value. The kinds: a DO block, EXPLAIN, the plain
-- statements typed above, and the statements run inside the calls.
CREATE TEMP VIEW tracked AS
SELECT CASE WHEN query LIKE 'DO %' THEN 'DO'
            WHEN query LIKE 'EXPLAIN %' THEN 'EXPLAIN'
            WHEN toplevel THEN 'top level'
            ELSE 'inside a call' END AS kind, query
  FROM extensions.pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database());
SELECT kind, count(*) > 0 AS tracked FROM tracked GROUP BY kind ORDER BY kind;
-- kept only by the DO block, and on 15 by EXPLAIN too: each row is a
-- difference from that
WITH kept AS (
	SELECT DISTINCT kind, s.what FROM tracked t JOIN secret s ON position(s.value IN t.query) > 0
), documented(kind, what) AS (
	SELECT 'DO', 'email in a DO block'
	UNION ALL
	SELECT 'EXPLAIN', 'token' WHERE current_setting('server_version_num')::int < 160000
)
(SELECT 'kept, not documented' AS difference, * FROM (TABLE kept EXCEPT TABLE documented) k)
UNION ALL
(SELECT 'documented, not kept', * FROM (TABLE documented EXCEPT TABLE kept) d);
