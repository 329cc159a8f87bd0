--
-- filters: list_users/count_users filters, q, timestamps, order_by, paging,
-- with_deleted, and their errors (22023).
--
-- The fixture's timestamps are set directly in the table (as its owner), so
-- timestamp filters have fixed values to compare with.
--

SELECT count(*) AS created FROM user_module.create_users('[
	{"id":"f01","first_name":"Ada","last_name":"Lovelace","email":"ada@math.test"},
	{"id":"f02","first_name":"Alan","last_name":"Turing","email":"alan@cs.test"},
	{"id":"f03","first_name":"Grace","last_name":"Hopper","email":"GRACE@Navy.test"},
	{"id":"f04","first_name":"Bob","last_name":"Builder","email":"bob@build.test"},
	{"id":"f05","first_name":"Bob","last_name":"Marley","email":"marley@music.test"},
	{"id":"f06","first_name":"100%","last_name":"a_b","email":"back\\slash@odd.test"},
	{"id":"f07","first_name":"Deleted","last_name":"Person","email":"deleted@gone.test"},
	{"id":"f08","first_name":"Émile","last_name":"Zola","email":"emile@lit.test"},
	{"id":"f09","email":"ohne@name.test"},
	{"id":"f10","first_name":"Bob","last_name":"Alpha","email":"bob.alpha@build.test"}]');
SELECT user_module.soft_delete_users(ARRAY['f07']) AS soft_deleted;
SET TIME ZONE 'UTC';
SET DateStyle = 'ISO, YMD';
UPDATE user_module."user" SET
	created_at = timestamptz '2020-01-01 00:00:00+00' + (substr(id, 2)::int - 1) * interval '1 month',
	updated_at = timestamptz '2021-01-01 00:00:00+00' + (substr(id, 2)::int - 1) * interval '1 day',
	deleted_at = CASE WHEN id = 'f07' THEN timestamptz '2022-06-01 00:00:00+00' END
 WHERE id LIKE 'f__';
SELECT id, first_name, last_name, email, created_at, updated_at, deleted_at
  FROM user_module.list_users(with_deleted => true);

-- list(filters) and count(filters) together
CREATE FUNCTION pg_temp.ids(filters jsonb, with_deleted boolean DEFAULT false)
RETURNS text
LANGUAGE sql
AS $$
	SELECT coalesce(string_agg(id, ',' ORDER BY n), '-') || '  (count ' ||
	       user_module.count_users(filters, with_deleted) || ')'
	  FROM user_module.list_users(filters, with_deleted => with_deleted) WITH ORDINALITY AS u(id, f, l, e, a, m, c, up, d, n)
$$;

------------------------------------------------------------------------------
-- No filter
------------------------------------------------------------------------------

SELECT pg_temp.ids('{}');
SELECT pg_temp.ids(NULL);
SELECT pg_temp.ids('{}', true);
SELECT id FROM user_module.list_users() LIMIT 3;
SELECT user_module.count_users() AS live, user_module.count_users(with_deleted => true) AS all_rows;

------------------------------------------------------------------------------
-- id, email, first_name, last_name: a string or an array of strings
------------------------------------------------------------------------------

