--
-- events: the transactional outbox user_module.event.
--
-- One row per entity changed, in the same transaction: user.created,
-- user.updated, user.deleted (hard and soft), user.restored. None for a change
-- that changes nothing, for reads, for failing calls, or for anything rolled
-- back. claim_events(max) removes and returns the oldest events in id order;
-- purge_events(retention) deletes the events older than the retention.
-- Triggers on the outbox (subscribers) are tested in subscribers.sql.
-- NOTIFY at commit is tested in the isolation spec test/specs/notify.spec.
--
-- Event ids are printed relative to a mark (the last id the sequence gave),
-- so the output does not depend on what earlier tests did.
--

SELECT count(*) AS events_left_by_earlier_tests FROM user_module.event;
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
-- the events written since the mark, with ids relative to it
CREATE FUNCTION pg_temp.new_events(mark bigint)
RETURNS TABLE (n bigint, name text, entity_id text, data jsonb, data_ok boolean, now_ok boolean)
LANGUAGE sql
AS $$
	SELECT e.id - mark, e.name, e.entity_id, e.data,
	       e.data = jsonb_build_object('id', e.entity_id),
	       e.created_at <= now() AND e.created_at > now() - interval '1 hour'
	  FROM user_module.event e WHERE e.id > mark ORDER BY e.id
$$;

------------------------------------------------------------------------------
-- One event per entity changed, in order
------------------------------------------------------------------------------

SELECT id FROM user_module.create_user('ev1@event.test', id => 'ev1');
SELECT id FROM user_module.create_users('[{"id":"ev3","email":"ev3@event.test"},{"id":"ev2","email":"ev2@event.test"},{"id":"ev4","email":"ev4@event.test"}]');
SELECT id FROM user_module.update_user('ev2', '{"first_name":"Two"}');
SELECT id FROM user_module.update_users('[{"id":"ev4","first_name":"Four"},{"id":"ev1","first_name":"One"},{"id":"ev3","last_name":"Three"}]');
SELECT user_module.soft_delete_users(ARRAY['ev4', 'ev2']) AS soft_deleted;
SELECT user_module.restore_users(ARRAY['ev4', 'ev2']) AS restored;
SELECT user_module.soft_delete_users(ARRAY['ev3']) AS soft_deleted;
-- hard-deleting a soft-deleted user is a change too
SELECT user_module.delete_users(ARRAY['ev3', 'ev1']) AS deleted;
SELECT * FROM pg_temp.new_events(:mark);
-- the data of an event is exactly {"id": <entity id>}
SELECT DISTINCT jsonb_object_keys(data) AS keys FROM user_module.event WHERE id > :mark;
-- ids increase in the order the events were written
SELECT bool_and(id > prev) AS increasing
  FROM (SELECT id, lag(id) OVER (ORDER BY id) AS prev FROM user_module.event) s WHERE prev IS NOT NULL;

------------------------------------------------------------------------------
-- No event for no-ops, reads, and failing calls
------------------------------------------------------------------------------

SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
-- no-ops
SELECT id FROM user_module.update_user('ev2', '{}');
SELECT id FROM user_module.update_user('ev2', '{"first_name":"Two"}');
SELECT id FROM user_module.update_users('[{"id":"ev2","first_name":"Two"},{"id":"ev4","metadata":{}}]');
SELECT count(*) FROM user_module.update_users('[]');
SELECT count(*) FROM user_module.create_users('[]');
SELECT count(*) FROM user_module.soft_delete_users(ARRAY['nope']);
SELECT count(*) FROM user_module.restore_users(ARRAY['ev2', 'nope']);
SELECT count(*) FROM user_module.delete_users(ARRAY['ev1', 'nope']);
SELECT count(*) FROM user_module.delete_users('{}');
-- reads
SELECT id FROM user_module.retrieve_user('ev2');
SELECT count(*) FROM user_module.list_users();
SELECT user_module.count_users();
-- failing calls
SELECT public.expect_error($$SELECT user_module.create_user('ev2@event.test')$$, '23505');
SELECT public.expect_error($$SELECT user_module.create_users('[{"id":"ev5","email":"ev5@event.test"},{"id":"ev6","email":"EV5@event.test"}]')$$, '23505');
SELECT public.expect_error($$SELECT user_module.update_users('[{"id":"ev2","first_name":"X"},{"id":"nope"}]')$$, 'P0002');
SELECT public.expect_error($$SELECT user_module.update_user('ev2', '{"email":"ev4@event.test"}')$$, '23505');
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;

