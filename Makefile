# PGXS build for user_module. The version lives in user_module.control only;
# an install runs user_module--0.1.0.sql and then each upgrade script in turn.
EXTENSION    = user_module
MODULE_big   = $(EXTENSION)
OBJS         = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA         = $(wildcard $(EXTENSION)--*.sql)
PG_CPPFLAGS  = -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter

# pg_regress files live in sql/ and expected/; isolation specs in test/specs
REGRESS      = setup users users_errors metadata filters events privileges search_path robustness \
               invites tokens secret workflows app_triggers subscribers threats upgrade
ISOLATION    = email_race restore_race claim_race notify \
               accept_race refresh_race invite_email_race invite_user_race
ISOLATION_OPTS = --inputdir=test --outputdir=test/output_iso --use-existing
# The specs share one database, where the extension is installed as a user
# installs it (test/install.sql): pg_regress's --load-extension would put
# pg_trgm into schema public, which the install script refuses.
REGRESS_PREP = $(if $(ISOLATION),isolation_database)
# TAP tests (PostgreSQL::Test::Cluster) in test/t: they start servers of
# their own, so they run as a user initdb accepts (not root).
TAP_TESTS    = 1
PROVE_TESTS  = test/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# the TAP tests' module, UserModuleNode.pm
PG_PROVE_FLAGS += -I $(srcdir)/test/lib

# The TAP tests alone (installcheck runs them after the others): PGXS has
# the recipe, but no target of its own for it.
.PHONY: prove_installcheck
prove_installcheck:
	$(prove_installcheck)

.PHONY: isolation_database
isolation_database:
	$(bindir)/psql -X -q -d postgres -v ON_ERROR_STOP=1 \
		-c 'DROP DATABASE IF EXISTS $(ISOLATION_TESTDB)' -c 'CREATE DATABASE $(ISOLATION_TESTDB)'
	$(bindir)/psql -X -q -d $(ISOLATION_TESTDB) -v ON_ERROR_STOP=1 -f test/install.sql

# PGXS tracks no header dependencies: every object depends on every header.
$(OBJS): $(wildcard src/*.h)
