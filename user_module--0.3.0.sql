/* user_module--0.3.0.sql: users, invites, the event outbox and its subscribers */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION user_module" to load this file. \quit

/*
 * Everything below is schema-qualified and search_path is pinned, so objects a
 * caller planted in other schemas cannot capture a name (CVE-2020-14350).
 */
SET LOCAL search_path = pg_catalog, pg_temp;

/*
 * Refuse an installation another role could take over (doc/security.md):
 *   - schema user_module must belong to a superuser: CREATE EXTENSION adopts
 *     an existing schema, and whoever owns it can drop everything in it;
 *   - pg_trgm, which the indexes need, must live in a schema that belongs to
 *     a superuser: DROP SCHEMA ... CASCADE by that schema's owner would drop
 *     pg_trgm and, through it, this extension and all its data. PostgreSQL
 *     15 gives schema public to the database owner, often the application;
 *   - roles are cluster-wide, so roles with the module's names may already
 *     exist: they must not be able to log in nor be superusers, and the
 *     owner of the tables must be a bare role that nobody is a member of.
 * The same checks open user_module--0.2.0--0.3.0.sql.
 */
DO $checks$
DECLARE
	owner_name name;
	trgm_schema name;
	r record;
BEGIN
	SELECT n.nspowner::regrole::name INTO owner_name
	  FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) n.nspowner
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'user_module' AND NOT o.rolsuper;
	IF FOUND THEN
		RAISE EXCEPTION 'schema user_module belongs to role %, which is not a superuser', owner_name
			USING ERRCODE = '55000',
			      DETAIL = 'Its owner could drop the extension and its data, or plant objects in it.',
			      HINT = 'Drop or rename that schema, or give it to a superuser (ALTER SCHEMA user_module OWNER TO ...).';
	END IF;

	-- pg_trgm is a trusted extension: a role with CREATE on the database may
	-- have installed it first, and its owner could drop it with CASCADE
	SELECT e.extowner::regrole::name INTO owner_name
	  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) e.extowner
	 WHERE e.extname OPERATOR(pg_catalog.=) 'pg_trgm' AND NOT o.rolsuper;
	IF FOUND THEN
		RAISE EXCEPTION 'pg_trgm was installed by role %, which is not a superuser', owner_name
			USING ERRCODE = '55000',
			      DETAIL = 'The owner of pg_trgm could drop it with CASCADE, and with it user_module and all its data.',
			      HINT = 'Drop pg_trgm and install it again as a superuser, into a schema only a superuser owns.';
	END IF;

	SELECT n.nspname INTO trgm_schema
	  FROM pg_catalog.pg_extension e
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
	  JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) n.nspowner
	 WHERE e.extname OPERATOR(pg_catalog.=) 'pg_trgm' AND NOT o.rolsuper;
	IF FOUND THEN
		RAISE EXCEPTION 'pg_trgm is installed in schema %, which does not belong to a superuser', trgm_schema
			USING ERRCODE = '55000',
			      DETAIL = 'The owner of that schema could drop it with CASCADE, and with it pg_trgm, user_module and all their data.',
			      HINT = 'Install pg_trgm into a schema only a superuser owns: CREATE SCHEMA extensions; CREATE EXTENSION pg_trgm SCHEMA extensions; (or ALTER EXTENSION pg_trgm SET SCHEMA extensions;)';
	END IF;

	FOR r IN
		SELECT rolname, rolcanlogin, rolsuper,
		       rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls AS rolpowers,
		       EXISTS (SELECT FROM pg_catalog.pg_auth_members m
		                WHERE m.roleid OPERATOR(pg_catalog.=) a.oid) AS has_members,
		       EXISTS (SELECT FROM pg_catalog.pg_auth_members m
		                WHERE m.member OPERATOR(pg_catalog.=) a.oid) AS is_member,
		       EXISTS (SELECT FROM pg_catalog.pg_shdepend d
		                WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass
		                  AND d.refobjid OPERATOR(pg_catalog.=) a.oid AND d.deptype OPERATOR(pg_catalog.=) 'o'
		                  AND d.dbid OPERATOR(pg_catalog.=) ANY (ARRAY[0, (SELECT oid FROM pg_catalog.pg_database
		                                      WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database())])
		                  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend x
		                                   WHERE x.classid OPERATOR(pg_catalog.=) d.classid
		                                     AND x.objid OPERATOR(pg_catalog.=) d.objid
		                                     AND x.deptype OPERATOR(pg_catalog.=) 'e')) AS owns_objects
		  FROM pg_catalog.pg_roles a
		 WHERE rolname OPERATOR(pg_catalog.=) ANY (ARRAY['user_module_owner', 'user_module_admin',
		                                                 'user_module_reader', 'user_module_invitee'])
	LOOP
		IF r.rolcanlogin OR r.rolsuper OR r.rolpowers OR r.is_member THEN
			RAISE EXCEPTION 'role % already exists and %', r.rolname,
				CASE WHEN r.rolsuper THEN 'is a superuser'
				     WHEN r.rolcanlogin THEN 'can log in'
				     WHEN r.is_member THEN 'is a member of other roles'
				     ELSE 'has CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS' END
				USING ERRCODE = '55000',
				      DETAIL = 'The module''s roles are bare group roles: NOLOGIN, without attributes, members of no role.',
				      HINT = 'Roles are cluster-wide. Drop the role, or take its attributes and memberships away, then try again.';
		END IF;
		IF r.rolname OPERATOR(pg_catalog.=) 'user_module_owner' AND (r.has_members OR r.owns_objects) THEN
			RAISE EXCEPTION 'role user_module_owner already exists and %',
				CASE WHEN r.has_members THEN 'has members' ELSE 'owns objects in this database' END
				USING ERRCODE = '55000',
				      DETAIL = 'The module''s tables belong to user_module_owner: whoever has its privileges, or a function it owns, has all the data.',
				      HINT = 'Roles are cluster-wide. Revoke its memberships, or drop what it owns, then try again.';
		END IF;
	END LOOP;