SELECT pg_temp.ids('{"id":"f02"}');
SELECT pg_temp.ids('{"id":["f03","f01","nope","f01"]}');
SELECT pg_temp.ids('{"id":[]}');
SELECT pg_temp.ids('{"id":"F02"}');
SELECT pg_temp.ids('{"id":"f07"}');
SELECT pg_temp.ids('{"id":"f07"}', true);
-- email: case-insensitive, exact (no partial match)
SELECT pg_temp.ids('{"email":"ada@math.test"}');
SELECT pg_temp.ids('{"email":"ADA@MATH.TEST"}');
SELECT pg_temp.ids('{"email":"grace@navy.test"}');
SELECT pg_temp.ids('{"email":["Grace@NAVY.test","BOB@build.TEST","none@x.y"]}');
SELECT pg_temp.ids('{"email":"ada@"}');
SELECT pg_temp.ids('{"email":"%"}');
SELECT pg_temp.ids('{"email":[]}');
SELECT pg_temp.ids('{"email":"DELETED@gone.test"}');
SELECT pg_temp.ids('{"email":"DELETED@gone.test"}', true);
-- names: exact and case-sensitive
SELECT pg_temp.ids('{"first_name":"Bob"}');
SELECT pg_temp.ids('{"first_name":"bob"}');
SELECT pg_temp.ids('{"first_name":["Ada","Grace"]}');
SELECT pg_temp.ids('{"first_name":"Émile"}');
SELECT pg_temp.ids('{"first_name":"100%"}');
SELECT pg_temp.ids('{"first_name":"100"}');
SELECT pg_temp.ids('{"last_name":["Builder","Marley"]}');
SELECT pg_temp.ids('{"last_name":"a_b"}');
SELECT pg_temp.ids('{"last_name":"axb"}');
SELECT pg_temp.ids('{"last_name":[]}');
-- several keys: all must hold
SELECT pg_temp.ids('{"first_name":"Bob","last_name":"Builder"}');
SELECT pg_temp.ids('{"first_name":"Bob","email":["BOB.ALPHA@build.test","marley@music.test"]}');
SELECT pg_temp.ids('{"first_name":"Bob","last_name":"Hopper"}');
SELECT pg_temp.ids('{"id":["f04","f05","f10"],"first_name":[]}');

------------------------------------------------------------------------------
-- q: every word must occur, case-insensitively, in first_name, last_name or email
------------------------------------------------------------------------------

SELECT pg_temp.ids('{"q":"bob"}');
SELECT pg_temp.ids('{"q":"BOB"}');
SELECT pg_temp.ids('{"q":"bob builder"}');
SELECT pg_temp.ids('{"q":"builder bob"}');
SELECT pg_temp.ids('{"q":"  Bob   BUILD  "}');
SELECT pg_temp.ids('{"q":"bob\tbuilder\n"}');
SELECT pg_temp.ids('{"q":"bob alan"}');
SELECT pg_temp.ids('{"q":"alpha bob"}');
-- the email counts too, and a word may match a different column each
SELECT pg_temp.ids('{"q":"navy"}');
SELECT pg_temp.ids('{"q":"grace NAVY hopper"}');
SELECT pg_temp.ids('{"q":".test"}');
SELECT pg_temp.ids('{"q":"ing"}');
-- ids are not searched
SELECT pg_temp.ids('{"q":"f01"}');
-- a word never spans two columns
SELECT pg_temp.ids('{"q":"adalovelace"}');
SELECT pg_temp.ids('{"q":"lovelaceada"}');
-- non-ASCII letters
SELECT pg_temp.ids('{"q":"émile"}');
SELECT pg_temp.ids('{"q":"ÉMILE"}');
SELECT pg_temp.ids('{"q":"zola"}');
-- %, _ and \ are literal characters, not wildcards
SELECT pg_temp.ids('{"q":"%"}');
SELECT pg_temp.ids('{"q":"100%"}');
SELECT pg_temp.ids('{"q":"%%"}');
SELECT pg_temp.ids('{"q":"1%0"}');
SELECT pg_temp.ids('{"q":"_"}');
SELECT pg_temp.ids('{"q":"a_b"}');
SELECT pg_temp.ids('{"q":"_o"}');
SELECT pg_temp.ids('{"q":"b_b"}');
SELECT pg_temp.ids('{"q":"\\"}');
SELECT pg_temp.ids('{"q":"\\s"}');
SELECT pg_temp.ids('{"q":"k\\s"}');
SELECT pg_temp.ids('{"q":"\\\\"}');
SELECT pg_temp.ids('{"q":"\\%"}');
-- blank q, JSON null: no condition
SELECT pg_temp.ids('{"q":""}');
SELECT pg_temp.ids('{"q":"  \t\n "}');
SELECT pg_temp.ids('{"q":null}');
-- q and soft-deleted users
SELECT pg_temp.ids('{"q":"person"}');
SELECT pg_temp.ids('{"q":"person"}', true);
-- q with other filters
SELECT pg_temp.ids('{"q":"bob","last_name":["Marley","Alpha"]}');
SELECT pg_temp.ids('{"q":"o","id":["f01","f02","f03","f04"]}');
-- limits: 32 words and 1024 bytes are fine
SELECT pg_temp.ids(jsonb_build_object('q', rtrim(repeat('o ', 32))));
SELECT pg_temp.ids(jsonb_build_object('q', 'b' || repeat('o', 1022) || 'b'));
SELECT pg_temp.ids(jsonb_build_object('q', repeat('é', 512)));
SELECT pg_temp.ids(jsonb_build_object('q', repeat('  ', 400) || 'bob builder' || repeat(' ', 100)));

