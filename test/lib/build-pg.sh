# Sourced after test/lib/cluster.sh: builds a PostgreSQL major from Debian's
# source package once, into a cache directory keyed by version and flags, so
# that a second run reuses it. Used for the majors Debian 12 does not package
# (17, 18) and for the valgrind build of 15 (test/valgrind/build-pg.sh).
#
#   um_build_postgres MAJOR FLAVOUR "CONFIGURE FLAGS" "CFLAGS" "CPPFLAGS"
#
# sets UM_BUILT_PREFIX (the installation: bin, lib, share, include) and
# UM_BUILT_SRC (its source tree, kept: valgrind's suppressions and the
# debugger's source paths are there). Besides the server it installs the
# contrib modules the tests load, the isolation tester (PGXS's installcheck
# runs it for ISOLATION), the TAP modules when configured with
# --enable-tap-tests, and, for the majors of UM_CRON_MAJORS, pg_cron from
# Debian's source package.

UM_PG_CACHE=${UM_PG_CACHE:-/var/cache/user_module}

# The release tarballs Debian's source packages carry, with the SHA-256 of
# Checksums-Sha256 in their .dsc (checked by hand when a version is changed
# here): postgresql-15_15.18-0+deb12u1.dsc, postgresql-17_17.11-0+deb13u1.dsc
# and postgresql-18_18.6-3.dsc. pg_cron 1.6.7 (the first with PostgreSQL 18
# in its Makefile's tests) is pinned by the checksum of the tarball as
# downloaded on 2026-12-04, its .dsc being gone from the pool by then. Debian
# keeps a file in its pool only while some suite lists it; when a download
# fails with 404, take a newer version and its checksum from the .dsc named
# in dists/<suite>/main/source/Sources.xz.
UM_DEBIAN_POOL=http://deb.debian.org/debian/pool/main
um_pg_version() {
	case "$1" in
		15) echo "15.18 11df0df97fe3ea4ba9a791faaf39cee1d2fe571e78885b5b55d8517d27c323b4" ;;
		17) echo "17.11 dd27f2b3c59e73ed14aa3324901242bf69a032a6347805f274e6260322d42979" ;;
		18) echo "18.6 555610c24d53e4316da5b7d3fc25c279d96856d5e0e23ee308c328c5fa881d9f" ;;
		*) return 1 ;;
	esac
}
UM_CRON_VERSION=1.6.7
UM_CRON_SHA256=d950bc29155f31017567e23a31d268ff672e98276c0e9d062512fb7870351f03
# Debian 12 packages pg_cron for 15 (postgresql-15-cron); the others build it.
UM_CRON_MAJORS="17 18"

# What a build needs: from 17 on the tarballs no longer carry the generated
# parser and lexer files, hence bison and flex; IPC::Run for the TAP modules.
UM_BUILD_PACKAGES="build-essential libssl-dev zlib1g-dev bzip2 curl bison flex libipc-run-perl"

# um_fetch URL FILE SHA256: downloads into the cache unless a file with that
# checksum is already there.
um_fetch() {
	local url=$1 file=$UM_PG_CACHE/$2 sum=$3
	if echo "$sum  $file" | sha256sum -c --status 2>/dev/null; then
		return 0
	fi
	um_log "downloading $url"
	curl -sSf -o "$file.part" "$url" || {
		um_log "cannot download $url (gone from Debian's pool? see test/lib/build-pg.sh)"
		return 1
	}
	mv "$file.part" "$file"
	echo "$sum  $file" | sha256sum -c --status || {
		um_log "checksum mismatch for $file"
		return 1
	}
}

um_build_postgres() {
	local major=$1 flavour=$2 configure_flags=$3 cflags=$4 cppflags=$5
	local version sum key tarball log start=$SECONDS
	read -r version sum < <(um_pg_version "$major") || {
		um_log "no source pinned for PostgreSQL $major"
		return 1
	}
	key=$(printf '%s|%s|%s|%s' "$version" "$configure_flags" "$cflags" "$cppflags" | sha256sum | cut -c1-8)
	UM_BUILT_PREFIX=$UM_PG_CACHE/pg-$version-$flavour-$key
	UM_BUILT_SRC=$UM_BUILT_PREFIX.src/postgresql-$version
	if [ -f "$UM_BUILT_PREFIX/.complete" ]; then
		um_log "PostgreSQL $version ($flavour build) already in $UM_BUILT_PREFIX"
		return 0
	fi
	local missing=()
	for p in $UM_BUILD_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		um_apt_install "${missing[@]}"
	fi
	mkdir -p "$UM_PG_CACHE"
	tarball=postgresql-${major}_$version.orig.tar.bz2
	um_fetch "$UM_DEBIAN_POOL/p/postgresql-$major/$tarball" "$tarball" "$sum" || return 1
	rm -rf "$UM_BUILT_PREFIX" "$UM_BUILT_PREFIX.src"
	mkdir -p "$UM_BUILT_PREFIX.src"
	tar -xjf "$UM_PG_CACHE/$tarball" -C "$UM_BUILT_PREFIX.src"
	log=$UM_BUILT_PREFIX.src/build.log
	um_log "building PostgreSQL $version ($flavour: $configure_flags CFLAGS='$cflags' CPPFLAGS='$cppflags'; log in $log)"
	(
		cd "$UM_BUILT_SRC"
		# shellcheck disable=SC2086
		./configure --prefix="$UM_BUILT_PREFIX" $configure_flags \
			CFLAGS="$cflags" CPPFLAGS="$cppflags" >"$log" 2>&1
		{
			make -j2 -s
			make -s install
			for d in contrib/pg_trgm contrib/pgcrypto contrib/amcheck contrib/pg_stat_statements \
				src/test/isolation src/test/perl; do
				make -j2 -s -C "$d"
				make -s -C "$d" install
			done
		} >>"$log" 2>&1
	) || {
		um_log "PostgreSQL build failed; tail of $log:"
		tail -30 "$log" >&2 || true
		return 1
	}
	if [[ " $UM_CRON_MAJORS " == *" $major "* ]]; then
		um_fetch "$UM_DEBIAN_POOL/p/pg-cron/pg-cron_$UM_CRON_VERSION.orig.tar.gz" \
			"pg-cron_$UM_CRON_VERSION.orig.tar.gz" "$UM_CRON_SHA256" || return 1
		tar -xzf "$UM_PG_CACHE/pg-cron_$UM_CRON_VERSION.orig.tar.gz" -C "$UM_BUILT_PREFIX.src"
		make -C "$UM_BUILT_PREFIX.src/pg_cron-$UM_CRON_VERSION" -s PG_CONFIG="$UM_BUILT_PREFIX/bin/pg_config" install \
			>>"$log" 2>&1 || {
			um_log "pg_cron build failed; tail of $log:"
			tail -30 "$log" >&2 || true
			return 1
		}
	fi
	touch "$UM_BUILT_PREFIX/.complete"
	um_log "PostgreSQL $version built and installed in $((SECONDS - start)) s"
}

# The flags of the builds the suite runs on for 17 and 18: optimised like
# Debian's packages, no assertions (the valgrind build of 15 has them), so
# that the benchmarks compare majors fairly.
UM_RELEASE_CONFIGURE_FLAGS="--with-openssl --without-icu --without-readline --enable-tap-tests"
UM_RELEASE_CFLAGS="-O2 -g"
um_build_release() { um_build_postgres "$1" release "$UM_RELEASE_CONFIGURE_FLAGS" "$UM_RELEASE_CFLAGS" ""; }
