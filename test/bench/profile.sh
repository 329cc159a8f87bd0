#!/usr/bin/env bash
# test/bench/profile.sh: where the time of one invite function goes. Starts a
# throwaway cluster like invites.sh, loads invites, runs the function from
# pgbench (one client, prepared) and records its backend with perf record -g,
# then prints the function's callees as a tree with µs per call.
#
#   test/bench/profile.sh validate|create|refresh|accept [DEPTH]
#
# Settings: BENCH_VALIDATE_INVITES [100000] invites loaded; PROFILE_SECONDS
# [15] seconds recorded; UM_PORT [54357]. Needs perf (Debian: linux-perf).
# The cluster is stopped at the end; the perf data stays in test/bench/out/.
source "$(dirname "$0")/lib.sh"
export UM_PORT=${UM_PORT:-54357}
export UM_EXTRA_CONF=${UM_EXTRA_CONF-"shared_buffers = 512MB"}
op=${1:?usage: profile.sh validate|create|refresh|accept [DEPTH]}
depth=${2:-3}
INVITES=${BENCH_VALIDATE_INVITES:-100000}
PROFILE_SECONDS=${PROFILE_SECONDS:-15}
case "$op" in
	validate) script=validate_invite_um.pgb opts=(-D n="$INVITES") root=um_validate_invite_token ;;
	create) script=create_invite_um.pgb opts=(-D i=0 -D tag=p.) root=um_create_invite ;;
	refresh) script=refresh_um.pgb opts=() root=um_refresh_invite_tokens ;;
	accept) script=accept_invite_um.pgb opts=(-D k=0) root=um_accept_invite ;;
	*) echo "unknown operation $op" >&2; exit 2 ;;
esac
um_require_command perf linux-perf

bench_start
"${PSQL[@]}" -f "$BENCH_DIR/setup.sql" -f "$BENCH_DIR/invites_setup.sql"
sql -c "CALL bench.load_invites('bench.token', 1, $INVITES, 'v', 10000)"
if [ "$op" = accept ]; then
	# enough fresh invites for the whole run at a few thousand per second
	sql -c "CALL bench.load_invites('bench.accept_token', 1, $(((PROFILE_SECONDS + 10) * 4000)), 'a', 10000)"
fi
if [ "$op" = refresh ]; then
	sql -c "INSERT INTO bench.refresh_ids
			SELECT r, (SELECT array_agg(id ORDER BY h)
						 FROM (SELECT id, hashint8(k::bigint * 1000 + r) AS h
								 FROM bench.token ORDER BY 2 LIMIT 1000) s)
			  FROM generate_series(1, 100) AS r"
fi
sql -c 'TRUNCATE user_module.event' -c 'VACUUM ANALYZE user_module.invite' -c 'VACUUM ANALYZE bench.token' \
	-c 'VACUUM ANALYZE bench.accept_token' -c CHECKPOINT

mkdir -p "$OUT_DIR"
work=$(mktemp -d)
data="$OUT_DIR/profile-$op.perf"
(cd "$work" && PGAPPNAME=bench_profile "$PGBENCH" -n -M prepared -c 1 -j 1 -T $((PROFILE_SECONDS + 6)) -l \
	"${opts[@]}" -f "$BENCH_DIR/$script" >"$work/pgbench.out" 2>&1) &
bp=$!
sleep 3
pid=$(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench_profile'
			  ORDER BY backend_start DESC LIMIT 1")
[ -n "$pid" ] || { echo "pgbench's backend not found" >&2; cat "$work/pgbench.out" >&2; exit 1; }
t0=$(date +%s.%N)
perf record -F 4999 -g -p "$pid" -o "$data" -- sleep "$PROFILE_SECONDS" >/dev/null 2>&1
t1=$(date +%s.%N)
wait "$bp" || { cat "$work/pgbench.out" >&2; exit 1; }
# transactions that ended while perf recorded (pgbench -l: epoch seconds, µs in fields 5, 6)
tx=$(cat "$work"/pgbench_log.* | awk -v a="$t0" -v b="$t1" '{t = $5 + $6 / 1e6} t >= a && t <= b {n++} END {print n + 0}')
um_log "$tx calls while perf recorded ($(grep '^tps' "$work/pgbench.out"))"
rm -rf "$work"
python3 "$BENCH_DIR/perf_tree.py" "$data" "$root" "$depth" "$tx"
um_log "perf data: $data (perf report -i $data)"