------------------------------------------------------------------------------
-- created_at, updated_at, deleted_at: {"$gt"|"$gte"|"$lt"|"$lte"|"$eq": timestamp}
------------------------------------------------------------------------------

SELECT pg_temp.ids('{"created_at":{"$eq":"2020-03-01T00:00:00Z"}}');
SELECT pg_temp.ids('{"created_at":{"$gt":"2020-03-01T00:00:00Z"}}');
SELECT pg_temp.ids('{"created_at":{"$gte":"2020-03-01T00:00:00Z"}}');
SELECT pg_temp.ids('{"created_at":{"$lt":"2020-03-01T00:00:00Z"}}');
SELECT pg_temp.ids('{"created_at":{"$lte":"2020-03-01T00:00:00Z"}}');
-- a range, time zones, and other spellings of a timestamp
SELECT pg_temp.ids('{"created_at":{"$gte":"2020-02-01","$lt":"2020-05-01"}}');
SELECT pg_temp.ids('{"created_at":{"$eq":"2020-03-01T01:00:00+01:00"}}');
SELECT pg_temp.ids('{"created_at":{"$eq":"2020-02-29 19:00:00-05"}}');
SELECT pg_temp.ids('{"created_at":{"$gt":"2020-08-15 12:34:56.789+00","$lte":"infinity"}}');
SELECT pg_temp.ids('{"created_at":{"$lt":"-infinity"}}');
-- an empty operator object is no condition
SELECT pg_temp.ids('{"created_at":{}}');
-- updated_at
SELECT pg_temp.ids('{"updated_at":{"$gte":"2021-01-05","$lte":"2021-01-06"}}');
SELECT pg_temp.ids('{"updated_at":{"$gt":"2021-01-09"}}');
-- deleted_at: only with with_deleted do deleted rows appear at all
SELECT pg_temp.ids('{"deleted_at":{"$gt":"2000-01-01"}}');
SELECT pg_temp.ids('{"deleted_at":{"$gt":"2000-01-01"}}', true);
SELECT pg_temp.ids('{"deleted_at":{"$eq":"2022-06-01"}}', true);
SELECT pg_temp.ids('{"deleted_at":{"$lt":"2022-06-01"}}', true);
-- combined with other keys
SELECT pg_temp.ids('{"created_at":{"$gte":"2020-04-01"},"updated_at":{"$lt":"2021-01-10"},"first_name":"Bob"}');
SELECT pg_temp.ids('{"created_at":{"$lt":"2020-06-01"},"q":"bob"}');

------------------------------------------------------------------------------
-- order_by: column names, "-" for descending, ties broken by id
------------------------------------------------------------------------------

CREATE FUNCTION pg_temp.ordered(order_by text, filters jsonb DEFAULT '{}', skip int DEFAULT 0, take int DEFAULT NULL)
RETURNS text
LANGUAGE sql
AS $$
	SELECT coalesce(string_agg(id, ',' ORDER BY n), '-')
	  FROM user_module.list_users(filters, skip, take, order_by) WITH ORDINALITY AS u(id, f, l, e, a, m, c, up, d, n)
$$;

