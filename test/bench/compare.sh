#!/usr/bin/env bash
# test/bench/compare.sh: user_module's functions, the raw-SQL floor, Medusa's
# own module (@medusajs/user 2.21.2) and the bridge (the checkout's medusa/
# package: Medusa's interface on user_module's functions), on one throwaway
# cluster, in one run. Every side runs the same phases with the same sizes and
# data (SEED) from the same client, compare.js (Node.js, node-postgres over
# TCP, sequential awaits); medusa.js boots Medusa's module and the bridge for
# it, each through Medusa's module loader, and both get the same calls. Each
# side writes its own tables: user_module's and raw's in database postgres,
# Medusa's in database medusa, the bridge's (user_module's, created by its
# migration) in database bridge. Rounds are interleaved: round r runs the
# sides in rotated order. Prints a table of medians (min–max over rounds),
# writes it as Markdown to test/bench/out/compare.md and a bar chart to
# test/bench/out/compare.png.
#
#   test/bench/compare.sh                 # full sizes, 3 rounds, about 5 minutes
#   BENCH_QUICK=1 test/bench/compare.sh   # small sizes, 1 round, about 40 seconds
#   BENCH_MEDUSA=0 BENCH_BRIDGE=0 test/bench/compare.sh  # user_module and raw SQL only
# The first run with Medusa also installs its npm packages (about 270 MB, a
# minute or two, from the npm registry) from test/bench/medusa/package-lock.json
# into BENCH_MEDUSA_DIR, outside the checkout; later runs reuse them. The
# bridge runs on medusa/node_modules: when missing or older than
# medusa/package-lock.json, npm ci in medusa/ installs them, as
# medusa/test/run.sh does (about a minute).
#
# Settings (environment), defaults in brackets, quick mode in parentheses:
#   BENCH_ROUNDS [3] (1)       rounds (each side once per round)
#   BENCH_MEDUSA [1]           0: leave Medusa's side out; if its packages
#                              cannot be installed or the module fails, the
#                              run goes on without it and says why
#   BENCH_MEDUSA_DIR [/tmp/user_module-medusa]  where Medusa's packages are
#                              installed, in a folder named after a hash of
#                              the lockfile; kept for the next run
#   BENCH_BRIDGE [1]           0: leave the bridge's side out; if medusa/'s
#                              packages cannot be installed or the module
#                              fails, the run goes on without it and says why
#   BENCH_BRIDGE_PREPARED [0]  1: the bridge with its option prepared_statements
#                              (named prepared statements, one per connection)
#   SEED [12345]               the data generator's seed
#   N_CREATE_ONE [2000] (200), N_CREATE_BULK [10000] (2000), N_RETRIEVE [5000]
#   (500), N_LIST_Q [1000] (100), N_LIST_COUNT [2000] (200), N_UPDATE [2000]
#   (200), N_INVITES [2000] (400), N_VALIDATE [5000] (500), N_REFRESH [1000]
#   (100), N_DELETE [1000] (100): the phases' sizes; N_ACCEPT [2000] (200)
#                              invites accepted (user_module and raw SQL
#                              only: Medusa's interface has no acceptInvite)
#   UM_PORT [54360]            port of the throwaway cluster
#   UM_EXTRA_CONF ["shared_buffers = 512MB"]  extra postgresql.conf lines
source "$(dirname "$0")/lib.sh"
export UM_PORT=${UM_PORT:-54360}
export UM_EXTRA_CONF=${UM_EXTRA_CONF-shared_buffers = 512MB}

# size: full and quick
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
BRIDGE=${BENCH_BRIDGE:-1}
BRIDGE_DIR="$UM_ROOT/medusa"
# One folder per lockfile: a changed lockfile installs afresh, and runs from
# checkouts with different lockfiles do not undo each other's install.
MEDUSA_DIR="${BENCH_MEDUSA_DIR:-/tmp/user_module-medusa}/$(sha256sum <"$BENCH_DIR/medusa/package-lock.json" | cut -c1-16)"
export MEDUSA_DIR
# compare.js refreshes ids from the second N_REFRESH invites and soft-deletes
# N_DELETE bulk-created users after the first 500
[ "$N_INVITES" -ge $((2 * N_REFRESH)) ] || { echo "N_INVITES < 2 × N_REFRESH" >&2; exit 2; }
[ "$N_ACCEPT" -le "$N_INVITES" ] || { echo "N_ACCEPT > N_INVITES" >&2; exit 2; }
[ "$N_CREATE_BULK" -ge $((500 + N_DELETE)) ] || { echo "N_CREATE_BULK < 500 + N_DELETE" >&2; exit 2; }

RUN_DIR="$OUT_DIR/compare"
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
medusa_note="" medusa_version="" bridge_note="" bridge_version=""

# medusa_off REASON: the run goes on without Medusa's side, and says why.
medusa_off() {
	MEDUSA=0
	medusa_note="Medusa's side left out: $1"
	um_log "$medusa_note"
}

