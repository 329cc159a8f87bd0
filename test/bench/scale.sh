#!/usr/bin/env bash
# test/bench/scale.sh: how the latency of user_module's operations grows with
# the data. Loads 10,000, then 100,000, then 1,000,000 users and as many
# invites (growing the same tables, through create_users and create_invites),
# and at each size times every operation inside the server, call by call, on
# random keys of the loaded data (fixed seeds). Writes to test/bench/out:
#   scale.md         median and p95 per operation and size, the growth of the
#                    median from the smallest to the largest size (target: at
#                    most 3×), and whether a plan at the largest size scans a
#                    table sequentially
#   scale.png        median latency against size, one line per operation
#   scale-plans.txt  the plans of the statements each operation runs at the
#                    largest size (auto_explain, ANALYZE and BUFFERS)
#
#   test/bench/scale.sh                 # about 4 minutes
#   BENCH_QUICK=1 test/bench/scale.sh   # 1,000 / 10,000 / 50,000, 1 round, under a minute
#
# Settings (environment), defaults in brackets, quick mode in parentheses:
#   BENCH_SIZES ["10000 100000 1000000"] ("1000 10000 50000")  increasing
#   BENCH_ROUNDS [3] (1)          rounds per size; figures: median of the rounds' medians
#   BENCH_CALLS [500] (100)       timed calls per operation, size and round
#   BENCH_REFRESH_CALLS [20] (5)  timed refresh_invite_tokens calls of 1,000 ids
#   BENCH_LOAD_CHUNK [50000]      users (and invites) per create_users (create_invites) call
#   BENCH_SHARED_BUFFERS [2GB]    enough for every table and index at 1,000,000
#   UM_PORT [54370]               port of the throwaway cluster
source "$(dirname "$0")/lib.sh"
export UM_PORT=${UM_PORT:-54370}

if [ -n "${BENCH_QUICK:-}" ]; then
	q_sizes="1000 10000 50000" q_rounds=1 q_calls=100 q_refresh=5
else
	q_sizes="10000 100000 1000000" q_rounds=3 q_calls=500 q_refresh=20
fi
SIZES=${BENCH_SIZES:-$q_sizes}
ROUNDS=${BENCH_ROUNDS:-$q_rounds}
CALLS=${BENCH_CALLS:-$q_calls}
REFRESH_CALLS=${BENCH_REFRESH_CALLS:-$q_refresh}
LOAD_CHUNK=${BENCH_LOAD_CHUNK:-50000}
SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-2GB}
WARMUP_CALLS=5

# op|label: the rows of the report, in its order. scale_run times
# soft_delete_users and restore_users in one run, soft_delete_restore.
OPS=(
	"create_user|create_user"
	"retrieve_user|retrieve_user by id"
	"list_users_q2|list_users, q of 2 words (\"anna smi\"), take 20"
	"list_users_q1|list_users, q of 1 word (a last name), take 20"
	"count_users_email|count_users by email"
	"count_users_q2|count_users, q of 2 words"
	"update_user|update_user (metadata)"
	"soft_delete_users|soft_delete_users of 1 id"
	"restore_users|restore_users of 1 id (after its soft delete)"
	"create_invite|create_invite"
	"validate_invite_token|validate_invite_token"
	"refresh_1|refresh_invite_tokens of 1 id"
	"refresh_1000|refresh_invite_tokens of 1,000 ids, per id"
	"accept_invite|accept_invite"
	"list_invites_email|list_invites by email"
)
RUNS=(create_user retrieve_user list_users_q2 list_users_q1 count_users_email count_users_q2
	update_user soft_delete_restore create_invite validate_invite_token refresh_1 refresh_1000
	accept_invite list_invites_email)
calls_of() { if [ "$1" = refresh_1000 ]; then echo "$REFRESH_CALLS"; else echo "$CALLS"; fi; }

prev=0
for size in $SIZES; do
	[ "$size" -gt "$prev" ] || { echo "BENCH_SIZES must increase" >&2; exit 2; }
	[ "$size" -ge "$CALLS" ] || { echo "BENCH_CALLS > size $size: keys are distinct" >&2; exit 2; }
	prev=$size
