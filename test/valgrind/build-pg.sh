# Sourced by test/valgrind/run.sh: builds PostgreSQL 15 from source with
# USE_VALGRIND (palloc and the memory contexts then tell memcheck which bytes
# of a chunk are allocated and defined, so reads past a palloc'd string or of
# uninitialised palloc memory in extension code are reported), cassert and
# debug symbols, into a cache directory keyed by version and flags: a second
# run reuses it. Sets VG_PGPREFIX, VG_PGSRC.

VG_PG_VERSION=15.18
VG_PG_TARBALL=postgresql-15_${VG_PG_VERSION}.orig.tar.bz2
# Debian's copy of the release tarball (ftp.postgresql.org is not reachable
# from every build machine). The checksum is the one in Debian's
# postgresql-15_15.18-0+deb12u1.dsc (Checksums-Sha256), checked by hand.
VG_PG_URL=http://deb.debian.org/debian/pool/main/p/postgresql-15/$VG_PG_TARBALL
VG_PG_SHA256=11df0df97fe3ea4ba9a791faaf39cee1d2fe571e78885b5b55d8517d27c323b4
VG_CACHE=${UM_VG_CACHE:-/var/cache/user_module}

VG_CONFIGURE_FLAGS="--enable-cassert --enable-debug --with-openssl --without-icu --without-readline"
VG_CFLAGS="-O1 -g -fno-omit-frame-pointer"
VG_CPPFLAGS="-DUSE_VALGRIND"
VG_KEY=$(printf '%s|%s|%s|%s' "$VG_PG_VERSION" "$VG_CONFIGURE_FLAGS" "$VG_CFLAGS" "$VG_CPPFLAGS" | sha256sum | cut -c1-8)
VG_PGPREFIX=$VG_CACHE/pg-$VG_PG_VERSION-valgrind-$VG_KEY
# the source tree stays next to the installation: valgrind.supp, and the
# debugger's source paths, are in it
VG_PGSRC=$VG_PGPREFIX.src/postgresql-$VG_PG_VERSION

vg_build_postgres() {
	if [ -f "$VG_PGPREFIX/.complete" ]; then
		um_log "PostgreSQL $VG_PG_VERSION (valgrind build) already in $VG_PGPREFIX"
		return 0
	fi
	local start=$SECONDS
	mkdir -p "$VG_CACHE"
	if ! echo "$VG_PG_SHA256  $VG_CACHE/$VG_PG_TARBALL" | sha256sum -c --status 2>/dev/null; then
		um_log "downloading $VG_PG_URL"
		curl -sSf -o "$VG_CACHE/$VG_PG_TARBALL.part" "$VG_PG_URL"
		mv "$VG_CACHE/$VG_PG_TARBALL.part" "$VG_CACHE/$VG_PG_TARBALL"
		echo "$VG_PG_SHA256  $VG_CACHE/$VG_PG_TARBALL" | sha256sum -c --status || {
			um_log "checksum mismatch for $VG_PG_TARBALL"
			return 1
		}
	fi
	rm -rf "$VG_PGPREFIX" "$VG_PGPREFIX.src"
	mkdir -p "$VG_PGPREFIX.src"
	tar -xjf "$VG_CACHE/$VG_PG_TARBALL" -C "$VG_PGPREFIX.src"
	um_log "configuring PostgreSQL $VG_PG_VERSION with $VG_CONFIGURE_FLAGS CFLAGS='$VG_CFLAGS' CPPFLAGS=$VG_CPPFLAGS"
	(
		cd "$VG_PGSRC"
		# shellcheck disable=SC2086
		./configure --prefix="$VG_PGPREFIX" $VG_CONFIGURE_FLAGS \
			CFLAGS="$VG_CFLAGS" CPPFLAGS="$VG_CPPFLAGS" >"$VG_PGPREFIX.src/configure.log" 2>&1
		um_log "building PostgreSQL (make -j2; log in $VG_PGPREFIX.src/build.log)"
		{
			make -j2 -s
			make -s install
			# the extensions the tests load, and the isolation tester that
			# PGXS's installcheck runs for ISOLATION
			for d in contrib/pg_trgm contrib/pgcrypto contrib/amcheck src/test/isolation; do
				make -j2 -s -C "$d"
				make -s -C "$d" install
			done
		} >"$VG_PGPREFIX.src/build.log" 2>&1
	) || {
		um_log "PostgreSQL build failed; tail of the logs:"
		tail -30 "$VG_PGPREFIX.src/configure.log" "$VG_PGPREFIX.src/build.log" >&2 || true
		return 1
	}
	touch "$VG_PGPREFIX/.complete"
	um_log "PostgreSQL built and installed in $((SECONDS - start)) s"
}
