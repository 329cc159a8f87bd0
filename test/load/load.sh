#!/usr/bin/env bash
# test/load/load.sh [SECONDS] [CLIENTS]: a mixed pgbench load (default 60 s,
# 8 clients) on an already running cluster given by the PG* variables
# (PGUSER a superuser), in a database of its own, user_module_load, dropped
# first if it exists. Then it checks the invariants in SQL and prints a table
# (ops, tps, p50, p99 per script and overall, errors by SQLSTATE) and TAP
# lines; the table also goes to ${UM_LOAD_OUT:-test/load/out}/load.md with
# pgbench's output and per-transaction logs. Exit status 0 only when every
# check passed.
#
# Environment: UM_LOAD_USERS (100000) and UM_LOAD_INVITES (20000), the setup;
# UM_LOAD_HOT (1000), the hot set of users update_users picks its pairs from;
# UM_SERVER_LOG, the server's log file, to look for "deadlock detected" in what
# the run wrote to it (skipped if unset); PG_BIN, where pgbench is, else PATH.
set -euo pipefail

DURATION=${1:-60}
CLIENTS=${2:-8}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${UM_LOAD_OUT:-$ROOT/test/load/out}
DB=user_module_load
NU=${UM_LOAD_USERS:-100000}
NI=${UM_LOAD_INVITES:-20000}
HOT=${UM_LOAD_HOT:-1000}
PGBENCH=pgbench
[ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/pgbench" ] && PGBENCH="$PG_BIN/pgbench"
THREADS=2
[ "$CLIENTS" -lt 2 ] && THREADS=1

source "$ROOT/test/lib/tap.sh"

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
sql() { psql_db -At "$@"; }

# The mix, "script weight". Reads outweigh writes about 3 to 2, as in an
# application's back office: looking users up by id (sessions, profiles) is
# the commonest call, then the invite page checking its link and the admin's
# searches and counts; among writes, profile edits lead, sign-ups and invites
# follow, an invitee accepts an invite about as often as one is sent, and
# resends and deletions are rare. The outbox worker polls often enough to
# keep up (up to 100 events a claim, about 50 events per 100 transactions),
# so the outbox stays short, as it should in production.
MIX=(
	"retrieve_user 20"
	"search_q 10"
	"search_filter 6"
	"count_users 6"
	"list_invites 3"
	"validate_invite 12"
	"update_user 10"
	"update_users 3"
	"create_user 7"
	"create_invite 5"
	"refresh_invites 3"
	"accept_invite 5"
	"soft_delete_users 2"
	"claim_events 8"
)

mkdir -p "$OUT"
rm -f "$OUT"/pgbench_log.* "$OUT/pgbench.out" "$OUT/pgbench.err" "$OUT/load.md"

log "setup: $NU users, $NI invites in database $DB (not timed)"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
setup_started=$(date +%s)
if ! psql_db -v nu="$NU" -v ni="$NI" -f "$HERE/setup.sql" 2>"$OUT/setup.err"; then
	cat "$OUT/setup.err" >&2
	echo "setup failed" >&2
	exit 1
fi
sql -c "CREATE TABLE load.script (no int PRIMARY KEY, name text NOT NULL, weight int NOT NULL)"
args=()
i=0
for entry in "${MIX[@]}"; do
	read -r name weight <<<"$entry"
	args+=(-f "$HERE/$name.pgb@$weight")
	sql -c "INSERT INTO load.script VALUES ($i, '$name', $weight)"
	i=$((i + 1))
done
log "setup took $(($(date +%s) - setup_started)) s"

deadlocks_before=$(sql -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
log_offset=0
if [ -n "${UM_SERVER_LOG:-}" ]; then
	log_offset=$(stat -c %s "$UM_SERVER_LOG")
fi

log "pgbench: $CLIENTS clients, $THREADS threads, $DURATION s"
set +e
"$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$DURATION" -r \
	-D nu="$NU" -D ni="$NI" -D hot="$HOT" -D n=0 \
	--log --log-prefix="$OUT/pgbench_log" "${args[@]}" "$DB" >"$OUT/pgbench.out" 2>"$OUT/pgbench.err"
pgbench_rc=$?
set -e
sed -n '/^transaction type/,/^SQL script 1/p' "$OUT/pgbench.out" | sed '$d' >&2
if [ -s "$OUT/pgbench.err" ]; then
	grep -v '^pgbench: error: ERROR:  prepared statement "P_0" does not exist' "$OUT/pgbench.err" | head -20 >&2 || true
fi

# the per-transaction logs: client, transaction, latency (µs, or "failed"),
# script, epoch seconds, µs
cat "$OUT"/pgbench_log.* | sql -c "COPY load.txlog FROM STDIN (DELIMITER ' ')"
sleep 1	# the backends' statistics reach pg_stat_database when they exit
deadlocks_after=$(sql -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")

tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$OUT/pgbench.out")
tps=${tps:-0}
failed_tx=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$OUT/pgbench.out")
failed_tx=${failed_tx:-unknown}
aborted=$(grep -c 'aborted in command' "$OUT/pgbench.err" || true)

# ---------------------------------------------------------------- the table
sql -c "CREATE TABLE load.stats AS
WITH t AS (
	SELECT script, latency::bigint / 1000.0 AS ms FROM load.txlog WHERE latency ~ '^[0-9]+$'),
total AS (SELECT count(*) AS n FROM load.txlog),
e AS (
	SELECT op, string_agg(sqlstate || ' x ' || n, ', ' ORDER BY sqlstate) AS errors
	  FROM (SELECT op, sqlstate, count(*) AS n FROM load.errors GROUP BY 1, 2) x GROUP BY op)
SELECT s.no, s.name, s.weight, count(t.ms) AS ops,
	   round(count(t.ms) * $tps / nullif((SELECT n FROM total), 0), 1) AS tps,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY t.ms)::numeric, 2) AS p50,
	   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY t.ms)::numeric, 2) AS p99,
	   concat_ws(', ', (SELECT errors FROM e WHERE e.op = s.name),
			 (SELECT 'failed x ' || count(*) FROM load.txlog f
			   WHERE f.script = s.no AND f.latency !~ '^[0-9]+$' HAVING count(*) > 0)) AS errors
  FROM load.script s LEFT JOIN t ON t.script = s.no
 GROUP BY s.no, s.name, s.weight
