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

/* HS256 key for invite tokens; never shown to anyone but superusers */
char	   *um_jwt_secret = NULL;

/* invite lifetime in seconds */
int			um_invite_valid_duration = 86400;

/* also NOTIFY user_module_events for each event at commit */
bool		um_notify = true;

/* true when loaded through shared_preload_libraries */
bool		um_preloaded = false;

#define MIN_SECRET_BYTES 32

/*
 * Reject short keys. The message must never echo the value: GUC_check_errmsg
 * replaces guc.c's default "invalid value ...: <value>".
 */
static bool
check_jwt_secret(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (strlen(*newval) < MIN_SECRET_BYTES)
	{
		GUC_check_errmsg("user_module.jwt_secret is too short");
		GUC_check_errdetail("The key must be at least %d bytes long.", MIN_SECRET_BYTES);
		return false;
	}
	return true;
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
	if (um_jwt_secret == NULL || um_jwt_secret[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("user_module.jwt_secret is not set"),
				 errhint("Set it to at least %d random bytes in postgresql.conf or with ALTER SYSTEM, then reload.",
						 MIN_SECRET_BYTES)));
	*len = strlen(um_jwt_secret);
	return (const uint8 *) um_jwt_secret;
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
							   check_jwt_secret, NULL, NULL);

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
}
