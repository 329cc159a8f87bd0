#!/usr/bin/env bash
# Leak check: CALLS calls (default 1,000,000) of every function of the
# contract, each function's calls in one backend session, and the session's
# memory must stay flat.
#
#   test/leak/leak.sh [CALLS]
#
# Runs against the cluster the PG* variables name (PGHOST, PGPORT, PGUSER a
# superuser: the session reads its own /proc/self/status with pg_read_file),
# in a database of its own, user_module_leak (or $UM_LEAK_DB), dropped first
# if it exists.
# Prints one TAP line per function and per whole-table list (below), and one
# that fails when a function of the extension, read from the catalog
# (test/lib/functions.sql), was neither measured nor left out with the reason
# in LEFT_OUT below, so that a new function cannot be forgotten. Writes
# ${UM_LEAK_OUT:-test/leak/out}/leak.md (the tables) and checkpoints.csv
# (every measurement). Exit status 0 only when every function stayed flat,
# every list within its bound, and no function was forgotten.
#
# How: test/leak/leak.sql has one procedure per function that makes calls
# first .. first + calls - 1, mixing in the main error paths, and commits every
# 10,000 calls (many transactions in one session, as in an application's
# connection pool). For each function a fresh psql session CALLs it ten times
# with a tenth of the calls each and, between two CALLs (at the top level,
# outside any transaction), records the backend's memory:
#  - contexts: the sum of total_bytes over pg_backend_memory_contexts, all
#    that palloc holds (TopMemoryContext, CacheMemoryContext, cached plans,
#    everything a leak into a session-lived context would grow);
#  - RssAnon from /proc/self/status: the private anonymous resident memory,
#    what malloc holds outside palloc too (OpenSSL's HMAC contexts, say), but
#    not shared buffers.
# The first tenth is the warm-up (caches fill, plans are made and kept): the
# contexts' growth is measured from the checkpoint after it to the last one.
# RssAnon's is measured over the second half of the calls: malloc's heap also
# grows in one-time steps (a GIN pending-list flush that needs more room than
# any before it, say: create_users rose 3.2 MB once between 300,000 and
# 400,000 calls, then 0.5 MB in the 600,000 calls after), which a leak does
# not; a leak grows in every half alike. (The
# contexts total leaves out "WAL record construction", which grows once to
# the largest WAL record the session builds: see leak.sql.)
#
# That the check fails when it should was tried by adding to run_control
# (a) a PREPARE per 10 calls: contexts +5.5 MB, RssAnon +6 MB at 10,000
# calls; (b) set_config of a new setting per call, memory that malloc holds
# and no context counts: contexts +0 B, RssAnon +2.3 MB, not ok.
#
# The bounds, for 90% of CALLS after the warm-up (900,000 calls by default)
# and, for RssAnon, for the second half (500,000 calls):
#  - contexts may grow by at most UM_LEAK_MAX_CONTEXTS bytes (65536): a
#    session's caches are full after the warm-up, but a cached plan may be
#    replanned when autovacuum's ANALYZE changes the statistics, and the new
#    plan can be a few kB larger or smaller; 64 kB is that with room to
#    spare, and is 0.07 bytes per call at 900,000 calls (a leak of 16 bytes a
#    call is 14 MB);
#  - RssAnon may grow by at most UM_LEAK_MAX_RSS bytes (1 MB): glibc's
#    malloc keeps freed memory and moves its trim and mmap thresholds as it
#    goes, so the resident size wanders by some hundred kB without a leak;
#    1 MB is about two bytes per call at 500,000 calls. Below 100,000 calls
#    the default is 2 MB: the heap grows in one-time steps of about 600 kB
#    (seen in update_invites and refresh_invite_tokens at 10,000 calls, flat
#    before and after) that a long run's warm-up absorbs but a short run's
#    may not.
# At small counts (test/run's 10,000 calls) the bounds are a smoke test: they
# still catch a leak of some hundred bytes a call.
#
# Then two lists of a whole table, by callers who may make them: list_users()
# of LIST_ROWS users (1,000,000 when CALLS is 1,000,000 or more, 200,000
# otherwise) as a member of user_module_reader, and list_invites() of a
# quarter as many invites as a member of user_module_admin (tokens re-derived
# for every row). Each runs in a fresh session while a second session samples
# its RssAnon every 5 ms from /proc/<pid>/status: the peak over the session's
# own idle RssAnon just before the call may be at most UM_LEAK_MAX_LIST_PEAK
# bytes (32 MB). RssAnon leaves out shared buffers, which a scan touches up to
# shared_buffers, and the tuplestore's temporary file; work_mem is set to its
# default of 4 MB, which bounds the tuplestore's memory. Streamed, a list holds
# a batch of 1,000 rows besides, whatever the table (about +5 MB for users,
# +8 MB for invites); materialised whole, the old lists took +278 MB for
# 1,000,000 users and +56 MB for 200,000, and +583 MB for 300,000 invites.
set -euo pipefail

