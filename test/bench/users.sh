#!/usr/bin/env bash
# test/bench/users.sh: user_module's user functions against raw SQL on
# identical tables, on one throwaway cluster, in one run, interleaving the two
# sides round by round. Prints a table of medians (min–max over rounds) and
# writes it as Markdown to test/bench/out/users.md.
#
#   test/bench/users.sh                 # default sizes, about 10 minutes
#   BENCH_QUICK=1 test/bench/users.sh   # small sizes, about 2 minutes
#
# Settings (environment), defaults in brackets, quick mode in parentheses:
#   BENCH_ROUNDS [3]            rounds per comparison (each side once per round)
#   BENCH_SECONDS [15] (3)      pgbench seconds per side and round
#   BENCH_RETRIEVE_USERS [100000] (20000)   users loaded for retrieve_user
#   BENCH_BULK_USERS [10000]    users per create_users call (bulk comparison)
#   BENCH_BULK_ROUNDS [5]       rounds of the bulk comparison
#   BENCH_MEM_USERS [100000] (20000)        users in the memory measurement
#   BENCH_LIST_USERS [1000000] (100000)     users loaded for list/count
#   BENCH_LOAD_CHUNK [50000]    users per create_users call while loading
#   BENCH_LIST_CALLS [200] (50) calls per side and round (list_users q, by email)
#   BENCH_COUNT_CALLS [50] (20) calls per side and round (count_users q)
#   UM_PORT [54351]             port of the throwaway cluster
source "$(dirname "$0")/lib.sh"
export UM_PORT=${UM_PORT:-54351}

if [ -n "${BENCH_QUICK:-}" ]; then
	q_seconds=3 q_retrieve=20000 q_mem=20000 q_list=100000 q_calls=50 q_count=20
else
	q_seconds=15 q_retrieve=100000 q_mem=100000 q_list=1000000 q_calls=200 q_count=50
fi
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-$q_seconds}
RETRIEVE_USERS=${BENCH_RETRIEVE_USERS:-$q_retrieve}
BULK_USERS=${BENCH_BULK_USERS:-10000}
BULK_ROUNDS=${BENCH_BULK_ROUNDS:-5}
MEM_USERS=${BENCH_MEM_USERS:-$q_mem}
LIST_USERS=${BENCH_LIST_USERS:-$q_list}
LOAD_CHUNK=${BENCH_LOAD_CHUNK:-50000}
LIST_CALLS=${BENCH_LIST_CALLS:-$q_calls}
COUNT_CALLS=${BENCH_COUNT_CALLS:-$q_count}
[ "$LIST_CALLS" -le 1000 ] && [ "$COUNT_CALLS" -le 1000 ] || { echo "at most 1000 calls" >&2; exit 2; }

bench_start

truncate_side() {
	if [ "$1" = um ]; then
		sql -c 'TRUNCATE user_module."user", user_module.event' -c CHECKPOINT
	else
		sql -c 'TRUNCATE raw."user", raw.event' -c CHECKPOINT
	fi
}

"${PSQL[@]}" -f "$BENCH_DIR/setup.sql"

#############################################################################
# 1. create_user, one per transaction, vs a prepared INSERT ... RETURNING *
#############################################################################
for r in $(seq 1 "$ROUNDS"); do
	for side in $(sides_for_round "$r"); do
		truncate_side "$side"
		res=$(pgbench_run "create_user_$side.pgb" -D i=0 -D tag="c$r.")
		read -r tps cpu <<<"$res"
		record create_user "$side" "$r" "$tps"
		record create_user_cpu "$side" "$r" "$cpu"
		um_log "create_user round $r $side: $tps tps, backend CPU $cpu µs per call"
	done
done

#############################################################################
# 2. retrieve_user by id vs SELECT * ... WHERE id = $1
#############################################################################
um_log "loading $RETRIEVE_USERS users for retrieve_user"
truncate_side um
truncate_side raw
for lo in $(seq 1 "$LOAD_CHUNK" "$RETRIEVE_USERS"); do
	cnt=$((RETRIEVE_USERS - lo + 1))
	[ "$cnt" -gt "$LOAD_CHUNK" ] && cnt=$LOAD_CHUNK
	sql -c "SELECT count(*) FROM user_module.create_users(bench.users_json($lo, $cnt, 'r', true))" >/dev/null
