# What the shell tests that print TAP share (dump_restore.sh, key_file.sh).
# Source it and set n=0; each check then prints "ok N - ..." or "not ok N".

# is GOT EXPECTED DESCRIPTION
is() {
	n=$((n + 1))
	if [ "$1" == "$2" ]; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3"
		echo "#   got:      '$1'"
		echo "#   expected: '$2'"
	fi
}

# sqlstate_of STATEMENT COMMAND [ARGS...]: the SQLSTATE the statement raises,
# or "none", run by COMMAND ARGS (a psql that reads a script on its standard
# input and takes -v). The contract is the SQLSTATE, so that is what the
# checks compare.
sqlstate_of() {
	local stmt=$1
	shift
	"$@" -v stmt="$stmt" <<'SQL'
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'none';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
SELECT pg_temp.sqlstate_of(:'stmt');
SQL
}