END
$checks$;

-- Group roles, cluster-wide, created once; DROP EXTENSION leaves them in place.
-- user_module_owner owns the tables and nobody is ever granted it: the C code
-- runs the module's statements as this role (src/store.c).
DO $roles$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['user_module_owner', 'user_module_admin', 'user_module_reader', 'user_module_invitee']
	LOOP
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END
$roles$;

-- Nothing in the schema is reachable by PUBLIC; the roles get USAGE to call functions.
REVOKE ALL ON SCHEMA user_module FROM PUBLIC;
GRANT USAGE ON SCHEMA user_module
	TO user_module_owner, user_module_admin, user_module_reader, user_module_invitee;

------------------------------------------------------------------------------
-- Tables. They belong to user_module_owner; everyone else goes through the
-- functions.
------------------------------------------------------------------------------

CREATE TABLE user_module."user" (
	id          text COLLATE "C" NOT NULL,
	first_name  text,
	last_name   text,
	email       text NOT NULL,
	avatar_url  text,
	metadata    jsonb,
	created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
	deleted_at  timestamptz,
	CONSTRAINT user_pkey PRIMARY KEY (id),
	CONSTRAINT user_metadata_is_object
		CHECK (metadata IS NULL OR pg_catalog.jsonb_typeof(metadata) OPERATOR(pg_catalog.=) 'object')
);
REVOKE ALL ON user_module."user" FROM PUBLIC;

-- One live row per case-insensitive email; soft-deleted rows free the address.
CREATE UNIQUE INDEX user_email_unique ON user_module."user" (pg_catalog.lower(email))
	WHERE deleted_at IS NULL;
-- The email filter with with_deleted => true.
CREATE INDEX user_email_all ON user_module."user" (pg_catalog.lower(email));
CREATE INDEX user_first_name ON user_module."user" (first_name);
CREATE INDEX user_last_name ON user_module."user" (last_name);
CREATE INDEX user_created_at ON user_module."user" (created_at);
CREATE INDEX user_updated_at ON user_module."user" (updated_at);
CREATE INDEX user_deleted_at ON user_module."user" (deleted_at) WHERE deleted_at IS NOT NULL;

/*
 * q: one trigram index over the searchable columns joined by a space. A q word
 * holds no white space, so it matches the joined text exactly when it matches
 * one of the columns. The C code (src/users.c) repeats this expression verbatim
 * so the planner can use the index. pg_trgm may live in any schema a superuser
 * owns: look it up.
 *
 * The q indexes keep at most 256 kB of new entries unmerged (the default is
 * 4 MB). Every search scans that pending list whole, and a long one makes the
 * planner prefer a sequential scan: after a bulk create, q searches took 15
 * to 30 ms on 20,000 users instead of 0.3 ms. Merging more often costs bulk
 * inserts nothing measurable (fastupdate = off would triple their cost).
 */
