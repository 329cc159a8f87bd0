#!/usr/bin/env bash
# Backup and restore: fills a database through the extension's functions,
# dumps it with pg_dump (custom format and plain SQL), restores each dump into
# a fresh database on the same server and checks that nothing was lost or
# changed. Prints TAP. test/run calls it with its cluster's PGHOST/PGPORT; it
# runs as well against any server that has user_module built, preloaded and
# a key set (PGHOST, PGPORT, PGUSER from the environment, a superuser).
# UM_OTHER_PORT, if set, is a second server on the same PGHOST with another
# key, where the custom dump is restored too (test/run starts one).
#
# What it settles:
# - the rows of the three tables and the event sequence survive a dump;
# - invite tokens, which are never stored, come back byte for byte, because
#   they are re-derived from the restored jti and issue time with the
#   server's key (same server, same key);
# - the dump holds no usable token: reading a dump does not let anyone
#   accept an invite;
# - a subscriber registered with add_subscriber survives: its row in
#   user_module.subscriber is dumped (the handler kept as the text of its
#   signature) and its function is an ordinary object, so after a restore
#   list_subscribers shows it and it fires again, on this server and on the
#   other one;
# - on a server with another key every restored token is invalid, and
#   refresh_invite_tokens issues new ones.
set -uo pipefail
source "$(dirname "$0")/../lib/tap.sh"

SRC=dump_src
DST_C=dump_dst_c
DST_P=dump_dst_p
# on the other server (UM_OTHER_PORT), which has another key
DST_K=dump_dst_k
WORK=$(mktemp -d /tmp/user_module-dump.XXXXXX)