done
sql -c 'INSERT INTO raw."user" SELECT * FROM user_module."user"' \
	-c 'VACUUM ANALYZE user_module."user"' -c 'VACUUM ANALYZE raw."user"'
for r in $(seq 1 "$ROUNDS"); do
	for side in $(sides_for_round "$r"); do
		res=$(pgbench_run "retrieve_user_$side.pgb" -D n="$RETRIEVE_USERS")
		read -r tps cpu <<<"$res"
		record retrieve_user "$side" "$r" "$tps"
		record retrieve_user_cpu "$side" "$r" "$cpu"
		um_log "retrieve_user round $r $side: $tps tps, backend CPU $cpu µs per call"
	done
done

#############################################################################
# 3. create_users of BULK_USERS in one call vs one INSERT ... SELECT FROM
#    unnest(...) of the same users plus their user.created events
#############################################################################
sql -c "INSERT INTO bench.bulk_input
		SELECT bench.users_json(1, $BULK_USERS, 'b'), array_agg(bench.uid(n) ORDER BY n),
			   array_agg(bench.first_name(n) ORDER BY n), array_agg(bench.last_name(n) ORDER BY n),
			   array_agg(bench.email(n, 'b') ORDER BY n)
		  FROM generate_series(1, $BULK_USERS) AS n" \
	-c "CREATE TABLE bench.bulk_warmup AS
		SELECT bench.users_json(1, 10, 'w') AS users, array_agg('user_w' || lpad(n::text, 25, '0')) AS ids,
			   array_agg(bench.first_name(n)) AS first_names, array_agg(bench.last_name(n)) AS last_names,
			   array_agg(bench.email(n, 'w')) AS emails
		  FROM generate_series(1, 10) AS n"

bulk_statement_um="SELECT count(*) FROM user_module.create_users((SELECT users FROM bench.bulk_input))"
bulk_statement_raw="WITH u AS (
	INSERT INTO raw.\"user\" (id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at)
	SELECT u.id, u.first_name, u.last_name, u.email, NULL, NULL, now(), now()
	  FROM bench.bulk_input AS b,
		   unnest(b.ids, b.first_names, b.last_names, b.emails) AS u(id, first_name, last_name, email)
	RETURNING id)
INSERT INTO raw.event (name, entity_id, data)
SELECT 'user.created', u.id, jsonb_build_object('id', u.id) FROM u"
bulk_warmup_um="${bulk_statement_um//bench.bulk_input/bench.bulk_warmup}"
bulk_warmup_raw="${bulk_statement_raw//bench.bulk_input/bench.bulk_warmup}"

# Wall time of BEGIN; <statement>; COMMIT in one session, after a warm-up
# call (rolled back) that prepares the session's plans.
bulk_run() {
	local side=$1 statement warmup
	if [ "$side" = um ]; then statement=$bulk_statement_um warmup=$bulk_warmup_um
	else statement=$bulk_statement_raw warmup=$bulk_warmup_raw; fi
	"${PSQL[@]}" -At <<SQL
BEGIN;
$warmup \g /dev/null
ROLLBACK;
SELECT clock_timestamp() AS t0 \gset
BEGIN;
$statement \g /dev/null
COMMIT;
SELECT round($BULK_USERS / extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)) AS rows_per_s;
SQL
}

for r in $(seq 1 "$BULK_ROUNDS"); do
	for side in $(sides_for_round "$r"); do
		truncate_side "$side"
		rps=$(bulk_run "$side")
		record create_users_bulk "$side" "$r" "$rps"
		um_log "create_users $BULK_USERS round $r $side: $rps rows/s"
	done
