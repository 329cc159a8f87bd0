/*
 * store.c
 *		SPI plumbing: running as the extension owner, kept plans, and the
 *		statement runner that gives unique violations a readable message.
 *
 * The SQL functions are SECURITY INVOKER: EXECUTE grants decide who may call
 * what, and the caller stays visible to the C code. Around its own statements
 * the C code then switches to the owner of the extension's tables (as pg_cron
 * and ri_triggers.c do), so callers need no privileges on the tables, and pins
 * the search path to pg_catalog alone (no pg_temp), so that nothing a caller
 * plants in a schema of its own can capture a name, even where the statement
 * text forgot to qualify one. Pinning in C costs a list push; a SET clause on
 * the functions would cost a GUC save and restore on every call. On error,
 * (sub)transaction abort restores both the user id and the search path.
 * Statements on the outbox, which may fire administrators' triggers, are the
 * one exception: see RunOutboxPlan.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
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

/* Unique constraints whose violations get a message of their own. */
typedef struct UniqueMessage
{
	const char *constraint;
	const char *message;
	const char *detail;
} UniqueMessage;

static const UniqueMessage unique_messages[] = {
	{"user_pkey", "user id is already in use",
	"Another user, live or soft-deleted, has the same id."},
	{"user_email_unique", "email is already in use by another user",
	"Emails are unique among live users, compared case-insensitively."},
	{"invite_pkey", "invite id is already in use",
	"Another invite, live or soft-deleted, has the same id."},
	{"invite_email_unique", "email is already in use by another invite",
	"Emails are unique among live invites, compared case-insensitively."},
};

/*
 * Catalog facts every call needs (the schema, the tables, their owner) are
 * looked up once and kept until pg_class or pg_namespace changes, e.g. by
 * DROP and CREATE EXTENSION in the same session.
 */
static uint64 catalog_generation = 1;
static bool callbacks_registered = false;
static CachedOid owner_of_tables;

static void
forget_catalog_facts(Datum arg, int cacheid, uint32 hashvalue)
{
	catalog_generation++;
}

static Oid
module_namespace(void)
{
	static CachedOid nsp;

	if (!callbacks_registered)
	{
		CacheRegisterSyscacheCallback(RELOID, forget_catalog_facts, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, forget_catalog_facts, (Datum) 0);
		callbacks_registered = true;
	}
	if (nsp.generation != catalog_generation)
	{
		nsp.oid = get_namespace_oid("user_module", false);
		nsp.generation = catalog_generation;
	}
	return nsp.oid;
}

/* The OID of user_module.<name>, a table or index of the extension. */
Oid
ModuleRelation(CachedOid *slot, const char *name)
{
	Oid			nsp = module_namespace();

	if (slot->generation != catalog_generation)
	{
		slot->oid = get_relname_relid(name, nsp);
		if (!OidIsValid(slot->oid))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("relation user_module.%s is missing", name),
					 errhint("Drop and create the extension user_module again.")));
		slot->generation = catalog_generation;
	}
	return slot->oid;
}

/* The role that owns user_module."user", i.e. the extension's owner. */
static Oid
extension_owner(void)
{
	static CachedOid user_table;
	Oid			relid = ModuleRelation(&user_table, "user");

	if (owner_of_tables.generation != catalog_generation)
	{
		HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "cache lookup failed for relation %u", relid);
		owner_of_tables.oid = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
		owner_of_tables.generation = catalog_generation;
		ReleaseSysCache(tuple);
	}
	return owner_of_tables.oid;
}

/*
 * Whether the extension's installed SQL is version 0.1.0, from before the
 * outbox had a role of its own. ALTER EXTENSION UPDATE grants on the outbox,
 * which invalidates its pg_class entry and so the cached answer.
 */
static bool
installed_version_is_0_1_0(void)
{
	static uint64 generation = 0;
	static bool is_0_1_0;

	if (generation != catalog_generation)
	{
		Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tuple;

		ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
					CStringGetDatum("user_module"));
		scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
		tuple = systable_getnext(scan);
		is_0_1_0 = false;
		if (HeapTupleIsValid(tuple))
		{
			bool		isnull;
			Datum		version = heap_getattr(tuple, Anum_pg_extension_extversion,
											   RelationGetDescr(rel), &isnull);

			is_0_1_0 = !isnull && strcmp(TextDatumGetCString(version), "0.1.0") == 0;
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
		generation = catalog_generation;
	}
	return is_0_1_0;
}

static void
pin_search_path(void)
{
	OverrideSearchPath pinned = {0};

	pinned.schemas = list_make1_oid(PG_CATALOG_NAMESPACE);
	PushOverrideSearchPath(&pinned);
}

void
BeginModuleCall(ModuleCall *call)
{
	Oid			owner = extension_owner();

	call->caller_cxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&call->saved_user, &call->saved_sec_context);
	SetUserIdAndSecContext(owner, call->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	pin_search_path();
}

void
EndModuleCall(ModuleCall *call)
{
	PopOverrideSearchPath();
	SetUserIdAndSecContext(call->saved_user, call->saved_sec_context);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
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
 * Runs a fixed statement on user_module.event, inside a ModuleCall, where it
 * may fire code the extension does not control: triggers administrators add
 * to the outbox (subscribers). A trigger runs as the role whose statement
 * fires it, so the statement runs as user_module_outbox, a NOLOGIN role that
 * may touch the outbox and nothing else, instead of as the owner (usually a
 * superuser). And the search path is set as a setting, "pg_catalog, pg_temp",
 * instead of pinned: a pinned path would override a subscriber's own SET
 * search_path clause. The plan is prepared under that same setting, so the
 * plan cache finds its search path unchanged and never replans.
 */
SpiRows
RunOutboxPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes,
			  Datum *values, int expected)
{
	Oid			outbox;
	Oid			owner;
	int			sec_context;
	int			guc_level;
	SpiRows		rows;

	/*
	 * A database still at 0.1.0 (this library installed, ALTER EXTENSION
	 * UPDATE not yet run) keeps 0.1.0's rule: only the owner may add triggers
	 * to the outbox, and its statements run as the owner.
	 */
	if (installed_version_is_0_1_0())
		return RunPlan(KeptPlan(slot, sql, nargs, argtypes), values, NULL, false, expected);

	outbox = get_role_oid("user_module_outbox", false);
	GetUserIdAndSecContext(&owner, &sec_context);
	PopOverrideSearchPath();
	SetUserIdAndSecContext(outbox, sec_context);
	guc_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	rows = RunPlan(KeptPlan(slot, sql, nargs, argtypes), values, NULL, false, expected);

	/* on error, (sub)transaction abort undoes all three */
	AtEOXact_GUC(true, guc_level);
	SetUserIdAndSecContext(owner, sec_context);
	pin_search_path();
	return rows;
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
static pg_attribute_noreturn() void
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

/*
 * Runs a plan and checks its SPI result code. A unique violation of one of
 * the module's constraints is rethrown with a message that names the rule but
 * not the value (emails are personal data; messages reach logs); a write in a
 * read-only transaction (a hot standby) with one that says what to do.
 */
SpiRows
RunPlan(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only, int expected)
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
		if (edata->sqlerrcode == ERRCODE_UNIQUE_VIOLATION && edata->constraint_name)
		{
			for (int i = 0; i < (int) lengthof(unique_messages); i++)
				if (strcmp(edata->constraint_name, unique_messages[i].constraint) == 0)
					rethrow_reworded(edata, unique_messages[i].message,
									 unique_messages[i].detail, NULL);
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
				 void (*each) (SpiRows rows, void *arg), void *arg)
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
