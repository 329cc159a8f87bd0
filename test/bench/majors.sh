#!/usr/bin/env bash
# The same operations timed on each PostgreSQL major, in the same run: a
# cluster of each major (built as test/run builds them) with the same rows
# (majors_setup.sql), then ROUNDS rounds of test/bench/majors.sql on each, the
# order of the majors rotating from round to round. Prints, per operation,
# the median µs per call on each major and its ratio to the first major of
# PG_MAJORS (above 1 is slower). The raw SQL rows time PostgreSQL alone, on
# the same tables: when a major is slower at them too, the difference is the
# server's, not the extension's.
#
# The table also goes to test/bench/out/majors.md.
#
#   test/bench/majors.sh                 (as root; about 10 minutes once the majors are built)
#   BENCH_QUICK=1 test/bench/majors.sh   one round
#
# Environment: PG_MAJORS [15 17 18], ROUNDS [7], UM_PORT [54370] (each major
# takes the next port).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
PG_MAJORS=${PG_MAJORS:-15 17 18}
ROUNDS=${ROUNDS:-7}
[ -z "${BENCH_QUICK:-}" ] || ROUNDS=1
base_port=${UM_PORT:-54370}
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
OUT_DIR=$BENCH_DIR/out
mkdir -p "$OUT_DIR"
results=$(mktemp)

declare -A bin tmp data roots port
stop_all() {
	for m in "${!data[@]}"; do
		runuser -u postgres -- "${bin[$m]}/pg_ctl" -D "${data[$m]}" -m fast -w stop >/dev/null 2>&1 || true
		[ -n "${UM_KEEP:-}" ] || rm -rf "${tmp[$m]}" "${roots[$m]}"
	done
	rm -f "$results"
}
trap stop_all EXIT

i=0
for m in $PG_MAJORS; do
	UM_PG_MAJOR=$m
	UM_PORT=$((base_port + i))
	i=$((i + 1))
	um_prepare
	trap stop_all EXIT	# (um_private_tree set its own)
	um_start_cluster
	bin[$m]=$PG_BIN tmp[$m]=$UM_TMP data[$m]=$UM_DATA roots[$m]=$UM_PGROOT
	port[$m]=$PGPORT
	um_log "PostgreSQL $m: $("$PG_BIN/postgres" --version), port $PGPORT; loading the rows"
	"$PG_BIN/psql" -X -q -p "$PGPORT" -f "$BENCH_DIR/majors_setup.sql" >/dev/null
done

majors=($PG_MAJORS)
for r in $(seq 1 "$ROUNDS"); do
	order=("${majors[@]:$(((r - 1) % ${#majors[@]}))}" "${majors[@]:0:$(((r - 1) % ${#majors[@]}))}")
	for m in "${order[@]}"; do
		um_log "round $r/$ROUNDS: PostgreSQL $m"
		"${bin[$m]}/psql" -X -q -h "${tmp[$m]}" -p "${port[$m]}" -f "$BENCH_DIR/majors.sql" | sed "s/^/$m|/" >>"$results"
	done
done

# medians, and each major's ratio to the first
python3 - "$results" "${majors[@]}" <<'PY' | tee "$OUT_DIR/majors.md"
import statistics, sys
path, majors = sys.argv[1], sys.argv[2:]
values, ops = {}, []
for line in open(path):
    major, op, value = line.rstrip("\n").split("|")
    if op not in ops:
        ops.append(op)
    values.setdefault((op, major), []).append(float(value))
print(f"| operation (µs per call, median of {len(values[(ops[0], majors[0])])} rounds) | "
      + " | ".join(f"PostgreSQL {m}" for m in majors) + " |")
print("|---|" + "--:|" * len(majors))
for op in ops:
    base = statistics.median(values[(op, majors[0])])
    cells = []
    for m in majors:
        med = statistics.median(values[(op, m)])
        cells.append(f"{med:.1f}" if m == majors[0] else f"{med:.1f} ({med / base:.2f})")
    print(f"| {op} | " + " | ".join(cells) + " |")
PY