done
n_um=$(sql -c 'SELECT count(*) FROM user_module."user"')
n_raw=$(sql -c 'SELECT count(*) FROM raw."user"')
[ "$n_um" = "$BULK_USERS" ] && [ "$n_raw" = "$BULK_USERS" ] \
	|| { echo "bulk: expected $BULK_USERS rows, got $n_um (user_module) and $n_raw (raw)" >&2; exit 1; }

#############################################################################
# 5. Backend memory while create_users takes MEM_USERS users in one call
#############################################################################
um_log "memory: create_users of $MEM_USERS users in one call"
truncate_side um
sql -c "CREATE TABLE bench.mem_input AS SELECT bench.users_json(1, $MEM_USERS, 'm') AS users"
mem_out=$(mktemp)
PGAPPNAME=bench_mem "${PSQL[@]}" -At >"$mem_out" <<SQL &
SELECT pg_sleep(1) \g /dev/null
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM user_module.create_users((SELECT users FROM bench.mem_input));
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
SELECT pg_sleep(0.5) \g /dev/null
SQL
mem_psql=$!
mem_pid=""
for _ in $(seq 1 50); do
	mem_pid=$(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench_mem'")
	[ -n "$mem_pid" ] && break
	sleep 0.02
done
[ -n "$mem_pid" ] || { echo "memory: backend not found" >&2; exit 1; }
# kB: VmHWM is the peak resident set (shared buffers it touched included);
# RssAnon is private memory (palloc'd), polled for its peak.
read_status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$mem_pid/status" 2>/dev/null || true; }
sleep 0.5
hwm_before=$(read_status VmHWM)
anon_before=$(read_status RssAnon)
hwm=$hwm_before anon_peak=$anon_before
while kill -0 "$mem_psql" 2>/dev/null; do
	h=$(read_status VmHWM)
	a=$(read_status RssAnon)
	[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
	[ -n "$a" ] && [ "$a" -gt "$anon_peak" ] && anon_peak=$a
	sleep 0.01
done
wait "$mem_psql"
mem_rows=$(sed -n 1p "$mem_out")
mem_ms=$(sed -n 2p "$mem_out")
rm -f "$mem_out"
[ "$mem_rows" = "$MEM_USERS" ] || { echo "memory: create_users returned $mem_rows rows" >&2; exit 1; }
record mem_hwm um 1 "$(awk -v k="$hwm" 'BEGIN {printf "%.1f", k / 1024}')"
record mem_anon um 1 "$(awk -v k="$anon_peak" 'BEGIN {printf "%.1f", k / 1024}')"
record mem_rows_per_s um 1 "$(awk -v n="$MEM_USERS" -v ms="$mem_ms" 'BEGIN {printf "%.0f", n / ms * 1000}')"
um_log "memory: VmHWM $((hwm_before / 1024)) -> $((hwm / 1024)) MB, RssAnon peak $((anon_peak / 1024)) MB (before $((anon_before / 1024)) MB), $mem_ms ms"
sql -c 'DROP TABLE bench.mem_input'

#############################################################################
# 4. list_users / count_users over LIST_USERS users
#############################################################################
um_log "loading $LIST_USERS users with create_users, $LOAD_CHUNK per call"
truncate_side um
load_start=$(date +%s.%N)
for lo in $(seq 1 "$LOAD_CHUNK" "$LIST_USERS"); do
	cnt=$((LIST_USERS - lo + 1))
	[ "$cnt" -gt "$LOAD_CHUNK" ] && cnt=$LOAD_CHUNK
	sql -c "SELECT count(*) FROM user_module.create_users(bench.users_json($lo, $cnt, 'l'))" >/dev/null
done
load_end=$(date +%s.%N)
record load_rows_per_s um 1 "$(awk -v n="$LIST_USERS" -v a="$load_start" -v b="$load_end" 'BEGIN {printf "%.0f", n / (b - a)}')"
sql -c 'TRUNCATE user_module.event' -c 'VACUUM ANALYZE user_module."user"' -c CHECKPOINT
"${PSQL[@]}" -v users="$LIST_USERS" -f "$BENCH_DIR/list.sql"

for r in $(seq 1 "$ROUNDS"); do
	for side in $(sides_for_round "$r"); do
		# round 0: a few untimed calls per statement first, so that the
		# timed calls find the session's plans and caches warm
		sql -c "SELECT bench.run_calls(op, '$side', 0, 5) FROM unnest('{list_q,list_email,count_q}'::text[]) AS op" \
			-c "SELECT bench.run_calls('list_q', '$side', $r, $LIST_CALLS)" \
			-c "SELECT bench.run_calls('list_email', '$side', $r, $LIST_CALLS)" \
			-c "SELECT bench.run_calls('count_q', '$side', $r, $COUNT_CALLS)" >/dev/null
	done
	um_log "list/count round $r done"
done
# Per round: the median and the 95th percentile of its calls.
sql <<'SQL'
DELETE FROM bench.latency WHERE round = 0;
INSERT INTO bench.result (op, side, round, value)
SELECT op || suffix, side, round, v
  FROM (SELECT op, side, round,
			   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
			   percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95
		  FROM bench.latency GROUP BY op, side, round) s,
	   LATERAL (VALUES ('', p50), ('_p95', p95)) AS x(suffix, v);
SQL
# Both sides must have found the same rows.
mismatch=$(sql -c "SELECT count(*) FROM bench.latency u JOIN bench.latency w
	USING (op, round, k) WHERE u.side = 'um' AND w.side = 'raw' AND u.n <> w.n")
[ "$mismatch" = 0 ] || { echo "list/count: user_module and raw disagree on $mismatch calls" >&2; exit 1; }

# The five slowest q queries (median of the rounds), for the p95 rows.
slowest=$(sql -F ' | ' <<'SQL'
SELECT rpad('"' || q.q || '"', 12), lpad(max(u.n)::text, 2) || ' rows',
	   'user_module ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY u.ms)::numeric, 2) || ' ms',
	   'raw ' || round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY w.ms)
						FROM bench.latency w
						WHERE w.op = 'list_q' AND w.side = 'raw' AND w.k = u.k)::numeric, 2) || ' ms'
  FROM bench.latency u JOIN bench.query q USING (k)
 WHERE u.op = 'list_q' AND u.side = 'um'
 GROUP BY u.k, q.q ORDER BY percentile_cont(0.5) WITHIN GROUP (ORDER BY u.ms) DESC LIMIT 5;
SQL
)
slowest_k=$(sql -c "SELECT k FROM bench.latency WHERE op = 'list_q' AND side = 'um'
					GROUP BY k ORDER BY percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) DESC LIMIT 1")