finish() {
	tap_end
	for db in $SRC $DST_C $DST_P; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
	done
	if [ -n "${UM_OTHER_PORT:-}" ]; then
		PGPORT=$UM_OTHER_PORT psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DST_K" >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap finish EXIT

# psql that stops at the first error and prints bare values
sql() {
	local db=$1
	shift
	PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# sqlstate DB STATEMENT: the SQLSTATE it raises, or "none" (test/lib/tap.sh).
sqlstate() { sqlstate_of "$2" sql "$1"; }

# Setup that fails leaves nothing meaningful to check: stop (finish reports it).
bail() {
	echo "Bail out! $*"
	exit 1
}

for db in $SRC $DST_C $DST_P; do
	sql postgres -c "DROP DATABASE IF EXISTS $db" || bail "cannot drop $db"
done

##############################################################################
# 1. The source database, filled only through the functions.
##############################################################################

sql postgres -c "CREATE DATABASE $SRC" || bail "cannot create $SRC"

# The subscriber comes first so that it has fired on the source's events:
# its queue rows are ordinary data and must come back, and so must the
# subscriber itself (a row of user_module.subscriber).
sql $SRC -f "$(dirname "$0")/../install.sql" || bail "cannot install user_module into $SRC"
sql $SRC <<'SQL' || bail "cannot fill $SRC"
CREATE TABLE public.welcome_queue (event_id bigint, user_id text);
-- a subscriber as the README writes one: it runs as the function's owner
-- (here the superuser running this script, a role the other server has
-- too), with search_path pg_catalog, pg_temp, so names are qualified
CREATE FUNCTION public.queue_welcome(event user_module.event) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.welcome_queue VALUES (event.id, event.entity_id);
END
$$;
SELECT FROM user_module.add_subscriber('public.queue_welcome(user_module.event)', ARRAY['user.created']);

-- Values COPY has to escape (a tab, a backslash, a quote) and non-ASCII text,
-- so "identical" means something.
SELECT FROM user_module.create_user('ada@example.com', 'Ada', 'Lovelace',
	'https://example.com/ada.png', '{"team": "engines", "level": 3}', id => 'dump_user_ada');
SELECT FROM user_module.create_user('Grace@Example.COM', 'Grace', 'Hopper', NULL,
	'{"note": "tab\there, a quote '' and a backslash \\ in Zoë''s note"}');
SELECT FROM user_module.create_users('[
	{"email": "linus@example.com", "first_name": "Linus"},
	{"email": "margaret@example.com", "last_name": "Hamilton", "metadata": {"nested": {"a": [1, 2, null]}}}
]');
SELECT FROM user_module.update_user('dump_user_ada', '{"metadata": {"level": 4, "team": ""}}');
SELECT FROM user_module.create_user('gone@example.com', 'Gone', id => 'dump_user_gone');
SELECT FROM user_module.soft_delete_users(ARRAY['dump_user_gone']);
SQL

# Invites in every state; each token as issued is kept for the checks.
token_of() { sql $SRC -c "SELECT token FROM user_module.create_invite($1)"; }
tok_live=$(token_of "'live@example.com', '{\"role\": \"admin\"}', 'dump_invite_live'") || bail "create_invite"
tok_ref_old=$(token_of "'refreshed@example.com', NULL, 'dump_invite_refreshed'") || bail "create_invite"
tok_acc=$(token_of "'accepted@example.com', NULL, 'dump_invite_accepted'") || bail "create_invite"
tok_gone=$(token_of "'withdrawn@example.com', NULL, 'dump_invite_withdrawn'") || bail "create_invite"

jti_before=$(sql $SRC -c "SELECT token_jti FROM user_module.invite WHERE id = 'dump_invite_refreshed'")
tok_ref_new=$(sql $SRC -c "SELECT token FROM user_module.refresh_invite_tokens(ARRAY['dump_invite_refreshed'])") ||
	bail "refresh_invite_tokens"
jti_after=$(sql $SRC -c "SELECT token_jti FROM user_module.invite WHERE id = 'dump_invite_refreshed'")
[ -n "$jti_before" ] && [ "$jti_before" != "$jti_after" ] || bail "refreshing did not change the jti"

sql $SRC -v tok="$tok_acc" <<'SQL' || bail "accept_invite / soft_delete_invites"
SELECT FROM user_module.accept_invite(:'tok', 'Accepted', 'Person');
SELECT FROM user_module.soft_delete_invites(ARRAY['dump_invite_withdrawn']);
-- A worker has drained the oldest events: the outbox no longer starts at 1.
SELECT FROM user_module.claim_events(3);
SQL

# A rolled-back change takes an id from the sequence and leaves no row, so
# the sequence is ahead of max(id): a restore that derived the next id from
# the rows instead of restoring the sequence would hand the id out again.
sql $SRC <<'SQL' || bail "rolled-back create_user"
BEGIN;
SELECT FROM user_module.create_user('rolled.back@example.com');
ROLLBACK;
SQL

##############################################################################
# 2. What the source holds, captured before the dump.
##############################################################################

# Each capture is "row count md5": equal counts guard against two empty sets
# comparing equal.
snapshot() {
	local db=$1
	sql "$db" <<'SQL'
SELECT 'users ' || count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM user_module."user" t;
SELECT 'list_users ' || count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id))
	FROM user_module.list_users(with_deleted => true) t;
SELECT 'invites ' || count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM user_module.invite t;
SELECT 'list_invites ' || count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id))
	FROM user_module.list_invites(with_deleted => true) t;
SELECT 'events ' || count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM user_module.event t;
SELECT 'welcome_queue ' || count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY event_id)) FROM public.welcome_queue t;
SELECT 'subscribers ' || count(*) || ' ' || string_agg(t.handler || ' ' || coalesce(t.events::text, '-') || ' ' || t.created_at, '|' ORDER BY t.handler)
	FROM user_module.list_subscribers() t;
SELECT 'sequence ' || last_value || ' ' || is_called FROM user_module.event_id_seq;
SELECT 'indexes ' || count(*) || ' ' || md5(string_agg(indexdef, '|' ORDER BY indexname))
	FROM pg_indexes WHERE schemaname = 'user_module';
