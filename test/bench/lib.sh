# test/bench/lib.sh: what the benchmarks (users.sh, invites.sh, compare.sh) share.
# Source it from a script in test/bench, then call bench_start. It gives:
#   sql, record, sides_for_round, pgbench_run, check_installed_library,
#   bench_rows (the table of medians and ratios), bench_header and the
#   printers of BENCH_ROWS.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR="$BENCH_DIR/out"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
sql() { "${PSQL[@]}" -At "$@"; }

# Other worktrees on this machine `make install` too. Measure only the library
# this checkout built: compare the code the postmaster preloaded, and at the
# end the installed file, with ours (code and data sections only: builds from
# different directories differ in their debug information).
lib_digest() {
	local tmp
	tmp=$(mktemp)
	objcopy -O binary -j .text -j .rodata -j .data "$1" "$tmp" && md5sum <"$tmp" | cut -c1-16
	rm -f "$tmp"
}

check_installed_library() {
	if [ "$(lib_digest "$installed_so")" != "$built_digest" ]; then
		um_log "WARNING: $installed_so is no longer this checkout's build (another make install?)"
		return 1
	fi
}

# Builds, starts the throwaway cluster, and checks that it runs this
# checkout's library and install script. Sets started, PGBENCH.
bench_start() {
	local postmaster loaded_map
	started=$(date +%s)
	um_prepare
	built_so="$UM_ROOT/user_module.so"
	um_start_cluster
	PGBENCH="$PG_BIN/pgbench"
	built_digest=$(lib_digest "$built_so")
	postmaster=$(head -1 "$UM_DATA/postmaster.pid")
	loaded_map=$(awk '/user_module\.so/ {print $1; exit}' "/proc/$postmaster/maps")
	if [ "$(lib_digest "/proc/$postmaster/map_files/$loaded_map")" != "$built_digest" ]; then
		echo "the cluster preloaded a user_module.so other than this checkout's build" \
			"(another make install in between?); run again" >&2
		exit 1
	fi
	installed_so="$(pg_config --pkglibdir)/user_module.so"
	cmp -s "$UM_ROOT/user_module--0.1.0.sql" "$(pg_config --sharedir)/extension/user_module--0.1.0.sql" \
		|| { echo "the installed install script is not this checkout's; run again" >&2; exit 1; }
	load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
	um_log "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB; load average $load_at_start"
}

# record OP SIDE ROUND VALUE
record() {
	sql -c "INSERT INTO bench.result (op, side, round, value) VALUES ('$1', '$2', $3, $4)"
}

# Both sides once per round; who goes first alternates.
sides_for_round() { if [ $(($1 % 2)) -eq 1 ]; then echo "um raw"; else echo "raw um"; fi; }

# pgbench_run SCRIPT [pgbench options...]: one client, prepared statements;
# prints "tps cpu", cpu being the backend's CPU time per transaction in µs
# (from /proc/<pid>/schedstat, read until the backend exits): steadier than
# tps on a shared virtual machine, and free of the client's and fsync's waits.
# Runs SECONDS_PER_RUN seconds, unless the options give -T or -t (transactions).
pgbench_run() {
	local script=$1 out bp pid last=0 v n tps length=(-T "$SECONDS_PER_RUN")
	shift
	for v in "$@"; do case "$v" in -t | -T) length=() ;; esac; done
	out=$(mktemp)
	PGAPPNAME=bench_pgbench "$PGBENCH" -n -M prepared -c 1 -j 1 "${length[@]}" "$@" \
		-f "$BENCH_DIR/$script" >"$out" 2>&1 &
	bp=$!
	sleep 0.5	# pgbench's first, short connection is gone by then
	pid=$(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench_pgbench'
				  ORDER BY backend_start DESC LIMIT 1")
	[ -n "$pid" ] || { echo "pgbench's backend not found" >&2; kill "$bp"; return 1; }
	while kill -0 "$bp" 2>/dev/null; do
		v=$(cut -d' ' -f1 "/proc/$pid/schedstat" 2>/dev/null) && [ -n "$v" ] && last=$v
		sleep 0.1
	done
	if ! wait "$bp" || grep -q '^number of failed transactions: [1-9]' "$out"; then
		cat "$out" >&2
		rm -f "$out"
		return 1
	fi
	n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
	rm -f "$out"
	awk -v tps="$tps" -v ns="$last" -v n="$n" 'BEGIN {printf "%s %.2f\n", tps, ns / n / 1000}'
}

fmt_num() { awk -v v="$1" 'BEGIN { if (v == "") print "—"; else if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'; }

