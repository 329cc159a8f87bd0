--
-- invites: every invite function's normal path and errors, events, and who
-- sees tokens. Tokens are never printed (they change every run): their shape
-- and their relations are.
--

-- A JWS is three base64url segments.
CREATE FUNCTION public.is_jws(token text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$ SELECT token ~ '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$' $$;

-- The claims of a token (base64url payload decoded), for reading, not checking.
CREATE FUNCTION public.claims(token text) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
	SELECT convert_from(decode(rpad(translate(split_part(token, '.', 2), '-_', '+/'),
	                                  (length(split_part(token, '.', 2)) + 3) / 4 * 4, '='),
	                             'base64'), 'UTF8')::jsonb
$$;
GRANT EXECUTE ON FUNCTION public.is_jws(text), public.claims(text) TO PUBLIC;

SELECT count(*) FROM user_module.claim_events(100000) \g /dev/null

-- create_invite: email trimmed and kept in its case, token issued, a day long.
SELECT id ~ '^invite_[0-9A-HJKMNP-TV-Z]{26}$' AS ulid_id, email, accepted, is_jws(token) AS jws,
       metadata, deleted_at,
       expires_at = to_timestamp((claims(token)->>'exp')::bigint) AS expires_at_is_exp,
       (claims(token)->>'exp')::bigint - (claims(token)->>'iat')::bigint AS lifetime,
       claims(token)->>'email' AS token_email,
       claims(token)->>'id' = id AS token_id,
       claims(token)->>'jti' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AS uuid_jti,
       (SELECT array_agg(k) FROM jsonb_object_keys(claims(token)) k) AS claim_keys
  FROM user_module.create_invite('  New.Member@Example.com ', '{"role": "admin"}');

-- The token is derived, not stored: the same on every read.
SELECT a.token = b.token AS stable
  FROM user_module.list_invites('{"email": "new.member@example.com"}') a,
       user_module.list_invites('{"email": "NEW.MEMBER@example.com"}') b;

-- Medusa's module tests I1-I8: fixed ids, listing in id order, count, retrieve.
SELECT id, email FROM user_module.create_invites('[{"id": "1", "email": "user_1@test.com"}, {"id": "2", "email": "user_2@test.com"}]');
SELECT id FROM user_module.list_invites('{"id": ["1", "2"]}');
SELECT id FROM user_module.list_invites('{"id": ["1"]}');
SELECT user_module.count_invites('{"id": "1"}'), user_module.count_invites();
SELECT id, email, is_jws(token) FROM user_module.retrieve_invite('1');
SELECT expect_error($$SELECT user_module.retrieve_invite('does-not-exist')$$, 'P0002');
SELECT expect_error($$SELECT user_module.retrieve_invite(NULL)$$, '22023');
SELECT user_module.create_invites('[]');
SELECT id FROM user_module.create_invites('{"id": "3", "email": "user_3@test.com"}');

-- Filters: accepted, q on the email with literal % and _, expiry range, order.
SELECT id FROM user_module.list_invites('{"q": "user_ test"}', order_by => '-id');
SELECT id FROM user_module.list_invites('{"q": "%"}');
SELECT id FROM user_module.list_invites('{"accepted": false, "expires_at": {"$gt": "now"}}', take => 2);
SELECT user_module.count_invites('{"accepted": true}');
SELECT expect_error($$SELECT user_module.list_invites('{"accepted": "yes"}')$$, '22023');
SELECT expect_error($$SELECT user_module.list_invites('{"first_name": "x"}')$$, '22023');
SELECT expect_error($$SELECT user_module.list_invites(order_by => 'token')$$, '22023');

-- Duplicates: another live invite, or a live user, with the email in any case.
SELECT expect_error($$SELECT user_module.create_invite('USER_1@test.com')$$, '23505');
SELECT id FROM user_module.create_user('member@test.com', id => 'u_member');
SELECT expect_error($$SELECT user_module.create_invite('Member@Test.com')$$, '23505');
SELECT expect_error($$SELECT user_module.create_invites('[{"email": "fine@test.com"}, {"email": "MEMBER@test.com"}]')$$, '23505');
SELECT expect_error($$SELECT user_module.create_invite('x@test.com', id => '1')$$, '23505');
SELECT user_module.count_invites('{"email": "fine@test.com"}') AS nothing_half_written;
-- a soft-deleted user's email may be invited
SELECT user_module.soft_delete_users('{u_member}');
SELECT email FROM user_module.create_invite('member@test.com', id => 'inv_member');

-- Bad input: 22023 before anything is written.
SELECT expect_error($$SELECT user_module.create_invite('not-an-email')$$, '22023');
SELECT expect_error($$SELECT user_module.create_invite(NULL)$$, '22023');
SELECT expect_error($$SELECT user_module.create_invite('a@b.c', '[1]')$$, '22023');
SELECT expect_error($$SELECT user_module.create_invite('a@b.c', id => '')$$, '22023');
SELECT expect_error($$SELECT user_module.create_invites('[{"email": "a@b.c", "token": "x"}]')$$, '22023');
SELECT expect_error($$SELECT user_module.create_invites('[{"email": "a@b.c", "accepted": true}]')$$, '22023');
SELECT expect_error($$SELECT user_module.create_invites('"a@b.c"')$$, '22023');
SELECT expect_error($$SELECT user_module.create_invites(NULL)$$, '22023');

-- update: metadata only, merged as for users; no event for a no-op.
SELECT id, metadata FROM user_module.update_invite('1', '{"metadata": {"team": "ops", "level": 2}}');
SELECT id, metadata, updated_at = created_at AS unchanged FROM user_module.update_invite('2', '{"metadata": {}}');
SELECT id, metadata FROM user_module.update_invites('[{"id": "1", "metadata": {"level": ""}}, {"id": "3", "metadata": null}]');
SELECT expect_error($$SELECT user_module.update_invite('1', '{"email": "other@test.com"}')$$, '22023');
SELECT expect_error($$SELECT user_module.update_invite('1', '{"expires_at": "2100-01-01"}')$$, '22023');
SELECT expect_error($$SELECT user_module.update_invite('nope', '{"metadata": {}}')$$, 'P0002');
SELECT expect_error($$SELECT user_module.update_invites('[{"id": "1"}, {"id": "x"}, {"id": "y"}]')$$, 'P0002');
SELECT expect_error($$SELECT user_module.update_invites('[{"metadata": {}}]')$$, '22023');

-- refresh: new jti, iat and expiry; old token dead at once; id order; P0002
-- naming every missing or deleted id; duplicates fine.
CREATE TEMP TABLE before_refresh AS SELECT id, token FROM user_module.list_invites('{"id": ["1", "2"]}');
SELECT r.id, r.token <> b.token AS new_token,
       claims(r.token)->>'jti' <> claims(b.token)->>'jti' AS new_jti,
       is_jws(r.token) AS jws
  FROM user_module.refresh_invite_tokens('{2,1,2}') r JOIN before_refresh b USING (id);
SELECT expect_error(format('SELECT user_module.validate_invite_token(%L)', token), '22U01') FROM before_refresh WHERE id = '1';
SELECT user_module.soft_delete_invites('{3}');
SELECT expect_error($$SELECT user_module.refresh_invite_tokens('{1,3,nope}')$$, 'P0002');
SELECT expect_error($$SELECT user_module.refresh_invite_tokens(NULL)$$, '22023');
SELECT count(*) FROM user_module.refresh_invite_tokens('{}');

-- delete, soft delete, restore: ids changed, sorted.
SELECT user_module.restore_invites('{3,1,nope}');
SELECT user_module.soft_delete_invites('{3}');
SELECT user_module.delete_invites('{3,nope}');
SELECT user_module.count_invites('{"id": "3"}', with_deleted => true);
-- restoring into an email a newer live invite holds: 23505
SELECT user_module.soft_delete_invites('{2}');
SELECT id FROM user_module.create_invite('user_2@TEST.com', id => '2b');
SELECT expect_error($$SELECT user_module.restore_invites('{2}')$$, '23505');

-- validate and accept
SELECT v.id, v.email, v.token = r.token AS same_token
  FROM user_module.retrieve_invite('1') r, user_module.validate_invite_token(r.token) v;
SELECT u.email, u.first_name, u.last_name, u.metadata, is_user_ulid(u.id)
  FROM user_module.retrieve_invite('1') r,
       user_module.accept_invite(r.token, 'Ada', 'Lovelace', metadata => '{"via": "invite"}') u;
SELECT id, accepted, deleted_at IS NOT NULL AS deleted FROM user_module.retrieve_invite('1', with_deleted => true);
SELECT expect_error($$SELECT user_module.retrieve_invite('1')$$, 'P0002');
-- the same token again: already accepted (22U03), for validate and accept
SELECT expect_error(format('SELECT user_module.accept_invite(%L)', token), '22U03'),
       expect_error(format('SELECT user_module.validate_invite_token(%L)', token), '22U03')
  FROM user_module.retrieve_invite('1', true);
-- a soft-deleted invite never accepted: 22U01
SELECT user_module.soft_delete_invites('{2b}');
SELECT expect_error(format('SELECT user_module.validate_invite_token(%L)', token), '22U01')
  FROM user_module.retrieve_invite('2b', true);
-- accepting into an email a live user took meanwhile: 23505, nothing changes
SELECT id FROM user_module.create_invite('late@test.com', id => 'inv_late');
SELECT id FROM user_module.create_user('LATE@test.com', id => 'u_late');
SELECT expect_error(format('SELECT user_module.accept_invite(%L)', token), '23505')
  FROM user_module.retrieve_invite('inv_late');
SELECT accepted, deleted_at IS NULL AS live FROM user_module.retrieve_invite('inv_late');
-- bad names on accept: 22023, invite untouched
SELECT expect_error(format('SELECT user_module.accept_invite(%L, repeat(%L, 300))', token, 'x'), '22023')
  FROM user_module.retrieve_invite('inv_member');
SELECT accepted FROM user_module.retrieve_invite('inv_member');

-- expiry: the invite's expires_at passed (as Medusa's test sets it) is 22U02,
-- and a refresh revives the invite.
UPDATE user_module.invite SET expires_at = now() - interval '1 day' WHERE id = 'inv_member';
SELECT expect_error(format('SELECT user_module.validate_invite_token(%L)', token), '22U02')
  FROM user_module.retrieve_invite('inv_member');
