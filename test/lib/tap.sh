# TAP for the shell tests: source it, print each check with tap_result, is or
# tap_skip (they number it), and end with tap_done, which prints the plan and
# fails if a check failed. A script that may stop half way calls tap_end from
# its EXIT trap.

tap_n=0
tap_failed=0
tap_finished=

# tap_result "ok"|"not ok" DESCRIPTION
tap_result() {
	tap_n=$((tap_n + 1))
	[ "$1" = ok ] || tap_failed=$((tap_failed + 1))
	echo "$1 $tap_n - $2"
}

# tap_skip DESCRIPTION REASON
tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

# is GOT EXPECTED DESCRIPTION
is() {
	if [ "$1" == "$2" ]; then
		tap_result ok "$3"
	else
		tap_result "not ok" "$3"
		echo "#   got:      '$1'"
		echo "#   expected: '$2'"
	fi
}

# The plan, at the end: exit status 1 if a check failed.
tap_done() {
	tap_finished=1
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# A script that stops before tap_done fails one more check, so that stopping
# half way does not look like a smaller success.
tap_end() {
	[ -n "$tap_finished" ] && return 0
	tap_result "not ok" "$(basename "$0") stopped before its last check"
	tap_done
}

# pg_temp.sqlstate_of(stmt): the SQLSTATE the statement raises, or 'none'.
# The contract is the SQLSTATE, so that is what the checks compare.
SQLSTATE_OF_SQL=$(cat <<'SQL'
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'none';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
SQL
)

# sqlstate_of STATEMENT COMMAND [ARGS...]: pg_temp.sqlstate_of(STATEMENT), run
# by COMMAND ARGS (a psql that reads a script on its standard input and takes -v).
sqlstate_of() {
	local stmt=$1
	shift
	printf '%s\n%s\n' "$SQLSTATE_OF_SQL" "SELECT pg_temp.sqlstate_of(:'stmt');" | "$@" -v stmt="$stmt"
}