CALLS=${1:-1000000}
if ! [[ $CALLS =~ ^[0-9]+$ ]] || [ "$CALLS" -lt 100 ] || [ $((CALLS % 10)) -ne 0 ]; then
	echo "usage: $0 [CALLS]   (a multiple of 10, at least 100)" >&2
	exit 2
fi
CHUNK=$((CALLS / 10))
MAX_CONTEXTS=${UM_LEAK_MAX_CONTEXTS:-65536}
if [ "$CALLS" -ge 100000 ]; then
	MAX_RSS=${UM_LEAK_MAX_RSS:-1048576}
else
	MAX_RSS=${UM_LEAK_MAX_RSS:-2097152}
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib/tap.sh"
trap tap_end EXIT
OUT=${UM_LEAK_OUT:-$HERE/out}
mkdir -p "$OUT"
if [ "$CALLS" -ge 1000000 ]; then
	LIST_ROWS=${UM_LEAK_LIST_ROWS:-1000000}
else
	LIST_ROWS=${UM_LEAK_LIST_ROWS:-200000}
fi
MAX_LIST_PEAK=${UM_LEAK_MAX_LIST_PEAK:-33554432}
DB=${UM_LEAK_DB:-user_module_leak}
# Only these functions, if set (a space-separated list), to run one again
# (list_users_all, list_invites_all: the lists of a whole table).
# When create_user or create_invite is left out, its pool is made in bulk
# instead (restore_* need their soft_delete_* listed too).
ONLY=${UM_LEAK_ONLY:-}

export PGDATABASE=$DB
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

log() { printf '# %s %s\n' "$(date -u +%H:%M:%S)" "$*"; }

psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql_q -c 'CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions; CREATE EXTENSION user_module' -f "$HERE/leak.sql" >/dev/null

# Setup that is not measured, in a session of its own.
setup() { psql_q -c "$1" >/dev/null || log "setup failed: $1"; }

# The measured session: mark, then ten times CALL a tenth and mark.
measure() {
	local fn=$1 k script
	script="SELECT leak.mark('$fn', 0);"
	for k in $(seq 1 10); do
		script+="
CALL leak.run_$fn($(((k - 1) * CHUNK + 1)), $CHUNK);
SELECT leak.mark('$fn', $((k * CHUNK)));"
	done
	psql_q -o /dev/null <<<"$script"
}

fmt_bytes() {	# signed, in B / kB / MB
	local b=$1 sign=+
	[ "$b" -lt 0 ] && { sign=-; b=$((-b)); }
	if [ "$b" -ge $((10 * 1048576)) ]; then echo "$sign$((b / 1048576)) MB"
	elif [ "$b" -ge 10240 ]; then echo "$sign$((b / 1024)) kB"
	else echo "$sign$b B"; fi
}

# The functions of the extension that are not measured, and why:
# subscribers_changed is the trigger function of user_module.subscriber,
# which no one calls; add_subscriber and remove_subscriber fire it.
LEFT_OUT="subscribers_changed"
measured=

{
	echo "# Leak check: $CALLS calls per function, one session each"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), PostgreSQL $(psql_q -Atc 'SHOW server_version'), $(nproc) cores."
	echo "Contexts: growth from the checkpoint after the first $CHUNK calls (warm-up) to the last,"
	echo "at most +$MAX_CONTEXTS B. RssAnon: growth over the second half of the calls, at most"
	echo "+$MAX_RSS B (and, for information, from the warm-up on)."
	echo
	echo "| function | calls | time (s) | calls/s | contexts after warm-up | contexts last | growth | RssAnon after warm-up | RssAnon half-way | RssAnon last | growth, 2nd half | growth after warm-up | |"
	echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
} >"$OUT/leak.md"