UNION ALL
SELECT 1000, 'all', (SELECT sum(weight) FROM load.script), count(*), round($tps, 1),
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
	   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
	   concat_ws(', ', (SELECT string_agg(sqlstate || ' x ' || n, ', ' ORDER BY sqlstate)
						  FROM (SELECT sqlstate, count(*) AS n FROM load.errors GROUP BY 1) x),
			 (SELECT 'failed x ' || count(*) FROM load.txlog f
			   WHERE f.latency !~ '^[0-9]+$' HAVING count(*) > 0))
  FROM t"
p99=$(sql -c "SELECT p99 FROM load.stats WHERE name = 'all'")

{
	echo "# user_module mixed load: $CLIENTS clients x $DURATION s"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
		"$NU users and $NI invites before the run; pgbench -M prepared -j $THREADS."
	echo "Latencies in ms, from pgbench's per-transaction log (successful transactions only); errors are the"
	echo "expected ones the wrappers caught, and \"failed\" the transactions pgbench counted as failed (a deadlock)."
	echo
	echo "| script | weight | ops | tps | p50 ms | p99 ms | errors (SQLSTATE x count) |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	sql -F '|' -c "SELECT '', name, weight, ops, tps, p50, p99, errors, '' FROM load.stats ORDER BY no"
} >"$OUT/load.md"
psql_db -P footer=off -c "SELECT name AS script, weight, ops, tps, p50 AS \"p50 ms\", p99 AS \"p99 ms\",
	errors AS \"errors (SQLSTATE x count)\" FROM load.stats ORDER BY no"