# The plan of the statement list_users runs for q, as the C code runs it
# (auto_explain of the nested statement), and the same query written by hand.
search_expr="(COALESCE(first_name, ''::text) || ' '::text || COALESCE(last_name, ''::text) || ' '::text || email)"
explain_q() { # k: one query of bench.query
	local q p1 p2
	q=$(sql -c "SELECT q FROM bench.query WHERE k = $1")
	p1=$(sql -c "SELECT p1 FROM bench.query WHERE k = $1")
	p2=$(sql -c "SELECT p2 FROM bench.query WHERE k = $1")
	"${PSQL[@]}" 2>&1 <<SQL | sed -e 's/^NOTICE:  duration: /  duration: /' | awk '
		# auto_explain also logs the outer statement: leave it out
		/^  duration: / { held = $0; next }
		held != "" && /^Query Text: SELECT count\(\*\) FROM user_module.list_users/ { skip = 1; held = ""; next }
		held != "" { print held; held = ""; skip = 0 }
		/^---/ { skip = 0 }
		!skip'
\echo '--- list_users(''{"q": "$q"}'', 0, 20): the statement it runs (auto_explain, nested)'
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = notice;
SET client_min_messages = notice;
SELECT count(*) FROM user_module.list_users('{"q": "$q"}', 0, 20) \g /dev/null
SET auto_explain.log_min_duration = -1;
\echo '--- the same query by hand: EXPLAIN (ANALYZE, BUFFERS)'
EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM user_module."user"
 WHERE deleted_at IS NULL AND ($search_expr ~~* '$p1') AND ($search_expr ~~* '$p2')
 ORDER BY id ASC OFFSET 0 LIMIT 20;
SQL
}
plans="$(explain_q 1)"
[ "$slowest_k" != 1 ] && plans="$plans
$(explain_q "$slowest_k")"