-- Every ACL in the schema, with NULL (the default) spelled out.
SELECT 'acls ' || count(*) || ' ' || md5(string_agg(x, '|' ORDER BY x)) FROM (
	SELECT 'function ' || p.oid::regprocedure || ' ' || coalesce(p.proacl::text, '-')
		FROM pg_proc p WHERE p.pronamespace = 'user_module'::regnamespace
	UNION ALL
	SELECT 'relation ' || c.relname || ' ' || coalesce(c.relacl::text, '-')
		FROM pg_class c WHERE c.relnamespace = 'user_module'::regnamespace
	UNION ALL
	SELECT 'type ' || t.typname || ' ' || coalesce(t.typacl::text, '-')
		FROM pg_type t WHERE t.typnamespace = 'user_module'::regnamespace
	UNION ALL
	SELECT 'schema ' || coalesce(nspacl::text, '-') FROM pg_namespace WHERE nspname = 'user_module'
) s(x);
SQL
}
# "what" from a snapshot file
part() { sed -n "s/^$1 //p" "$2"; }

snapshot $SRC > "$WORK/src.snapshot" || bail "cannot capture $SRC"

# Every token list_invites returns (live, refreshed, accepted, withdrawn), in id order.
list_tokens() { sql "$1" -c "SELECT id || ' ' || token FROM user_module.list_invites(with_deleted => true) ORDER BY id"; }
list_tokens $SRC > "$WORK/src.tokens" || bail "cannot list the tokens"
src_max_event=$(sql $SRC -c "SELECT max(id) FROM user_module.event")
read -r src_last_value src_is_called < <(part sequence "$WORK/src.snapshot")

# The fixture is what the checks below assume: say so before relying on it.
is "$(part users "$WORK/src.snapshot" | cut -d' ' -f1) $(sql $SRC -c "SELECT count(*) FROM user_module.\"user\" WHERE deleted_at IS NOT NULL")" \
	"6 1" "source: 6 users (5 created, 1 by accepting an invite), 1 soft-deleted"
is "$(sql $SRC -c "SELECT string_agg(id || ':' || accepted || ':' || (deleted_at IS NOT NULL), ' ' ORDER BY id) FROM user_module.invite")" \
	"dump_invite_accepted:true:true dump_invite_live:false:false dump_invite_refreshed:false:false dump_invite_withdrawn:false:true" \
	"source: one live, one refreshed, one accepted and one withdrawn invite"
is "$(grep -c ' [A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$' "$WORK/src.tokens")" "4" \
	"source: list_invites returns a token for each of the 4 invites"
is "$([ "$src_is_called" = true ] && [ "$src_last_value" -gt "$src_max_event" ] && echo ahead)" "ahead" \
	"source: outbox rows left and the event sequence ahead of max(id) ($src_max_event < $src_last_value)"
is "$(sql $SRC -c "SELECT min(id) > 1 FROM user_module.event")" "t" \
	"source: the oldest events were claimed, the rest are still in the outbox"
is "$(sql $SRC -c "SELECT handler || ' ' || events::text FROM user_module.list_subscribers()")" \
	"public.queue_welcome(user_module.event) {user.created}" \
	"source: list_subscribers shows the one subscriber, for user.created"
is "$(sql $SRC -c "SELECT count(*) FROM public.welcome_queue q JOIN user_module.\"user\" u ON u.id = q.user_id")" "6" \
	"source: the subscriber fired for each of the 6 users created"

##############################################################################
# 3. Dump, then restore each format into a fresh database on this server.
#    The subscriber is followed throughout: in the dump, and after the
#    restore in list_subscribers and firing.
##############################################################################

pg_dump -Fc -f "$WORK/src.dump" $SRC || bail "pg_dump -Fc failed"
pg_dump -f "$WORK/src.sql" $SRC || bail "pg_dump (plain) failed"
# The SQL the custom-format archive would run, to grep it like the plain dump.
pg_restore -f "$WORK/src.dump.sql" "$WORK/src.dump" || bail "pg_restore -f failed"

# A dump must not let its reader accept an invite: neither a whole token nor
# its signature (the only part that needs the key) may appear in it.
# Every token the source ever issued: those list_invites returns now plus the
# one refreshing replaced.
all_tokens=$(cut -d' ' -f2 "$WORK/src.tokens"; echo "$tok_ref_old")
for f in src.sql src.dump.sql; do
	found=0
	for tok in $all_tokens; do
		grep -qF -e "$tok" -e "${tok##*.}" "$WORK/$f" && found=$((found + 1))
	done
	is "$found" "0" "$f: none of the $(echo "$all_tokens" | wc -l) tokens and none of their signatures appear in the dump"
