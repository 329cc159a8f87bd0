#!/usr/bin/env bash
# test/bench/invites.sh: user_module's invite and token functions against raw
# SQL on identical tables, on one throwaway cluster, in one run, interleaving
# the two sides round by round. Prints a table of medians (min–max over
# rounds) and writes it as Markdown to test/bench/out/invites.md.
#
#   test/bench/invites.sh                 # default sizes, about 6 minutes
#   BENCH_QUICK=1 test/bench/invites.sh   # small sizes, about 1.5 minutes
#
# test/bench/profile.sh shows where one of these functions spends its time.
#
# What it compares (user_module | raw SQL):
#   1. validate_invite_token(token), pgbench    | SELECT * by primary key
#   2. validate_invite_token over every token    | primary-key lookups of the
#      in one statement                          |   same ids in one statement
#   3. create_invite, pgbench                    | INSERT ... RETURNING *
#   4. refresh_invite_tokens of 1,000 ids        | UPDATE ... WHERE id = ANY
#   5. accept_invite, pgbench                    | UPDATE invite + INSERT user
#                                                |   + 2 events, one statement
#   6. create_invites of 10,000 in one call      | INSERT ... SELECT + events
#
# Settings (environment), defaults in brackets, quick mode in parentheses:
#   BENCH_ROUNDS [3]              rounds per comparison (each side once per round)
#   BENCH_SECONDS [15] (3)        pgbench seconds per side and round
#   BENCH_LOOKUP_SECONDS [5] (3)  pgbench seconds of the token lookup alone
#   BENCH_VALIDATE_INVITES [100000] (20000)  live invites whose tokens are validated
#   BENCH_ACCEPT_TX [20000] (2000)  accept_invite transactions per side and round
#   BENCH_REFRESH_IDS [1000]      ids per refresh_invite_tokens call
#   BENCH_BULK_INVITES [10000]    invites per create_invites call (bulk comparison)
#   BENCH_BULK_ROUNDS [5] (3)     rounds of the short comparisons (2., 4., 6.)
#   BENCH_LOAD_CHUNK [10000]      invites per create_invites call while loading
#   UM_PORT [54355]               port of the throwaway cluster
#   UM_EXTRA_CONF ["shared_buffers = 512MB"]  extra postgresql.conf lines; the
#                                 default keeps every table of the run in shared buffers
source "$(dirname "$0")/lib.sh"
export UM_PORT=${UM_PORT:-54355}
export UM_EXTRA_CONF=${UM_EXTRA_CONF-"shared_buffers = 512MB"}

if [ -n "${BENCH_QUICK:-}" ]; then
	q_seconds=3 q_lookup=3 q_invites=20000 q_accept=2000 q_bulk_rounds=3
else
	q_seconds=15 q_lookup=5 q_invites=100000 q_accept=20000 q_bulk_rounds=5
fi
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-$q_seconds}
LOOKUP_SECONDS=${BENCH_LOOKUP_SECONDS:-$q_lookup}
VALIDATE_INVITES=${BENCH_VALIDATE_INVITES:-$q_invites}
ACCEPT_TX=${BENCH_ACCEPT_TX:-$q_accept}
REFRESH_IDS=${BENCH_REFRESH_IDS:-1000}
BULK_INVITES=${BENCH_BULK_INVITES:-10000}
BULK_ROUNDS=${BENCH_BULK_ROUNDS:-$q_bulk_rounds}
LOAD_CHUNK=${BENCH_LOAD_CHUNK:-10000}
[ "$REFRESH_IDS" -le "$VALIDATE_INVITES" ] || { echo "BENCH_REFRESH_IDS > BENCH_VALIDATE_INVITES" >&2; exit 2; }

bench_start
"${PSQL[@]}" -f "$BENCH_DIR/setup.sql" -f "$BENCH_DIR/invites_setup.sql"

schema_of() { if [ "$1" = um ]; then echo user_module; else echo raw; fi; }

# truncate_tables SIDE TABLE...: empties the side's tables, then CHECKPOINT.
truncate_tables() {
	local schema t list=""
	schema=$(schema_of "$1")
	shift
	for t in "$@"; do list="$list${list:+, }$schema.$t"; done
	sql -c "TRUNCATE $list" -c CHECKPOINT
}

