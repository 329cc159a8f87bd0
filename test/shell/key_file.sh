#!/usr/bin/env bash
# The key file (user_module.jwt_secret_file) and rotation with the previous
# key, on scratch clusters of their own. Prints TAP. test/run calls it with
# UM_TMP (its scratch directory, owned by postgres), PG_BIN and a free port:
#   env UM_TMP=... UM_KEY_PORT=... bash test/shell/key_file.sh
#
# What it settles:
# - the key file is read at server start and at every reload: a rotation is
#   "rewrite the file, reload", with no flag day: a token signed with the old
#   key still validates and accepts while the old key is the file's second
#   line, and is 22U01 once it is gone; tokens come out signed with the new
#   key (same jti), and the previous key never signs;
# - the same with the inline settings jwt_secret and jwt_previous_secret;
# - a file that is not a regular file, has group or world access, belongs to
#   another user, holds a short key or more than two lines, is refused at a
#   reload (the keys in force stay) and at start (no key: 55000), and no
#   message or log line carries a key;
# - a key file and an inline key set together: 55000 for every function
#   that needs the key;
# - without preloading, a role with no grants sees the file's path and
#   nothing else, and every function fails with 55000.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/tap.sh"
set +e

PORT=${UM_KEY_PORT:?}
DATA="$UM_TMP/key_file"
LOG="$UM_TMP/key_file.log"
KEYS="$UM_TMP/key_file_keys"
KEY_FILE="$KEYS/jwt.key"
export PGHOST="$UM_TMP" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres

finish() {
	tap_end
	stop_server
	rm -rf "$DATA" "$KEYS"
}
trap finish EXIT