# Installs test/bench/medusa's lockfile into MEDUSA_DIR, unless there already.
# npm ci runs in a fresh folder beside it, renamed to MEDUSA_DIR once
# complete: a failed install leaves nothing half-done behind, and of two runs
# installing at once, the second to finish drops its copy. No install scripts:
# Medusa's packages need none (theirs only announce telemetry and check versions).
medusa_install() {
	local tmp
	if [ ! -d "$MEDUSA_DIR" ]; then
		um_log "installing Medusa's npm packages into $MEDUSA_DIR (about 270 MB)"
		tmp=$(mkdir -p "$(dirname "$MEDUSA_DIR")" && mktemp -d "$MEDUSA_DIR.XXXXXX") \
			|| { medusa_off "cannot write to $(dirname "$MEDUSA_DIR")"; return 0; }
		if ! (cp "$BENCH_DIR/medusa/package.json" "$BENCH_DIR/medusa/package-lock.json" "$tmp/" && cd "$tmp" \
			&& npm ci --ignore-scripts --no-audit --no-fund >"$RUN_DIR/medusa-npm.log" 2>&1); then
			rm -rf "$tmp"
			medusa_off "its npm packages could not be installed (see $RUN_DIR/medusa-npm.log)"
			return 0
		fi
		mv -T "$tmp" "$MEDUSA_DIR" 2>/dev/null || rm -rf "$tmp"
	fi
	medusa_version=$(node -p "require('$MEDUSA_DIR/node_modules/@medusajs/user/package.json').version")
}

# bridge_off REASON: the run goes on without the bridge's side, and says why.
bridge_off() {
	BRIDGE=0
	bridge_note="The bridge's side left out: $1"
	um_log "$bridge_note"
}