# timed_run WARMUP STATEMENT: in one session, WARMUP (rolled back, so that
# the session's plans and caches are warm), then STATEMENT in a transaction
# of its own. Both are "SELECT count(*) ..." statements without a semicolon.
# Prints "wall cpu n": wall seconds from BEGIN to the end of COMMIT, the
# backend's CPU seconds over the same span (/proc/self/schedstat), and the
# count the statement returned.
timed_run() {
	"${PSQL[@]}" -At -F ' ' <<SQL
BEGIN;
$1 \g /dev/null
ROLLBACK;
SELECT bench.cpu_ns() AS c0, clock_timestamp() AS t0 \gset
BEGIN;
$2 \gset r_
COMMIT;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz), round((bench.cpu_ns() - :c0) / 1e9, 6), :r_count;
SQL
}

# record_rates OP SIDE ROUND ITEMS "wall cpu n": ITEMS per wall second as OP,
# per CPU second as OP_cpu; n must be ITEMS.
record_rates() {
	local op=$1 side=$2 r=$3 items=$4 wall cpu n
	read -r wall cpu n <<<"$5"
	[ "$n" = "$items" ] || { echo "$op $side round $r: expected $items, got $n" >&2; exit 1; }
	record "$op" "$side" "$r" "$(awk -v n="$items" -v s="$wall" 'BEGIN {printf "%.1f", n / s}')"
	record "${op}_cpu" "$side" "$r" "$(awk -v n="$items" -v s="$cpu" 'BEGIN {printf "%.1f", n / s}')"
	um_log "$op round $r $side: $items in $wall s wall, $cpu s CPU"
}

# pgbench_compare OP ROUND LOOKUP [pgbench options...]: OP_um.pgb and
# OP_raw.pgb, in this round's order; then, unless LOOKUP is empty, the script
# LOOKUP (the helper lookup both begin with) alone for LOOKUP_SECONDS, with
# the options in LOOKUP_OPTIONS. Records OP (tps), OP_cpu (µs per
# transaction) and OP_cpu_net (the same less the lookup's CPU per transaction).
pgbench_compare() {
	local op=$1 r=$2 lookup=$3 side res tps cpu lookup_cpu
	local -A cpu_of
	shift 3
	for side in $(sides_for_round "$r"); do
		[ "$op" = accept_invite ] && truncate_tables "$side" '"user"' event
		[ "$op" = create_invite ] && truncate_tables "$side" invite event
		res=$(pgbench_run "${op}_$side.pgb" "$@")
		read -r tps cpu <<<"$res"
		cpu_of[$side]=$cpu
		record "$op" "$side" "$r" "$tps"
		record "${op}_cpu" "$side" "$r" "$cpu"
		um_log "$op round $r $side: $tps tps, backend CPU $cpu µs per call"
	done
	[ -n "$lookup" ] || return 0
	# shellcheck disable=SC2086 # LOOKUP_OPTIONS: words without spaces
	res=$(pgbench_run "$lookup" -T "$LOOKUP_SECONDS" $LOOKUP_OPTIONS)
	read -r _ lookup_cpu <<<"$res"
	record "${op}_lookup_cpu" lookup "$r" "$lookup_cpu"
	for side in um raw; do
		record "${op}_cpu_net" "$side" "$r" "$(awk -v a="${cpu_of[$side]}" -v b="$lookup_cpu" 'BEGIN {printf "%.2f", a - b}')"
	done
	um_log "$op round $r: the token lookup alone costs $lookup_cpu µs per transaction"
}

#############################################################################
# Load: VALIDATE_INVITES live invites, their tokens in bench.token, the same
# rows in raw.invite
#############################################################################
um_log "loading $VALIDATE_INVITES invites with create_invites, $LOAD_CHUNK per call"
load_start=$(date +%s.%N)
sql -c "CALL bench.load_invites('bench.token', 1, $VALIDATE_INVITES, 'v', $LOAD_CHUNK)"
load_end=$(date +%s.%N)
record load_rows_per_s um 1 "$(awk -v n="$VALIDATE_INVITES" -v a="$load_start" -v b="$load_end" 'BEGIN {printf "%.0f", n / (b - a)}')"
sql -c 'INSERT INTO raw.invite SELECT * FROM user_module.invite' -c 'TRUNCATE user_module.event' \
	-c 'VACUUM ANALYZE user_module.invite' -c 'VACUUM ANALYZE raw.invite' -c 'VACUUM ANALYZE bench.token' \
	-c CHECKPOINT