done
if [ -n "${UM_JWT_SECRET:-}" ]; then
	is "$(grep -cF "$UM_JWT_SECRET" "$WORK/src.sql" "$WORK/src.dump.sql" | grep -vc ':0$')" "0" \
		"the signing key appears in neither dump"
else
	tap_skip "the signing key appears in neither dump" "UM_JWT_SECRET is not set"
fi
# The subscriber is data: the row of user_module.subscriber (an extension
# configuration table) is dumped, and its function is an ordinary object.
is "$(grep -c '^public\.queue_welcome(user_module\.event)	{user\.created}	' "$WORK/src.sql") $(grep -c '^COPY user_module\.subscriber ' "$WORK/src.sql")" "1 1" \
	"pg_dump dumps the subscriber's row of user_module.subscriber"
is "$(grep -c 'CREATE FUNCTION public.queue_welcome(event user_module.event)' "$WORK/src.sql")" "1" \
	"pg_dump dumps the subscriber's function (an ordinary object)"

restore() {
	local fmt=$1 db=$2
	sql postgres -c "CREATE DATABASE $db" || return 1
	if [ "$fmt" = custom ]; then
		pg_restore -d "$db" --exit-on-error "$WORK/src.dump" 2> "$WORK/$db.err"
	else
		psql -X -q -v ON_ERROR_STOP=1 -f "$WORK/src.sql" -d "$db" > "$WORK/$db.out" 2> "$WORK/$db.err"
	fi
}

# All checks on one restored database.
check_restored() {
	local fmt=$1 db=$2 status
	restore "$fmt" "$db"
	status=$?
	is "$status $(wc -c < "$WORK/$db.err")" "0 0" "$fmt: the restore succeeded and printed no error or warning"
	[ -s "$WORK/$db.err" ] && sed 's/^/#   /' "$WORK/$db.err"
	[ "$status" -eq 0 ] || return

	snapshot "$db" > "$WORK/$db.snapshot"
	local what
	for what in users list_users invites list_invites events welcome_queue subscribers; do
		is "$(part $what "$WORK/$db.snapshot")" "$(part $what "$WORK/src.snapshot")" \
			"$fmt: $what identical row for row"
	done
	is "$(part sequence "$WORK/$db.snapshot")" "$(part sequence "$WORK/src.snapshot")" \
		"$fmt: the event sequence is where the source's was"
	is "$(part indexes "$WORK/$db.snapshot")" "$(part indexes "$WORK/src.snapshot")" \
		"$fmt: the same indexes (the unique email indexes included)"
	is "$(part acls "$WORK/$db.snapshot")" "$(part acls "$WORK/src.snapshot")" \
		"$fmt: the same privileges on every function, table, sequence, type and the schema"

	# Tokens are re-derived from the restored jti and issue time; same key,
	# same bytes.
	list_tokens "$db" > "$WORK/$db.tokens"
	is "$(md5sum < "$WORK/$db.tokens")" "$(md5sum < "$WORK/src.tokens")" \
		"$fmt: list_invites returns byte-identical tokens"
	is "$(sql "$db" -v a="$tok_live" -v b="$tok_ref_new" <<'SQL' | paste -sd' '
SELECT id FROM user_module.validate_invite_token(:'a');
SELECT id FROM user_module.validate_invite_token(:'b');
SQL
)" "dump_invite_live dump_invite_refreshed" "$fmt: validate_invite_token accepts the live and the refreshed invite's tokens"
	is "$(sqlstate "$db" "SELECT user_module.validate_invite_token('$tok_acc')")" "22U03" \
		"$fmt: the accepted invite's token still gives 22U03"
	is "$(sqlstate "$db" "SELECT user_module.validate_invite_token('$tok_ref_old')")" "22U01" \
		"$fmt: the token refreshing replaced still gives 22U01"
	is "$(sqlstate "$db" "SELECT user_module.validate_invite_token('$tok_gone')")" "22U01" \
		"$fmt: the withdrawn (soft-deleted) invite's token still gives 22U01"

	# The grants compared above, read the way a caller meets them.
	is "$(sql "$db" <<'SQL' | paste -sd' '