SELECT pg_temp.ordered('id');
SELECT pg_temp.ordered('-id');
SELECT pg_temp.ordered(NULL);
SELECT pg_temp.ordered('');
SELECT pg_temp.ordered('   ');
SELECT pg_temp.ordered('created_at');
SELECT pg_temp.ordered('-created_at');
SELECT pg_temp.ordered('-updated_at');
SELECT pg_temp.ordered('last_name', '{"id":["f01","f02","f03","f04","f05"]}');
SELECT pg_temp.ordered('-last_name', '{"id":["f01","f02","f03","f04","f05"]}');
SELECT pg_temp.ordered('email', '{"id":["f01","f02","f04","f05","f10"]}');
SELECT pg_temp.ordered('-email', '{"id":["f01","f02","f04","f05","f10"]}');
SELECT pg_temp.ordered('avatar_url,-id', '{"id":["f01","f02","f03"]}');
-- ties are broken by id (ascending), whatever the direction
SELECT pg_temp.ordered('first_name', '{"first_name":"Bob"}');
SELECT pg_temp.ordered('-first_name', '{"first_name":"Bob"}');
-- several columns
SELECT pg_temp.ordered('first_name,last_name', '{"first_name":["Bob","Ada","Alan"]}');
SELECT pg_temp.ordered('first_name,-last_name', '{"first_name":["Bob","Ada","Alan"]}');
SELECT pg_temp.ordered('-first_name,-id', '{"first_name":["Bob","Ada","Alan"]}');
SELECT pg_temp.ordered('first_name,-id', '{"first_name":["Bob","Ada","Alan"]}');
-- white space around the items is ignored
SELECT pg_temp.ordered(' -first_name , last_name ', '{"first_name":["Bob","Ada","Alan"]}');
-- a column named again, and anything after id, change nothing; every name is still checked
SELECT pg_temp.ordered('first_name,-first_name,-last_name', '{"first_name":["Bob","Ada","Alan"]}')
     = pg_temp.ordered('first_name,-last_name', '{"first_name":["Bob","Ada","Alan"]}') AS repeat_ignored,
       pg_temp.ordered('-id,first_name,-id', '{"first_name":["Bob","Ada","Alan"]}')
     = pg_temp.ordered('-id', '{"first_name":["Bob","Ada","Alan"]}') AS after_id_ignored;
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'id,nope')$$, '22023');

------------------------------------------------------------------------------
-- skip and take
------------------------------------------------------------------------------

SELECT pg_temp.ordered('id', '{}', 0, 3) AS page1, pg_temp.ordered('id', '{}', 3, 3) AS page2,
       pg_temp.ordered('id', '{}', 6, 3) AS page3, pg_temp.ordered('id', '{}', 9, 3) AS page4;
SELECT pg_temp.ordered('-created_at', '{}', 0, 4) AS page1, pg_temp.ordered('-created_at', '{}', 4, 4) AS page2,
       pg_temp.ordered('-created_at', '{}', 8, 4) AS page3;
-- pages put together are the whole list
SELECT string_agg(pg_temp.ordered('-first_name', '{}', p * 2, 2), ',' ORDER BY p) = pg_temp.ordered('-first_name') AS pages_cover_list
  FROM generate_series(0, 4) p;
SELECT pg_temp.ordered('id', '{}', 0, 0) AS take_0;
SELECT pg_temp.ordered('id', '{}', 0, NULL) AS take_null;
SELECT pg_temp.ordered('id', '{}', NULL, 2) AS skip_null;
SELECT pg_temp.ordered('id', '{}', 8, NULL) AS skip_8;
SELECT pg_temp.ordered('id', '{}', 100, 10) AS past_the_end;
SELECT pg_temp.ordered('id', '{}', 2147483647, 2147483647) AS int_max;
SELECT pg_temp.ordered('id', '{"first_name":"Bob"}', 1, 1) AS filtered_page;
-- count ignores paging
SELECT user_module.count_users('{"first_name":"Bob"}') AS count;
SELECT id FROM user_module.list_users(skip => 2, take => 2, with_deleted => true);

------------------------------------------------------------------------------
-- count_users always equals the length of the unpaged list
------------------------------------------------------------------------------

SELECT f AS filters, w AS with_deleted,
       user_module.count_users(f, w) = (SELECT count(*) FROM user_module.list_users(f, with_deleted => w)) AS equal,
       user_module.count_users(f, w) AS count
  FROM unnest(ARRAY['{}', '{"q":"o"}', '{"q":"bob b"}', '{"id":[]}', '{"email":["ADA@math.test","deleted@gone.test"]}',
                    '{"created_at":{"$gte":"2020-05-01"}}', '{"deleted_at":{"$gt":"2000-01-01"}}',
                    '{"first_name":"Bob","q":"alpha"}']::jsonb[]) f,
       unnest(ARRAY[false, true]) w
 ORDER BY f::text, w;

