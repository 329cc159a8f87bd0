#!/usr/bin/env bash
# The outbox purge as a scheduled job (pg_cron, Debian's postgresql-15-cron),
# on a cluster of its own that preloads both libraries. test/run calls it
# twice, with UM_TMP (its scratch directory), UM_JWT_SECRET and a free port:
#   test/shell/pg_cron.sh start PORT   starts it and schedules the job (it runs once a minute)
#   test/shell/pg_cron.sh check PORT   waits for a run of the job, prints TAP, stops the cluster
# Between the two, test/run runs other tests, so the wait is mostly free.
# The job is scheduled by an administrator (a member of user_module_admin,
# not a superuser) and runs with that role's rights.
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/tap.sh"
CRON_PORT=${2:?usage: $0 start|check PORT}

cron_psql() { psql -X -q -At -v ON_ERROR_STOP=1 -p "$CRON_PORT" -d postgres "$@"; }

cron_test_start() {
	um_scratch_cluster cron "$CRON_PORT" "shared_preload_libraries = 'user_module, pg_cron'
user_module.jwt_secret = '$UM_JWT_SECRET'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16"
	cron_psql >/dev/null <<-'SQL'
		SET client_min_messages = warning;
		CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions; CREATE EXTENSION user_module;
		CREATE EXTENSION pg_cron;
		CREATE ROLE cron_admin LOGIN IN ROLE user_module_admin;
		GRANT USAGE ON SCHEMA cron TO cron_admin;
		-- three events; two made to look 8 and 30 days old (only a superuser may:
		-- the tables belong to user_module_owner, which nobody logs in as)
		SELECT count(*) FROM user_module.create_users('[{"id":"old1","email":"old1@cron.test"},
			{"id":"old2","email":"old2@cron.test"},{"id":"new1","email":"new1@cron.test"}]');
		UPDATE user_module.event SET created_at = now() - interval '8 days' WHERE entity_id = 'old1';
		UPDATE user_module.event SET created_at = now() - interval '30 days' WHERE entity_id = 'old2';
		SET ROLE cron_admin;
		SELECT cron.schedule('user_module-purge-events', '* * * * *',
		                     $$SELECT user_module.purge_events('7 days')$$);
		RESET ROLE;
	SQL
}

cron_test_check() {
	local status="" deadline=$((SECONDS + 120))
	while [ $SECONDS -lt $deadline ]; do
		status=$(cron_psql -c "SELECT status FROM cron.job_run_details WHERE status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1")
		[ -n "$status" ] && break
		sleep 2
	done
	is "$status" "succeeded" "pg_cron ran the scheduled purge_events job"
	is "$(cron_psql -c "SELECT j.username FROM cron.job_run_details d JOIN cron.job j USING (jobid) ORDER BY runid LIMIT 1")" \
		"cron_admin" "the job ran as the administrator who scheduled it"
	is "$(cron_psql -c "SELECT return_message FROM cron.job_run_details ORDER BY runid LIMIT 1")" \
		"SELECT 1" "the job reported its statement's result"
	is "$(cron_psql -c "SELECT string_agg(entity_id, ',' ORDER BY id) FROM user_module.event")" \
		"new1" "events older than the retention are gone, the recent one stays"
	um_stop_scratch_cluster cron
	tap_done
}

case $1 in
start) cron_test_start ;;
check) cron_test_check ;;
*) echo "usage: $0 start|check PORT" >&2; exit 2 ;;
esac