SELECT has_schema_privilege(r, 'user_module', 'USAGE') FROM unnest(ARRAY['user_module_admin', 'user_module_reader', 'user_module_invitee']) r;
SELECT has_function_privilege('user_module_admin', 'user_module.refresh_invite_tokens(text[])', 'EXECUTE');
SELECT has_function_privilege('user_module_admin', 'user_module.claim_events(integer)', 'EXECUTE');
SELECT has_function_privilege('user_module_admin', 'user_module.add_subscriber(regprocedure, text[])', 'EXECUTE');
SELECT has_function_privilege('user_module_reader', 'user_module.list_invites(jsonb, integer, integer, text, boolean)', 'EXECUTE');
SELECT has_function_privilege('user_module_reader', 'user_module.create_user(text, text, text, text, jsonb, text)', 'EXECUTE');
SELECT has_function_privilege('user_module_invitee', 'user_module.accept_invite(text, text, text, text, jsonb)', 'EXECUTE');
SELECT has_function_privilege('user_module_invitee', 'user_module.list_users(jsonb, integer, integer, text, boolean)', 'EXECUTE');
SELECT has_function_privilege('public', 'user_module.validate_invite_token(text)', 'EXECUTE');
SELECT has_table_privilege(r, 'user_module.invite', 'SELECT') FROM unnest(ARRAY['user_module_admin', 'user_module_reader', 'user_module_invitee', 'public']) r;
SQL
)" "t t t t t t t f t f f f f f f" \
		"$fmt: the roles' grants came back (admin, reader, invitee may do what they may, PUBLIC nothing, no table access)"
	is "$(sql "$db" -c "SET ROLE user_module_reader" \
		-c "SELECT count(*) || ' ' || count(token) FROM user_module.list_invites(with_deleted => true)")" "4 0" \
		"$fmt: a reader still lists the invites without their tokens"

	# The subscriber came back (compared above), and its handler names the
	# restored function.
	is "$(sql "$db" -c "SELECT to_regprocedure(handler) = 'public.queue_welcome(user_module.event)'::regprocedure FROM user_module.list_subscribers()")" "t" \
		"$fmt: the restored subscriber's handler names the restored function"

	# New events continue the sequence: the first one takes exactly the id after
	# the source's last (the rolled-back one included), above every restored id.
	local new_id
	new_id=$(sql "$db" -c "SELECT FROM user_module.create_user('new.after.restore@example.com', id => 'dump_user_new')" \
		-c "SELECT id FROM user_module.event WHERE entity_id = 'dump_user_new'")
	is "$new_id" "$((src_last_value + 1))" \
		"$fmt: a user created after the restore gets event id $((src_last_value + 1)) (> $src_max_event, the highest restored id)"
	is "$(sql "$db" -c "SELECT string_agg(event_id || ' ' || user_id, ',') FROM public.welcome_queue WHERE user_id = 'dump_user_new'")" \
		"$((src_last_value + 1)) dump_user_new" \
		"$fmt: the restored subscriber fired for it, with its event"
	# ...for the events it subscribes to only
	is "$(sql "$db" -c "SELECT FROM user_module.update_user('dump_user_new', '{\"first_name\": \"New\"}')" \
		-c "SELECT count(*) FROM public.welcome_queue WHERE user_id = 'dump_user_new'")" "1" \
		"$fmt: the restored subscriber keeps its event list (user.updated does not fire it)"

	# The unique indexes came back: a taken email is still taken, in any case.
	is "$(sqlstate "$db" "SELECT user_module.create_user('ADA@example.com')")" "23505" \
		"$fmt: create_user with a taken email (other case) gives 23505"
	is "$(sqlstate "$db" "SELECT user_module.create_invite('Live@Example.com')")" "23505" \
		"$fmt: create_invite for an email with a live invite gives 23505"

	# A restored invite is usable end to end, the subscriber hearing of the new user.
	is "$(sql "$db" -v tok="$tok_live" <<'SQL' | paste -sd' '
