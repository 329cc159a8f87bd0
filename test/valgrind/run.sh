#!/usr/bin/env bash
# The pg_regress suite and the isolation specs against a server running under
# valgrind memcheck, the way PostgreSQL's buildfarm animal skink runs it.
#
#   test/valgrind/run.sh          (as root)
#
# About 4 minutes on 2 cores, plus 2.5 minutes for the first PostgreSQL build.
# Every test but robustness (see below for why) runs.
#
# PostgreSQL is built from source with USE_VALGRIND (test/valgrind/build-pg.sh)
# once, into /var/cache/user_module/pg-15.18-valgrind-<key>; later runs reuse
# it. The extension is built against it in a copy of the checkout, so the
# checkout's own build is left alone. Prints TAP:
#   ok 1 - pg_regress under valgrind
#   ok 2 - isolation under valgrind
#   ok 3 - valgrind: 0 errors in N processes (0 from user_module)
# and exits 1 if any of them fails.
#
# Environment: UM_VG_PORT (default 54600), UM_VG_KEEP=1 keeps the temporary
# directory (valgrind logs, server log, regression output), UM_PG_CACHE (the
# cache directory), PGISOLATIONTIMEOUT (seconds a step may wait, default 900).
source "$(dirname "$0")/../lib/cluster.sh"
source "$UM_ROOT/test/lib/tap.sh"
source "$UM_ROOT/test/valgrind/build-pg.sh"
trap - EXIT

# valgrind itself (the PostgreSQL build installs what it needs)
um_require_command valgrind valgrind

t0=$SECONDS
vg_build_postgres
build_seconds=$((SECONDS - t0))
PG_BIN=$VG_PGPREFIX/bin
PG_CONFIG=$PG_BIN/pg_config

VG_TMP=$(mktemp -d /tmp/user_module-valgrind.XXXXXX)
chmod 755 "$VG_TMP"
VG_DATA=$VG_TMP/data
VG_LOGS=$VG_TMP/valgrind
VG_SRC=$VG_TMP/src
VG_PORT=${UM_VG_PORT:-54600}

vg_stop() {
	if [ -f "$VG_DATA/postmaster.pid" ]; then
		# a shutdown under valgrind takes a while: the checkpoint, each process's exit
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$VG_DATA" -m fast -w -t 600 stop >/dev/null || true
	fi
}
vg_cleanup() {
	vg_stop
	if [ -z "${UM_VG_KEEP:-}" ]; then
		rm -rf "$VG_TMP"
	else
		um_log "kept $VG_TMP"
	fi
}
trap vg_cleanup EXIT

