/*
 * module.c
 *		Module entry point and settings.
 *
 * The library belongs in shared_preload_libraries: only then are its settings
 * defined, the key's superuser-only, before any backend could read the
 * world-readable placeholder an unloaded library leaves behind. Without
 * preloading every function refuses to run (RequirePreloaded).
 *
 * The key comes from one of two places: a key file named by
 * user_module.jwt_secret_file (first line the key, optional second line the
 * previous key), or the inline settings user_module.jwt_secret and
 * user_module.jwt_previous_secret. The previous key only verifies; signing
 * always takes the current one.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/parallel.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "user_module.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

#define SECRET_MASK "********"
#define MIN_SECRET_BYTES 32
/* a key file holds two lines of key; anything larger is a mistake */
#define MAX_KEY_FILE_BYTES 4096

/*
 * A key, in the "extra" of its setting. The settings' visible values are
 * always the mask: the check hooks move the key here, so SHOW, pg_settings
 * and the "parameter changed" line a reload logs never carry it.
 */
typedef struct KeyBytes
{
	size_t		len;
	uint8		bytes[FLEXIBLE_ARRAY_MEMBER];
} KeyBytes;

/* The keys of a key file: current_len bytes, then previous_len (0: none). */
typedef struct KeyFileKeys
{
	size_t		current_len;
	size_t		previous_len;
	uint8		bytes[FLEXIBLE_ARRAY_MEMBER];
} KeyFileKeys;

static char *um_jwt_secret = NULL;
static char *um_jwt_previous_secret = NULL;
static char *um_jwt_secret_file = NULL;

static const KeyBytes *inline_key = NULL;
static const KeyBytes *inline_previous_key = NULL;
static const KeyFileKeys *file_keys = NULL;

/* invite lifetime in seconds */
int			um_invite_valid_duration = 86400;

/* also NOTIFY user_module_events for each event at commit */
bool		um_notify = true;

/* true when loaded through shared_preload_libraries */
static bool um_preloaded = false;

/* not preloaded: whether the inline keys' placeholders held a value */
static bool placeholder_key = false;
static bool placeholder_previous_key = false;

/* ---------------------------------------------------------------- inline keys */

/*
 * Rejects short keys, never echoing the value (GUC_check_errmsg replaces
 * guc.c's "invalid value ...: <value>", in every path that returns false),
 * and swaps the value for the mask. The mask itself is accepted as "no key
 * here": guc.c hands the visible value on, for instance to parallel workers,
 * which never sign or verify.
 */
static bool
check_inline_key(const char *name, char **newval, void **extra)
{
	const char *value = *newval ? *newval : "";
	size_t		len = strlen(value);
	KeyBytes   *key;

	if (strcmp(value, SECRET_MASK) == 0)
		return true;
	if (len > 0 && len < MIN_SECRET_BYTES)
	{
		/* guc.c frees the value as it is: wipe it first */
		explicit_bzero(*newval, len);
		GUC_check_errmsg("%s is too short", name);
		GUC_check_errdetail("The key must be at least %d bytes long.", MIN_SECRET_BYTES);
		return false;
	}

	/* guc.c frees extra and the value (GucFree) */
	key = GucMalloc(offsetof(KeyBytes, bytes) + len);
	if (key == NULL)
	{
		if (*newval)
			explicit_bzero(*newval, len);
		GUC_check_errmsg("out of memory");
		return false;
	}
	key->len = len;
	memcpy(key->bytes, value, len);

	if (*newval)
	{
		explicit_bzero(*newval, len);
		GucFree(*newval);
	}
	*newval = GucStrdup(SECRET_MASK);
	if (*newval == NULL)
	{
		explicit_bzero(key->bytes, len);
		GucFree(key);
		GUC_check_errmsg("out of memory");
		return false;
	}
	*extra = key;
	return true;
}

static bool
check_jwt_secret(char **newval, void **extra, GucSource source)
{
	return check_inline_key("user_module.jwt_secret", newval, extra);
}

