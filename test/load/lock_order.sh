#!/usr/bin/env bash
# test/load/lock_order.sh [SECONDS] [CLIENTS]: do the functions that change
# several rows in one call lock them in an order of their own (so that two
# calls naming the same rows in different orders cannot deadlock)? For each
# script in test/load/lock/, CLIENTS (8) clients call it for SECONDS (3) on
# the same 4 rows, named in a random order each time; a TAP line per script:
# ok when pgbench had no failed transaction and the database counted no
# deadlock. sorted_update_users.pgb names the rows in id order: the control.
# Runs on an already running cluster given by the PG* variables, in a
# database of its own, user_module_lock (dropped first if it exists).
set -euo pipefail

DURATION=${1:-3}
CLIENTS=${2:-8}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib/tap.sh"
DB=user_module_lock
PGBENCH=pgbench
[ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/pgbench" ] && PGBENCH="$PG_BIN/pgbench"
sql() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$DB" "$@"; }
deadlocks() { sleep 1; sql -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
# the load's setup, with 8 users and 8 invites: the scripts use k 1 .. 4
sql -v nu=8 -v ni=8 -f "$HERE/setup.sql" 2>/dev/null

for script in "$HERE"/lock/*.pgb; do
	name=$(basename "$script" .pgb)
	before=$(deadlocks)
	out=$("$PGBENCH" -n -M prepared -c "$CLIENTS" -j 2 -T "$DURATION" -f "$script" "$DB" 2>&1) && rc=0 || rc=$?
	after=$(deadlocks)
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
	processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	desc="$name: $CLIENTS clients x $DURATION s, ${processed:-?} transactions, ${failed:-?} failed, $((after - before)) deadlocks"
	if [ "$rc" -eq 0 ] && [ "${failed:-x}" = 0 ] && [ "$after" = "$before" ]; then
		tap_result ok "$desc"
	else
		tap_result "not ok" "$desc"
	fi
done
tap_done
