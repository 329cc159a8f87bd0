#!/usr/bin/env bash
# Builds test/fuzz/token_fuzz.c with libFuzzer, ASan and UBSan and runs it for
# SECONDS (default 300) on a copy of test/fuzz/corpus with token.dict. Prints
# one TAP line, "libFuzzer: N executions, no crash" or the crash; exit status
# 1 on a crash (the input is kept in $UM_FUZZ_OUT, default a temporary
# directory) or when the build fails.
# New inputs go to the copy; to keep them: UM_FUZZ_MERGE=1 merges the copy
# back into test/fuzz/corpus (only inputs adding coverage).
set -euo pipefail
seconds=${1:-300}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/test/lib/tap.sh"
trap tap_end EXIT
CC=${CC:-clang}
pg_config=${PG_CONFIG:-}
if [ -z "$pg_config" ]; then
	for c in "${PG_BIN:-}/pg_config" /usr/lib/postgresql/15/bin/pg_config "$(command -v pg_config || true)"; do
		if [ -x "$c" ]; then pg_config=$c; break; fi
	done
fi
out=${UM_FUZZ_OUT:-$(mktemp -d /tmp/token_fuzz.XXXXXX)}
mkdir -p "$out/corpus" "$out/crashes"
cp "$here"/corpus/* "$out/corpus/"

# libpgcommon/libpgport are built without sanitizers: only src/token.c and
# the harness are instrumented. palloc & co. go to the harness's arena.
wrap=""
for f in palloc palloc0 palloc_extended repalloc pfree pstrdup pnstrdup; do
	wrap="$wrap -Wl,--wrap=$f"
done
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-std=gnu11 -Wall -Wno-unused-parameter -Wno-unused-command-line-argument -Wno-ignored-attributes -DFRONTEND \
	-I"$root/src" -I"$("$pg_config" --includedir)/internal" -I"$("$pg_config" --includedir-server)" \
	-o "$out/token_fuzz" "$here/token_fuzz.c" "$root/src/token.c" \
	-L"$("$pg_config" --libdir)" -L"$("$pg_config" --pkglibdir)" $wrap \
	-lpgcommon -lpgport -lssl -lcrypto -lm

status=0
(cd "$out" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	./token_fuzz -max_total_time="$seconds" -dict="$here/token.dict" \
	-artifact_prefix="$out/crashes/" -print_final_stats=1 -max_len=8192 \
	-timeout=10 -rss_limit_mb=2048 corpus) >"$out/log" 2>&1 || status=$?

runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$out/log" | tail -1)
last=$(grep -E '^#[0-9]+' "$out/log" | tail -1 || true)
cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
eps=$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$last")
echo "token_fuzz: ${seconds}s, ${runs:-?} executions, ${eps:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus $(ls "$out/corpus" | wc -l) (log $out/log)"
if [ "$status" -ne 0 ] || ls "$out/crashes" | grep -q .; then
	grep -E 'ERROR|SUMMARY|invariant|runtime error|#[0-9]+ 0x' "$out/log" | head -40
	ls -l "$out/crashes"
	tap_result "not ok" "libFuzzer: crash (exit $status), inputs in $out/crashes"
	tap_done
	exit 1
fi
if [ "${UM_FUZZ_MERGE:-}" = 1 ]; then
	"$out/token_fuzz" -merge=1 "$here/corpus" "$out/corpus" >>"$out/log" 2>&1
fi
tap_result ok "libFuzzer: ${runs:-0} executions, no crash"
tap_done