# ---------------------------------------------------------------- the checks
# A TAP line that load.md lists too.
tap() { # tap "ok"|"not ok" DESCRIPTION
	tap_result "$1" "$2"
	echo "- $1: $2" >>"$OUT/load.checks"
}
: >"$OUT/load.checks"
check() { # check DESCRIPTION SQL: ok when the query returns t
	local r
	r=$(sql -c "$2" 2>&1) || true
	if [ "$r" = t ]; then tap ok "$1"; else tap "not ok" "$1${r:+ ($r)}"; fi
}

ok=ok
{ [ "$pgbench_rc" -eq 0 ] && [ "$aborted" -eq 0 ] && [ "$failed_tx" = 0 ]; } || ok="not ok"
tap "$ok" "pgbench: $CLIENTS clients x $DURATION s, exit $pgbench_rc, $aborted aborted, $failed_tx failed, $(printf '%.0f' "$tps") tps, p99 $p99 ms"

errors=$(sql -c "SELECT coalesce(string_agg(sqlstate || ' x ' || n, ', ' ORDER BY sqlstate), 'none')
				   FROM (SELECT sqlstate, count(*) AS n FROM load.errors GROUP BY 1) x")
check "only expected errors: $errors" \
	"SELECT NOT EXISTS (SELECT FROM load.errors
					 WHERE (op, sqlstate) NOT IN (('create_user', '23505'), ('create_invite', '23505'),
												  ('accept_invite', '22U03')))"

check "one live user per email" \
	"SELECT count(*) = count(DISTINCT lower(email)) FROM user_module.\"user\" WHERE deleted_at IS NULL"
check "one live invite per email" \
	"SELECT count(*) = count(DISTINCT lower(email)) FROM user_module.invite WHERE deleted_at IS NULL"
accepted=$(sql -c "SELECT count(*) FROM user_module.invite WHERE accepted")
check "each of the $accepted accepted invites is soft-deleted and has a live user with its email" \
	"SELECT NOT EXISTS (SELECT FROM user_module.invite i WHERE accepted
					 AND (deleted_at IS NULL OR NOT EXISTS (
						 SELECT FROM user_module.\"user\" u
						  WHERE lower(u.email) = lower(i.email) AND u.deleted_at IS NULL)))"
check "only invites of the accept pool were accepted; the validate and refresh pools are live" \
	"SELECT NOT EXISTS (SELECT FROM user_module.invite i LEFT JOIN load.inv p USING (id)
					 WHERE (i.accepted AND (p.k IS NULL OR p.k <= $NI * 3 / 5))
						OR (p.k <= $NI * 3 / 5 AND i.deleted_at IS NOT NULL))"

