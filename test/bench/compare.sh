#!/usr/bin/env bash
# test/bench/compare.sh: user_module's functions, the raw-SQL floor and
# Medusa's own module (@medusajs/user, through the peer harness in
# shared/peers/medusa), on one throwaway cluster, in one run. Every side runs
# the peer's phases with the same sizes and data (SEED) from the same client
# (Node.js, node-postgres over TCP, one connection, sequential awaits):
# compare.js for user_module and raw SQL, the peer's bench-medusa.js for
# Medusa. Rounds are interleaved: round r runs the sides in rotated order.
# Prints a table of medians (min–max over rounds), writes it as Markdown to
# test/bench/out/compare.md and a bar chart to test/bench/out/compare.png.
#
#   test/bench/compare.sh                 # the peer's sizes, 3 rounds, about 4 minutes
#   BENCH_QUICK=1 test/bench/compare.sh   # small sizes, 1 round, about 30 seconds
# (the first run also installs Medusa's npm packages: a minute more)
#
# Settings (environment), defaults in brackets, quick mode in parentheses:
#   BENCH_ROUNDS [3] (1)       rounds (each side once per round)
#   BENCH_MEDUSA [1]           0: leave Medusa's side out (it needs about 270 MB
#                              of npm packages); if they cannot be installed or
#                              the module fails, the run goes on without it
#   BENCH_MEDUSA_PEER [../shared/peers/medusa, beside the repository]  the
#                              peer harness (read-only: it is copied)
#   BENCH_MEDUSA_DIR [/tmp/user_module-medusa-peer]  where the peer is copied
#                              and npm-installed; kept for the next run
#   SEED [12345]               the peer's data generator's seed
#   N_CREATE_ONE [2000] (200), N_CREATE_BULK [10000] (2000), N_RETRIEVE [5000]
#   (500), N_LIST_Q [1000] (100), N_LIST_COUNT [2000] (200), N_UPDATE [2000]
#   (200), N_INVITES [2000] (400), N_VALIDATE [5000] (500), N_REFRESH [1000]
#   (100), N_DELETE [1000] (100): the peer's phase sizes; N_ACCEPT [2000] (200)
#                              invites accepted (user_module and raw SQL only)
#   UM_PORT [54360]            port of the throwaway cluster
#   UM_EXTRA_CONF ["shared_buffers = 512MB"]  extra postgresql.conf lines
source "$(dirname "$0")/lib.sh"
export UM_PORT=${UM_PORT:-54360}
# the peer reads pg_stat_statements to split its time between Node.js and the server
export UM_EXTRA_CONF="shared_preload_libraries = 'user_module,pg_stat_statements'
${UM_EXTRA_CONF-shared_buffers = 512MB}"

# size: full (the peer's default) and quick
for spec in N_CREATE_ONE:2000:200 N_CREATE_BULK:10000:2000 N_RETRIEVE:5000:500 N_LIST_Q:1000:100 \
	N_LIST_COUNT:2000:200 N_UPDATE:2000:200 N_INVITES:2000:400 N_VALIDATE:5000:500 N_REFRESH:1000:100 \
	N_DELETE:1000:100 N_ACCEPT:2000:200; do
	IFS=: read -r name full quick <<<"$spec"
	[ -n "${BENCH_QUICK:-}" ] && full=$quick
	export "$name=${!name:-$full}"
done
[ -n "${BENCH_QUICK:-}" ] && q_rounds=1 || q_rounds=3
ROUNDS=${BENCH_ROUNDS:-$q_rounds}
export SEED=${SEED:-12345}
MEDUSA=${BENCH_MEDUSA:-1}
MEDUSA_DIR=${BENCH_MEDUSA_DIR:-/tmp/user_module-medusa-peer}
MEDUSA_PEER=${BENCH_MEDUSA_PEER:-$UM_ROOT/../shared/peers/medusa}
# the peer refreshes ids from the second N_REFRESH invites and soft-deletes
# four slices of N_DELETE bulk-created users after the first 500
[ "$N_INVITES" -ge $((2 * N_REFRESH)) ] || { echo "N_INVITES < 2 × N_REFRESH" >&2; exit 2; }
[ "$N_ACCEPT" -le "$N_INVITES" ] || { echo "N_ACCEPT > N_INVITES" >&2; exit 2; }
[ "$N_CREATE_BULK" -ge $((500 + 4 * N_DELETE)) ] || { echo "N_CREATE_BULK < 500 + 4 × N_DELETE" >&2; exit 2; }