done
small=${SIZES%% *}
large=${SIZES##* }

um_require_command gnuplot gnuplot-nox
export UM_EXTRA_CONF="shared_buffers = $SHARED_BUFFERS"
bench_start
"${PSQL[@]}" -f "$BENCH_DIR/setup.sql" -f "$BENCH_DIR/invites_setup.sql" -f "$BENCH_DIR/scale_setup.sql"
ord=0
for spec in "${OPS[@]}"; do
	ord=$((ord + 1))
	sql -v op="${spec%%|*}" -v label="${spec#*|}" -v ord="$ord" \
		<<<"INSERT INTO bench.scale_op VALUES (:ord, :'op', :'label')"
done

#############################################################################
# Grow to each size, then time every operation, ROUNDS times
#############################################################################
loaded=0
load_notes=()
for size in $SIZES; do
	um_log "growing to $size users and $size invites, $LOAD_CHUNK per call"
	t0=$(date +%s.%N)
	sql -c "CALL bench.scale_grow($((loaded + 1)), $((size - loaded)), $LOAD_CHUNK)"
	t1=$(date +%s.%N)
	# an outbox with the load's events would be consumed in production
	sql -c 'TRUNCATE user_module.event' -c 'VACUUM ANALYZE user_module."user"' \
		-c 'VACUUM ANALYZE user_module.invite' -c CHECKPOINT
	load_notes+=("$(awk -v from="$loaded" -v to="$size" -v a="$t0" -v b="$t1" \
		'BEGIN {printf "%d → %d in %.0f s (%.0f rows/s)", from, to, b - a, 2 * (to - from) / (b - a)}')")
	loaded=$size
	for r in $(seq 1 "$ROUNDS"); do
		# one session per round; before each operation's timed calls, a few
		# untimed ones (round 0) warm the session's plans and caches
		calls=()
		for op in "${RUNS[@]}"; do
			calls+=(-c "CALL bench.scale_run('$op', $size, 0, $WARMUP_CALLS)"
				-c "CALL bench.scale_run('$op', $size, $r, $(calls_of "$op"))")
		done
		sql "${calls[@]}"
		um_log "size $size, round $r done"
	done
done
n_check=$(sql -c "SELECT (SELECT count(*) FROM user_module.\"user\" WHERE deleted_at IS NULL),
						 (SELECT count(*) FROM user_module.invite WHERE deleted_at IS NULL)")
[ "$n_check" = "$large|$large" ] || { echo "after the runs: live users|invites $n_check, want $large|$large" >&2; exit 1; }

#############################################################################
# Plans at the largest size: one call of each operation with auto_explain
# logging every statement the call runs, taken from the server log
#############################################################################
um_log "plans at $large"
mkdir -p "$OUT_DIR"
log="$UM_TMP/server.log"
log_offset=$(stat -c %s "$log")
explain_calls=()
for op in "${RUNS[@]}"; do
	explain_calls+=(-c "CALL bench.scale_run('$op', $large, -1, 1, true)")
done
pid=$(sql -c "LOAD 'auto_explain'" -c 'SET auto_explain.log_analyze = on' -c 'SET auto_explain.log_buffers = on' \
	-c 'SET auto_explain.log_nested_statements = on' -c 'SELECT pg_backend_pid()' "${explain_calls[@]}")
# Our session's LOG entries (not their CONTEXT lines, nor other sessions'),
# without the line prefix (log_line_prefix '%m [%p] ', the default); each
# operation's plans under a "=== op" line.
plans=$(tail -c +$((log_offset + 1)) "$log" | awk -v pid="[$pid]" '
	/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / {
		keep = index($0, " " pid " LOG:  ") > 0
		if (!keep) next
		sub(/^[^[]*\[[0-9]+\] LOG:  /, "")
		if (sub(/^scale plans: /, "")) { print ""; print "=== " $0; next }
	}
	keep { sub(/^\t/, ""); print }')
for op in "${RUNS[@]}"; do
	grep -qx "=== $op" <<<"$plans" || { echo "no plans of $op in the server log" >&2; exit 1; }
done
{
	echo "Plans of the statements each operation runs, at $large users and $large invites:"
	echo "auto_explain (log_analyze, log_buffers, log_nested_statements) of one call each;"
	echo "the statements the function runs come first, the call itself last. retrieve_user and"
	echo "validate_invite_token run no statement: they read the row through the primary key in C"
	echo "(FetchEntity, systable_beginscan on user_pkey or invite_pkey), so only the call shows, with"
	echo "its buffers."
	echo "$plans"
} >"$OUT_DIR/scale-plans.txt.tmp"
# the ops whose plans scan a table sequentially, each with its plans
seq_scans=$(awk '/^=== / {op = $2} /Seq Scan/ {print op}' <<<"$plans" | sort -u | paste -sd ' ')
seq_scan_plans=$(awk -v ops=" $seq_scans " '
	/^=== / {show = index(ops, " " $2 " ") > 0} show' <<<"$plans")

#############################################################################
# Report
#############################################################################
sql <<'SQL'
CREATE TABLE bench.scale_stat AS
WITH per_round AS (
	SELECT op, size, round, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
		   percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95
	  FROM bench.scale_latency WHERE round > 0 GROUP BY op, size, round)
SELECT op, size, count(*) AS rounds,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY p50) AS med, min(p50) AS med_lo, max(p50) AS med_hi,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY p95) AS p95, min(p95) AS p95_lo, max(p95) AS p95_hi
  FROM per_round GROUP BY op, size;
CREATE TABLE bench.scale_growth AS
SELECT o.ord, o.op, b.med / s.med AS growth
  FROM bench.scale_op o
  JOIN bench.scale_stat s ON s.op = o.op AND s.size = (SELECT min(size) FROM bench.scale_stat)
  JOIN bench.scale_stat b ON b.op = o.op AND b.size = (SELECT max(size) FROM bench.scale_stat);
SQL
size_label() { sql -c "SELECT to_char($1, 'FM9,999,999')"; }
# table_rows med|p95: one Markdown row per operation, a cell per size
table_rows() {
	sql <<SQL
SELECT '| ' || o.label || ' | '
	   || string_agg(bench.scale_fmt(s.$1) || CASE WHEN s.rounds > 1
			THEN ' [' || bench.scale_fmt(s.$1_lo) || '–' || bench.scale_fmt(s.$1_hi) || ']' ELSE '' END,
			' | ' ORDER BY s.size)
	   || CASE WHEN '$1' = 'med' THEN ' | ' || round(g.growth::numeric, 2) || '× | '
			   || CASE WHEN g.growth <= 3 THEN 'yes' ELSE 'NO' END ELSE '' END || ' |'
  FROM bench.scale_op o JOIN bench.scale_stat s USING (op) JOIN bench.scale_growth g USING (op)
 GROUP BY o.ord, o.label, g.growth ORDER BY o.ord
SQL
}
size_cols="" size_rule=""
for size in $SIZES; do
	size_cols="$size_cols $(size_label "$size") |"
	size_rule="$size_rule---:|"
done
med_table=$(
	echo "| operation |$size_cols growth $(size_label "$large") / $(size_label "$small") | ≤ 3×? |"
	echo "|---|$size_rule---:|---|"
	table_rows med
)
p95_table=$(
	echo "| operation |$size_cols"
	echo "|---|$size_rule"
	table_rows p95
)
missed=$(sql -c "SELECT string_agg(op || ' ' || round(growth::numeric, 2) || '×', ', ' ORDER BY ord)
				   FROM bench.scale_growth WHERE growth > 3")
if [ -z "$missed" ]; then
	target="met: no operation's median grows more than 3× from $(size_label "$small") to $(size_label "$large") rows."
else
	target="MISSED by $missed (median at $(size_label "$large") over median at $(size_label "$small"))."
fi
if [ -z "$seq_scans" ]; then
	seq_note="No plan at $(size_label "$large") contains a Seq Scan (test/bench/out/scale-plans.txt)."
else
	seq_note="Seq Scan in the plans of: $seq_scans (their plans below; all in test/bench/out/scale-plans.txt)."
fi

# the chart: median against size, a column per operation
chart_data=$(mktemp)
sql -F ' ' >"$chart_data" <<'SQL'
SELECT 'size', string_agg(op, ' ' ORDER BY ord) FROM bench.scale_op;
SELECT s.size, string_agg(s.med::text, ' ' ORDER BY o.ord)
  FROM bench.scale_stat s JOIN bench.scale_op o USING (op) GROUP BY s.size ORDER BY s.size;
SQL
gnuplot <<GP
set terminal pngcairo noenhanced size 1280,800 font ",10"
set output "$OUT_DIR/scale.png.tmp"
set title "user_module: median latency per call against table size (as many users as invites)"
set logscale x 10
set logscale y 10
set xrange [$small / 1.5 : $large * 1.5]
set xtics (${SIZES// /, })
set format x "%.0s%c"
set xlabel "users and invites loaded (log)"
set ylabel "median latency per call, ms (log)"
set grid
set key outside right top
# the default palette has 8 colours: the operations after the 8th are dashed
plot for [c=2:$((${#OPS[@]} + 1))] "$chart_data" using 1:c with linespoints \
	linecolor (c - 1) pointtype (c - 1) dashtype 1 + (c > 9) title columnheader(c)
GP
rm -f "$chart_data"

header=$(bench_header "sizes $(echo "$SIZES" | tr ' ' '/'), rounds: $ROUNDS, calls per operation and round: $CALLS (refresh of 1,000 ids: $REFRESH_CALLS), shared_buffers $SHARED_BUFFERS")
load_text=$(printf '%s; ' "${load_notes[@]}")
notes=(
	"Cells: ms per call, timed inside the server (clock_timestamp() around the call, in a"
	"PL/pgSQL loop; each call then commits, untimed); the median over the rounds of each round's"
	"median (or 95th percentile) [min–max over the rounds]. Keys: distinct random users or invites"
	"of the loaded data, fixed seeds. refresh of 1,000 ids: the call's time divided by 1,000."
	"Users and invites n = 1 .. size were loaded by create_users and create_invites, then"
	"VACUUM ANALYZE. Creates, accepts and soft deletes are undone after their timed calls (an"
	"accepted invite is replaced by a new one of the same email), so that every size keeps its"
	"number of live rows. The data has no soft-deleted rows. Each run of an operation's calls starts"
	"with the pending lists of the trigram indexes flushed (gin_clean_pending_list): a q search also"
	"scans every entry that the writes since the last vacuum left there (GIN fastupdate, up to"
	"gin_pending_list_limit, 4MB), which would make its latency follow the writes of the runs"
	"before it and autovacuum's timing rather than the size."
	"retrieve_user and validate_invite_token run no SQL statement (they read through the primary"
	"key in C), so scale-plans.txt shows only their call, with its buffers."
	"Load (create_users and create_invites, $LOAD_CHUNK per call): ${load_text%; }."
)
report=$(
	echo "$header"
	echo
	echo "Target: $target"
	echo
	echo "$seq_note"
	echo
	echo "## Median latency (ms)"
	echo
	echo "$med_table"
	echo
	echo "## 95th percentile (ms)"
	echo
	echo "$p95_table"
	echo
	printf '%s\n' "${notes[@]}"
)
echo
echo "$report"

{
	echo "# user_module at scale"
	echo
	echo "$report"
	echo
	echo "Chart: scale.png. Plans at $(size_label "$large"): scale-plans.txt."
	if [ -n "$seq_scans" ]; then
		echo
		echo "## Plans with a Seq Scan"
		echo
		echo '```'
		echo "$seq_scan_plans"
		echo '```'
	fi
} >"$OUT_DIR/scale.md"
mv "$OUT_DIR/scale-plans.txt.tmp" "$OUT_DIR/scale-plans.txt"
mv "$OUT_DIR/scale.png.tmp" "$OUT_DIR/scale.png"
um_log "written $OUT_DIR/scale.md, scale.png and scale-plans.txt"
