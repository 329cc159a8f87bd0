# Sourced by test/valgrind/run.sh: PostgreSQL 15 built from Debian's source
# package (test/lib/build-pg.sh) with USE_VALGRIND (palloc and the memory
# contexts then tell memcheck which bytes of a chunk are allocated and
# defined, so reads past a palloc'd string or of uninitialised palloc memory in
# extension code are reported), cassert and debug symbols; cached like the
# other builds, a second run reuses it. Sets VG_PGPREFIX, VG_PGSRC.
source "$UM_ROOT/test/lib/build-pg.sh"

VG_CONFIGURE_FLAGS="--enable-cassert --enable-debug --with-openssl --without-icu --without-readline"
VG_CFLAGS="-O1 -g -fno-omit-frame-pointer"
VG_CPPFLAGS="-DUSE_VALGRIND"

vg_build_postgres() {
	um_build_postgres 15 valgrind "$VG_CONFIGURE_FLAGS" "$VG_CFLAGS" "$VG_CPPFLAGS" || return 1
	VG_PGPREFIX=$UM_BUILT_PREFIX
	# the source tree stays next to the installation: valgrind.supp, and the
	# debugger's source paths, are in it
	VG_PGSRC=$UM_BUILT_SRC
}