# One TAP line and one table row for fn, from its checkpoints.
report() {
	local fn=$1 row secs rate cf cl cg rf rh rl rg rw verdict
	row=$(psql_q -AtF' ' -c "
		SELECT round(extract(epoch FROM l.at - z.at)::numeric, 1),
			round($CALLS / greatest(extract(epoch FROM l.at - z.at), 0.001)),
			f.contexts, l.contexts, l.contexts - f.contexts,
			f.rss_anon, h.rss_anon, l.rss_anon, l.rss_anon - h.rss_anon, l.rss_anon - f.rss_anon
		FROM leak.checkpoint z, leak.checkpoint f, leak.checkpoint h, leak.checkpoint l
		WHERE z.fn = '$fn' AND z.calls = 0 AND f.fn = '$fn' AND f.calls = $CHUNK
			AND h.fn = '$fn' AND h.calls = $((5 * CHUNK))
			AND l.fn = '$fn' AND l.calls = $CALLS")
	if [ -z "$row" ]; then
		tap_result "not ok" "$fn: the run failed (see $OUT/$fn.err)"
		echo "| $fn | | | | | | | | | | | | **run failed** |" >>"$OUT/leak.md"
		return
	fi
	read -r secs rate cf cl cg rf rh rl rg rw <<<"$row"
	verdict=ok
	if [ "$cg" -gt "$MAX_CONTEXTS" ] || [ "$rg" -gt "$MAX_RSS" ]; then
		verdict="not ok"
	fi
	tap_result "$verdict" "$fn: $CALLS calls in ${secs} s ($rate/s), contexts $(fmt_bytes "$cg"), RssAnon $(fmt_bytes "$rg") in the second half ($(fmt_bytes "$rw") after warm-up)"
	echo "| $fn | $CALLS | $secs | $rate | $cf | $cl | $(fmt_bytes "$cg") | $rf | $rh | $rl | $(fmt_bytes "$rg") | $(fmt_bytes "$rw") | ${verdict/not ok/**LEAK**} |" >>"$OUT/leak.md"
}

wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# The pool create_user / create_invite would leave, made in bulk: 80% of CALLS.
bulk_pool() {
	local what=$1
	setup "SELECT count(*) FROM generate_series(0, ($CALLS * 8 / 10 - 1) / 1000) b,
		LATERAL user_module.create_${what}s((SELECT jsonb_agg(jsonb_build_object('email', '${what:0:1}' || g || '@leak.example'
			$([ "$what" = user ] && echo ", 'first_name', 'First' || g, 'last_name', 'Last' || g % 100")))
			FROM generate_series(b * 1000 + 1, least(b * 1000 + 1000, $CALLS * 8 / 10)) g))"
}

run() {
	local fn=$1
	measured+=" $fn"
	if ! wanted "$fn"; then
		tap_skip "$fn" "not in UM_LEAK_ONLY"
		case $fn in
		create_user) bulk_pool user ;;
		create_invite) bulk_pool invite ;;
		esac
		return 0
	fi
	log "$fn: $CALLS calls"
	if ! measure "$fn" 2>"$OUT/$fn.err"; then
		sed 's/^/#   /' "$OUT/$fn.err"
	fi
	report "$fn"
}

# Keeps the outbox and the statistics from one run out of the next.
fresh() {
	psql_q -c "TRUNCATE user_module.event" -c "VACUUM ANALYZE user_module.\"user\", user_module.invite" >/dev/null
}

run control

# Users. create_user leaves its users (0.8 x CALLS) as the pool the others use.
run create_user
fresh
setup "CALL leak.fill_uid()"
for fn in retrieve_user list_users count_users update_user update_users soft_delete_users; do
	run $fn
	fresh
done
# pool users 1 .. 10 get live namesakes: restoring them is 23505
wanted restore_users && setup "SELECT user_module.create_user(upper(email)) FROM leak.uid WHERE n <= 10"
run restore_users
fresh
run delete_users
setup "TRUNCATE user_module.\"user\""
fresh
run create_users
setup "TRUNCATE user_module.\"user\""
fresh

# Invites, the same way.
run create_invite
fresh
setup "CALL leak.fill_vid()"
for fn in retrieve_invite list_invites count_invites update_invite update_invites refresh_invite_tokens; do
	run $fn
	fresh