static void
assign_jwt_secret(const char *newval, void *extra)
{
	inline_key = extra;
}

static bool
check_jwt_previous_secret(char **newval, void **extra, GucSource source)
{
	return check_inline_key("user_module.jwt_previous_secret", newval, extra);
}

static void
assign_jwt_previous_secret(const char *newval, void *extra)
{
	inline_previous_key = extra;
}

/* ---------------------------------------------------------------- key file */

/* Length of line without its trailing white space (\r included). */
static size_t
trimmed_length(const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
					   line[len - 1] == '\r' || line[len - 1] == '\v' ||
					   line[len - 1] == '\f'))
		len--;
	return len;
}

/*
 * Opens and reads the key file into buf (MAX_KEY_FILE_BYTES + 1 bytes);
 * returns the length read, or -1 with GUC_check_errmsg set. The file is
 * judged as PostgreSQL judges ssl_key_file: a regular file, owned by the
 * server's OS user without group or world access (0600, 0400), or by root
 * without world access and at most group read (0640). No message carries the
 * file's contents.
 */
static ssize_t
read_key_file(const char *path, char *buf)
{
	int			fd;
	struct stat st;
	ssize_t		total = 0;

	/* O_NONBLOCK: a FIFO must not hang the server; a regular file ignores it */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
	{
		GUC_check_errmsg("could not open user_module.jwt_secret_file \"%s\": %m", path);
		return -1;
	}
	if (fstat(fd, &st) != 0)
	{
		GUC_check_errmsg("could not stat user_module.jwt_secret_file \"%s\": %m", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
	{
		GUC_check_errmsg("user_module.jwt_secret_file \"%s\" is not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0)
	{
		GUC_check_errmsg("user_module.jwt_secret_file \"%s\" must be owned by the database user or root", path);
		close(fd);
		return -1;
	}
	if ((st.st_uid == geteuid() && (st.st_mode & (S_IRWXG | S_IRWXO))) ||
		(st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO))))
	{
		GUC_check_errmsg("user_module.jwt_secret_file \"%s\" has group or world access", path);
		GUC_check_errdetail("The file must have permissions u=rw (0600) or less if owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root.");
		close(fd);
		return -1;
	}
	for (;;)
	{
		ssize_t		n = read(fd, buf + total, MAX_KEY_FILE_BYTES + 1 - total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			GUC_check_errmsg("could not read user_module.jwt_secret_file \"%s\": %m", path);
			explicit_bzero(buf, total);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		total += n;
		if (total > MAX_KEY_FILE_BYTES)
		{
			GUC_check_errmsg("user_module.jwt_secret_file \"%s\" is larger than %d bytes", path,
							 MAX_KEY_FILE_BYTES);
			explicit_bzero(buf, total);
			close(fd);
			return -1;
		}
	}
	close(fd);
	return total;
}

/*
 * Splits the file's text into its key lines: the first is the key, the
 * optional second the previous key, each without trailing white space and
 * held to the inline key's rules; nothing may follow but blank lines.
 */
static bool
parse_key_file(const char *path, const char *text, size_t len,
			   const char **key, size_t *keylen, const char **prev, size_t *prevlen)
{
	const char *lines[2] = {NULL, NULL};
	size_t		lens[2] = {0, 0};
	const char *p = text;
	const char *end = text + len;
	int			nlines = 0;

	if (memchr(text, '\0', len) != NULL)
	{
		GUC_check_errmsg("user_module.jwt_secret_file \"%s\" contains a NUL byte", path);
		return false;
	}
	while (p < end)
	{
		const char *nl = memchr(p, '\n', end - p);
		size_t		n = trimmed_length(p, (nl ? nl : end) - p);

		if (nlines < 2)
		{
			lines[nlines] = p;
			lens[nlines] = n;
		}
		else if (n > 0)
		{
			GUC_check_errmsg("user_module.jwt_secret_file \"%s\" has more than two lines", path);
			GUC_check_errdetail("The first line is the key, the optional second line the previous key.");
			return false;
		}
		nlines++;
		p = nl ? nl + 1 : end;
	}
	if (lens[0] == 0)
	{
		GUC_check_errmsg("user_module.jwt_secret_file \"%s\" has no key on its first line", path);
		return false;
	}
	for (int i = 0; i < 2; i++)
	{
		if (lens[i] > 0 && lens[i] < MIN_SECRET_BYTES)
		{
			GUC_check_errmsg("the %s in user_module.jwt_secret_file \"%s\" is too short",
							 i == 0 ? "key" : "previous key", path);
			GUC_check_errdetail("The key must be at least %d bytes long.", MIN_SECRET_BYTES);
			return false;
		}
	}
	*key = lines[0];
	*keylen = lens[0];
	*prev = lines[1];
	*prevlen = lens[1];
	return true;
}

/*
 * Reads the key file whenever the setting is (re)loaded: at server start and
 * at every reload, in each process, so a rotation is "rewrite the file,
 * reload". A refused file leaves the keys in force as they were (at server
 * start: no key). Parallel workers, which never sign or verify, skip it.
 */
static bool
check_jwt_secret_file(char **newval, void **extra, GucSource source)
{
	char		buf[MAX_KEY_FILE_BYTES + 1];
	ssize_t		len;
	const char *key;
	const char *prev;
	size_t		keylen;
	size_t		prevlen;
	KeyFileKeys *keys;
	bool		ok;

	if (*newval == NULL || (*newval)[0] == '\0' || InitializingParallelWorker)
		return true;
	len = read_key_file(*newval, buf);
	if (len < 0)
		return false;
	ok = parse_key_file(*newval, buf, len, &key, &keylen, &prev, &prevlen);
	keys = ok ? GucMalloc(offsetof(KeyFileKeys, bytes) + keylen + prevlen) : NULL;
	if (ok && keys == NULL)
		GUC_check_errmsg("out of memory");
	if (keys != NULL)
	{
		keys->current_len = keylen;
		keys->previous_len = prevlen;
		memcpy(keys->bytes, key, keylen);
		if (prevlen > 0)
			memcpy(keys->bytes + keylen, prev, prevlen);
		*extra = keys;
	}
	explicit_bzero(buf, len);
	return keys != NULL;
}

static void
assign_jwt_secret_file(const char *newval, void *extra)
{
	file_keys = extra;
}

/* ---------------------------------------------------------------- the keys */

/*
 * 55000 unless the library was loaded through shared_preload_libraries. Every
 * SQL-callable function calls it first (BeginModuleCall, SigningKey). When an
 * inline key was set, its placeholder could be read by every role: say so.
 */
void
RequirePreloaded(void)
{
	bool		exposed_key;
	bool		exposed_previous;

	if (um_preloaded)
		return;
	exposed_key = placeholder_key || (inline_key != NULL && inline_key->len > 0);
	exposed_previous = placeholder_previous_key ||
		(inline_previous_key != NULL && inline_previous_key->len > 0);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("user_module must be loaded via shared_preload_libraries"),
			 (exposed_key || exposed_previous) ?
			 errdetail("The key set in %s was readable by every role while the library was not preloaded; it must be rotated.",
					   exposed_key && exposed_previous ?
					   "user_module.jwt_secret and user_module.jwt_previous_secret" :
					   exposed_key ? "user_module.jwt_secret" : "user_module.jwt_previous_secret") :
			 errdetail("Its settings, the signing key among them, are only protected when the library is preloaded."),
			 errhint("Add user_module to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * The current key and the previous one (NULL: none) from the one source that
 * is set. 55000 when the library was not preloaded, when both a key file and
 * an inline key are set, or when there is no key.
 */
static const uint8 *
current_keys(size_t *len, const uint8 **previous, size_t *previous_len)
{
	bool		file_set = um_jwt_secret_file != NULL && um_jwt_secret_file[0] != '\0';
	bool		inline_set = (inline_key != NULL && inline_key->len > 0) ||
		(inline_previous_key != NULL && inline_previous_key->len > 0);

	RequirePreloaded();
	if (file_set && inline_set)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("user_module.jwt_secret_file and an inline key are both set"),
				 errdetail("user_module.jwt_secret or user_module.jwt_previous_secret is set as well as the key file."),
				 errhint("Set only one: keep the key file, remove the inline settings from the configuration, then reload.")));
	if (file_set && file_keys != NULL)
	{
		*len = file_keys->current_len;
		*previous_len = file_keys->previous_len;
		*previous = file_keys->previous_len > 0 ? file_keys->bytes + file_keys->current_len : NULL;
		return file_keys->bytes;
	}
	if (!file_set && inline_key != NULL && inline_key->len > 0)
	{
		*len = inline_key->len;
		*previous_len = inline_previous_key ? inline_previous_key->len : 0;
		*previous = *previous_len > 0 ? inline_previous_key->bytes : NULL;
		return inline_key->bytes;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("user_module has no signing key"),
			 errhint("Name a key file of at least %d random bytes in user_module.jwt_secret_file, then reload.",
					 MIN_SECRET_BYTES)));
	return NULL;				/* not reached */
}

/* The key that signs tokens, for the functions that sign or verify them. */
const uint8 *
SigningKey(size_t *len)
{
	const uint8 *previous;
	size_t		previous_len;

	return current_keys(len, &previous, &previous_len);
}

/*
 * The keys a presented token may be signed with: the current one first, then
 * the previous one if set. Returns how many (1 or 2).
 */
int
VerificationKeys(TokenKey keys[2])
{
	keys[0].bytes = current_keys(&keys[0].len, &keys[1].bytes, &keys[1].len);
	return keys[1].bytes != NULL ? 2 : 1;
}

/* ---------------------------------------------------------------- init */

/* Whether the placeholder of an unloaded library's setting holds a value. */
static bool
placeholder_set(const char *name)
{
	const char *value = GetConfigOption(name, true, false);

	return value != NULL && value[0] != '\0';
}

void
_PG_init(void)
{
	um_preloaded = process_shared_preload_libraries_in_progress;
	if (!um_preloaded)
	{
		placeholder_key = placeholder_set("user_module.jwt_secret");
		placeholder_previous_key = placeholder_set("user_module.jwt_previous_secret");
	}

	/*
	 * The key's settings: superuser-only, out of SHOW ALL, and only in the
	 * configuration files, never through ALTER SYSTEM (whose statement text,
	 * key included, reaches the server log and pg_stat_statements).
	 */
	DefineCustomStringVariable("user_module.jwt_secret_file",
							   "File holding the key that signs and verifies invite tokens, and optionally the previous key.",
							   "First line: the key (at least 32 bytes); second line, optional: the previous key, "
							   "still accepted. Read at server start and at every reload. Owned by the server's OS user "
							   "with mode 0600 or 0400, or by root with at most 0640.",
							   &um_jwt_secret_file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_AUTO_FILE,
							   check_jwt_secret_file, assign_jwt_secret_file, NULL);

	DefineCustomStringVariable("user_module.jwt_secret",
							   "Key that signs and verifies invite tokens (HS256), set inline.",
							   "Prefer user_module.jwt_secret_file. Set it in a configuration file only the server's "
							   "OS user can read; at least 32 bytes.",
							   &um_jwt_secret,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_AUTO_FILE,
							   check_jwt_secret, assign_jwt_secret, NULL);

	DefineCustomStringVariable("user_module.jwt_previous_secret",
							   "Previous key, set inline: still verifies invite tokens, never signs.",
							   "For a rotation without a flag day; remove it once the tokens it signed are no longer needed.",
							   &um_jwt_previous_secret,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_AUTO_FILE,
							   check_jwt_previous_secret, assign_jwt_previous_secret, NULL);

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

	InstallStoreHooks();
	MarkGUCPrefixReserved("user_module");
}