SELECT email FROM user_module.accept_invite(:'tok', 'Live', 'Person');
SELECT accepted FROM user_module.retrieve_invite('dump_invite_live', with_deleted => true);
SELECT count(*) FROM public.welcome_queue q JOIN user_module."user" u ON u.id = q.user_id
 WHERE u.email = 'live@example.com';
SQL
)" "live@example.com t 1" "$fmt: accept_invite with a restored token creates the user and accepts the invite (the subscriber fires)"

	# The subscriber can be removed as usual after a restore.
	is "$(sql "$db" -c "SELECT user_module.remove_subscriber('public.queue_welcome(user_module.event)')" \
		-c "SELECT count(*) FROM user_module.list_subscribers()" | paste -sd' ')" "t 0" \
		"$fmt: remove_subscriber removes the restored subscriber"
}

check_restored custom $DST_C
check_restored plain $DST_P

##############################################################################
# 4. Another server with another key: what moving a dump to a new machine
#    does. test/run starts such a server (no user_module roles, its own key)
#    and passes its port in UM_OTHER_PORT; without it these checks are skipped.
##############################################################################

other_key_checks=10
if [ -z "${UM_OTHER_PORT:-}" ]; then
	for _ in $(seq $other_key_checks); do
		tap_skip "other key" "UM_OTHER_PORT is not set"
	done
else
	(
		export PGPORT=$UM_OTHER_PORT
		sql postgres -c "DROP DATABASE IF EXISTS $DST_K" -c "CREATE DATABASE $DST_K" || exit 1
		pg_restore -d $DST_K --exit-on-error "$WORK/src.dump" 2> "$WORK/$DST_K.err"
	)
	status=$?
	# The roles come from CREATE EXTENSION, so a database dump restores
	# without pg_dumpall --globals-only (on test/run's fresh server none of
	# them exists before).
	roles_after=$(PGPORT=$UM_OTHER_PORT sql postgres -c "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'user\_module\_%'")
	is "$status $(wc -c < "$WORK/$DST_K.err") $roles_after" "0 0 4" \
		"other key: the custom dump restores with no error (the roles created by CREATE EXTENSION)"
	sed 's/^/#   /' "$WORK/$DST_K.err"
	PGPORT=$UM_OTHER_PORT snapshot $DST_K > "$WORK/$DST_K.snapshot"
	for what in users invites events subscribers acls; do
		is "$(part $what "$WORK/$DST_K.snapshot")" "$(part $what "$WORK/src.snapshot")" \
			"other key: $what identical row for row"
	done
	# Same jti and issue time, other key: every token differs, and the ones
	# the source handed out are worthless here.
	PGPORT=$UM_OTHER_PORT list_tokens $DST_K > "$WORK/$DST_K.tokens"
	is "$(comm -12 <(sort "$WORK/src.tokens") <(sort "$WORK/$DST_K.tokens") | wc -l) $(wc -l < "$WORK/$DST_K.tokens")" "0 4" \
		"other key: list_invites returns a different token for each of the 4 invites"
	is "$(PGPORT=$UM_OTHER_PORT sqlstate $DST_K "SELECT user_module.validate_invite_token('$tok_live')")" "22U01" \
		"other key: a token issued by the source server gives 22U01"
	# The way out: re-issue the outstanding invites' tokens.
	is "$(PGPORT=$UM_OTHER_PORT sql $DST_K <<'SQL' | paste -sd' '
CREATE TEMP TABLE reissued AS
	SELECT id, token FROM user_module.refresh_invite_tokens(ARRAY['dump_invite_live', 'dump_invite_refreshed']);
SELECT (user_module.validate_invite_token(token)).id FROM reissued ORDER BY id;
SQL
)" "dump_invite_live dump_invite_refreshed" \
		"other key: refresh_invite_tokens re-issues tokens that validate_invite_token accepts"
	is "$(PGPORT=$UM_OTHER_PORT sql $DST_K -c "SELECT FROM user_module.create_user('other.key@example.com', id => 'dump_user_other')" \
		-c "SELECT count(*) FROM public.welcome_queue WHERE user_id = 'dump_user_other'")" "1" \
		"other key: the restored subscriber fires"
fi

tap_done
