/*
 * subscribers.c
 *		Subscribers: functions an administrator registers to be called with
 *		each event they subscribe to, in the call that wrote it.
 *
 * A subscriber is a function (event user_module.event) RETURNS void. It runs
 * at the end of the call that made the event, once the call's changes are
 * made and its events written (WriteEvents), in the same transaction, so it can
 * queue work that commits or rolls back with the change, and an error it
 * raises fails the call. It runs as the role that owns the function, never as
 * the caller nor as user_module_owner, and contained (RunContained): as a
 * security-restricted operation, with search_path "pg_catalog, pg_temp", its
 * setting changes discarded when it returns. Only a role with the privileges
 * of the function's owner may register it, so nobody gains rights by it.
 *
 * Administrators get no right on the tables themselves: a trigger of theirs on
 * user_module.event could be DEFERRABLE and fire at COMMIT as whoever commits
 * (0.2.0 allowed it; doc/security.md).
 *
 * The handler is stored as the text of its qualified signature and looked up
 * in the catalogs without ACL checks (the module owner has no rights on the
 * handler's schema, and needs none). Every session keeps the list until the
 * subscriber table or a function changes.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "user_module.h"

#define SUBSCRIBER_TABLE "user_module.subscriber"

/* Every event name the module writes. */
static const char *const event_names[] = {
	"user.created", "user.updated", "user.deleted", "user.restored",
	"invite.created", "invite.updated", "invite.deleted", "invite.restored",
	"invite.resent", "invite.accepted",
};

typedef struct Subscriber
{
	char	   *handler;		/* "schema.name(user_module.event)" */
	Oid			proc;			/* InvalidOid: the function no longer exists */
	Oid			owner;			/* its owner now */
	bool		same_owner;		/* the owner it was registered with */
	int			nevents;		/* -1: every event */
	char	  **events;
} Subscriber;

static MemoryContext subscribers_cxt = NULL;
static Subscriber *subscribers = NULL;
static int	nsubscribers = 0;
static bool subscribers_valid = false;
static Oid	subscriber_relid = InvalidOid;

static CachedOid subscriber_table;
static CachedOid event_table;
static SPIPlanPtr load_plan = NULL;
static SPIPlanPtr add_plan = NULL;
static SPIPlanPtr remove_plan = NULL;
static SPIPlanPtr list_plan = NULL;

static void
forget_subscribers(Datum arg, int cacheid, uint32 hashvalue)
{
	subscribers_valid = false;
}

static void
forget_subscribers_rel(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == subscriber_relid)
		subscribers_valid = false;
}

static Oid
event_rowtype(void)
{
	return get_rel_type_id(ModuleRelation(&event_table, "event"));
}

/*
 * The function a stored signature names, if it still exists, and its owner:
 * the schema and name before "(", taking one user_module.event. No ACL check.
 */
static Oid
lookup_handler(const char *handler, Oid rowtype, Oid *owner)
{
	const char *paren = strrchr(handler, '(');
	List	   *names;
	Oid			nsp;
	oidvector  *args;
	HeapTuple	tuple;
	Oid			proc = InvalidOid;

	if (paren == NULL)
		return InvalidOid;
	names = QualifiedNameList(pnstrdup(handler, paren - handler));
	if (list_length(names) != 2)
		return InvalidOid;
	nsp = get_namespace_oid(strVal(linitial(names)), true);
	if (!OidIsValid(nsp))
		return InvalidOid;
	args = buildoidvector(&rowtype, 1);
	tuple = SearchSysCache3(PROCNAMEARGSNSP, CStringGetDatum(strVal(lsecond(names))),
							PointerGetDatum(args), ObjectIdGetDatum(nsp));
	if (HeapTupleIsValid(tuple))
	{
		proc = ((Form_pg_proc) GETSTRUCT(tuple))->oid;
		*owner = ((Form_pg_proc) GETSTRUCT(tuple))->proowner;
		ReleaseSysCache(tuple);
	}
	return proc;
}

