#!/bin/bash
# The package's tests, on a running server with user_module installed and
# preloaded and a key set: PGHOST, PGPORT, PGUSER (a superuser) and
# UM_JWT_SECRET as test/lib/cluster.sh exports them. Installs the package's
# dev dependencies from package-lock.json (npm ci), then runs every
# test/*.test.js with node --test, one file at a time, printing flat TAP:
# "ok N - name" / "not ok N - name". Exits non-zero when a case failed.
#   (from the checkout) source test/lib/cluster.sh && um_prepare && um_start_cluster && medusa/test/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

: "${PGPORT:?set PGPORT, PGHOST, PGUSER and UM_JWT_SECRET as test/lib/cluster.sh exports them}"
: "${UM_JWT_SECRET:?set UM_JWT_SECRET to the key of the server}"
export PGUSER=${PGUSER:-postgres}
# Medusa's test runner builds its database URLs from these; the cluster
# listens on 127.0.0.1 with trust authentication.
export DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USERNAME=$PGUSER

npm ci --no-audit --no-fund --loglevel=error >&2

# One process, files in order (--test-concurrency=1), so the reporter can
# number the cases and name them by their describe() path.
exec node --test --test-concurrency=1 --test-reporter=./test/lib/tap-reporter.mjs --test-reporter-destination=stdout test/*.test.js