#############################################################################
# Report
#############################################################################
# op | label | kind (tps: higher is better, ratio um/raw; ms: lower is better,
# ratio raw/um; abs: one figure) | unit | target ratio or bound | test
ops=(
	"create_user|create_user, 1 per transaction|tps|tps|≥ 0.8×|ratio>=0.8"
	"create_user_cpu|create_user: backend CPU per call|ms|µs|—|"
	"retrieve_user|retrieve_user by id ($RETRIEVE_USERS users)|tps|tps|≥ 0.8×|ratio>=0.8"
	"retrieve_user_cpu|retrieve_user: backend CPU per call|ms|µs|—|"
	"create_users_bulk|create_users, $BULK_USERS in one call (+ events)|tps|rows/s|≥ 0.5×|ratio>=0.5"
	"list_q|list_users q (2 words), take 20, median|ms|ms|< 10 ms|um<10"
	"list_q_p95|list_users q (2 words), take 20, p95|ms|ms|—|"
	"count_q|count_users q (2 words), median|ms|ms|—|"
	"count_q_p95|count_users q (2 words), p95|ms|ms|—|"
	"list_email|list_users by email, median|ms|ms|—|"
	"list_email_p95|list_users by email, p95|ms|ms|—|"
	"mem_hwm|create_users $MEM_USERS: backend peak RSS (VmHWM)|abs|MB|< 300 MB|um<300"
	"mem_anon|create_users $MEM_USERS: peak private memory (RssAnon)|abs|MB|—|"
	"mem_rows_per_s|create_users $MEM_USERS in one call|abs|rows/s|—|"
	"load_rows_per_s|load of $LIST_USERS users, $LOAD_CHUNK per call|abs|rows/s|—|"
)

bench_rows "${ops[@]}"

notes=(
	"Backend CPU per call: the pgbench backend's CPU time (/proc/<pid>/schedstat) over its transactions;"
	"steadier than tps on a shared VM, and without the waits for the client and for fsync."
	"VmHWM counts the shared buffers the backend touched (shared_buffers $(sql -c 'SHOW shared_buffers'));"
	"RssAnon is the backend's private memory, i.e. what the call allocated."
	"The q tail (p95, slowest queries) depends on ANALYZE's random sample: where the planner expects"
	"many matches it walks user_pkey in id order and filters, which is slow when the matches are few;"
	"raw SQL gets the same plans, so compare the two sides of one run, not p95 across runs."
)
header=$(bench_header "$ROUNDS rounds (bulk $BULK_ROUNDS), ${SECONDS_PER_RUN}s pgbench runs (-M prepared -c 1 -j 1)")

echo
echo "$header"
echo
bench_print_table
echo
echo "Cells: median [min–max] over rounds; ratio: user_module speed / raw speed, median of per-round ratios [min–max]."
echo "Latencies are measured inside the server around each call (no client round trip)."
printf '%s\n' "${notes[@]}"
echo
echo "Slowest list_users q queries (median over rounds):"
echo "$slowest"
echo
echo "$plans"

mkdir -p "$OUT_DIR"
{
	echo "# user_module users benchmark"
	echo
	echo "$header"
	echo
	bench_markdown_table
	echo
	echo "Cells: median [min–max] over rounds; ratio: user_module speed / raw speed, median of the"
	echo "per-round ratios [min–max]. Latencies are timed inside the server around each call."
	printf '%s\n' "${notes[@]}"
	echo
	echo "## Slowest list_users q queries (median over rounds)"
	echo
	echo '```'
	echo "$slowest"
	echo '```'
	echo
	echo "## Plans of the list_users q statement: a typical query, then the slowest"
	echo
	echo '```'
	echo "$plans"
	echo '```'
} >"$OUT_DIR/users.md"
um_log "written $OUT_DIR/users.md"
