/* user_module--0.2.0--0.3.0.sql: a table owner nobody can become, subscribers registered through functions */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION user_module UPDATE TO '0.3.0'" to load this file. \quit

SET LOCAL search_path = pg_catalog, pg_temp;

-- The checks of a fresh installation (user_module--0.3.0.sql says why).
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

/*
 * 0.2.0 let administrators add triggers to the outbox. A deferred one fires
 * at COMMIT as whoever commits, a superuser too: 0.3.0 takes the right away
 * and calls subscribers itself. Triggers already there would keep firing, so
 * the update stops until they are gone; their functions can be registered
 * with add_subscriber afterwards (doc/events.md).
 */
DO $subscribers$
DECLARE
	triggers text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(tgname), ', ' ORDER BY tgname) INTO triggers
	  FROM pg_catalog.pg_trigger
	 WHERE tgrelid OPERATOR(pg_catalog.=) 'user_module.event'::pg_catalog.regclass AND NOT tgisinternal;
	IF triggers IS NOT NULL THEN
		RAISE EXCEPTION 'user_module.event has triggers: %', triggers
			USING ERRCODE = '55000',
			      DETAIL = 'Version 0.3.0 calls subscribers itself; triggers on the outbox could run as whoever commits.',
			      HINT = 'Drop the triggers (DROP TRIGGER ... ON user_module.event), run the update, then register their functions, rewritten to take a user_module.event, with user_module.add_subscriber.';
	END IF;
END
$subscribers$;

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

-- The outbox's role of 0.2.0 is no longer used: user_module_owner runs every
-- statement, and subscribers run as the owners of their functions. The role
-- itself may still serve other databases of the cluster.
REVOKE ALL ON user_module.event FROM user_module_outbox;
REVOKE ALL ON SEQUENCE user_module.event_id_seq FROM user_module_outbox;
REVOKE ALL ON SCHEMA user_module FROM user_module_outbox;
REVOKE TRIGGER ON user_module.event FROM user_module_admin;
GRANT USAGE ON SCHEMA user_module TO user_module_owner;

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
SELECT pg_catalog.pg_extension_config_dump('user_module.subscriber', '');

-- The sequence follows its table.
ALTER TABLE user_module."user" OWNER TO user_module_owner;
ALTER TABLE user_module.invite OWNER TO user_module_owner;
ALTER TABLE user_module.event OWNER TO user_module_owner;
ALTER TABLE user_module.subscriber OWNER TO user_module_owner;

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

REVOKE ALL ON FUNCTION
	user_module.subscribers_changed(),
	user_module.add_subscriber(regprocedure, text[]),
	user_module.remove_subscriber(text),
	user_module.list_subscribers()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	user_module.add_subscriber(regprocedure, text[]),
	user_module.remove_subscriber(text),
	user_module.list_subscribers()
TO user_module_admin;