CREATE TEMP TABLE revived AS SELECT token FROM user_module.refresh_invite_tokens('{inv_member}');
SELECT v.id, v.expires_at > now() AS valid_again FROM revived r, user_module.validate_invite_token(r.token) v;

-- Acceptance is final: restoring an accepted invite leaves it accepted and
-- deleted. Restoring an invite whose email a live user now has is 23505, as
-- creating it would be.
SELECT user_module.restore_invites('{1}') AS restored_accepted;
SELECT accepted, deleted_at IS NOT NULL AS deleted FROM user_module.retrieve_invite('1', true);
SELECT id FROM user_module.create_invite('comeback@test.com', id => 'inv_comeback');
SELECT user_module.soft_delete_invites('{inv_comeback}');
SELECT id FROM user_module.create_user('Comeback@test.com', id => 'u_comeback');
SELECT expect_error($$SELECT user_module.restore_invites('{inv_comeback}')$$, '23505');
SELECT deleted_at IS NOT NULL AS still_deleted FROM user_module.retrieve_invite('inv_comeback', true);

-- Who holds tokens: admins yes; readers see invites with token NULL;
-- invitees may only validate and accept.
SELECT id FROM user_module.create_invite('roles@test.com', id => 'inv_roles');
SET ROLE regress_admin;
SELECT id, is_jws(token) FROM user_module.retrieve_invite('inv_roles');
SELECT count(*) FILTER (WHERE token IS NULL) AS null_tokens FROM user_module.list_invites();
SET ROLE regress_reader;
SELECT id, token FROM user_module.retrieve_invite('inv_roles');
SELECT count(*) FILTER (WHERE token IS NOT NULL) AS tokens_seen FROM user_module.list_invites();
SELECT user_module.count_invites('{"id": "inv_roles"}');
SELECT expect_error($$SELECT user_module.create_invite('r@test.com')$$, '42501');
SELECT expect_error($$SELECT user_module.refresh_invite_tokens('{inv_roles}')$$, '42501');
SELECT expect_error($$SELECT user_module.validate_invite_token('x')$$, '42501');
SELECT expect_error($$SELECT user_module.accept_invite('x')$$, '42501');
SELECT expect_error($$SELECT * FROM user_module.invite$$, '42501');
RESET ROLE;
CREATE TEMP TABLE roles_token AS SELECT token FROM user_module.retrieve_invite('inv_roles');
GRANT SELECT ON roles_token TO regress_invitee;
SET ROLE regress_invitee;
SELECT id, email, v.token = t.token AS same_token FROM roles_token t, user_module.validate_invite_token(t.token) v;
SELECT expect_error($$SELECT user_module.retrieve_invite('inv_roles')$$, '42501');
SELECT expect_error($$SELECT user_module.list_invites()$$, '42501');
SELECT expect_error($$SELECT user_module.create_user('i@test.com')$$, '42501');
SELECT expect_error($$SELECT user_module.refresh_invite_tokens('{inv_roles}')$$, '42501');
SELECT email, first_name FROM roles_token t, user_module.accept_invite(t.token, 'Invitee');
RESET ROLE;

-- The events of this file, in order (generated ids shown as such).
SELECT name,
       CASE WHEN entity_id ~ '^(user|invite)_[0-9A-Z]{26}$' THEN '<generated>' ELSE entity_id END AS entity_id
  FROM user_module.claim_events(1000) ORDER BY id;