# bench_rows SPEC...: one table row per spec, into the array BENCH_ROWS.
# A spec is "op|label|kind|unit|target|test": kind tps (higher is better,
# ratio um/raw), ms (lower is better, ratio raw/um) or abs (one figure, no
# ratio); test ratio>=X, um<X or um>=X decides "met?".
# Cells: median [min–max] over rounds; the ratio is the median of the
# per-round ratios [min–max], rounds paired by number.
bench_rows() {
	local stats spec op label kind unit target test line um_med ratio rlo rhi ratio_cell met
	stats=$(sql -F '|' <<'SQL'
WITH s AS (
	SELECT op, side, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS med,
		   min(value) AS lo, max(value) AS hi, count(*) AS n
	  FROM bench.result GROUP BY op, side),
r AS (
	SELECT u.op, u.round, u.value AS um, w.value AS raw
	  FROM bench.result u JOIN bench.result w USING (op, round)
	 WHERE u.side = 'um' AND w.side = 'raw')
SELECT s.op, s.side, s.med, s.lo, s.hi, s.n,
	   (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY r.um / r.raw) FROM r WHERE r.op = s.op),
	   (SELECT min(r.um / r.raw) FROM r WHERE r.op = s.op),
	   (SELECT max(r.um / r.raw) FROM r WHERE r.op = s.op)
  FROM s ORDER BY 1, 2;
SQL
)
	cell() { # op side -> "median [min–max]"
		local line med lo hi n
		line=$(printf '%s\n' "$stats" | awk -F'|' -v o="$1" -v s="$2" '$1 == o && $2 == s')
		[ -n "$line" ] || { echo "—"; return; }
		IFS='|' read -r _ _ med lo hi n _ _ _ <<<"$line"
		if [ "$n" -gt 1 ]; then echo "$(fmt_num "$med") [$(fmt_num "$lo")–$(fmt_num "$hi")]"
		else fmt_num "$med"; fi
	}
	BENCH_ROWS=()
	for spec in "$@"; do
		IFS='|' read -r op label kind unit target test <<<"$spec"
		line=$(printf '%s\n' "$stats" | awk -F'|' -v o="$op" '$1 == o && $2 == "um"')
		um_med="" ratio="" rlo="" rhi=""
		[ -n "$line" ] && IFS='|' read -r _ _ um_med _ _ _ ratio rlo rhi <<<"$line"
		ratio_cell="—"
		if [ "$kind" = tps ] && [ -n "$ratio" ]; then
			ratio_cell="$(fmt_num "$ratio")× [$(fmt_num "$rlo")–$(fmt_num "$rhi")]"
		elif [ "$kind" = ms ] && [ -n "$ratio" ]; then
			# lower is better: speed ratio is raw/um
			ratio_cell="$(awk -v a="$ratio" -v l="$rlo" -v h="$rhi" 'BEGIN {printf "%.2f× [%.2f–%.2f]", 1/a, 1/h, 1/l}')"
			ratio=$(awk -v a="$ratio" 'BEGIN {print 1/a}')
		fi
		met="—"
		case "$test" in
			ratio\>=*) met=$(awk -v r="$ratio" -v t="${test#ratio>=}" 'BEGIN {print (r != "" && r >= t) ? "yes" : "NO"}') ;;
			um\<*) met=$(awk -v v="$um_med" -v t="${test#um<}" 'BEGIN {print (v != "" && v < t) ? "yes" : "NO"}') ;;
			um\>=*) met=$(awk -v v="$um_med" -v t="${test#um>=}" 'BEGIN {print (v != "" && v >= t) ? "yes" : "NO"}') ;;
		esac
		BENCH_ROWS+=("$label ($unit)|$(cell "$op" um)|$(cell "$op" raw)|$ratio_cell|$target|$met")
	done
}

BENCH_COLUMNS="operation|user_module|raw SQL|ratio (speed)|target|met?"
# The Markdown delimiter row: one cell per column of BENCH_COLUMNS.
BENCH_ALIGN="|---|---:|---:|---:|---|---|"

# bench_header WHAT: the line that says what ran where (WHAT: rounds, run lengths).
bench_header() {
	local elapsed commit so_note
	elapsed=$(($(date +%s) - started))
	commit=$(git -C "$UM_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	so_note="library: this checkout's build"
	check_installed_library || so_note="WARNING: the installed library changed during the run"
	echo "user_module $commit, PostgreSQL $(postgres --version | awk '{print $3}'), $(nproc) cores, \
$(free -g | awk '/^Mem:/ {print $2}') GB RAM, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); \
$1, load average at start $load_at_start, at end $(cut -d' ' -f1-3 /proc/loadavg), $elapsed s in all; $so_note"
}

# The table of BENCH_ROWS, aligned for a terminal, or as Markdown.
bench_print_table() {
	{
		echo "$BENCH_COLUMNS"
		printf '%s\n' "${BENCH_ROWS[@]}"
	} | column -t -s '|' -o ' | '
}
bench_markdown_table() {
	local row
	echo "| ${BENCH_COLUMNS//|/ | } |"
	echo "$BENCH_ALIGN"
	for row in "${BENCH_ROWS[@]}"; do echo "| ${row//|/ | } |"; done
}