DO $trgm$
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE INDEX user_search ON user_module."user" USING gin '
		'((COALESCE(first_name, '''') || '' '' || COALESCE(last_name, '''') || '' '' || email) %I.gin_trgm_ops)',
		(SELECT n.nspname FROM pg_catalog.pg_extension e
			JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
		  WHERE e.extname OPERATOR(pg_catalog.=) 'pg_trgm'));
END
$trgm$;
ALTER INDEX user_module.user_search SET (gin_pending_list_limit = 256);

/*
 * Invites. The usable token is never stored: only what identifies the current
 * token (its jti and issue time). The C code re-derives the token with the key
 * whenever it returns an invite, so a dump, replica or log of this table
 * cannot be used to accept an invite.
 */
CREATE TABLE user_module.invite (
	id               text COLLATE "C" NOT NULL,
	email            text NOT NULL,
	accepted         boolean NOT NULL DEFAULT false,
	expires_at       timestamptz NOT NULL,
	metadata         jsonb,
	created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
	deleted_at       timestamptz,
	token_jti        uuid NOT NULL,
	token_issued_at  timestamptz NOT NULL,
	CONSTRAINT invite_pkey PRIMARY KEY (id),
	CONSTRAINT invite_metadata_is_object
		CHECK (metadata IS NULL OR pg_catalog.jsonb_typeof(metadata) OPERATOR(pg_catalog.=) 'object')
);
REVOKE ALL ON user_module.invite FROM PUBLIC;

-- One live invite per case-insensitive email.
CREATE UNIQUE INDEX invite_email_unique ON user_module.invite (pg_catalog.lower(email))
	WHERE deleted_at IS NULL;
CREATE INDEX invite_email_all ON user_module.invite (pg_catalog.lower(email));
CREATE INDEX invite_expires_at ON user_module.invite (expires_at);
CREATE INDEX invite_created_at ON user_module.invite (created_at);
CREATE INDEX invite_updated_at ON user_module.invite (updated_at);
CREATE INDEX invite_deleted_at ON user_module.invite (deleted_at) WHERE deleted_at IS NOT NULL;
-- accepted => true is rare (acceptance also soft-deletes); false is most rows
CREATE INDEX invite_accepted ON user_module.invite (id) WHERE accepted;
DO $trgm$
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE INDEX invite_search ON user_module.invite USING gin (email %I.gin_trgm_ops)',
		(SELECT n.nspname FROM pg_catalog.pg_extension e
			JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
		  WHERE e.extname OPERATOR(pg_catalog.=) 'pg_trgm'));
END
$trgm$;
ALTER INDEX user_module.invite_search SET (gin_pending_list_limit = 256);

-- What invite functions return: Medusa's InviteDTO, the token re-derived.
CREATE TYPE user_module.invite_with_token AS (
	id          text,
	email       text,
	accepted    boolean,
	token       text,
	expires_at  timestamptz,
	metadata    jsonb,
	created_at  timestamptz,
	updated_at  timestamptz,
	deleted_at  timestamptz
);

-- The transactional outbox: one row per entity changed, written in the same
-- transaction as the change.
CREATE TABLE user_module.event (
	id          bigserial NOT NULL,
	name        text NOT NULL,
	entity_id   text COLLATE "C" NOT NULL,
	data        jsonb NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT event_pkey PRIMARY KEY (id)
);
REVOKE ALL ON user_module.event FROM PUBLIC;
REVOKE ALL ON SEQUENCE user_module.event_id_seq FROM PUBLIC;

/*
 * Subscribers: functions called with each event they subscribe to, in the
 * call that wrote it (src/subscribers.c). The handler is kept as the text of
 * its signature, not as an OID or regprocedure: a dump restores it by name,
 * and pg_upgrade refuses tables with regprocedure columns. owner is the role
 * that owned the function when it was registered, the role it runs as: a
 * function that has changed hands since (REASSIGN OWNED, or dropped and made
 * again by someone else) is not called.
 */