n_tokens=$(sql -c "SELECT count(*) FROM bench.token t JOIN raw.invite i USING (id) WHERE i.deleted_at IS NULL")
[ "$n_tokens" = "$VALIDATE_INVITES" ] || { echo "load: $n_tokens tokens of live invites" >&2; exit 1; }

#############################################################################
# 1. validate_invite_token(token) vs SELECT * FROM raw.invite WHERE id = $1,
#    the same random invites on both sides (same pgbench seed per round)
#############################################################################
for r in $(seq 1 "$ROUNDS"); do
	LOOKUP_OPTIONS="-D n=$VALIDATE_INVITES --random-seed=$r"
	pgbench_compare validate_invite "$r" validate_invite_lookup.pgb -D n="$VALIDATE_INVITES" --random-seed="$r"
done

#############################################################################
# 2. Validation inside one statement, over every token of bench.token
#    (BULK_ROUNDS rounds: they are short)
#############################################################################
validate_stmt_um="SELECT count(*) FROM bench.token t, user_module.validate_invite_token(t.token) v"
validate_stmt_raw="SELECT count(*) FROM bench.token t,
	LATERAL (SELECT * FROM raw.invite i WHERE i.id = t.id OFFSET 0) v"
for r in $(seq 1 "$BULK_ROUNDS"); do
	for side in $(sides_for_round "$r"); do
		if [ "$side" = um ]; then stmt=$validate_stmt_um; else stmt=$validate_stmt_raw; fi
		warmup="${stmt/bench.token t/(SELECT * FROM bench.token ORDER BY k LIMIT 100) t}"
		record_rates validate_stmt "$side" "$r" "$VALIDATE_INVITES" "$(timed_run "$warmup" "$stmt")"
	done
done

#############################################################################
# 4. refresh_invite_tokens of REFRESH_IDS ids in one call vs UPDATE ... WHERE
#    id = ANY(...) RETURNING *; per round other random ids, the same on both
#    sides (round 0's ids serve the warm-up, which is rolled back)
#############################################################################
sql -c "INSERT INTO bench.refresh_ids
		SELECT r, (SELECT array_agg(id ORDER BY h)
					 FROM (SELECT id, hashint8(k::bigint * 1000 + r) AS h
							 FROM bench.token ORDER BY 2 LIMIT $REFRESH_IDS) s)
		  FROM generate_series(0, $BULK_ROUNDS) AS r"
refresh_um() {
	echo "SELECT count(*) FROM user_module.refresh_invite_tokens((SELECT ids FROM bench.refresh_ids WHERE round = $1))"
}
refresh_raw() {
	echo "WITH u AS (
	UPDATE raw.invite SET token_jti = gen_random_uuid(), token_issued_at = now(),
						  expires_at = now() + interval '1 day', updated_at = now()
	 WHERE id = ANY ((SELECT ids FROM bench.refresh_ids WHERE round = $1)::text[]) AND deleted_at IS NULL
	RETURNING *)
SELECT count(*) FROM u"
}
for r in $(seq 1 "$BULK_ROUNDS"); do
	for side in $(sides_for_round "$r"); do
		record_rates refresh "$side" "$r" "$REFRESH_IDS" "$(timed_run "$(refresh_$side 0)" "$(refresh_$side "$r")")"
	done
done

#############################################################################
# 3. create_invite, one per transaction, vs a prepared INSERT ... RETURNING *
#############################################################################
for r in $(seq 1 "$ROUNDS"); do
	pgbench_compare create_invite "$r" "" -D i=0 -D tag="c$r."
done

#############################################################################
# 6. create_invites of BULK_INVITES in one call vs one INSERT ... SELECT FROM
#    unnest(...) of the same invites plus their invite.created events
#############################################################################
sql -c "INSERT INTO bench.invite_bulk_input
		SELECT bench.invites_json(1, $BULK_INVITES, 'b'), array_agg(bench.iid(n) ORDER BY n),
			   array_agg(bench.email(n, 'b') ORDER BY n)
		  FROM generate_series(1, $BULK_INVITES) AS n"