done
# current tokens; one expired, one of an accepted invite
setup "INSERT INTO leak.tok SELECT v.n, i.token FROM leak.vid v JOIN user_module.list_invites() i USING (id)"
psql_q >/dev/null <<'SQL'
SET user_module.invite_valid_duration = '1s';
INSERT INTO leak.special SELECT 'expired', token FROM user_module.create_invite('expired@leak.example');
RESET user_module.invite_valid_duration;
INSERT INTO leak.special SELECT 'accepted', token FROM user_module.create_invite('accepted@leak.example');
SELECT user_module.accept_invite(token) FROM leak.special WHERE kind = 'accepted';
SELECT pg_sleep(1.5);
SQL
run validate_invite_token
fresh
run soft_delete_invites
fresh
wanted restore_invites && setup "SELECT user_module.create_invite(upper(email)) FROM leak.vid WHERE n <= 10"
run restore_invites
fresh
run delete_invites
setup "TRUNCATE user_module.invite"
fresh
run create_invites
setup "TRUNCATE user_module.invite, user_module.\"user\""
fresh
# a fresh invite for every accept_invite call, created in batches of 1,000
if wanted accept_invite; then
	log "accept_invite: creating $CALLS invites"
	setup "INSERT INTO leak.acc
	SELECT split_part(split_part(i.email, '@', 1), 'a', 2)::int, i.token
	FROM generate_series(0, ($CALLS - 1) / 1000) b,
		LATERAL user_module.create_invites((SELECT jsonb_agg(jsonb_build_object('email', 'a' || g || '@leak.example'))
			FROM generate_series(b * 1000 + 1, least(b * 1000 + 1000, $CALLS)) g)) i"
	fresh
fi
run accept_invite
setup "TRUNCATE user_module.invite, user_module.\"user\""
fresh

# Events: an outbox of 1,000 events that stays so (the procedures add what
# they claim or purge).
backlog() {
	setup "TRUNCATE user_module.event"
	setup "INSERT INTO user_module.event (name, entity_id, data)
	SELECT 'user.created', 'user_' || g, jsonb_build_object('id', 'user_' || g) FROM generate_series(1, 1000) g"
	setup "VACUUM ANALYZE user_module.event"
}
backlog
run claim_events
backlog
run purge_events

# Subscribers: registering (an upsert), removing, listing three.
run add_subscriber
setup "TRUNCATE user_module.subscriber"
run remove_subscriber
setup "TRUNCATE user_module.subscriber"
setup "SELECT user_module.add_subscriber(h::regprocedure)
	FROM unnest(ARRAY['leak.sub_a(user_module.event)', 'leak.sub_b(user_module.event)', 'leak.sub_c(user_module.event)']) h"
run list_subscribers
setup "TRUNCATE user_module.subscriber"

# A list of a whole table: peak memory while it runs (see the top).
{
	echo
	echo "## A list of a whole table: peak memory"
	echo
	echo "RssAnon sampled every 5 ms while the call ran, over the session's idle RssAnon just before"
	echo "it; at most $(fmt_bytes "$MAX_LIST_PEAK"). work_mem 4 MB."
	echo
	echo "| call | caller | rows | time (s) | idle RssAnon | peak RssAnon | growth | samples | |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|---|"
} >>"$OUT/leak.md"

# Lists all rows of user_module.<fn> as role, in a fresh session that a
# second session watches (leak.sample_peak, leak.watched).
list_peak() {
	local fn=$1 role=$2 app="um_leak_peak_$1" sampler
	psql_q -c "CALL leak.sample_peak('$fn', '$app')" >/dev/null 2>"$OUT/$fn.peak.err" &
	sampler=$!
	if ! PGAPPNAME=$app psql_q -o /dev/null -v fn="$fn" -v role="$role" 2>"$OUT/$fn.err" <<'SQL'
SET work_mem = '4MB';
CALL leak.watched(:'fn');
SELECT pg_catalog.clock_timestamp() AS t0 \gset
SET ROLE :role;
SELECT count(*) AS n FROM user_module.:fn() \gset
RESET ROLE;
UPDATE leak.list_peak SET rows = :n,
	seconds = round(extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz)::numeric, 2)
WHERE fn = :'fn';
SQL
	then
		sed 's/^/#   /' "$OUT/$fn.err"
	fi
	wait "$sampler" || sed 's/^/#   /' "$OUT/$fn.peak.err"
}

