--
-- metadata: Medusa's merge rules on update, and "updated_at moves and an
-- event is written only when a value really changes".
--
-- Merge (Medusa's mergeMetadata): keys of the patch replace the current ones
-- one level deep (nested objects are replaced, not merged), a key set to ""
-- is removed, {} changes nothing, JSON null clears the whole metadata. A NULL
-- metadata patched with something that adds no key stays NULL.
--
-- check_update(id, changes) applies the changes with update_user and reports the
-- metadata afterwards, whether updated_at moved, and how many events the call
-- wrote. Each call is its own statement and so its own transaction
-- (autocommit): now() differs between calls, so a real change always moves
-- updated_at.
--
CREATE FUNCTION pg_temp.check_update(uid text, changes jsonb,
	OUT metadata jsonb, OUT updated_moved boolean, OUT events bigint)
LANGUAGE plpgsql
AS $$
DECLARE
	before timestamptz;
	mark bigint;
BEGIN
	SELECT u.updated_at INTO before FROM user_module."user" u WHERE u.id = uid;
	SELECT coalesce(max(e.id), 0) INTO mark FROM user_module.event e;
	PERFORM pg_sleep(0.001);
	SELECT u.metadata, u.updated_at > before INTO metadata, updated_moved
	  FROM user_module.update_user(uid, changes) u;
	SELECT count(*) INTO events FROM user_module.event e WHERE e.id > mark;
END
$$;

SELECT id, metadata FROM user_module.create_users('[
	{"id":"m1","email":"m1@meta.test","metadata":{"a":1,"b":2}},
	{"id":"m2","email":"m2@meta.test"},
	{"id":"m3","email":"m3@meta.test","metadata":{}},
	{"id":"m4","email":"m4@meta.test","metadata":{"n":{"x":1,"y":2},"list":[1,2,3],"keep":"k"}}]');

-- add and remove in one patch: {a:1,b:2} + {b:"",c:3} = {a:1,c:3}
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"b":"","c":3}}');
-- {} changes nothing: same metadata, updated_at unchanged, no event
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{}}');
-- the same values again: no change
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"a":1}}');
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"a":1,"c":3}}');
-- a numerically equal value is the same value in jsonb
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"a":1.0}}');
-- removing a key that is not there: no change
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"zz":""}}');
-- replace one value
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"a":"one"}}');
-- a key set to JSON null is kept, with the value null (only "" removes)
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"a":null}}');
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"a":null}}');
-- removing every key leaves an empty object, not NULL
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"a":"","c":""}}');
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"a":""}}');
-- JSON null clears the whole metadata
SELECT * FROM pg_temp.check_update('m1', '{"metadata":{"x":1}}');
SELECT * FROM pg_temp.check_update('m1', '{"metadata":null}');
SELECT * FROM pg_temp.check_update('m1', '{"metadata":null}');

-- NULL metadata: patches that add nothing keep it NULL, with no event
SELECT * FROM pg_temp.check_update('m2', '{"metadata":{}}');
SELECT * FROM pg_temp.check_update('m2', '{"metadata":{"a":""}}');
SELECT * FROM pg_temp.check_update('m2', '{"metadata":null}');
-- and a patch that adds a key starts from an empty object
SELECT * FROM pg_temp.check_update('m2', '{"metadata":{"a":""," b":2}}');

-- an empty object stays empty
SELECT * FROM pg_temp.check_update('m3', '{"metadata":{}}');
SELECT * FROM pg_temp.check_update('m3', '{"metadata":{"a":""}}');
-- and can be cleared to NULL (a real change)
SELECT * FROM pg_temp.check_update('m3', '{"metadata":null}');