/* Reads user_module.subscriber; inside a ModuleCall. */
static void
load_subscribers(void)
{
	static bool callbacks = false;
	Oid			rowtype = event_rowtype();
	SpiRows		rows;

	if (!callbacks)
	{
		CacheRegisterRelcacheCallback(forget_subscribers_rel, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, forget_subscribers, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, forget_subscribers, (Datum) 0);
		callbacks = true;
	}
	subscriber_relid = ModuleRelation(&subscriber_table, "subscriber");

	if (subscribers_cxt == NULL)
		subscribers_cxt = AllocSetContextCreate(TopMemoryContext, "user_module subscribers",
												ALLOCSET_SMALL_SIZES);
	MemoryContextReset(subscribers_cxt);
	subscribers = NULL;
	nsubscribers = 0;
	/* an invalidation while reading makes the next call read again */
	subscribers_valid = true;

	rows = RunPlan(KeptPlan(&load_plan,
							"SELECT handler, events, owner FROM " SUBSCRIBER_TABLE " ORDER BY handler",
							0, NULL),
				   NULL, NULL, true, SPI_OK_SELECT);
	if (rows.count == 0)
		return;
	subscribers = MemoryContextAllocZero(subscribers_cxt, sizeof(Subscriber) * rows.count);
	for (uint64 i = 0; i < rows.count; i++)
	{
		Subscriber *s = &subscribers[nsubscribers++];
		bool		isnull;
		Datum		events;
		char	   *handler = TextDatumGetCString(RowColumn(rows, i, 1, &isnull));

		s->handler = MemoryContextStrdup(subscribers_cxt, handler);
		s->proc = lookup_handler(handler, rowtype, &s->owner);
		s->same_owner = OidIsValid(s->proc) &&
			get_role_oid(NameStr(*DatumGetName(RowColumn(rows, i, 3, &isnull))), true) == s->owner;
		events = RowColumn(rows, i, 2, &isnull);
		s->nevents = -1;
		if (!isnull)
		{
			Datum	   *elems;
			int			n;

			deconstruct_array(DatumGetArrayTypeP(events), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, NULL, &n);
			s->events = MemoryContextAlloc(subscribers_cxt, sizeof(char *) * Max(n, 1));
			for (int e = 0; e < n; e++)
				s->events[e] = MemoryContextStrdup(subscribers_cxt, TextDatumGetCString(elems[e]));
			s->nevents = n;
		}
	}
}

static bool
subscribes_to(const Subscriber *s, const char *event)
{
	if (s->nevents < 0)
		return true;
	for (int e = 0; e < s->nevents; e++)
		if (strcmp(s->events[e], event) == 0)
			return true;
	return false;
}

typedef struct HandlerCall
{
	Oid			proc;
	Datum		event;
} HandlerCall;

static void
call_handler(void *arg)
{
	HandlerCall *hc = (HandlerCall *) arg;
	FmgrInfo	flinfo;
	LOCAL_FCINFO(fcinfo, 1);

	fmgr_info(hc->proc, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = hc->event;
	fcinfo->args[0].isnull = false;
	(void) FunctionCallInvoke(fcinfo);
}

/* 55000 when a subscriber cannot be called as it was registered. */
static void
check_callable(const Subscriber *s)
{
	if (!OidIsValid(s->proc))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("subscriber %s does not exist", s->handler),
				 errhint("Create the function again, or remove the subscriber with user_module.remove_subscriber().")));
	if (!s->same_owner)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("subscriber %s belongs to another role than the one it was registered with",
						s->handler),
				 errdetail("A subscriber runs as its function's owner; it is not called after a change of owner."),
				 errhint("Register it again with user_module.add_subscriber(), or remove it.")));
}

/*
 * Calls the subscribers of each of the event rows a call just wrote
 * (RETURNING * of user_module.event), in row order, and for each row its
 * subscribers in the order of their signatures. Inside a ModuleCall.
 */
