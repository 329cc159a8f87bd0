/*
 * store.c
 *		SPI plumbing: the module call (running as the tables' owner, contained),
 *		kept plans, and the statement runner that gives unique violations a
 *		readable message.
 *
 * The SQL functions are SECURITY INVOKER: EXECUTE grants decide who may call
 * what, and the caller stays visible to the C code. Around its own statements
 * the C code then switches to user_module_owner, the role the tables belong
 * to, so callers need no privileges on the tables; see BeginModuleCall for
 * how the call is contained. The search path is pinned to "pg_catalog,
 * pg_temp", and every statement qualifies its names besides.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/objectaddress.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_auth_members.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_shdepend.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "user_module.h"

#define MAX_CACHED_PLANS 64

/* Plans for the SQL shapes filters.c builds, least recently used evicted. */
typedef struct QueryPlanEntry
{
	char	   *sql;
	SPIPlanPtr	plan;
	uint64		last_used;
} QueryPlanEntry;

static QueryPlanEntry plan_cache[MAX_CACHED_PLANS];
static int	plan_cache_size = 0;
static uint64 plan_cache_clock = 0;

/*
 * What every call needs to know about the installed extension: its OID, its
 * schema, the role its tables belong to. Found through pg_extension and the
 * extension's membership records, never by a name another role could take,
 * and kept until the catalogs change (pg_class, pg_namespace, pg_proc, the
 * roles and their memberships), e.g. by DROP and CREATE EXTENSION in the same
 * session.
 */
typedef struct ModuleFacts
{
	uint64		generation;
	Oid			extension;
	Oid			namespace;
	Oid			owner;			/* of the tables: user_module_owner */
} ModuleFacts;

static uint64 catalog_generation = 1;
static ModuleFacts facts;

/* user_module.in_call: see refuse_temp_objects_in_calls */
static bool in_module_call = false;

/* The version of the SQL objects this library works with. */
#define MODULE_VERSION "0.3.0"

static void
forget_catalog_facts(Datum arg, int cacheid, uint32 hashvalue)
{
	catalog_generation++;
}

static void
register_callbacks(void)
{
	static bool registered = false;

	if (registered)
		return;
	CacheRegisterSyscacheCallback(RELOID, forget_catalog_facts, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, forget_catalog_facts, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, forget_catalog_facts, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, forget_catalog_facts, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, forget_catalog_facts, (Datum) 0);
	registered = true;
}

pg_noreturn static void
not_installed_right(const char *message, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg_internal("%s", message),
			 detail ? errdetail_internal("%s", detail) : 0,
			 errhint("%s", hint)));
}

/* The relation "name" in the extension's schema, which must be one of its members. */
static Oid
member_relation(const char *name)
{
	Oid			relid = get_relname_relid(name, facts.namespace);

	if (!OidIsValid(relid) || getExtensionOfObject(RelationRelationId, relid) != facts.extension)
		not_installed_right(psprintf("relation user_module.%s is missing", name),
							"It is not a member of the extension user_module.",
							"Drop and create the extension user_module again.");
	return relid;
}

/*
 * Whether "owner" owns anything in this database that is not a member of the
 * extension, or any shared object: a SECURITY DEFINER function it owned would
 * give its caller the tables, with no membership to show for it.
 */