------------------------------------------------------------------------------
-- Nothing that is rolled back leaves an event
------------------------------------------------------------------------------

-- ROLLBACK
BEGIN;
SELECT id FROM user_module.create_user('rb@event.test', id => 'rb');
SELECT id FROM user_module.update_user('ev2', '{"first_name":"Rolled back"}');
SELECT user_module.soft_delete_users(ARRAY['ev4']) AS soft_deleted;
SELECT count(*) AS events_inside FROM user_module.event WHERE id > :mark;
ROLLBACK;
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;

-- an error aborts the whole transaction, also the earlier steps and their events
BEGIN;
SELECT id FROM user_module.create_user('rb@event.test', id => 'rb');
SELECT user_module.create_user('EV2@event.test');
COMMIT;
SELECT count(*) AS events FROM user_module.event WHERE id > :mark;
SELECT count(*) AS rb_users FROM user_module.list_users('{"id":"rb"}', with_deleted => true);

-- ROLLBACK TO SAVEPOINT undoes one step and its events, and keeps the rest
BEGIN;
SELECT id FROM user_module.create_user('sp1@event.test', id => 'sp1');
SAVEPOINT a;
SELECT id FROM user_module.create_user('sp2@event.test', id => 'sp2');
SELECT id FROM user_module.update_user('sp1', '{"first_name":"undone"}');
ROLLBACK TO SAVEPOINT a;
SELECT id FROM user_module.create_user('sp3@event.test', id => 'sp3');
SAVEPOINT b;
SELECT user_module.create_user('sp1@EVENT.test', id => 'sp4');
ROLLBACK TO SAVEPOINT b;
SAVEPOINT c;
SELECT user_module.delete_users(ARRAY['sp3']) AS deleted;
RELEASE SAVEPOINT c;
COMMIT;
SELECT name, entity_id FROM user_module.event WHERE id > :mark ORDER BY id;
SELECT id, first_name FROM user_module.list_users('{"id":["sp1","sp2","sp3","sp4"]}', with_deleted => true);

-- a PL/pgSQL exception block is a subtransaction too
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
DO $$
BEGIN
	PERFORM user_module.create_user('blk1@event.test', id => 'blk1');
	BEGIN
		PERFORM user_module.create_user('blk2@event.test', id => 'blk2');
		PERFORM user_module.update_user('blk1', '{"first_name":"undone"}');
		PERFORM user_module.soft_delete_users(ARRAY['ev2']);
		RAISE EXCEPTION 'undo this block';
	EXCEPTION WHEN raise_exception THEN
		RAISE NOTICE 'caught: %', SQLERRM;
	END;
	BEGIN
		PERFORM user_module.create_user('blk3@event.test', id => 'blk3');
		PERFORM user_module.create_user('BLK1@event.test', id => 'blk4');
	EXCEPTION WHEN unique_violation THEN
		RAISE NOTICE 'caught: % (%)', SQLERRM, SQLSTATE;
	END;
END
$$;
SELECT name, entity_id FROM user_module.event WHERE id > :mark ORDER BY id;
SELECT id, first_name, deleted_at IS NULL AS live
  FROM user_module.list_users('{"id":["blk1","blk2","blk3","blk4","ev2"]}', with_deleted => true);

------------------------------------------------------------------------------
-- claim_events
------------------------------------------------------------------------------

-- start from an empty outbox with a known set of events
SELECT count(*) > 0 AS drained FROM user_module.claim_events(1000000);
SELECT count(*) AS left_over FROM user_module.event;
-- the next event id is mark + 1
SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS mark FROM user_module.event_id_seq \gset
SELECT count(*) FROM user_module.create_users(
	(SELECT jsonb_agg(jsonb_build_object('id', 'c' || lpad(g::text, 3, '0'), 'email', 'c' || g || '@claim.test') ORDER BY g)
	   FROM generate_series(1, 250) g));