sql -c "CREATE TABLE bench.invite_bulk_warmup AS
		SELECT bench.invites_json(1, 10, 'w') AS invites, array_agg(bench.iid(n) ORDER BY n) AS ids,
			   array_agg(bench.email(n, 'w') ORDER BY n) AS emails
		  FROM generate_series(1, 10) AS n"
bulk_um="SELECT count(*) FROM user_module.create_invites((SELECT invites FROM bench.invite_bulk_input))"
bulk_raw="WITH i AS (
	INSERT INTO raw.invite (id, email, accepted, expires_at, metadata, created_at, updated_at,
							token_jti, token_issued_at)
	SELECT u.id, u.email, false, now() + interval '1 day', NULL, now(), now(), gen_random_uuid(), now()
	  FROM bench.invite_bulk_input AS b, unnest(b.ids, b.emails) AS u(id, email)
	RETURNING id),
e AS (
	INSERT INTO raw.event (name, entity_id, data)
	SELECT 'invite.created', i.id, jsonb_build_object('id', i.id) FROM i
	RETURNING 1)
SELECT count(*) FROM e"
for r in $(seq 1 "$BULK_ROUNDS"); do
	for side in $(sides_for_round "$r"); do
		truncate_tables "$side" invite event
		if [ "$side" = um ]; then stmt=$bulk_um; else stmt=$bulk_raw; fi
		record_rates create_invites_bulk "$side" "$r" "$BULK_INVITES" \
			"$(timed_run "${stmt//bench.invite_bulk_input/bench.invite_bulk_warmup}" "$stmt")"
	done
done

#############################################################################
# 5. accept_invite, one per transaction, each of a fresh invite (tokens taken
#    in order: k counts up from the round's start), vs the same writes in SQL
#############################################################################
accept_pool=$((ROUNDS * ACCEPT_TX))
um_log "loading $accept_pool invites to accept"
for side in um raw; do truncate_tables "$side" invite event '"user"'; done
sql -c "CALL bench.load_invites('bench.accept_token', 1, $accept_pool, 'a', $LOAD_CHUNK)"
sql -c 'INSERT INTO raw.invite SELECT * FROM user_module.invite' -c 'TRUNCATE user_module.event' \
	-c 'VACUUM ANALYZE user_module.invite' -c 'VACUUM ANALYZE raw.invite' -c 'VACUUM ANALYZE bench.accept_token' \
	-c CHECKPOINT
LOOKUP_OPTIONS="-D n=$accept_pool"
for r in $(seq 1 "$ROUNDS"); do
	pgbench_compare accept_invite "$r" accept_invite_lookup.pgb -t "$ACCEPT_TX" -D k=$(((r - 1) * ACCEPT_TX))
	# both sides accepted every invite of the round, and only those
	check=$(sql -c "SELECT (SELECT count(*) FROM user_module.\"user\"), (SELECT count(*) FROM raw.\"user\"),
						   (SELECT count(*) FROM user_module.invite WHERE accepted AND deleted_at IS NOT NULL),
						   (SELECT count(*) FROM raw.invite WHERE accepted AND deleted_at IS NOT NULL),
						   (SELECT count(*) FROM user_module.event), (SELECT count(*) FROM raw.event)")
	want="$ACCEPT_TX|$ACCEPT_TX|$((r * ACCEPT_TX))|$((r * ACCEPT_TX))|$((2 * ACCEPT_TX))|$((2 * ACCEPT_TX))"
	[ "$check" = "$want" ] || { echo "accept round $r: users|users|accepted|accepted|events|events $check, want $want" >&2; exit 1; }
done

#############################################################################
# Report
#############################################################################
# op | label | kind (tps: higher is better, ratio um/raw; ms: lower is better,
# ratio raw/um; abs: one figure) | unit | target | test
ops=(
	"validate_invite|1. validate_invite_token ($VALIDATE_INVITES invites) vs SELECT by id|tps|tps|≥ 0.8×|ratio>=0.8"
	"validate_invite_cpu|1. validate: backend CPU per transaction|ms|µs|—|"
	"validate_invite_cpu_net|1. validate: backend CPU per call, less the token lookup|ms|µs|—|"
	"validate_stmt_cpu|2. validate $VALIDATE_INVITES tokens in one statement, per CPU second|tps|validations/s|≥ 100000/s per core|um>=100000"
	"validate_stmt|2. the same, per wall second|tps|validations/s|—|"
	"create_invite|3. create_invite, 1 per transaction, vs INSERT|tps|tps|≥ 0.8×|ratio>=0.8"
	"create_invite_cpu|3. create_invite: backend CPU per call|ms|µs|—|"
	"refresh|4. refresh_invite_tokens of $REFRESH_IDS ids in one call, vs UPDATE|tps|ids/s|≥ 20000 ids/s|um>=20000"
	"refresh_cpu|4. the same, per CPU second|tps|ids/s|—|"
	"accept_invite|5. accept_invite, 1 per transaction, vs the same writes|tps|tps|—|"
	"accept_invite_cpu|5. accept_invite: backend CPU per transaction|ms|µs|—|"
	"accept_invite_cpu_net|5. accept_invite: backend CPU per call, less the token lookup|ms|µs|—|"
	"create_invites_bulk|6. create_invites, $BULK_INVITES in one call (+ events)|tps|rows/s|—|"
	"create_invites_bulk_cpu|6. the same, per CPU second|tps|rows/s|—|"
	"load_rows_per_s|load of $VALIDATE_INVITES invites, $LOAD_CHUNK per create_invites call|abs|rows/s|—|"
)
bench_rows "${ops[@]}"

lookup_median() {
	sql -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY value)::numeric, 1)
			  FROM bench.result WHERE op = '$1' AND side = 'lookup'"
}
notes=(
	"Backend CPU: the backend's CPU time (/proc/<pid>/schedstat), per pgbench transaction or over the"
	"one statement; steadier than tps on a shared VM, and without the waits for the client and fsync."
	"pgbench transactions of 1. and 5. first fetch the token (and id) by k from a helper table with"
	"\\gset, on both sides; a transaction of that lookup alone costs $(lookup_median validate_invite_lookup_cpu) µs (1.) and $(lookup_median accept_invite_lookup_cpu) µs (5.)"
	"of CPU (median), and the \"less the token lookup\" rows subtract it, round by round: what remains"
	"is what the second statement adds to a transaction."
	"1.: the same random invites on both sides (pgbench --random-seed = round); the token is a bind parameter."
	"2.: raw SQL is a nested loop of primary-key lookups of the same ids (LATERAL ... OFFSET 0)."
	"3.: the raw INSERT writes no event; create_invite also checks the users' emails, writes an"
	"invite.created event, NOTIFYs it and signs the token it returns."
	"4., 6.: wall time from BEGIN to the end of COMMIT, after a warm-up call rolled back in the same session."
	"4.: the raw UPDATE also sets updated_at and skips deleted rows, as refresh does; refresh also signs"
	"the 1,000 new tokens, looks for missing ids, sorts by id and writes and NOTIFYs 1,000 invite.resent events."
	"5.: raw SQL is one statement (UPDATE invite, INSERT user, INSERT two events); accept_invite also"
	"verifies the token (HMAC) and NOTIFYs both events. $ACCEPT_TX transactions per side and round."
	"shared_buffers $(sql -c 'SHOW shared_buffers'): every table of the run stays in shared buffers."
)
header=$(bench_header "$ROUNDS rounds (2., 4. and 6.: $BULK_ROUNDS), ${SECONDS_PER_RUN}s pgbench runs (-M prepared -c 1 -j 1)")

echo
echo "$header"
echo
bench_print_table
echo
echo "Cells: median [min–max] over rounds; ratio: user_module speed / raw speed, median of per-round ratios [min–max]."
printf '%s\n' "${notes[@]}"

mkdir -p "$OUT_DIR"
{
	echo "# user_module invites benchmark"
	echo
	echo "$header"
	echo
	bench_markdown_table
	echo
	echo "Cells: median [min–max] over rounds; ratio: user_module speed / raw speed, median of the"
	echo "per-round ratios [min–max]."
	printf '%s\n' "${notes[@]}"
} >"$OUT_DIR/invites.md"
um_log "written $OUT_DIR/invites.md"