stop_server() {
	[ -f "$DATA/postmaster.pid" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
	return 0
}

# A cluster configured by $1 (postgresql.conf lines) and keys.conf, which
# each step rewrites.
start_server() {
	stop_server
	rm -rf "$DATA"
	um_initdb "$DATA" "$1
include_if_exists = 'keys.conf'
port = $PORT
unix_socket_directories = '$UM_TMP'
listen_addresses = ''"
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w start >/dev/null
}

# keys.conf: the settings of the key, as given
key_settings() {
	printf '%s\n' "$@" > "$DATA/keys.conf"
	chown postgres: "$DATA/keys.conf"
	chmod 600 "$DATA/keys.conf"
}

# write_key_file OWNER MODE LINE...: the key file, as root would write it
write_key_file() {
	local owner=$1 mode=$2
	shift 2
	rm -f "$KEY_FILE"
	printf '%s\n' "$@" > "$KEY_FILE"
	chown "$owner" "$KEY_FILE"
	chmod "$mode" "$KEY_FILE"
}

sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# The SQLSTATE a statement raises, or "none" (test/lib/tap.sh).
sqlstate() {
	local stmt=$1
	shift
	sqlstate_of "$stmt" sql "$@"
}

# until COMMAND... prints EXPECTED (a reload reaches new sessions once the
# postmaster has processed it): what it printed last
wait_for() {
	local expected=$1 got deadline=$((SECONDS + 20))
	shift
	while :; do
		got=$("$@" 2>&1)
		[ "$got" == "$expected" ] || [ $SECONDS -ge $deadline ] && break
		sleep 0.1
	done
	printf '%s' "$got"
}

reload() { sql -c 'SELECT pg_reload_conf()' >/dev/null; }

# lines of the server log from now on
log_mark() { LOG_FROM=$(($(wc -l < "$LOG") + 1)); }
log_since() { tail -n +"$LOG_FROM" "$LOG"; }
log_has() { log_since | grep -cF -- "$1"; }

# whether TOKEN's signature is HMAC-SHA256 under KEY (openssl, independent)
signed_with() {
	local key=$1 token=$2 mac
	mac=$(printf '%s' "${token%.*}" | openssl dgst -sha256 -hmac "$key" -binary | base64 | tr '+/' '-_' | tr -d '=\n')
	[ "$mac" == "${token##*.}" ] && echo yes || echo no
}

token_of() { sql -c "SELECT token FROM user_module.retrieve_invite('$1')"; }
# whether invite ID's token is signed with KEY: yes or no
invite_signed_with() { signed_with "$1" "$(token_of "$2")"; }
# the jti claim of a token
jti_of() {
	local p
	p=$(printf '%s' "$1" | cut -d. -f2 | tr '_-' '/+')
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | base64 -d | grep -o '"jti":"[^"]*"'
}
validate() { sqlstate "SELECT user_module.validate_invite_token('$1')"; }

KEY_A=$(um_new_key)
KEY_B=$(um_new_key)
KEY_C=$(um_new_key)
KEY_D=$(um_new_key)
SHORT_KEY="Zq9-short-key-Zq9"
mkdir -p "$KEYS"
chown postgres: "$KEYS"
chmod 700 "$KEYS"

# ---------------------------------------------------------------- preloaded, key file

write_key_file postgres 600 "$KEY_A"
start_server "shared_preload_libraries = 'user_module'
user_module.jwt_secret_file = '$KEY_FILE'"
sql -c 'SET client_min_messages = warning' -c 'CREATE SCHEMA IF NOT EXISTS extensions' -c 'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions' -c 'CREATE EXTENSION user_module' \
	-c "SELECT count(*) FROM user_module.create_invites('[{\"id\": \"i1\", \"email\": \"one@test.com\"},
		{\"id\": \"i2\", \"email\": \"two@test.com\"}, {\"id\": \"i3\", \"email\": \"three@test.com\"}]')" >/dev/null
is "$(sql -c 'SHOW user_module.jwt_secret_file')" "$KEY_FILE" "SHOW gives the key file's path"
is "$(sql -c 'SHOW user_module.jwt_secret')" "********" "the inline key stays the mask"
t1_a=$(token_of i1)
t2_a=$(token_of i2)
t3_a=$(token_of i3)
is "$(signed_with "$KEY_A" "$t1_a")" yes "a token is signed with the file's key (openssl agrees)"
is "$(validate "$t1_a")" none "and validates"

# rotation: B is the key, A the previous one
write_key_file postgres 600 "$KEY_B" "$KEY_A"
reload
t1_b=$(wait_for yes invite_signed_with "$KEY_B" i1 >/dev/null; token_of i1)
is "$(signed_with "$KEY_B" "$t1_b")" yes "after the reload, retrieve_invite gives the token signed with the new key"
is "$(jti_of "$t1_b")" "$(jti_of "$t1_a")" "with the same jti"
is "$(validate "$t1_a")" none "a token signed with the previous key still validates"
is "$(validate "$t1_b")" none "the new token validates"
is "$(sqlstate "SELECT user_module.accept_invite('$t2_a', 'Two')")" none "a token signed with the previous key is accepted"
is "$(sql -c "SELECT count(*) FROM user_module.list_users('{\"email\": \"two@test.com\"}')")" 1 "and the user exists"
t3_r=$(sql -c "SELECT token FROM user_module.refresh_invite_tokens('{i3}')")
is "$(signed_with "$KEY_B" "$t3_r")/$(signed_with "$KEY_A" "$t3_r")" yes/no "refresh signs with the current key, never the previous one"
is "$(validate "$t3_a")" 22U01 "the refreshed invite's old token is dead (another jti)"

# the previous key removed: its tokens are refused
write_key_file postgres 600 "$KEY_B"
reload
is "$(wait_for 22U01 validate "$t1_a")" 22U01 "once the previous key is removed, its tokens are 22U01"
is "$(validate "$t1_b")" none "the current key's tokens still validate"
is "$(validate "$(token_of i3)")" none "and so do refreshed ones"

# files that are refused at a reload: the keys in force stay, no key is logged
refused_reload() {
	local what=$1 message=$2
	log_mark
	reload
	is "$(wait_for 1 log_has "$message")" 1 "$what: refused at reload ($message)"
	is "$(validate "$t1_b")" none "$what: the key in force stays"
}
write_key_file postgres 644 "$KEY_C"
refused_reload "mode 0644" "has group or world access"
write_key_file postgres 640 "$KEY_C"
refused_reload "mode 0640, owned by the server's user" "has group or world access"
write_key_file root:postgres 644 "$KEY_C"
refused_reload "mode 0644, owned by root" "has group or world access"
write_key_file nobody 644 "$KEY_C"
refused_reload "owned by another user" "must be owned by the database user or root"
write_key_file postgres 600 "$SHORT_KEY"
refused_reload "a short key" "the key in user_module.jwt_secret_file \"$KEY_FILE\" is too short"
write_key_file postgres 600 "$KEY_C" "$SHORT_KEY"
refused_reload "a short previous key" "the previous key in user_module.jwt_secret_file \"$KEY_FILE\" is too short"
write_key_file postgres 600 "$KEY_C" "$KEY_A" "$KEY_D"
refused_reload "three keys" "has more than two lines"
write_key_file postgres 600 "" "$KEY_C"
refused_reload "an empty first line" "has no key on its first line"
rm -f "$KEY_FILE"
mkfifo -m 600 "$KEY_FILE"
chown postgres "$KEY_FILE"
refused_reload "a FIFO (no hang)" "is not a regular file"
rm -f "$KEY_FILE"
refused_reload "a missing file" "could not open user_module.jwt_secret_file \"$KEY_FILE\""

# root-owned, group-readable: allowed, as for ssl_key_file
write_key_file root:postgres 640 "$KEY_C" "$KEY_B"
reload
t1_c=$(wait_for yes invite_signed_with "$KEY_C" i1 >/dev/null; token_of i1)
is "$(signed_with "$KEY_C" "$t1_c")" yes "a file owned by root with mode 0640 is read"
is "$(validate "$t1_b")" none "and its second line is the previous key"

# a key file and an inline key: 55000 until one is removed
key_settings "user_module.jwt_secret = '$KEY_D'"
reload
is "$(wait_for 55000 sqlstate "SELECT user_module.create_invite('x@test.com')")" 55000 \
	"a key file and an inline key: create_invite is 55000"
is "$(validate "$t1_c")" 55000 "validate_invite_token is 55000"
is "$(sqlstate "SELECT user_module.retrieve_invite('i1')")" 55000 "retrieve_invite (with tokens) is 55000"
is "$(sql -c "SELECT user_module.count_invites()")" 2 "functions without the key still work"
key_settings "user_module.jwt_previous_secret = '$KEY_D'"
reload
is "$(wait_for 55000 sqlstate "SELECT user_module.create_invite('x@test.com')")" 55000 \
	"a key file and an inline previous key: 55000"
key_settings ""
reload
is "$(wait_for none validate "$t1_c")" none "the inline key removed: the key file works again"

# inline keys: the key and the previous key
key_settings "user_module.jwt_secret_file = ''" "user_module.jwt_secret = '$KEY_D'" \
	"user_module.jwt_previous_secret = '$KEY_C'"
reload
t1_d=$(wait_for yes invite_signed_with "$KEY_D" i1 >/dev/null; token_of i1)
is "$(signed_with "$KEY_D" "$t1_d")" yes "inline: tokens are signed with user_module.jwt_secret"
is "$(validate "$t1_c")" none "inline: a token signed with user_module.jwt_previous_secret validates"
key_settings "user_module.jwt_secret_file = ''" "user_module.jwt_secret = '$KEY_D'"
reload
is "$(wait_for 22U01 validate "$t1_c")" 22U01 "inline: the previous key removed, its tokens are 22U01"
is "$(validate "$t1_d")" none "inline: the key's tokens validate"

# a bad key file at server start: a warning, and no key
key_settings ""
write_key_file postgres 644 "$KEY_C"
stop_server
log_mark
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w start >/dev/null
is "$(log_has 'WARNING:  user_module.jwt_secret_file')" 1 "a refused key file at start: a warning"
is "$(sqlstate "SELECT user_module.create_invite('x@test.com')")" 55000 "and no key: 55000"

for key in "$KEY_A" "$KEY_B" "$KEY_C" "$KEY_D" "$SHORT_KEY"; do
	grep -qF -- "$key" "$LOG" && found=yes || found=no
	[ "$found" == yes ] && break
done
is "$found" no "no key reached the server log"

# ---------------------------------------------------------------- not preloaded, key file

write_key_file postgres 600 "$KEY_A"
start_server "user_module.jwt_secret_file = '$KEY_FILE'"
sql -c 'SET client_min_messages = warning' -c 'CREATE SCHEMA IF NOT EXISTS extensions' -c 'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions' -c 'CREATE EXTENSION user_module' \
	-c 'CREATE ROLE regress_key_nobody LOGIN' >/dev/null
is "$(sql -U regress_key_nobody -c 'SHOW user_module.jwt_secret_file')" "$KEY_FILE" \
	"not preloaded: a role with no grants sees the key file's path"
is "$(sqlstate 'SHOW user_module.jwt_secret' -U regress_key_nobody)" 42704 \
	"not preloaded: SHOW user_module.jwt_secret gives nothing (42704: no such setting)"
is "$(sql -U regress_key_nobody -c "SELECT count(*) FROM pg_settings WHERE name LIKE 'user_module.%' AND name <> 'user_module.jwt_secret_file'")" 0 \
	"not preloaded: no other user_module setting is visible"
# every function, in one session that loads the library
every_function() {
	sql "$@" <<SQL
$SQLSTATE_OF_SQL
SELECT count(*) || ' calls: ' || string_agg(DISTINCT pg_temp.sqlstate_of('SELECT * FROM user_module.' || f), ',')
  FROM (VALUES ('create_user(''a@b.test'')'), ('create_users(''[{"email": "b@b.test"}]'')'),
	('retrieve_user(''u1'')'), ('list_users()'), ('count_users()'), ('update_user(''u1'', ''{}'')'),
	('update_users(''[]'')'), ('delete_users(''{u1}'')'), ('soft_delete_users(''{u1}'')'),
	('restore_users(''{u1}'')'), ('create_invite(''c@b.test'')'), ('create_invites(''[{"email": "d@b.test"}]'')'),
	('retrieve_invite(''i1'')'), ('list_invites()'), ('count_invites()'), ('update_invite(''i1'', ''{}'')'),
	('update_invites(''[]'')'), ('delete_invites(''{i1}'')'), ('soft_delete_invites(''{i1}'')'),
	('restore_invites(''{i1}'')'), ('refresh_invite_tokens(''{i1}'')'), ('validate_invite_token(''$t1_a'')'),
	('accept_invite(''$t1_a'')'), ('claim_events()'), ('purge_events()')) AS calls(f);
SQL
}
is "$(every_function)" "25 calls: 55000" "not preloaded: every function fails with 55000"
is "$(sql -c 'SELECT count(*) FROM user_module.list_users()' 2>&1 | grep -E '^(ERROR|DETAIL):')" \
"ERROR:  user_module must be loaded via shared_preload_libraries
DETAIL:  Its settings, the signing key among them, are only protected when the library is preloaded." \
	"not preloaded, key file: the detail does not ask to rotate the key"
is "$(sql -U regress_key_nobody -c 'SHOW user_module.jwt_secret_file')" "$KEY_FILE" \
	"not preloaded: still only the path for a role with no grants"
grep -qF -- "$KEY_A" "$LOG" && found=yes || found=no
is "$found" no "not preloaded: the key did not reach the server log"

tap_done
