/*
 * module.c
 *		Module entry point and settings.
 *
 * The library belongs in shared_preload_libraries: only then is the signing
 * key's setting defined, superuser-only, before any backend could read the
 * world-readable placeholder an unloaded library leaves behind.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "user_module.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * HS256 key for invite tokens. The setting's visible value is always the
 * mask: the check hook moves the key into "extra" (signing_key), so SHOW,
 * pg_settings and the "parameter changed" line a reload logs never carry it.
 */
static char *um_jwt_secret = NULL;

#define SECRET_MASK "********"

typedef struct KeyBytes
{
	size_t		len;
	uint8		bytes[FLEXIBLE_ARRAY_MEMBER];
} KeyBytes;

static const KeyBytes *signing_key = NULL;

/* invite lifetime in seconds */
int			um_invite_valid_duration = 86400;

/* also NOTIFY user_module_events for each event at commit */
bool		um_notify = true;

/* true when loaded through shared_preload_libraries */
static bool um_preloaded = false;

#define MIN_SECRET_BYTES 32

/*
 * Rejects short keys, never echoing the value (GUC_check_errmsg replaces
 * guc.c's "invalid value ...: <value>"), and swaps the value for the mask.
 * The mask itself is accepted as "no key here": guc.c hands the visible value
 * on, for instance to parallel workers, which never sign or verify.
 */
static bool
check_jwt_secret(char **newval, void **extra, GucSource source)
{
	const char *value = *newval ? *newval : "";
	size_t		len = strlen(value);
	KeyBytes   *key;

	if (strcmp(value, SECRET_MASK) == 0)
		return true;
	if (len > 0 && len < MIN_SECRET_BYTES)
	{
		GUC_check_errmsg("user_module.jwt_secret is too short");
		GUC_check_errdetail("The key must be at least %d bytes long.", MIN_SECRET_BYTES);
		return false;
	}

	/* guc.c frees extra and the value with free() */
	key = malloc(offsetof(KeyBytes, bytes) + len);
	if (key == NULL)
		return false;
	key->len = len;
	memcpy(key->bytes, value, len);
	*extra = key;

	if (*newval)
	{
		explicit_bzero(*newval, len);
		free(*newval);
	}
	*newval = strdup(SECRET_MASK);
	return *newval != NULL;
}

static void
assign_jwt_secret(const char *newval, void *extra)
{
	signing_key = extra;
}

/* 55000 unless the library was loaded through shared_preload_libraries. */
void
RequirePreloaded(void)
{
	if (!um_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("user_module must be loaded via shared_preload_libraries"),
				 errhint("Add user_module to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * The HS256 key, for the functions that sign or verify tokens. 55000 when it
 * cannot be trusted (library not preloaded) or is not set.
 */
const uint8 *
SigningKey(size_t *len)
{
	if (!um_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("user_module must be loaded via shared_preload_libraries"),
				 errdetail("Invite tokens need the signing key, which is only protected when the library is preloaded."),
				 errhint("Add user_module to shared_preload_libraries in postgresql.conf and restart the server.")));
	if (signing_key == NULL || signing_key->len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("user_module.jwt_secret is not set"),
				 errhint("Set it to at least %d random bytes in postgresql.conf or with ALTER SYSTEM, then reload.",
						 MIN_SECRET_BYTES)));
	*len = signing_key->len;
	return signing_key->bytes;
}

void
_PG_init(void)
{
	um_preloaded = process_shared_preload_libraries_in_progress;

	DefineCustomStringVariable("user_module.jwt_secret",
							   "Key that signs and verifies invite tokens (HS256).",
							   "Set it in postgresql.conf or with ALTER SYSTEM; at least 32 bytes.",
							   &um_jwt_secret,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_jwt_secret, assign_jwt_secret, NULL);

	DefineCustomIntVariable("user_module.invite_valid_duration",
							"How long a new or refreshed invite token stays valid.",
							NULL,
							&um_invite_valid_duration,
							86400, 1, 365 * 86400,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("user_module.notify",
							 "Sends each event with NOTIFY user_module_events at commit.",
							 NULL,
							 &um_notify,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("user_module");
	InstallStoreHooks();
}