report_peak() {
	local fn=$1 role=$2 rows=$3 row r secs idle peak samples growth verdict
	row=$(psql_q -AtF' ' -c "SELECT rows, seconds, idle, peak, samples FROM leak.list_peak
		WHERE fn = '$fn' AND rows IS NOT NULL AND idle IS NOT NULL AND peak IS NOT NULL")
	if [ -z "$row" ]; then
		tap_result "not ok" "$fn(), whole table: the run failed (see $OUT/$fn.err)"
		echo "| $fn() | $role | | | | | | | **run failed** |" >>"$OUT/leak.md"
		return
	fi
	read -r r secs idle peak samples <<<"$row"
	growth=$((peak - idle))
	verdict=ok
	if [ "$r" -ne "$rows" ] || [ "$growth" -gt "$MAX_LIST_PEAK" ]; then
		verdict="not ok"
	fi
	tap_result "$verdict" "$fn(), whole table: $r rows (of $rows) as $role in $secs s, peak RssAnon $(fmt_bytes "$growth") over idle ($samples samples)"
	echo "| $fn() | $role | $r | $secs | $idle | $peak | $(fmt_bytes "$growth") | $samples | ${verdict/not ok/**TOO MUCH**} |" >>"$OUT/leak.md"
}

list_check() {
	local fn=$1 role=$2 rows=$3
	if ! wanted "${fn}_all"; then
		tap_skip "$fn(), whole table" "not in UM_LEAK_ONLY"
		return 0
	fi
	log "$fn(): $rows rows as $role"
	list_peak "$fn" "$role"
	report_peak "$fn" "$role" "$rows"
}

setup "TRUNCATE user_module.\"user\", user_module.invite, user_module.event"
setup "DO \$\$ BEGIN
	CREATE ROLE um_leak_reader NOLOGIN IN ROLE user_module_reader;
EXCEPTION WHEN duplicate_object THEN NULL; END \$\$"
setup "DO \$\$ BEGIN
	CREATE ROLE um_leak_admin NOLOGIN IN ROLE user_module_admin;
EXCEPTION WHEN duplicate_object THEN NULL; END \$\$"
if wanted list_users_all; then
	log "list_users(): creating $LIST_ROWS users"
	setup "SELECT count(*) FROM generate_series(0, ($LIST_ROWS - 1) / 10000) b,
		LATERAL user_module.create_users((SELECT jsonb_agg(jsonb_build_object('email', 'l' || g || '@leak.example',
			'first_name', 'First' || g, 'last_name', 'Last' || g % 100))
			FROM generate_series(b * 10000 + 1, least(b * 10000 + 10000, $LIST_ROWS)) g))"
	fresh
fi
list_check list_users um_leak_reader "$LIST_ROWS"
if wanted list_invites_all; then
	log "list_invites(): creating $((LIST_ROWS / 4)) invites"
	setup "SELECT count(*) FROM generate_series(0, ($LIST_ROWS / 4 - 1) / 10000) b,
		LATERAL user_module.create_invites((SELECT jsonb_agg(jsonb_build_object('email', 'li' || g || '@leak.example'))
			FROM generate_series(b * 10000 + 1, least(b * 10000 + 10000, $LIST_ROWS / 4)) g))"
	fresh
fi
list_check list_invites um_leak_admin $((LIST_ROWS / 4))
setup "TRUNCATE user_module.\"user\", user_module.invite, user_module.event"
setup "DROP ROLE um_leak_reader, um_leak_admin"

# Every checkpoint, for a closer look.
psql_q -c "\\copy (SELECT fn, calls, at, contexts, rss_anon FROM leak.checkpoint ORDER BY fn, calls) TO '$OUT/checkpoints.csv' CSV HEADER"
log "table: $OUT/leak.md, every checkpoint: $OUT/checkpoints.csv"

not_measured=
for fn in $(psql_q -At -f "$HERE/../lib/functions.sql"); do
	[[ " $measured $LEFT_OUT " == *" $fn "* ]] || not_measured+=" $fn"
done
if [ -z "$not_measured" ]; then
	tap_result ok "every function of the extension was measured (left out: $LEFT_OUT)"
else
	tap_result "not ok" "functions of the extension not measured:$not_measured"
fi
tap_done