RUN_DIR="$OUT_DIR/compare"
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
medusa_note="" medusa_version=""

# medusa_off REASON: the run goes on without Medusa's side, and says why.
medusa_off() {
	MEDUSA=0
	medusa_note="Medusa's side left out: $1"
	um_log "$medusa_note"
}

# The peer's folder is read-only: copy it, and npm-install it unless the copy
# already holds the packages of this package.json.
medusa_install() {
	[ -f "$MEDUSA_PEER/bench-medusa.js" ] || { medusa_off "no peer harness in $MEDUSA_PEER"; return 0; }
	if [ ! -d "$MEDUSA_DIR/node_modules" ] || ! cmp -s "$MEDUSA_PEER/package.json" "$MEDUSA_DIR/package.json"; then
		um_log "installing the Medusa peer's npm packages into $MEDUSA_DIR (about 270 MB)"
		rm -rf "$MEDUSA_DIR/node_modules" "$MEDUSA_DIR/package.json"
		if ! { mkdir -p "$MEDUSA_DIR" && install -m 644 "$MEDUSA_PEER/package.json" "$MEDUSA_DIR/" \
			&& (cd "$MEDUSA_DIR" && npm install --no-audit --no-fund >npm.log 2>&1); }; then
			rm -f "$MEDUSA_DIR/package.json"	# install again next time
			medusa_off "its npm packages could not be installed (see $MEDUSA_DIR/npm.log)"
			return 0
		fi
	fi
	install -m 644 "$MEDUSA_PEER"/*.js "$MEDUSA_DIR/"
	medusa_version=$(node -p "require('$MEDUSA_DIR/node_modules/@medusajs/user/package.json').version")
}

# medusa_node SCRIPT [ARGS...]: runs one of the peer's scripts against its
# database on our cluster, at most an hour (a hung module must not hang the run).
medusa_node() {
	(cd "$MEDUSA_DIR" && DB_URL="postgres://postgres@127.0.0.1:$PGPORT/medusa_peer" PGDATA_DIR="$UM_DATA" \
		MEDUSA_DISABLE_TELEMETRY=1 timeout 3600 node "$@")
}

um_require_command node nodejs npm
um_require_command npm npm
um_require_command gnuplot gnuplot-nox
um_log "installing compare.js's packages (npm ci)"
(cd "$BENCH_DIR" && npm ci --no-audit --no-fund --silent >/dev/null)
if [ "$MEDUSA" = 1 ]; then medusa_install; else medusa_off "BENCH_MEDUSA=$MEDUSA"; fi

bench_start
"${PSQL[@]}" -f "$BENCH_DIR/setup.sql" -f "$BENCH_DIR/invites_setup.sql"
# compare.js connects as Medusa's module does: TCP to 127.0.0.1
export DB_URL="postgres://postgres@127.0.0.1:$PGPORT/$PGDATABASE"
if [ "$MEDUSA" = 1 ]; then
	sql -c 'CREATE DATABASE medusa_peer'
	sql -d medusa_peer -c 'CREATE EXTENSION pg_stat_statements'
	medusa_node migrate.js >"$RUN_DIR/medusa-migrate.log" 2>&1 \
		|| medusa_off "its migrations failed (see $RUN_DIR/medusa-migrate.log)"
fi

sides=(um raw)
[ "$MEDUSA" = 1 ] && sides+=(medusa)
for r in $(seq 1 "$ROUNDS"); do
	k=$(((r - 1) % ${#sides[@]}))
	for side in "${sides[@]:k}" "${sides[@]:0:k}"; do
		um_log "round $r: $side"
		sql -c CHECKPOINT	# no checkpoint left over from the previous side
		out="$RUN_DIR/$side-r$r.json"
		if [ "$side" = medusa ]; then
			# a failed round leaves a gap in Medusa's column, not in the run
			medusa_node bench-medusa.js "$out" 2>&1 | tee "$RUN_DIR/medusa-r$r.log" \
				|| { um_log "Medusa's round $r failed (see $RUN_DIR/medusa-r$r.log)"; rm -f "$out"
					 medusa_note="${medusa_note:+$medusa_note; }Medusa's round $r failed"; }
		else
			node "$BENCH_DIR/compare.js" "$side" "$out"
		fi
	done
done

#############################################################################
# Report
#############################################################################
mapfile -t BENCH_ROWS < <(node "$BENCH_DIR/compare_report.js" "$RUN_DIR" "$RUN_DIR/plot.dat")
BENCH_COLUMNS="operation|user_module ops/s|raw SQL ops/s|Medusa ops/s|user_module median / p95 ms|raw median / p95 ms|Medusa median / p95 ms|um/raw|um/Medusa|target|met? (raw, Medusa)"
BENCH_ALIGN="|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
sizes="N_CREATE_ONE=$N_CREATE_ONE N_CREATE_BULK=$N_CREATE_BULK N_RETRIEVE=$N_RETRIEVE N_LIST_Q=$N_LIST_Q \
N_LIST_COUNT=$N_LIST_COUNT N_UPDATE=$N_UPDATE N_INVITES=$N_INVITES N_VALIDATE=$N_VALIDATE N_REFRESH=$N_REFRESH \
N_DELETE=$N_DELETE N_ACCEPT=$N_ACCEPT"
header=$(bench_header "$(date -u '+%Y-%m-%d %H:%M UTC'), Node.js $(node --version), $ROUNDS rounds (sides in rotated order), SEED $SEED")
notes=(
	"Cells: median [min–max] over rounds; ops/s = calls (bulk: rows or ids) over the phase's wall time;"
	"latency: the median over rounds of each round's per-call median and 95th percentile (bulk: the one call)."
	"Ratios: user_module's ops/s over the other side's, per round (rounds paired by number), median [min–max];"
	"met? compares the median ratio with the target."
	"Every side: one Node.js process, node-postgres over TCP, one connection, each call awaited, after the"
	"peer's warm-up, on fresh tables. Raw SQL: one prepared statement per call on tables identical to"
	"user_module's, writing the same event rows; no input checks, no tokens, no NOTIFY."
	"Sizes: $sizes."
	"shared_buffers $(sql -c 'SHOW shared_buffers')."
)
[ -n "$medusa_version" ] && notes+=("Medusa: @medusajs/user $medusa_version, booted as the peer does (MedusaApp); it has no acceptInvite, hence n/a.")
[ -n "$medusa_note" ] && notes+=("$medusa_note.")

echo
echo "$header"
echo
bench_print_table
echo
printf '%s\n' "${notes[@]}"

# log scale: the bars rise from the y axis's bottom, so put it a decade below
# the shortest bar, else that bar all but vanishes
ymin=$(awk '{ for (i = NF - 2; i <= NF; i++) if ($i != "-" && (m == "" || $i + 0 < m)) m = $i + 0 }
			END { print 10 ^ (int(log(m) / log(10)) - 1) }' "$RUN_DIR/plot.dat")
gnuplot <<GNUPLOT
set terminal pngcairo size 1400,720 font ",10" noenhanced
set output "$OUT_DIR/compare.png"
set title "user_module, raw SQL and Medusa's module: operations per second (bulk: rows or ids), median of $ROUNDS round(s)"
set logscale y
set yrange [$ymin:*]
set ylabel "per second (log scale)"
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set datafile missing "-"
set xtics rotate by -30 left
set key top right
set bmargin 9
plot "$RUN_DIR/plot.dat" using 2:xtic(1) title "user_module", "" using 3 title "raw SQL", "" using 4 title "Medusa"
GNUPLOT

{
	echo "# user_module compared with raw SQL and Medusa's module"
	echo
	echo "$header"
	echo
	bench_markdown_table
	echo
	printf '%s\n' "${notes[@]}"
	echo
	echo "![operations per second, log scale](compare.png)"
} >"$OUT_DIR/compare.md"
um_log "written $OUT_DIR/compare.md and $OUT_DIR/compare.png"