# Installs medusa/'s packages from its lockfile into medusa/node_modules, as
# medusa/test/run.sh does, unless they are there and newer than the lockfile
# (npm ci writes node_modules/.package-lock.json last).
bridge_install() {
	local done="$BRIDGE_DIR/node_modules/.package-lock.json"
	if [ ! -f "$done" ] || [ "$BRIDGE_DIR/package-lock.json" -nt "$done" ]; then
		um_log "installing medusa/'s npm packages (npm ci in $BRIDGE_DIR)"
		if ! (cd "$BRIDGE_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$RUN_DIR/bridge-npm.log" 2>&1; then
			bridge_off "medusa/'s npm packages could not be installed (see $RUN_DIR/bridge-npm.log)"
			return 0
		fi
	fi
	bridge_version="$(node -p "require('$BRIDGE_DIR/package.json').name + ' ' + require('$BRIDGE_DIR/package.json').version") on @medusajs/framework $(node -p "require('$BRIDGE_DIR/node_modules/@medusajs/framework/package.json').version")"
}

# module_node DB ARGS...: Node.js against database DB (medusa or bridge) on
# our cluster, at most an hour (a hung module must not hang the run).
module_node() {
	local db=$1
	shift
	DB_URL="postgres://postgres@127.0.0.1:$PGPORT/$db" MEDUSA_DISABLE_TELEMETRY=1 timeout 3600 node "$@"
}

um_require_command node nodejs npm
um_require_command npm npm
um_require_command gnuplot gnuplot-nox
um_log "installing compare.js's packages (npm ci)"
(cd "$BENCH_DIR" && npm ci --no-audit --no-fund --silent >/dev/null)
if [ "$MEDUSA" = 1 ]; then medusa_install; else medusa_off "BENCH_MEDUSA=$MEDUSA"; fi
if [ "$BRIDGE" = 1 ]; then bridge_install; else bridge_off "BENCH_BRIDGE=$BRIDGE"; fi

bench_start
"${PSQL[@]}" -f "$BENCH_DIR/setup.sql" -f "$BENCH_DIR/invites_setup.sql"
# compare.js connects as Medusa's module does: TCP to 127.0.0.1
export DB_URL="postgres://postgres@127.0.0.1:$PGPORT/$PGDATABASE"
if [ "$MEDUSA" = 1 ]; then
	sql -c 'CREATE DATABASE medusa'
	module_node medusa "$BENCH_DIR/medusa.js" migrate medusa >"$RUN_DIR/medusa-migrate.log" 2>&1 \
		|| medusa_off "its migrations failed (see $RUN_DIR/medusa-migrate.log)"
fi
# the bridge's migration creates the extension (and pg_trgm) in its database
if [ "$BRIDGE" = 1 ]; then
	sql -c 'CREATE DATABASE bridge'
	module_node bridge "$BENCH_DIR/medusa.js" migrate bridge >"$RUN_DIR/bridge-migrate.log" 2>&1 \
		|| bridge_off "its migration failed (see $RUN_DIR/bridge-migrate.log)"
fi

sides=(um raw)
[ "$MEDUSA" = 1 ] && sides+=(medusa)
[ "$BRIDGE" = 1 ] && sides+=(bridge)
for r in $(seq 1 "$ROUNDS"); do
	k=$(((r - 1) % ${#sides[@]}))
	for side in "${sides[@]:k}" "${sides[@]:0:k}"; do
		um_log "round $r: $side"
		sql -c CHECKPOINT	# no checkpoint left over from the previous side
		out="$RUN_DIR/$side-r$r.json"
		if [ "$side" = medusa ] || [ "$side" = bridge ]; then
			# a failed round leaves a gap in the side's column, not in the run,
			# and is said in its note (medusa_note or bridge_note)
			if ! module_node "$side" "$BENCH_DIR/compare.js" "$side" "$out" 2>&1 | tee "$RUN_DIR/$side-r$r.log"; then
				um_log "$side's round $r failed (see $RUN_DIR/$side-r$r.log)"
				rm -f "$out"
				note=${side}_note
				printf -v "$note" '%s' "${!note:+${!note}; }$side's round $r failed"
			fi
		else
			node "$BENCH_DIR/compare.js" "$side" "$out"
		fi
	done
done

#############################################################################
# Report
#############################################################################
mapfile -t BENCH_ROWS < <(node "$BENCH_DIR/compare_report.js" "$RUN_DIR" "$RUN_DIR/plot.dat")
BENCH_COLUMNS="operation|user_module ops/s|raw SQL ops/s|Medusa ops/s|bridge ops/s|user_module median / p95 ms|raw median / p95 ms|Medusa median / p95 ms|bridge median / p95 ms|um/raw|um/Medusa|bridge/Medusa|target|met? (um: raw, Medusa; bridge: Medusa)"
BENCH_ALIGN="|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
sizes="N_CREATE_ONE=$N_CREATE_ONE N_CREATE_BULK=$N_CREATE_BULK N_RETRIEVE=$N_RETRIEVE N_LIST_Q=$N_LIST_Q \
N_LIST_COUNT=$N_LIST_COUNT N_UPDATE=$N_UPDATE N_INVITES=$N_INVITES N_VALIDATE=$N_VALIDATE N_REFRESH=$N_REFRESH \
N_DELETE=$N_DELETE N_ACCEPT=$N_ACCEPT"
header=$(bench_header "$(date -u '+%Y-%m-%d %H:%M UTC'), Node.js $(node --version), $ROUNDS rounds (sides in rotated order), SEED $SEED")
notes=(
	"Cells: median [min–max] over rounds; ops/s = calls (bulk: rows or ids) over the phase's wall time;"
	"latency: the median over rounds of each round's per-call median and 95th percentile (bulk: the one call)."
	"Ratios: user_module's ops/s over the other side's, and the bridge's over Medusa's (the speed-up of a Medusa"
	"application switching modules), per round (rounds paired by number), median [min–max];"
	"met? compares the median ratio with the target."
	"Every side: one Node.js process, node-postgres over TCP, one connection, each call awaited, after the"
	"same warm-up, on fresh tables. Raw SQL: one prepared statement per call on tables identical to"
	"user_module's, writing the same event rows; no input checks, no tokens, no NOTIFY."
	"Sizes: $sizes."
	"shared_buffers $(sql -c 'SHOW shared_buffers')."
)
[ -n "$medusa_version" ] && notes+=("Medusa: @medusajs/user $medusa_version, booted as a Medusa server boots it (MedusaApp, one shared knex pool, no event bus); it has no acceptInvite, hence n/a.")
[ -n "$bridge_version" ] && notes+=("Bridge: $bridge_version (medusa/), booted as Medusa's module is, by its path, on user_module's tables in its own database; the same calls of Medusa's interface, which has no acceptInvite.")
[ -n "$medusa_note" ] && notes+=("$medusa_note.")
[ -n "$bridge_note" ] && notes+=("$bridge_note.")

echo
echo "$header"
echo
bench_print_table
echo
printf '%s\n' "${notes[@]}"

# log scale: the bars rise from the y axis's bottom, so put it a decade below
# the shortest bar, else that bar all but vanishes
ymin=$(awk '{ for (i = NF - 3; i <= NF; i++) if ($i != "-" && (m == "" || $i + 0 < m)) m = $i + 0 }
			END { print 10 ^ (int(log(m) / log(10)) - 1) }' "$RUN_DIR/plot.dat")
# one bar per side that has figures (a side left out would make gnuplot warn);
# plot.dat's columns 2-5: user_module, raw SQL, Medusa, the bridge
titles=("user_module" "raw SQL" "Medusa" "bridge (Medusa's interface on user_module)")
bars=""
for c in 2 3 4 5; do
	# fields from the end: the quoted label has spaces
	awk -v k=$((5 - c)) '$(NF - k) != "-" { found = 1 } END { exit !found }' "$RUN_DIR/plot.dat" || continue
	if [ -z "$bars" ]; then bars="\"$RUN_DIR/plot.dat\" using $c:xtic(1)"; else bars+=", \"\" using $c"; fi
	bars+=" title \"${titles[c - 2]}\""
done
gnuplot <<GNUPLOT
set terminal pngcairo size 1400,720 font ",10" noenhanced
set output "$OUT_DIR/compare.png"
set title "user_module, raw SQL, Medusa's module and the bridge: operations per second (bulk: rows or ids), median of $ROUNDS round(s)"
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
plot $bars
GNUPLOT

{
	echo "# user_module compared with raw SQL, Medusa's module and the bridge"
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
