# Shared by test/run, test/tour, the benchmarks and the shell tests: install
# what is missing, build the extension, and start a throwaway cluster as the
# postgres OS user with the library preloaded and a freshly generated key.
# Source it, then call: um_prepare; um_start_cluster; ...; um_stop_cluster.
#
# The extension is installed into a private copy of the PostgreSQL tree, not
# into /usr: PostgreSQL finds its share and lib directories relative to its
# binaries, so a copy under /tmp is a complete installation of its own. Runs
# from different checkouts never see each other's build, and the machine's
# PostgreSQL stays untouched.
set -euo pipefail

UM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian packages the tests need. postgresql-server-dev-15 brings PGXS and the
# isolation tester; pg_trgm and pgcrypto come with postgresql-15; pg_cron
# schedules the outbox purge in test/shell/pg_cron.sh. (The clients, psql and
# pg_dump, are the private tree's, of the major under test.)
UM_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-client-15 postgresql-15-cron build-essential"

um_log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

um_apt_install() {
	um_log "installing $*"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

um_install_packages() {
	local missing=()
	for p in $UM_PACKAGES ${UM_EXTRA_PACKAGES:-}; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		um_apt_install "${missing[@]}"
	fi
}

# The PostgreSQL major to build and test against: 15 is Debian 12's package;
# the others are built from Debian's source packages (test/lib/build-pg.sh).
UM_PG_MAJOR=${UM_PG_MAJOR:-15}

# A private PostgreSQL tree: sets UM_PGROOT, PG_BIN and PATH.
um_private_tree() {
	UM_PGROOT=$(mktemp -d /tmp/user_module-pg.XXXXXX)
	chmod 755 "$UM_PGROOT"
	if [ "$UM_PG_MAJOR" = 15 ]; then
		mkdir -p "$UM_PGROOT/usr/lib/postgresql" "$UM_PGROOT/usr/share/postgresql" "$UM_PGROOT/usr/include"
		cp -a /usr/lib/postgresql/15 "$UM_PGROOT/usr/lib/postgresql/"
		cp -a /usr/share/postgresql/15 "$UM_PGROOT/usr/share/postgresql/"
		cp -a /usr/include/postgresql "$UM_PGROOT/usr/include/"
		PG_BIN="$UM_PGROOT/usr/lib/postgresql/15/bin"
	else
		source "$UM_ROOT/test/lib/build-pg.sh"
		um_build_release "$UM_PG_MAJOR" || return 1
		cp -a "$UM_BUILT_PREFIX" "$UM_PGROOT/pg" || return 1
		PG_BIN="$UM_PGROOT/pg/bin"
	fi
	export PG_BIN PATH="$PG_BIN:$PATH"
	trap um_stop_cluster EXIT
}

# The binaries of this major without user_module installed: the machine's
# PostgreSQL 15, or the cached build of another major (um_private_tree copies
# either before installing the extension into the copy).
um_bare_bin() {
	if [ "$UM_PG_MAJOR" = 15 ]; then
		echo /usr/lib/postgresql/15/bin
	else
		echo "$UM_BUILT_PREFIX/bin"
	fi
}

# Installs Debian packages for a command only when the command is missing: a
# machine may have it from elsewhere (Node.js from NodeSource ships its own npm,
# which Debian's npm package conflicts with).
um_require_command() {
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null 2>&1 && return 0
	um_apt_install "$@"
}

# Debian's Python: the interpreter Debian's python3-* packages install modules
# for, whatever python3 comes first in PATH (pyenv, a virtualenv).
UM_PYTHON=/usr/bin/python3

# Installs Debian packages for a Python module only when $UM_PYTHON cannot
# import it (installing the package also brings $UM_PYTHON if it is missing).
um_require_python_module() {
	local module=$1
	shift
	[ -x "$UM_PYTHON" ] && "$UM_PYTHON" -c "import $module" >/dev/null 2>&1 && return 0
	um_apt_install "$@"
}

# Installs Debian packages for a Perl module only when the system perl cannot
# load it (the TAP tests need IPC::Run, from libipc-run-perl).
um_require_perl_module() {
	local module=$1
	shift
	perl -M"$module" -e 1 >/dev/null 2>&1 && return 0
	um_apt_install "$@"
}

um_build() {
	um_log "building user_module into a private PostgreSQL tree ($UM_PGROOT)"
	make -C "$UM_ROOT" -s clean >/dev/null &&
		make -C "$UM_ROOT" -s PG_CONFIG="$PG_BIN/pg_config" >/dev/null &&
		make -C "$UM_ROOT" -s PG_CONFIG="$PG_BIN/pg_config" install >/dev/null
}

um_prepare() {
	um_install_packages && um_private_tree && um_build
}

# A fresh signing key: 48 random bytes in base64, without "/", "+" or "=".
um_new_key() { head -c 48 /dev/urandom | base64 | tr -d '\n/+='; }

# initdb of a data directory as the postgres OS user (with $PG_BIN's initdb),
# then the given lines appended to its postgresql.conf.
um_initdb() {
	local dir=$1 conf=$2
	runuser -u postgres -- "$PG_BIN/initdb" -D "$dir" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
	printf '%s\n' "$conf" >> "$dir/postgresql.conf"
}

# Starts the cluster; exports PGHOST, PGPORT, PGUSER, PGDATABASE, UM_DATA.
um_start_cluster() {
	UM_TMP=$(mktemp -d /tmp/user_module.XXXXXX)
	chown postgres: "$UM_TMP"
	chmod 700 "$UM_TMP"
	export UM_DATA="$UM_TMP/data"
	export PGHOST="$UM_TMP" PGPORT=${UM_PORT:-54329} PGUSER=postgres PGDATABASE=postgres
	um_log "starting a throwaway cluster in $UM_TMP (port $PGPORT)"
	# The key goes into the server's configuration file only, never into SQL text.
	local secret
	secret=$(um_new_key)
	# the client tests verify tokens with the key, so they get it from the environment
	export UM_JWT_SECRET="$secret"
	um_initdb "$UM_DATA" "shared_preload_libraries = 'user_module'
user_module.jwt_secret = '$secret'
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$UM_TMP'
max_prepared_transactions = 10
${UM_EXTRA_CONF:-}"
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$UM_DATA" -l "$UM_TMP/server.log" -w start >/dev/null
}

# A short-lived extra cluster in $UM_TMP/<name>, same build, with its own
# postgresql.conf lines: for what needs a server configured otherwise.
um_scratch_cluster() {
	local name=$1 port=$2 conf=$3
	um_initdb "$UM_TMP/$name" "$conf
port = $port
unix_socket_directories = '$UM_TMP'
listen_addresses = ''"
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$UM_TMP/$name" -l "$UM_TMP/$name.log" -w start >/dev/null
}

um_stop_scratch_cluster() {
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$UM_TMP/$1" -m fast -w stop >/dev/null || true
}

um_stop_cluster() {
	if [ -n "${UM_DATA:-}" ] && [ -f "$UM_DATA/postmaster.pid" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$UM_DATA" -m fast -w stop >/dev/null || true
	fi
	if [ -z "${UM_KEEP:-}" ]; then
		[ -n "${UM_TMP:-}" ] && rm -rf "$UM_TMP"
		[ -n "${UM_PGROOT:-}" ] && rm -rf "$UM_PGROOT"
	fi
	return 0
}