static bool
owns_other_objects(Oid owner)
{
	Relation	rel = table_open(SharedDependRelationId, AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	ScanKeyInit(&keys[0], Anum_pg_shdepend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(AuthIdRelationId));
	ScanKeyInit(&keys[1], Anum_pg_shdepend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(owner));
	scan = systable_beginscan(rel, SharedDependReferenceIndexId, true, NULL, 2, keys);
	while (!found && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_shdepend dep = (Form_pg_shdepend) GETSTRUCT(tuple);

		if (dep->deptype != SHARED_DEPENDENCY_OWNER)
			continue;
		found = dep->dbid == InvalidOid ||
			(dep->dbid == MyDatabaseId &&
			 getExtensionOfObject(dep->classid, dep->objid) != facts.extension);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * The role the tables belong to must be the bare role the install script
 * checked: not a superuser, not able to log in, nobody's to become, and owner
 * of nothing else here. Checked again whenever the roles or the catalogs
 * change, since a superuser or a CREATEROLE role could change it later.
 */
static void
check_owner(Oid owner)
{
	HeapTuple	tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(owner));
	Form_pg_authid role;
	bool		bare;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for role %u", owner);
	role = (Form_pg_authid) GETSTRUCT(tuple);
	bare = !role->rolsuper && !role->rolcanlogin && !role->rolcreaterole &&
		!role->rolbypassrls;
	ReleaseSysCache(tuple);
	if (bare)
	{
		CatCList   *members = SearchSysCacheList1(AUTHMEMROLEMEM, ObjectIdGetDatum(owner));

		bare = (members->n_members == 0);
		ReleaseSysCacheList(members);
	}
	if (bare)
		bare = !owns_other_objects(owner);
	if (!bare)
		not_installed_right("the tables of user_module belong to a role that others can act as",
							"The tables must belong to user_module_owner, which is NOLOGIN, not a superuser, has no members and owns nothing else.",
							"Revoke the memberships of user_module_owner, drop what else it owns, and make it NOLOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS.");
}

static void
load_facts(void)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	char	   *version = NULL;
	HeapTuple	classtuple;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("user_module"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		Form_pg_extension ext = (Form_pg_extension) GETSTRUCT(tuple);
		bool		isnull;
		Datum		datum = heap_getattr(tuple, Anum_pg_extension_extversion,
										 RelationGetDescr(rel), &isnull);

		facts.extension = ext->oid;
		facts.namespace = ext->extnamespace;
		version = isnull ? NULL : TextDatumGetCString(datum);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (version == NULL)
		not_installed_right("extension user_module is not installed in this database", NULL,
							"CREATE EXTENSION user_module;");
	if (strcmp(version, MODULE_VERSION) != 0)
		not_installed_right(psprintf("extension user_module is at version %s; this library needs " MODULE_VERSION,
									 version),
							NULL, "Run ALTER EXTENSION user_module UPDATE; in this database.");

	classtuple = SearchSysCache1(RELOID, ObjectIdGetDatum(member_relation("user")));
	if (!HeapTupleIsValid(classtuple))
		elog(ERROR, "cache lookup failed for relation user_module.user");
	facts.owner = ((Form_pg_class) GETSTRUCT(classtuple))->relowner;
	ReleaseSysCache(classtuple);
	check_owner(facts.owner);
	facts.generation = catalog_generation;
}

static const ModuleFacts *
module_facts(void)
{
	register_callbacks();
	if (facts.generation != catalog_generation)
		load_facts();
	return &facts;
}

/* The OID of user_module.<name>, a table of the extension. */
Oid
ModuleRelation(CachedOid *slot, const char *name)
{
	(void) module_facts();
	if (slot->generation != catalog_generation)
	{
		slot->oid = member_relation(name);
		slot->generation = catalog_generation;
	}
	return slot->oid;
}

/* The OID of user_module.<name>, an index of the module's table "table". */
Oid
ModuleIndex(CachedOid *slot, Oid table, const char *name)
{
	(void) module_facts();
	if (slot->generation != catalog_generation)
	{
		Oid			relid = get_relname_relid(name, facts.namespace);

		if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_INDEX ||
			IndexGetRelation(relid, false) != table)
			not_installed_right(psprintf("index user_module.%s is missing", name), NULL,
								"Drop and create the extension user_module again.");
		slot->oid = relid;
		slot->generation = catalog_generation;
	}
	return slot->oid;
}

/*
 * Switches to "role" as a security-restricted operation, saving the current
 * user and security context for the switch back: how a module call and the
 * code it calls (subscribers) run.
 */
static void
become_restricted(Oid role, Oid *saved_user, int *saved_sec_context)
{
	GetUserIdAndSecContext(saved_user, saved_sec_context);
	SetUserIdAndSecContext(role, *saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
}

/*
 * Every call runs its statements as the tables' owner (as pg_cron and
 * PostgreSQL's foreign-key triggers switch user), as a security-restricted
 * operation, with search_path pinned to "pg_catalog, pg_temp" in a GUC nest
 * level of its own: PostgreSQL's pattern around index builds and REFRESH
 * MATERIALIZED VIEW. Code that is not ours and runs inside the call (a DBA's
 * trigger on a module table, a subscriber) can then neither SET ROLE nor use
 * or create temporary objects in the caller's session (see the hooks below),
 * and every setting it changes is discarded when the call returns. A
 * function's own SET search_path clause still holds, since the path is a
 * setting and not an override.
 */
void
BeginModuleCall(ModuleCall *call)
{
	BeginLookupCall(call);
	call->guc_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (!in_module_call)
		(void) set_config_option("user_module.in_call", "on", PGC_INTERNAL, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * A module call that only reads one row through its primary key (FetchEntity)
 * and runs no statement: nothing is planned, so no name is looked up, and no
 * code of anyone else's can run. It skips the setting level, whose undoing
 * walks every setting PostgreSQL 15 knows (AtEOXact_GUC): a quarter of the
 * cost of retrieve_user. EndModuleCall ends both kinds.
 */
void
BeginLookupCall(ModuleCall *call)
{
	Oid			owner;

	RequirePreloaded();
	owner = module_facts()->owner;
	call->caller_cxt = CurrentMemoryContext;
	call->guc_level = -1;
	memset(&call->events, 0, sizeof(call->events));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	become_restricted(owner, &call->saved_user, &call->saved_sec_context);
}

/*
 * On error, (sub)transaction abort restores the settings and the user id.
 * A call that made events has written them by now (WriteEvents).
 */
void
EndModuleCall(ModuleCall *call)
{
	if (call->events.n > 0)
		elog(ERROR, "a call ended with %d events not written", call->events.n);
	if (call->guc_level >= 0)
		AtEOXact_GUC(false, call->guc_level);
	SetUserIdAndSecContext(call->saved_user, call->saved_sec_context);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * Runs fn(arg) as "role", contained the way a module call is: as a
 * security-restricted operation, in a GUC nest level whose changes are
 * discarded afterwards. For code that is not ours: subscribers.
 */
void
RunContained(Oid role, void (*fn) (void *arg), void *arg)
{
	Oid			saved_user;
	int			saved_sec_context;
	int			guc_level;

	become_restricted(role, &saved_user, &saved_sec_context);
	guc_level = NewGUCNestLevel();
	fn(arg);
	AtEOXact_GUC(false, guc_level);
	SetUserIdAndSecContext(saved_user, saved_sec_context);
}

/*
 * The session's temporary objects are the caller's; code that is not ours and
 * runs inside a module call (a subscriber, a DBA's trigger) must neither use
 * them nor add to them. PostgreSQL refuses temporary tables in a
 * security-restricted operation, and the creation of a session's temporary
 * schema, but not a temporary function, type or operator once that schema
 * exists; and it lets such code read and write the caller's temporary tables,
 * which a function's "SET search_path = public, pg_catalog" finds first (an
 * unlisted pg_temp is searched first): a caller's temporary table with a
 * trigger of its own, named like the audit table a DBA's trigger writes to,
 * would run the caller's code as user_module_owner. So while a call runs, two
 * hooks refuse (42501) any object created in a temporary schema and any
 * statement that names a temporary relation. "In a call" is a setting
 * (user_module.in_call, which nobody can set) raised in the call's GUC nest
 * level, so that the end of the call and an error's abort both lower it. The
 * new object's row is not yet visible to the catalog caches, hence the
 * SnapshotSelf scan.
 */
static object_access_hook_type prev_object_access_hook = NULL;
static ExecutorCheckPerms_hook_type prev_executor_check_perms_hook = NULL;

static Oid
namespace_of_new_object(Oid classId, Oid objectId)
{
	Relation	rel = table_open(classId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			nsp = InvalidOid;

	ScanKeyInit(&key, get_object_attnum_oid(classId), BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(objectId));
	scan = systable_beginscan(rel, get_object_oid_index(classId), true, SnapshotSelf, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		datum = heap_getattr(tuple, get_object_attnum_namespace(classId),
										 RelationGetDescr(rel), &isnull);

		if (!isnull)
			nsp = DatumGetObjectId(datum);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

static void
refuse_temp_objects_in_calls(ObjectAccessType access, Oid classId, Oid objectId,
							 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (in_module_call && access == OAT_POST_CREATE && subId == 0 &&
		is_objectclass_supported(classId) &&
		get_object_attnum_namespace(classId) != InvalidAttrNumber &&
		isAnyTempNamespace(namespace_of_new_object(classId, objectId)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot create temporary objects within a user_module call")));
}

static bool
refuse_temp_relations_in_calls(CHECK_PERMS_PARAMS)
{
	ListCell   *lc;

	if (prev_executor_check_perms_hook &&
		!prev_executor_check_perms_hook(CHECK_PERMS_ARGS))
		return false;
	if (!in_module_call)
		return true;
	foreach(lc, range_table)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION &&
			get_rel_persistence(rte->relid) == RELPERSISTENCE_TEMP)
		{
			if (!ereport_on_violation)
				return false;
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("cannot use temporary tables within a user_module call")));
		}
	}
	return true;
}

/* From _PG_init. */
void
InstallStoreHooks(void)
{
	DefineCustomBoolVariable("user_module.in_call",
							 "Whether a user_module call is running (set by the module only).",
							 NULL,
							 &in_module_call,
							 false,
							 PGC_INTERNAL,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_NO_RESET_ALL,
							 NULL, NULL, NULL);
	prev_object_access_hook = object_access_hook;
	object_access_hook = refuse_temp_objects_in_calls;
	prev_executor_check_perms_hook = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = refuse_temp_relations_in_calls;
}

static SPIPlanPtr
prepare_and_keep(const char *sql, int nargs, const Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, (Oid *) argtypes, cursor_options);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/*
 * A plan prepared once per backend for a fixed statement. Always the generic
 * plan: these statements look rows up by id or insert them, where knowing the
 * values gains nothing, and a custom plan of a bulk call would copy its
 * 100,000-element arrays into the plan.
 */
SPIPlanPtr
KeptPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes)
{
	if (*slot == NULL)
		*slot = prepare_and_keep(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
	return *slot;
}

/*
 * A plan kept for a statement over a batch of ids, planned anew for each
 * call's values. A generic plan cannot know how many ids a call brings, nor
 * trust statistics taken before a bulk load: planned for ten ids and an
 * almost empty table, a join of 1,000 ids with 4,000 invites scanned the
 * table once per id (350 ms instead of 40). Planning takes a fraction of a
 * millisecond, small beside a batch.
 */
SPIPlanPtr
KeptBatchPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes)
{
	if (*slot == NULL)
		*slot = prepare_and_keep(sql, nargs, argtypes, CURSOR_OPT_CUSTOM_PLAN);
	return *slot;
}

/*
 * A plan for a statement filters.c generated, kept per distinct SQL text.
 * Where selectivity depends on the values (q patterns: a rare word wants the
 * trigram index, a common one a walk in id order; time ranges), each
 * execution is planned for its own values. Otherwise one generic plan serves
 * every call: left to choose, the plan cache would keep planning lookups by
 * id or email each time, since a generic "= ANY($1)" looks costlier than the
 * one-element array a custom plan sees.
 */
SPIPlanPtr
PlanForQuery(const char *sql, const QueryParams *params)
{
	QueryPlanEntry *entry = NULL;

	for (int i = 0; i < plan_cache_size; i++)
	{
		if (strcmp(plan_cache[i].sql, sql) == 0)
		{
			entry = &plan_cache[i];
			break;
		}
	}

	if (entry == NULL)
	{
		/* prepare first: if that fails, the cache is untouched */
		SPIPlanPtr	plan = prepare_and_keep(sql, params->n, params->types,
											params->custom_plan ? CURSOR_OPT_CUSTOM_PLAN
											: CURSOR_OPT_GENERIC_PLAN);

		if (plan_cache_size < MAX_CACHED_PLANS)
			entry = &plan_cache[plan_cache_size++];
		else
		{
			entry = &plan_cache[0];
			for (int i = 1; i < MAX_CACHED_PLANS; i++)
				if (plan_cache[i].last_used < entry->last_used)
					entry = &plan_cache[i];
			SPI_freeplan(entry->plan);
			pfree(entry->sql);
		}
		entry->plan = plan;
		entry->sql = MemoryContextStrdup(TopMemoryContext, sql);
	}
	entry->last_used = ++plan_cache_clock;
	return entry->plan;
}

/*
 * The context lines of an error raised by one of our statements, without
 * those about the statement itself: its text is noise to the caller, while
 * the lines after it (a PL/pgSQL function that called us, a trigger) are the
 * caller's own. Lines run from the innermost out, and SPI's line for our
 * statement is the first 'SQL statement "...' (our statements are one line).
 * Where that line is not found (messages in another language), none is kept.
 */
static char *
callers_context(const char *context)
{
	const char *ours = context ? strstr(context, "SQL statement \"") : NULL;
	const char *rest = ours ? strchr(ours, '\n') : NULL;

	return rest ? pstrdup(rest + 1) : NULL;
}

/*
 * Rethrows an error of one of our statements in the caller's terms: its own
 * message, detail and hint (where given), and the caller's context lines only.
 * The SQLSTATE stays.
 */
pg_noreturn static void
rethrow_reworded(ErrorData *edata, const char *message, const char *detail, const char *hint)
{
	FlushErrorState();
	edata->message = pstrdup(message);
	if (detail)
		edata->detail = pstrdup(detail);
	if (hint)
		edata->hint = pstrdup(hint);
	edata->context = callers_context(edata->context);
	ReThrowError(edata);
}

/* Runs a plan and checks its SPI result code; see RunPlanWithMessages. */
SpiRows
RunPlan(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only, int expected)
{
	return RunPlanWithMessages(plan, values, nulls, read_only, expected, NULL);
}

/*
 * Runs a plan and checks its SPI result code. A violation of one of the
 * unique constraints "unique" lists (a table's own list, ending with {NULL})
 * is rethrown with its message, which names the rule but not the value
 * (emails are personal data; messages reach logs), any other unique
 * violation without its detail, which holds the value; a write in a
 * read-only transaction (a hot standby) with one that says what to do.
 */
SpiRows
RunPlanWithMessages(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only,
					int expected, const UniqueMessage *unique)
{
	MemoryContext cxt = CurrentMemoryContext;
	SpiRows		rows;
	int			rc = 0;

	PG_TRY();
	{
		rc = SPI_execute_plan(plan, values, nulls, read_only, 0);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_UNIQUE_VIOLATION)
		{
			for (const UniqueMessage *u = unique; u && u->constraint && edata->constraint_name; u++)
				if (strcmp(edata->constraint_name, u->constraint) == 0)
					rethrow_reworded(edata, u->message, u->detail, NULL);
			/* another constraint (a trigger's insert): its message, not the value */
			edata->detail = NULL;
			rethrow_reworded(edata, edata->message, NULL, NULL);
		}

		/*
		 * In a read-only transaction PostgreSQL names the statement kind it
		 * refused ("SELECT" for an UPDATE that locks rows first) and shows our
		 * statement's text; a caller on a hot standby needs neither.
		 */
		if (edata->sqlerrcode == ERRCODE_READ_ONLY_SQL_TRANSACTION)
			rethrow_reworded(edata, "cannot change users, invites or events in a read-only transaction",
							 NULL,
							 RecoveryInProgress()
							 ? "This server is a hot standby: send writes to the primary."
							 : "Writes need a read-write transaction.");
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (rc != expected)
		elog(ERROR, "unexpected SPI result %s", SPI_result_code_string(rc));
	rows.table = SPI_tuptable;
	rows.count = SPI_processed;
	return rows;
}

Datum
RowColumn(SpiRows rows, uint64 row, int column, bool *isnull)
{
	return SPI_getbinval(rows.table->vals[row], rows.table->tupdesc, column, isnull);
}

/* One column of every row, as an array (ids for events and results). */
Datum
RowsColumnArray(SpiRows rows, int column, Oid elemtype)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(rows.count, 1));
	int16		typlen;
	bool		typbyval;
	char		typalign;

	for (uint64 i = 0; i < rows.count; i++)
	{
		bool		isnull;

		elems[i] = RowColumn(rows, i, column, &isnull);
		Assert(!isnull);
	}
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_array(elems, (int) rows.count, elemtype,
										   typlen, typbyval, typalign));
}

/* The row type a function returning one row is declared with. */
TupleDesc
ResultDesc(FunctionCallInfo fcinfo)
{
	TupleDesc	desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "function returning a row called in a context that cannot accept one");
	return desc;
}

/* A tuple of that type as the function's result, in the caller's memory. */
Datum
TupleAsResult(ModuleCall *call, HeapTuple tuple, TupleDesc desc)
{
	MemoryContext old = MemoryContextSwitchTo(call->caller_cxt);
	Datum		result = heap_copy_tuple_as_datum(tuple, desc);

	MemoryContextSwitchTo(old);
	return result;
}

/* One row as the function's declared composite result, in the caller's memory. */
Datum
RowAsComposite(FunctionCallInfo fcinfo, ModuleCall *call, SpiRows rows, uint64 row)
{
	return TupleAsResult(call, rows.table->vals[row], ResultDesc(fcinfo));
}

/*
 * Appends the rows to the set a SETOF <row type> function returns; the
 * function called InitMaterializedSRF first.
 */
void
ReturnRows(FunctionCallInfo fcinfo, SpiRows rows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (uint64 i = 0; i < rows.count; i++)
		tuplestore_puttuple(rsinfo->setResult, rows.table->vals[i]);
}

/* Appends one column of the rows to the set a SETOF <scalar> function returns. */
void
ReturnColumn(FunctionCallInfo fcinfo, SpiRows rows, int column)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (uint64 i = 0; i < rows.count; i++)
	{
		bool		isnull;
		Datum		value = RowColumn(rows, i, column, &isnull);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
}

/* The query text for the context line of an error while fetching: see below. */
static void
cursor_error_context(void *arg)
{
	const char *query = (const char *) arg;
	int			position = geterrposition();

	if (position > 0)
	{
		errposition(0);
		internalerrposition(position);
		internalerrquery(query);
	}
	else
		errcontext("SQL statement \"%s\"", query);
}

/*
 * Runs a read-only plan through a cursor and hands its rows to each() at most
 * batch at a time, so that no more than one batch is ever held: each batch's
 * tuple table is freed before the next is fetched, and what each() allocates
 * goes into a context reset after every batch. Errors raised while fetching
 * get the context line SPI_execute_plan would give them ("SQL statement
 * ..."); errors of each() get none, as after RunPlan. Same snapshot as
 * RunPlan with read_only (the active one); on error, (sub)transaction abort
 * drops the portal and the contexts.
 */
void
RunPlanInBatches(SPIPlanPtr plan, Datum *values, const char *nulls, int batch,
				 EachRows each, void *arg)
{
	CachedPlanSource *source = linitial(SPI_plan_get_plan_sources(plan));
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "user_module batch",
													ALLOCSET_DEFAULT_SIZES);
	ErrorContextCallback callback;
	Portal		portal;
	SpiRows		rows;

	portal = SPI_cursor_open(NULL, plan, values, nulls, true);
	if (portal == NULL)
		elog(ERROR, "SPI_cursor_open failed: %s", SPI_result_code_string(SPI_result));
	callback.callback = cursor_error_context;
	callback.arg = (void *) source->query_string;
	do
	{
		MemoryContext old;

		callback.previous = error_context_stack;
		error_context_stack = &callback;
		SPI_cursor_fetch(portal, true, batch);
		error_context_stack = callback.previous;

		rows.table = SPI_tuptable;
		rows.count = SPI_processed;
		if (rows.count > 0)
		{
			old = MemoryContextSwitchTo(batch_cxt);
			each(rows, arg);
			MemoryContextSwitchTo(old);
			MemoryContextReset(batch_cxt);
		}
		SPI_freetuptable(rows.table);
	} while (rows.count == (uint64) batch);	/* fewer: the cursor is done */
	SPI_cursor_close(portal);
	MemoryContextDelete(batch_cxt);
}