void
RunSubscribers(SpiRows rows)
{
	Subscriber *copy;
	int			ncopy;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;

	if (!subscribers_valid)
		load_subscribers();
	if (nsubscribers == 0 || rows.count == 0)
		return;

	/* a copy: a subscriber may change the list (and so reload it) */
	ncopy = nsubscribers;
	copy = palloc(sizeof(Subscriber) * ncopy);
	for (int i = 0; i < ncopy; i++)
	{
		copy[i] = subscribers[i];
		copy[i].handler = pstrdup(subscribers[i].handler);
		copy[i].events = palloc(sizeof(char *) * Max(copy[i].nevents, 1));
		for (int e = 0; e < copy[i].nevents; e++)
			copy[i].events[e] = pstrdup(subscribers[i].events[e]);
	}

	/* every subscriber these events will call must be callable before any is called */
	for (int i = 0; i < ncopy; i++)
	{
		for (uint64 r = 0; r < rows.count; r++)
		{
			bool		isnull;
			char	   *event = TextDatumGetCString(RowColumn(rows, r, EVENT_NAME_COLUMN, &isnull));
			bool		called = subscribes_to(&copy[i], event);

			pfree(event);
			if (called)
			{
				check_callable(&copy[i]);
				break;
			}
		}
	}

	/* each row as a user_module.event datum, built with the row type's own descriptor */
	desc = lookup_rowtype_tupdesc_copy(event_rowtype(), -1);
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	for (uint64 r = 0; r < rows.count; r++)
	{
		HandlerCall hc;
		char	   *event;

		heap_deform_tuple(rows.table->vals[r], rows.table->tupdesc, values, nulls);
		event = TextDatumGetCString(values[EVENT_NAME_COLUMN - 1]);
		hc.event = HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
		for (int i = 0; i < ncopy; i++)
		{
			if (!subscribes_to(&copy[i], event))
				continue;
			hc.proc = copy[i].proc;
			RunContained(copy[i].owner, call_handler, &hc);
		}
		pfree(event);
	}
}

/* ---------------------------------------------------------------- SQL API */

/*
 * subscribers_changed(): statement trigger on user_module.subscriber, also
 * for a restore's COPY; every session reads the list again.
 */
PG_FUNCTION_INFO_V1(um_subscribers_changed);
Datum
um_subscribers_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "subscribers_changed() must be called as a trigger");
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

/* 22023 unless every name is an event the module writes. */
static void
check_event_names(ArrayType *events)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(events, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0 || ARR_NDIM(events) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("events must be NULL (every event) or a one-dimensional array of event names")));
	for (int i = 0; i < n; i++)
	{
		bool		known = false;

		for (int k = 0; !known && !nulls[i] && k < (int) lengthof(event_names); k++)
			known = strcmp(TextDatumGetCString(elems[i]), event_names[k]) == 0;
		if (!known)
		{
			StringInfoData names;

			initStringInfo(&names);
			for (int k = 0; k < (int) lengthof(event_names); k++)
				appendStringInfo(&names, "%s%s", k == 0 ? "" :
								 k == lengthof(event_names) - 1 ? " and " : ", ", event_names[k]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown event name \"%s\"",
							nulls[i] ? "NULL" : ClippedText(DatumGetTextPP(elems[i]))),
					 errhint("Events are %s.", names.data)));
		}
	}
}

/*
 * add_subscriber(handler regprocedure, events text[] DEFAULT NULL)
 *		RETURNS user_module.subscriber
 *
 * Registers handler for the named events (NULL: every event), or changes the
 * events of a handler already registered.
 */