CREATE TABLE user_module.subscriber (
	handler     text COLLATE "C" NOT NULL,
	events      text[],
	owner       name NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT subscriber_pkey PRIMARY KEY (handler)
);
REVOKE ALL ON user_module.subscriber FROM PUBLIC;

-- Any change to the subscribers, also a restore's COPY, tells every session
-- to read them again.
CREATE FUNCTION user_module.subscribers_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'um_subscribers_changed'
LANGUAGE C;
CREATE TRIGGER subscribers_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_module.subscriber
	FOR EACH STATEMENT EXECUTE FUNCTION user_module.subscribers_changed();

-- pg_dump keeps the rows (and the event counter) of the data tables.
SELECT pg_catalog.pg_extension_config_dump('user_module."user"', '');
SELECT pg_catalog.pg_extension_config_dump('user_module.invite', '');
SELECT pg_catalog.pg_extension_config_dump('user_module.event', '');
SELECT pg_catalog.pg_extension_config_dump('user_module.event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('user_module.subscriber', '');

-- The sequence follows its table.
ALTER TABLE user_module."user" OWNER TO user_module_owner;
ALTER TABLE user_module.invite OWNER TO user_module_owner;
ALTER TABLE user_module.event OWNER TO user_module_owner;
ALTER TABLE user_module.subscriber OWNER TO user_module_owner;

------------------------------------------------------------------------------
-- Functions. All are SECURITY INVOKER: the EXECUTE grants decide who may call
-- what. The C code then runs its statements as user_module_owner, as a
-- security-restricted operation with search_path = pg_catalog, pg_temp
-- (src/store.c), so callers need no table privileges and objects in a
-- caller's schemas cannot capture a name.
------------------------------------------------------------------------------

CREATE FUNCTION user_module.create_user(
	email text,
	first_name text DEFAULT NULL,
	last_name text DEFAULT NULL,
	avatar_url text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	id text DEFAULT NULL)
RETURNS user_module."user"
AS 'MODULE_PATHNAME', 'um_create_user'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION user_module.create_users(users jsonb)
RETURNS SETOF user_module."user"
AS 'MODULE_PATHNAME', 'um_create_users'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.retrieve_user(id text, with_deleted boolean DEFAULT false)
RETURNS user_module."user"
AS 'MODULE_PATHNAME', 'um_retrieve_user'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION user_module.list_users(
	filters jsonb DEFAULT '{}',
	skip integer DEFAULT 0,
	take integer DEFAULT NULL,
	order_by text DEFAULT 'id',
	with_deleted boolean DEFAULT false)
RETURNS SETOF user_module."user"
AS 'MODULE_PATHNAME', 'um_list_users'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 20;

CREATE FUNCTION user_module.count_users(filters jsonb DEFAULT '{}', with_deleted boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'um_count_users'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION user_module.update_user(id text, changes jsonb)
RETURNS user_module."user"
AS 'MODULE_PATHNAME', 'um_update_user'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION user_module.update_users(users jsonb)
RETURNS SETOF user_module."user"
AS 'MODULE_PATHNAME', 'um_update_users'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.delete_users(ids text[])
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'um_delete_users'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.soft_delete_users(ids text[])
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'um_soft_delete_users'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.restore_users(ids text[])
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'um_restore_users'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.create_invite(email text, metadata jsonb DEFAULT NULL, id text DEFAULT NULL)
RETURNS user_module.invite_with_token
AS 'MODULE_PATHNAME', 'um_create_invite'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION user_module.create_invites(invites jsonb)
RETURNS SETOF user_module.invite_with_token
AS 'MODULE_PATHNAME', 'um_create_invites'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.retrieve_invite(id text, with_deleted boolean DEFAULT false)
RETURNS user_module.invite_with_token
AS 'MODULE_PATHNAME', 'um_retrieve_invite'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION user_module.list_invites(
	filters jsonb DEFAULT '{}',
	skip integer DEFAULT 0,
	take integer DEFAULT NULL,
	order_by text DEFAULT 'id',
	with_deleted boolean DEFAULT false)
RETURNS SETOF user_module.invite_with_token
AS 'MODULE_PATHNAME', 'um_list_invites'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 20;

CREATE FUNCTION user_module.count_invites(filters jsonb DEFAULT '{}', with_deleted boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'um_count_invites'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION user_module.update_invite(id text, changes jsonb)
RETURNS user_module.invite_with_token
AS 'MODULE_PATHNAME', 'um_update_invite'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION user_module.update_invites(invites jsonb)
RETURNS SETOF user_module.invite_with_token
AS 'MODULE_PATHNAME', 'um_update_invites'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.delete_invites(ids text[])
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'um_delete_invites'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.soft_delete_invites(ids text[])
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'um_soft_delete_invites'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.restore_invites(ids text[])
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'um_restore_invites'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.refresh_invite_tokens(ids text[])
RETURNS SETOF user_module.invite_with_token
AS 'MODULE_PATHNAME', 'um_refresh_invite_tokens'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION user_module.validate_invite_token(token text)
RETURNS user_module.invite_with_token
AS 'MODULE_PATHNAME', 'um_validate_invite_token'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION user_module.accept_invite(
	token text,
	first_name text DEFAULT NULL,
	last_name text DEFAULT NULL,
	avatar_url text DEFAULT NULL,
	metadata jsonb DEFAULT NULL)
RETURNS user_module."user"
AS 'MODULE_PATHNAME', 'um_accept_invite'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION user_module.claim_events(max integer DEFAULT 100)
RETURNS SETOF user_module.event
AS 'MODULE_PATHNAME', 'um_claim_events'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

-- The outbox must not grow without bound when nobody claims events.
CREATE FUNCTION user_module.purge_events(retention interval DEFAULT '7 days')
RETURNS bigint
AS 'MODULE_PATHNAME', 'um_purge_events'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION user_module.add_subscriber(handler regprocedure, events text[] DEFAULT NULL)
RETURNS user_module.subscriber
AS 'MODULE_PATHNAME', 'um_add_subscriber'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION user_module.remove_subscriber(handler text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'um_remove_subscriber'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION user_module.list_subscribers()
RETURNS SETOF user_module.subscriber
AS 'MODULE_PATHNAME', 'um_list_subscribers'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;

------------------------------------------------------------------------------
-- Privileges: deny by default, then one grant per purpose.
------------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA user_module FROM PUBLIC;

-- Administrators manage users and invites, drain the outbox and register
-- subscribers.
GRANT EXECUTE ON FUNCTION
	user_module.create_user(text, text, text, text, jsonb, text),
	user_module.create_users(jsonb),
	user_module.retrieve_user(text, boolean),
	user_module.list_users(jsonb, integer, integer, text, boolean),
	user_module.count_users(jsonb, boolean),
	user_module.update_user(text, jsonb),
	user_module.update_users(jsonb),
	user_module.delete_users(text[]),
	user_module.soft_delete_users(text[]),
	user_module.restore_users(text[]),
	user_module.claim_events(integer),
	user_module.purge_events(interval),
	user_module.create_invite(text, jsonb, text),
	user_module.create_invites(jsonb),
	user_module.retrieve_invite(text, boolean),
	user_module.list_invites(jsonb, integer, integer, text, boolean),
	user_module.count_invites(jsonb, boolean),
	user_module.update_invite(text, jsonb),
	user_module.update_invites(jsonb),
	user_module.delete_invites(text[]),
	user_module.soft_delete_invites(text[]),
	user_module.restore_invites(text[]),
	user_module.refresh_invite_tokens(text[]),
	user_module.validate_invite_token(text),
	user_module.accept_invite(text, text, text, text, jsonb),
	user_module.add_subscriber(regprocedure, text[]),
	user_module.remove_subscriber(text),
	user_module.list_subscribers()
TO user_module_admin;

-- Readers (dashboards, reporting) look users and invites up; they never see a
-- token (the C code returns token NULL to anyone not in user_module_admin).
GRANT EXECUTE ON FUNCTION
	user_module.retrieve_user(text, boolean),
	user_module.list_users(jsonb, integer, integer, text, boolean),
	user_module.count_users(jsonb, boolean),
	user_module.retrieve_invite(text, boolean),
	user_module.list_invites(jsonb, integer, integer, text, boolean),
	user_module.count_invites(jsonb, boolean)
TO user_module_reader;

-- Invitees (the role an unauthenticated sign-up page uses) may only check a
-- token and accept it.
GRANT EXECUTE ON FUNCTION
	user_module.validate_invite_token(text),
	user_module.accept_invite(text, text, text, text, jsonb)
TO user_module_invitee;