# The extension, built in a copy of what its build and tests read.
t0=$SECONDS
um_log "building user_module against $VG_PGPREFIX (in $VG_SRC)"
mkdir -p "$VG_SRC/test"
(cd "$UM_ROOT" && cp -a Makefile ./*.control ./*.sql src sql expected "$VG_SRC/")
cp -a "$UM_ROOT/test/specs" "$UM_ROOT/test/expected" "$UM_ROOT/test/install.sql" "$VG_SRC/test/"
# objects the checkout's own build left are compiled against other headers
make -C "$VG_SRC" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
make -C "$VG_SRC" -s PG_CONFIG="$PG_CONFIG" >/dev/null
make -C "$VG_SRC" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
ext_build_seconds=$((SECONDS - t0))

# A cluster configured as test/lib/cluster.sh configures it. fsync is off: it
# costs time and checks nothing here.
um_log "initdb in $VG_DATA"
mkdir -p "$VG_LOGS"
chown postgres: "$VG_TMP" "$VG_LOGS"
chmod 700 "$VG_LOGS"
um_initdb "$VG_DATA" "shared_preload_libraries = 'user_module'
user_module.jwt_secret = '$(um_new_key)'
listen_addresses = ''
port = $VG_PORT
unix_socket_directories = '$VG_TMP'
max_prepared_transactions = 10
fsync = off
huge_pages = off
log_line_prefix = '%m [%p] '"

# skink's options: every process the postmaster forks gets its own log file
# (%p); --error-markers frame each error so that they can be counted;
# --fullpath-after= prints whole source paths, so a frame of ours is one whose
# file is under $VG_SRC/src/. Leak checking is off: backends exit without
# freeing their memory contexts by design (test/leak covers growth).
um_log "starting the server under valgrind (port $VG_PORT, logs in $VG_LOGS)"
t0=$SECONDS
runuser -u postgres -- valgrind --quiet --trace-children=yes --track-origins=yes \
	--read-var-info=yes --num-callers=40 --leak-check=no --gen-suppressions=all \
	--suppressions="$VG_PGSRC/src/tools/valgrind.supp" \
	--suppressions="$UM_ROOT/test/valgrind/user_module.supp" \
	--error-limit=no --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
	--fullpath-after= --vgdb=no \
	--log-file="$VG_LOGS/valgrind.%p.log" \
	"$PG_BIN/postgres" -D "$VG_DATA" >"$VG_TMP/server.log" 2>&1 &
export PGHOST=$VG_TMP PGPORT=$VG_PORT PGUSER=postgres PGDATABASE=postgres
for _ in $(seq 1 600); do
	"$PG_BIN/pg_isready" -q && break
	sleep 1
done
if ! "$PG_BIN/pg_isready" -q; then
	um_log "the server did not start; its log:"
	cat "$VG_TMP/server.log" >&2
	exit 1
fi
um_log "server up after $((SECONDS - t0)) s"

# All of ISOLATION and all of REGRESS from the Makefile but robustness, unless
# UM_VG_ALL is set (test/run --long sets it): robustness's 1 MB strings,
# 100,000-element arrays and 100,000-user batches run for most of an hour
# under memcheck, and this build is slower than a stock one even natively
# (USE_VALGRIND turns on DEBUG_LIST_MEMORY_USAGE in list.c, which moves a
# whole List on every append to expose stale ListCell pointers).
# no_key and not_preloaded are in neither list: they need servers configured
# otherwise (test/run starts scratch clusters for them).
# UM_VG_REGRESS / UM_VG_ISOLATION, when set, replace the lists (a quicker
# run, or one test: UM_VG_REGRESS="setup tokens" UM_VG_ISOLATION=notify);
# set to empty, they skip that part.
export PGISOLATIONTIMEOUT=${PGISOLATIONTIMEOUT:-900}
all_regress=$(make -s -C "$VG_SRC" --no-print-directory PG_CONFIG="$PG_CONFIG" -f Makefile -f - print-regress <<'MAKE'
print-regress:
	@echo $(REGRESS)
MAKE
)
regress_list=("REGRESS=$(echo " $all_regress " | sed 's/ robustness / /' | xargs)")
[ -n "${UM_VG_ALL:-}" ] && regress_list=("REGRESS=$all_regress")
isolation_list=()
[ -n "${UM_VG_REGRESS+set}" ] && regress_list=("REGRESS=$UM_VG_REGRESS")
[ -n "${UM_VG_ISOLATION+set}" ] && isolation_list=("ISOLATION=$UM_VG_ISOLATION")
# One half of the suite, its output in $VG_TMP/<name>.out: sets <name>_status
# (0, 1, or skip when its list was set to empty) and <name>_seconds. The TAP
# tests (TAP_TESTS) start servers of their own, not under valgrind: left out.
run_half() {	# name, what to log, "skip" or "", its diffs file, make arguments...
	local name=$1 what=$2 skip=$3 diffs=$4 status=0 t0=$SECONDS
	shift 4
	if [ "$skip" = skip ]; then
		status=skip
	else
		um_log "$what under valgrind"
		make -C "$VG_SRC" -s installcheck PG_CONFIG="$PG_CONFIG" TAP_TESTS= "$@" 2>&1 | tee "$VG_TMP/$name.out" || status=1
		[ -s "$diffs" ] && { status=1; cat "$diffs"; }
		grep -qE '\.\.\. +ok' "$VG_TMP/$name.out" || status=1
	fi
	printf -v "${name}_status" %s "$status"
	printf -v "${name}_seconds" %s $((SECONDS - t0))
}
skip_isolation=
[ -n "${UM_VG_ISOLATION+set}" ] && [ -z "$UM_VG_ISOLATION" ] && skip_isolation=skip
skip_regress=
[ -n "${UM_VG_REGRESS+set}" ] && [ -z "$UM_VG_REGRESS" ] && skip_regress=skip
run_half isolation "isolation specs" "$skip_isolation" "$VG_SRC/test/output_iso/regression.diffs" \
	${isolation_list[@]+"${isolation_list[@]}"} REGRESS=
run_half regress "pg_regress" "$skip_regress" "$VG_SRC/regression.diffs" \
	${regress_list[@]+"${regress_list[@]}"} ISOLATION=

um_log "stopping the server"
t0=$SECONDS
vg_stop
stop_seconds=$((SECONDS - t0))

# The report: one error is one VALGRINDERROR-BEGIN..END block.
shopt -s nullglob
logs=("$VG_LOGS"/valgrind.*.log)
processes=${#logs[@]}
total=0
ours=0
ours_blocks=$VG_TMP/ours.txt
other_blocks=$VG_TMP/other.txt
: >"$ours_blocks"
: >"$other_blocks"
if [ "$processes" -gt 0 ]; then
	total=$(cat "${logs[@]}" | grep -c '^==[0-9]*== VALGRINDERROR-BEGIN' || true)
	# split the blocks: those with a frame in our sources or library (a file
	# of the checkout's src/, however valgrind spells its directory: nothing
	# of PostgreSQL's lies directly in a src/), the rest
	ourfiles=$(cd "$UM_ROOT/src" && ls ./*.c ./*.h | sed 's|^\./||' | paste -sd'|')
	awk -v files="[(/]src/($ourfiles):[0-9]+" -v ours="$ours_blocks" -v other="$other_blocks" '
		/VALGRINDERROR-BEGIN/ { inb = 1; block = FILENAME "\n"; mine = 0; next }
		/VALGRINDERROR-END/ {
			if (mine) { print block > ours; n++ } else print block > other
			inb = 0; next
		}
		inb {
			block = block $0 "\n"
			if ($0 ~ files || index($0, "/user_module.so")) mine = 1
		}
		END { print n + 0 }
	' "${logs[@]}" >"$VG_TMP/ours.count"
	ours=$(cat "$VG_TMP/ours.count")
fi

# a process that died of a signal (valgrind stops a process on a fatal
# error, SIGSEGV under valgrind is reported here too) fails the check
crashes=$(grep -cE 'terminated by signal|process \(PID [0-9]+\) exited with exit code [^01]' "$VG_TMP/server.log" || true)
if [ "$crashes" -gt 0 ]; then
	echo "# server processes that crashed, from the server log:"
	grep -E 'terminated by signal|exited with exit code [^01]' "$VG_TMP/server.log" | head -5 | sed 's/^/#   /'
fi

echo "# valgrind: $processes processes traced, $total errors, $ours with a user_module frame"
echo "# times: PostgreSQL build ${build_seconds} s (0 when cached), extension build ${ext_build_seconds} s," \
	"pg_regress ${regress_seconds} s, isolation ${isolation_seconds} s, shutdown ${stop_seconds} s"
if [ "$ours" -gt 0 ]; then
	echo "# the first errors from user_module:"
	head -150 "$ours_blocks" | sed 's/^/#   /'
fi
if [ "$total" -gt "$ours" ]; then
	echo "# the first other errors:"
	head -100 "$other_blocks" | sed 's/^/#   /'
fi
if [ "$total" -gt 0 ]; then
	UM_VG_KEEP=1
fi

# half STATUS DESCRIPTION REASON-TO-SKIP: one half of the suite's TAP line
half() {
	case $1 in
	0) tap_result ok "$2" ;;
	skip) tap_skip "$2" "$3" ;;
	*) tap_result "not ok" "$2" ;;
	esac
}
half "$regress_status" "pg_regress under valgrind" "UM_VG_REGRESS is empty"
half "$isolation_status" "isolation under valgrind" "UM_VG_ISOLATION is empty"
if [ "$total" -eq 0 ] && [ "$processes" -gt 0 ] && [ "$crashes" -eq 0 ]; then
	tap_result ok "valgrind: 0 errors in $processes processes (0 from user_module)"
else
	tap_result "not ok" "valgrind: $total errors in $processes processes ($ours from user_module), $crashes crashes"
fi
[ "$tap_failed" -eq 0 ] || UM_VG_KEEP=1
tap_done