PG_FUNCTION_INFO_V1(um_add_subscriber);
Datum
um_add_subscriber(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {TEXTOID, TEXTARRAYOID, NAMEOID};
	Oid			proc;
	HeapTuple	tuple;
	Form_pg_proc form;
	bool		shape_ok;
	Oid			owner;
	Datum		values[3];
	char		nulls[3] = "   ";
	ModuleCall	call;
	Datum		result;

	RequireArgument(fcinfo, 0, "handler");
	proc = PG_GETARG_OID(0);
	if (!PG_ARGISNULL(1))
		check_event_names(PG_GETARG_ARRAYTYPE_P(1));

	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(proc));
	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function with OID %u does not exist", proc)));
	form = (Form_pg_proc) GETSTRUCT(tuple);
	shape_ok = form->prokind == PROKIND_FUNCTION && !form->proretset &&
		form->prorettype == VOIDOID && form->pronargs == 1 &&
		form->proargtypes.values[0] == event_rowtype() &&
		!isAnyTempNamespace(form->pronamespace);
	owner = form->proowner;
	ReleaseSysCache(tuple);
	if (!shape_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s cannot be a subscriber", format_procedure(proc)),
				 errdetail("A subscriber is a function (event user_module.event) RETURNS void, not in a temporary schema.")));

	/*
	 * The handler will run as its owner: only a role that already has that
	 * owner's privileges may register it. (A function of the tables' owner
	 * stops every call: see check_owner in store.c.)
	 */
	if (!has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to register %s as a subscriber", format_procedure(proc)),
				 errdetail("A subscriber runs as the role that owns its function; only that role, or a member of it, may register it.")));

	values[0] = CStringGetTextDatum(format_procedure_qualified(proc));
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	nulls[1] = PG_ARGISNULL(1) ? 'n' : ' ';
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(owner, false)));
	BeginModuleCall(&call);
	result = RowAsComposite(fcinfo, &call,
							RunPlan(KeptPlan(&add_plan,
											 "INSERT INTO " SUBSCRIBER_TABLE " AS s (handler, events, owner) "
											 "VALUES ($1, $2, $3) ON CONFLICT (handler) "
											 "DO UPDATE SET events = EXCLUDED.events, owner = EXCLUDED.owner "
											 "RETURNING *",
											 3, types),
									values, nulls, false, SPI_OK_INSERT_RETURNING),
							0);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

static bool
delete_subscriber(Datum handler)
{
	static const Oid types[] = {TEXTOID};
	ModuleCall	call;
	bool		removed;

	BeginModuleCall(&call);
	removed = RunPlan(KeptPlan(&remove_plan,
							   "DELETE FROM " SUBSCRIBER_TABLE " WHERE handler OPERATOR(pg_catalog.=) $1",
							   1, types),
					  &handler, NULL, false, SPI_OK_DELETE).count > 0;
	EndModuleCall(&call);
	return removed;
}

/*
 * remove_subscriber(handler text) RETURNS boolean
 *
 * handler is the text list_subscribers shows (also of a function that no
 * longer exists), or another spelling of a function's signature, resolved as
 * the caller, under the caller's search path. Returns whether a subscriber
 * was removed.
 */
PG_FUNCTION_INFO_V1(um_remove_subscriber);
Datum
um_remove_subscriber(PG_FUNCTION_ARGS)
{
	Datum		handler;
	bool		removed;

	RequireArgument(fcinfo, 0, "handler");
	handler = PG_GETARG_DATUM(0);
	removed = delete_subscriber(handler);
	if (!removed && strchr(TextDatumGetCString(handler), '(') != NULL)
	{
		LOCAL_FCINFO(lookup, 1);
		Datum		resolved;

		InitFunctionCallInfoData(*lookup, NULL, 1, InvalidOid, NULL, NULL);
		lookup->args[0].value = handler;
		lookup->args[0].isnull = false;
		resolved = to_regprocedure(lookup);
		if (!lookup->isnull)
			removed = delete_subscriber(CStringGetTextDatum(
															format_procedure_qualified(DatumGetObjectId(resolved))));
	}
	PG_RETURN_BOOL(removed);
}

/* list_subscribers() RETURNS SETOF user_module.subscriber, by handler */
PG_FUNCTION_INFO_V1(um_list_subscribers);
Datum
um_list_subscribers(PG_FUNCTION_ARGS)
{
	ModuleCall	call;

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	ReturnRows(fcinfo, RunPlan(KeptPlan(&list_plan,
										"SELECT * FROM " SUBSCRIBER_TABLE " ORDER BY handler",
										0, NULL),
							   NULL, NULL, true, SPI_OK_SELECT));
	EndModuleCall(&call);
	return (Datum) 0;
}