-- the oldest first, in id order, up to max; the rows are gone afterwards
SELECT id - :mark AS n, name, entity_id, data FROM user_module.claim_events(3);
SELECT id - :mark AS n, name, entity_id FROM user_module.claim_events(2);
SELECT count(*) AS left_over FROM user_module.event;
-- max 0 claims nothing
SELECT count(*) FROM user_module.claim_events(0);
-- the default (and NULL) is 100
SELECT count(*), min(id) - :mark AS first, max(id) - :mark AS last,
       bool_and(id > coalesce(prev, 0)) AS in_order
  FROM (SELECT id, lag(id) OVER () AS prev FROM user_module.claim_events()) s;
SELECT count(*) AS left_over FROM user_module.event;
SELECT count(*), min(id) - :mark AS first, max(id) - :mark AS last FROM user_module.claim_events(NULL);
SELECT count(*) AS left_over FROM user_module.event;
SELECT count(*) FROM user_module.claim_events(1000);
SELECT count(*) FROM user_module.claim_events(10);

-- a claim that is rolled back gives the events back (at-least-once delivery)
SELECT count(*) FROM user_module.create_users('[{"id":"c901","email":"c901@claim.test"},{"id":"c902","email":"c902@claim.test"}]');
BEGIN;
SELECT entity_id FROM user_module.claim_events(10);
SELECT count(*) AS inside FROM user_module.event;
ROLLBACK;
SELECT entity_id FROM user_module.claim_events(1);
-- and so does ROLLBACK TO SAVEPOINT
BEGIN;
SAVEPOINT s;
SELECT entity_id FROM user_module.claim_events(1);
SELECT count(*) AS inside FROM user_module.event;
ROLLBACK TO SAVEPOINT s;
SELECT count(*) AS after_rollback_to_savepoint FROM user_module.event;
COMMIT;
SELECT entity_id FROM user_module.claim_events();
SELECT count(*) AS left_over FROM user_module.event;

-- every column of the event row comes back
SELECT id FROM user_module.update_user('c001', '{"first_name":"C"}');
SELECT pg_typeof(e) AS row_type, e.name, e.entity_id, e.data, e.created_at IS NOT NULL AS has_time
  FROM user_module.claim_events(5) e;

-- errors
SELECT public.expect_error($$SELECT user_module.claim_events(-1)$$, '22023');
SELECT public.expect_error($$SELECT user_module.claim_events(-2147483648)$$, '22023');

------------------------------------------------------------------------------
-- purge_events(retention): the outbox stays bounded when nobody claims
------------------------------------------------------------------------------

SELECT count(*) > 0 AS claimed FROM user_module.claim_events(1000000);
SELECT count(*) FROM user_module.create_users('[{"id":"p1","email":"p1@purge.test"},{"id":"p2","email":"p2@purge.test"},{"id":"p3","email":"p3@purge.test"}]');
-- age the first two events (only the owner may write to the outbox directly)
UPDATE user_module.event SET created_at = now() - interval '8 days' WHERE entity_id = 'p1';
UPDATE user_module.event SET created_at = now() - interval '2 days' WHERE entity_id = 'p2';
-- the default retention is 7 days
SELECT user_module.purge_events() AS purged;
SELECT entity_id FROM user_module.event ORDER BY id;
SELECT user_module.purge_events('1 day') AS purged;
SELECT user_module.purge_events('1 day') AS purged_again;
SELECT entity_id FROM user_module.event ORDER BY id;
-- zero keeps nothing older than the transaction
SELECT user_module.purge_events('0') AS purged;
SELECT count(*) AS left FROM user_module.event;
-- errors: a negative or NULL retention
SELECT public.expect_error($$SELECT user_module.purge_events('-1 second')$$, '22023');
SELECT public.expect_error($$SELECT user_module.purge_events(NULL)$$, '22023');
SELECT public.expect_error($$SELECT user_module.purge_events('1 day ago')$$, '22023');
SELECT count(*) AS deleted FROM user_module.delete_users(ARRAY['p1', 'p2', 'p3']);
SELECT count(*) > 0 AS claimed FROM user_module.claim_events(1000000);

------------------------------------------------------------------------------
-- Settings
------------------------------------------------------------------------------

SHOW user_module.notify;
-- with notify off, the events are still written (only NOTIFY is skipped)
SET user_module.notify = off;
SELECT count(*) FROM user_module.delete_users(ARRAY(SELECT id FROM user_module.list_users(with_deleted => true)));
SELECT count(*) > 250 AS events_written FROM user_module.event;
RESET user_module.notify;
SHOW user_module.notify;
SELECT count(*) > 250 AS claimed FROM user_module.claim_events(1000000);