-- merging is one level deep: nested objects and arrays are replaced whole
SELECT * FROM pg_temp.check_update('m4', '{"metadata":{"n":{"x":5}}}');
SELECT * FROM pg_temp.check_update('m4', '{"metadata":{"list":[4]}}');
-- "" inside a nested object is a value, not a removal
SELECT * FROM pg_temp.check_update('m4', '{"metadata":{"n":{"x":""}}}');
-- the same nested value again: no change
SELECT * FROM pg_temp.check_update('m4', '{"metadata":{"n":{"x":""},"list":[4]}}');
-- key order in the patch does not matter; unicode keys and values are kept
SELECT * FROM pg_temp.check_update('m4', '{"metadata":{"ключ":"значение","emoji":"🙂","keep":"k"}}');
-- a value that changes type
SELECT * FROM pg_temp.check_update('m4', '{"metadata":{"keep":["k"]}}');
SELECT * FROM pg_temp.check_update('m4', '{"metadata":{"keep":"k"}}');

------------------------------------------------------------------------------
-- updated_at and events for the other fields
------------------------------------------------------------------------------

-- setting a field to the value it has is no change
SELECT * FROM pg_temp.check_update('m2', '{"first_name":null}');
SELECT * FROM pg_temp.check_update('m2', '{"email":"m2@meta.test"}');
-- trimming happens first, so this is the same email too
SELECT * FROM pg_temp.check_update('m2', '{"email":"  m2@meta.test  "}');
SELECT * FROM pg_temp.check_update('m2', '{}');
-- a different case is a real change (the stored value keeps the case)
SELECT * FROM pg_temp.check_update('m2', '{"email":"M2@meta.test"}');
SELECT email FROM user_module.retrieve_user('m2');
SELECT * FROM pg_temp.check_update('m2', '{"first_name":"Em"}');
SELECT * FROM pg_temp.check_update('m2', '{"first_name":"Em","last_name":null,"avatar_url":null}');
-- an empty string is a value, different from NULL
SELECT * FROM pg_temp.check_update('m2', '{"last_name":""}');
SELECT * FROM pg_temp.check_update('m2', '{"last_name":""}');
SELECT * FROM pg_temp.check_update('m2', '{"last_name":null}');
-- one real change among no-ops is a change
SELECT * FROM pg_temp.check_update('m2', '{"first_name":"Em","avatar_url":"https://x/m2.png"}');

------------------------------------------------------------------------------
-- update_users: events only for the users that really changed
------------------------------------------------------------------------------

SELECT coalesce(max(id), 0) AS mark FROM user_module.event \gset
SELECT FROM pg_sleep(0.001);
SELECT id, metadata, first_name FROM user_module.update_users('[
	{"id":"m1","metadata":{}},
	{"id":"m2","metadata":{"a":""},"first_name":"Em"},
	{"id":"m3","metadata":{"new":true}}]');
SELECT name, entity_id, data FROM user_module.event WHERE id > :mark ORDER BY id;
SELECT id, metadata FROM user_module.list_users('{"id":["m1","m2","m3","m4"]}');

-- soft delete and restore are changes: they move updated_at and write events
SELECT * FROM (SELECT updated_at AS m1_before FROM user_module."user" WHERE id = 'm1') s \gset
SELECT FROM pg_sleep(0.001);
SELECT user_module.soft_delete_users(ARRAY['m1']) AS soft_deleted;
SELECT updated_at > :'m1_before' AS updated_moved FROM user_module."user" WHERE id = 'm1';
SELECT * FROM (SELECT updated_at AS m1_before FROM user_module."user" WHERE id = 'm1') s \gset
SELECT FROM pg_sleep(0.001);
SELECT user_module.restore_users(ARRAY['m1']) AS restored;
SELECT updated_at > :'m1_before' AS updated_moved FROM user_module."user" WHERE id = 'm1';
SELECT name, entity_id FROM user_module.event WHERE id > :mark ORDER BY id;
-- created_at never moves
SELECT bool_and(created_at < updated_at) AS created_before_updated FROM user_module."user" WHERE id LIKE 'm%';

SELECT count(*) AS deleted FROM user_module.delete_users(ARRAY['m1', 'm2', 'm3', 'm4']);
SELECT count(*) > 0 AS claimed FROM user_module.claim_events(1000000);