# What the clients counted against what the server committed: every call of
# create_user, create_invite and accept_invite either made its row or failed
# with the expected SQLSTATE.
check "every create_user, create_invite and accept_invite made its row or caught its error" \
	"WITH c AS (SELECT s.name, count(*) AS n FROM load.txlog t JOIN load.script s ON s.no = t.script GROUP BY 1),
		  e AS (SELECT op, count(*) AS n FROM load.errors GROUP BY 1)
	 SELECT coalesce((SELECT n FROM c WHERE name = 'create_user'), 0)
			= (SELECT count(*) FROM user_module.\"user\") - $NU - $accepted
			  + coalesce((SELECT n FROM e WHERE op = 'create_user'), 0)
		AND coalesce((SELECT n FROM c WHERE name = 'create_invite'), 0)
			= (SELECT count(*) FROM user_module.invite) - $NI
			  + coalesce((SELECT n FROM e WHERE op = 'create_invite'), 0)
		AND coalesce((SELECT n FROM c WHERE name = 'accept_invite'), 0)
			= $accepted + coalesce((SELECT n FROM e WHERE op = 'accept_invite'), 0)"

# The outbox: every event ever written is either claimed (recorded in the
# claim's own transaction) or still in user_module.event, once; and the events
# are exactly what the rows say happened: one user.created per user, one
# invite.created per invite, one invite.accepted per accepted invite, one
# user.deleted per soft-deleted user (the load never deletes twice: already
# deleted ids are skipped), one user.updated per update (each update adds a
# metadata key of its own, "u<client>_<n>", and update_users names two
# different users), one invite.resent per row refresh_invite_tokens returned.
events=$(sql -c "SELECT (SELECT count(*) FROM load.claimed) || ' claimed + ' || (SELECT count(*) FROM user_module.event) || ' in the outbox'")
sql -c "CREATE VIEW load.all_events AS
	SELECT id, name, entity_id FROM load.claimed UNION ALL SELECT id, name, entity_id FROM user_module.event"
check "outbox: every event claimed or still there, once ($events)" \
	"SELECT count(*) = count(DISTINCT id) FROM load.all_events"
check "outbox: no events but the load's kinds" \
	"SELECT NOT EXISTS (SELECT FROM load.all_events WHERE name NOT IN ('user.created', 'user.updated',
		'user.deleted', 'invite.created', 'invite.resent', 'invite.accepted'))"
per_entity() { # per_entity DESCRIPTION EVENT TABLE EXPECTED-PER-ROW
	check "outbox: $1" \
		"WITH e AS (SELECT entity_id AS id, count(*) AS n FROM load.all_events WHERE name = '$2' GROUP BY 1)
		 SELECT NOT EXISTS (SELECT FROM $3 r FULL JOIN e USING (id)
							 WHERE coalesce(e.n, 0) <> coalesce($4, -1))"
}
per_entity "one user.created per user" user.created 'user_module."user"' '(CASE WHEN r.id IS NOT NULL THEN 1 END)'
per_entity "one invite.created per invite" invite.created user_module.invite '(CASE WHEN r.id IS NOT NULL THEN 1 END)'
per_entity "one invite.accepted per accepted invite" invite.accepted user_module.invite \
	'(CASE WHEN r.accepted THEN 1 WHEN r.id IS NOT NULL THEN 0 END)'
per_entity "one user.deleted per soft-deleted user" user.deleted 'user_module."user"' \
	'(CASE WHEN r.deleted_at IS NOT NULL THEN 1 WHEN r.id IS NOT NULL THEN 0 END)'
per_entity "one user.updated per update" user.updated 'user_module."user"' \
	"(SELECT count(*) FROM jsonb_object_keys(coalesce(r.metadata, '{}')) k WHERE k ~ '^u[0-9]+_[0-9]+\$')"
per_entity "one invite.resent per refreshed row" invite.resent \
	'(SELECT i.id, (SELECT count(*) FROM load.resent x WHERE x.id = i.id) AS n FROM user_module.invite i)' \
	'r.n'

ok=ok
[ "$deadlocks_after" = "$deadlocks_before" ] || ok="not ok"
tap "$ok" "no deadlock: pg_stat_database.deadlocks $deadlocks_before -> $deadlocks_after"
if [ -n "${UM_SERVER_LOG:-}" ]; then
	found=$(tail -c +$((log_offset + 1)) "$UM_SERVER_LOG" | grep -c 'deadlock detected' || true)
	ok=ok
	[ "$found" -eq 0 ] || ok="not ok"
	tap "$ok" "no \"deadlock detected\" in the server log during the run ($found found)"
fi

{
	echo
	echo "## Checks"
	echo
	cat "$OUT/load.checks"
} >>"$OUT/load.md"
rm -f "$OUT/load.checks"
log "table: $OUT/load.md; pgbench's output and logs: $OUT"
tap_done