------------------------------------------------------------------------------
-- Errors: 22023
------------------------------------------------------------------------------

-- filters must be an object
SELECT public.expect_error($$SELECT user_module.list_users('[]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('[{"id":"f01"}]')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('"f01"')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('1')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('null')$$, '22023');
SELECT public.expect_error($$SELECT user_module.count_users('[]')$$, '22023');
-- unknown keys; columns that cannot be filtered; Medusa's operators we do not take
SELECT public.expect_error($$SELECT user_module.list_users('{"nope":"x"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"ID":"f01"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"avatar_url":"x"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"metadata":{}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"metadata":true}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.count_users('{"metadata":false}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"$and":[{"id":"f01"}]}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"$or":[{"id":"f01"}]}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"id = id OR true --":"x"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"":"x"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.count_users('{"nope":"x"}')$$, '22023');
-- wrong value types
SELECT public.expect_error($$SELECT user_module.list_users('{"id":1}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"id":null}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"id":true}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"id":{"$in":["f01"]}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"id":["f01",2]}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"id":["f01",null]}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"id":[["f01"]]}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"email":{"$ilike":"%a%"}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"first_name":false}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.count_users('{"last_name":7}')$$, '22023');
-- q must be a string (or null), of at most 32 words and 1024 bytes
SELECT public.expect_error($$SELECT user_module.list_users('{"q":1}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"q":["bob"]}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"q":{"bob":1}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"q":true}')$$, '22023');
SELECT public.expect_error(format($$SELECT user_module.list_users(%L)$$, jsonb_build_object('q', rtrim(repeat('o ', 33)))), '22023');
SELECT public.expect_error(format($$SELECT user_module.list_users(%L)$$, jsonb_build_object('q', repeat('o', 1025))), '22023');
SELECT public.expect_error(format($$SELECT user_module.list_users(%L)$$, jsonb_build_object('q', repeat('é', 513))), '22023');
SELECT public.expect_error(format($$SELECT user_module.list_users(%L)$$, jsonb_build_object('q', repeat(' ', 1025))), '22023');
SELECT public.expect_error(format($$SELECT user_module.count_users(%L)$$, jsonb_build_object('q', rtrim(repeat('o ', 33)))), '22023');
-- timestamps: an object of known operators with timestamp strings
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":"2020-01-01"}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":null}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":["2020-01-01"]}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":{"$ne":"2020-01-01"}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":{"gt":"2020-01-01"}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":{"$GT":"2020-01-01"}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":{"$gt":"2020-01-01","$in":[]}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":{"$gt":"yesterdayish"}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":{"$gt":"2020-13-45"}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":{"$gt":""}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":{"$gt":1577836800}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"created_at":{"$gt":null}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"updated_at":{"$lt":true}}')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"deleted_at":{"$eq":{}}}', with_deleted => true)$$, '22023');
SELECT public.expect_error($$SELECT user_module.count_users('{"created_at":{"$gt":"not a time"}}')$$, '22023');
-- order_by: known columns only, no empty items
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'nope')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'ID')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'email desc')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => '+email')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => '--email')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => '- email')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'email; DROP TABLE user_module.event')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'lower(email)')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => '1')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => '-')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => ',')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => ',id')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'id,,email')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'id, ')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'id,')$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(order_by => 'email,-')$$, '22023');
-- skip and take must not be negative
SELECT public.expect_error($$SELECT user_module.list_users(skip => -1)$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users(take => -1)$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{}', -2147483648, -2147483648)$$, '22023');
-- the filters are checked even when the page is empty
SELECT public.expect_error($$SELECT user_module.list_users('{"nope":1}', 0, 0)$$, '22023');
SELECT public.expect_error($$SELECT user_module.list_users('{"id":[]}', 0, 0, 'nope')$$, '22023');

-- nothing of the above wrote anything
SELECT count(*) AS events FROM user_module.event WHERE name <> 'user.created' AND name <> 'user.deleted';

RESET TIME ZONE;
RESET DateStyle;
SELECT count(*) AS deleted FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users(with_deleted => true)));
SELECT count(*) > 0 AS claimed FROM user_module.claim_events(1000000);
