/*
 * users.c
 *		The SQL-callable user functions: create, retrieve, list, count,
 *		update, delete, soft delete, restore.
 *
 * Each entry point reads and validates its arguments first (22023 before any
 * statement runs or any row is locked), then begins a module call (running
 * as the tables' owner), does its work through entity.c, writes one event
 * per entity it changed with one statement, and ends the call. A failing
 * call raises, and the (sub)transaction abort takes back everything it wrote.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"

#include "user_module.h"

/* Columns of user_module."user", as SPI numbers them. */
enum
{
	UCOL_ID = 1,
	UCOL_FIRST_NAME,
	UCOL_LAST_NAME,
	UCOL_EMAIL,
	UCOL_AVATAR_URL,
	UCOL_METADATA,
	UCOL_CREATED_AT,
	UCOL_UPDATED_AT,
	UCOL_DELETED_AT
};

/* Every column, as the install script creates them (checked at first use). */
static const EntityColumn user_columns[] = {
	[UCOL_ID - 1] = {"id", COL_TEXT, TEXTOID},
	[UCOL_FIRST_NAME - 1] = {"first_name", COL_TEXT, TEXTOID},
	[UCOL_LAST_NAME - 1] = {"last_name", COL_TEXT, TEXTOID},
	[UCOL_EMAIL - 1] = {"email", COL_TEXT_CI, TEXTOID},
	[UCOL_AVATAR_URL - 1] = {"avatar_url", COL_OTHER, TEXTOID},
	[UCOL_METADATA - 1] = {"metadata", COL_METADATA, JSONBOID},
	[UCOL_CREATED_AT - 1] = {"created_at", COL_TIME, TIMESTAMPTZOID},
	[UCOL_UPDATED_AT - 1] = {"updated_at", COL_TIME, TIMESTAMPTZOID},
	[UCOL_DELETED_AT - 1] = {"deleted_at", COL_TIME, TIMESTAMPTZOID},
};

static const UniqueMessage user_unique[] = {
	{"user_pkey", "user id is already in use",
	"Another user, live or soft-deleted, has the same id."},
	{"user_email_unique", "email is already in use by another user",
	"Emails are unique among live users, compared case-insensitively."},
	{NULL, NULL, NULL},
};

/*
 * What q matches: the searchable columns joined by a space. It must stay the
 * expression of the index user_search in the install script.
 */
#define USER_SEARCH_EXPR \
	"(COALESCE(first_name, ''::pg_catalog.text) OPERATOR(pg_catalog.||) ' '::pg_catalog.text " \
	"OPERATOR(pg_catalog.||) COALESCE(last_name, ''::pg_catalog.text) " \
	"OPERATOR(pg_catalog.||) ' '::pg_catalog.text OPERATOR(pg_catalog.||) email)"

/* The keys of a user object, in this order; changes take all but id. */
enum
{
	UF_ID,
	UF_EMAIL,
	UF_FIRST_NAME,
	UF_LAST_NAME,
	UF_AVATAR_URL,
	UF_METADATA,
	UF_COUNT
};

static const FieldSpec user_fields[UF_COUNT] = {
	{"id", FIELD_TEXT},
	{"email", FIELD_TEXT},
	{"first_name", FIELD_TEXT},
	{"last_name", FIELD_TEXT},
	{"avatar_url", FIELD_TEXT},
	{"metadata", FIELD_OBJECT},
};

/* The columns the fields UF_EMAIL.. UF_METADATA change. */
static const int user_change_columns[] = {
	UCOL_EMAIL, UCOL_FIRST_NAME, UCOL_LAST_NAME, UCOL_AVATAR_URL, UCOL_METADATA
};

static EntityPlans user_plans;

static const EntityTable user_table = {
	.name = "user",
	.relation = "user_module.\"user\"",
	.entity = "user",
	.columns = user_columns,
	.ncolumns = lengthof(user_columns),
	.search_expr = USER_SEARCH_EXPR,
	.change_columns = user_change_columns,
	.nchange_columns = lengthof(user_change_columns),
	.restorable = "true",
	.unique = user_unique,
	.plans = &user_plans,
};

/* A new user's row: the columns create_users fills from its fields. */
static const InsertSpec user_insert = {
	.ncolumns = 6,
	.columns = (const int[]) {UCOL_ID, UCOL_FIRST_NAME, UCOL_LAST_NAME, UCOL_EMAIL,
	UCOL_AVATAR_URL, UCOL_METADATA},
	.fields = (const int[]) {UF_ID, UF_FIRST_NAME, UF_LAST_NAME, UF_EMAIL,
	UF_AVATAR_URL, UF_METADATA},
	.stride = UF_COUNT,
};

static inline text *
field_text(FieldValue *f)
{
	return (f->present && !f->isnull) ? DatumGetTextPP(f->value) : NULL;
}

/* ---------------------------------------------------------------- input */

/* Checks the fields of a new user other than email and id. */
static void
validate_user_details(FieldValue *f)
{
	CheckName(field_text(&f[UF_FIRST_NAME]), "first_name");
	CheckName(field_text(&f[UF_LAST_NAME]), "last_name");
	NormalizeMetadata(&f[UF_METADATA]);
}

/* Normalizes and checks a new user's fields in place; assigns an id if none. */
static void
validate_new_user(FieldValue *f)
{
	CheckNewEntity("user", &f[UF_ID], &f[UF_EMAIL]);
	validate_user_details(f);
}

/* Normalizes and checks the fields an update sets. */
static void
validate_changes(FieldValue *f)
{
	if (f[UF_EMAIL].present)
	{
		if (f[UF_EMAIL].isnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("email cannot be set to null")));
		f[UF_EMAIL].value = PointerGetDatum(NormalizeEmail(field_text(&f[UF_EMAIL])));
	}
	CheckName(field_text(&f[UF_FIRST_NAME]), "first_name");
	CheckName(field_text(&f[UF_LAST_NAME]), "last_name");
}

/* A user's fields from SQL-style arguments, NULL for SQL NULL. */
static FieldValue *
user_fields_of(text *email, text *first_name, text *last_name, text *avatar_url,
			   Jsonb *metadata, text *id)
{
	FieldValue *f = palloc0(sizeof(FieldValue) * UF_COUNT);
	void	   *args[UF_COUNT];

	args[UF_ID] = id;
	args[UF_EMAIL] = email;
	args[UF_FIRST_NAME] = first_name;
	args[UF_LAST_NAME] = last_name;
	args[UF_AVATAR_URL] = avatar_url;
	args[UF_METADATA] = metadata;
	for (int i = 0; i < UF_COUNT; i++)
	{
		f[i].present = true;
		f[i].isnull = (args[i] == NULL);
		f[i].value = PointerGetDatum(args[i]);
	}
	return f;
}

/* ---------------------------------------------------------------- store */

/* Creates validated users and emits their user.created events. */
static SpiRows
create_users(ModuleCall *call, FieldValue *rows, int n)
{
	SpiRows		created = InsertEntities(&user_table, &user_insert, rows, n, NULL);

	EmitEvents(call, "user.created", created, UCOL_ID);
	return created;
}

/*
 * Whether a live user has this email, in any case (lowered as the index
 * user_email_unique lowers it: under the database collation). Users that a
 * transaction still in progress is creating, changing or soft-deleting are
 * waited for, as a unique index waits for a conflicting insert: so an invite
 * checked against the users while create_user runs for the same email (in
 * any case) waits for that transaction and sees its outcome, instead of
 * missing the user it has not committed yet. The index is read with a dirty
 * snapshot, as PostgreSQL checks exclusion constraints (execIndexing.c).
 * Inside a ModuleCall.
 */
bool
LiveUserHasEmail(Datum email)
{
	static CachedOid email_index;
	Datum		lowered = DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, email);
	Relation	rel = table_open(ModuleRelation(&user_table.plans->table, user_table.name),
								 AccessShareLock);
	Relation	index = index_open(ModuleIndex(&email_index, RelationGetRelid(rel), "user_email_unique"),
								   AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		found;

	for (;;)
	{
		SnapshotData dirty;
		ScanKeyData key;
		IndexScanDesc scan;
		TransactionId wait = InvalidTransactionId;
		ItemPointerData tid;

		InitDirtySnapshot(dirty);
		ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[0], F_TEXTEQ, lowered);
		scan = IndexBeginScan(rel, index, &dirty, 1, 0);
		index_rescan(scan, &key, 1, NULL, 0);
		found = index_getnext_slot(scan, ForwardScanDirection, slot);
		if (found)
		{
			wait = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
			tid = slot->tts_tid;
		}
		index_endscan(scan);
		if (!TransactionIdIsValid(wait))
			break;
		XactLockTableWait(wait, rel, &tid, XLTW_None);
	}
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	return found;
}

/*
 * accept_invite's new user, checked as create_user checks one, before the
 * call: all but the email, which is the invite's (CreateInvitedUser).
 */
FieldValue *
InvitedUserFields(text *first_name, text *last_name, text *avatar_url, Jsonb *metadata)
{
	FieldValue *f = user_fields_of(NULL, first_name, last_name, avatar_url, metadata, NULL);

	f[UF_ID].value = PointerGetDatum(NewEntityId("user"));
	f[UF_ID].isnull = false;
	validate_user_details(f);
	return f;
}

/* Creates that user with the invite's email (normalized when it was invited). */
SpiRows
CreateInvitedUser(ModuleCall *call, FieldValue *user, Datum email)
{
	user[UF_EMAIL].value = email;
	user[UF_EMAIL].isnull = false;
	return create_users(call, user, 1);
}

/* ---------------------------------------------------------------- SQL API */

#define TEXT_ARG_OR_NULL(n) (PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n))

static void
return_user_rows(SpiRows rows, void *fcinfo)
{
	ReturnRows((FunctionCallInfo) fcinfo, rows);
}

PG_FUNCTION_INFO_V1(um_create_user);
Datum
um_create_user(PG_FUNCTION_ARGS)
{
	FieldValue *f = user_fields_of(TEXT_ARG_OR_NULL(0), TEXT_ARG_OR_NULL(1), TEXT_ARG_OR_NULL(2),
								   TEXT_ARG_OR_NULL(3),
								   PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4),
								   TEXT_ARG_OR_NULL(5));
	ModuleCall	call;
	Datum		result;

	validate_new_user(f);
	BeginModuleCall(&call);
	result = RowAsComposite(fcinfo, &call, create_users(&call, f, 1), 0);
	WriteEvents(&call);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_create_users);
Datum
um_create_users(PG_FUNCTION_ARGS)
{
	FieldValue *rows;
	int			n;
	ModuleCall	call;

	RequireArgument(fcinfo, 0, "users");
	n = ParseJsonObjects(PG_GETARG_JSONB_P(0), "user", user_fields, UF_COUNT, &rows);
	for (int i = 0; i < n; i++)
		validate_new_user(rows + i * UF_COUNT);

	InitMaterializedSRF(fcinfo, 0);
	if (n == 0)
		return (Datum) 0;
	BeginModuleCall(&call);
	ReturnRows(fcinfo, create_users(&call, rows, n));
	WriteEvents(&call);
	EndModuleCall(&call);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_retrieve_user);
Datum
um_retrieve_user(PG_FUNCTION_ARGS)
{
	text	   *id;
	bool		with_deleted;
	ModuleCall	call;
	SpiRows		rows;
	Datum		result;

	RequireArgument(fcinfo, 0, "id");
	id = PG_GETARG_TEXT_PP(0);
	with_deleted = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	BeginLookupCall(&call);
	rows = FetchEntity(&user_table, id, with_deleted);
	if (rows.count == 0)
		ReportMissing(&user_table, &id, 1);
	result = RowAsComposite(fcinfo, &call, rows, 0);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_list_users);
Datum
um_list_users(PG_FUNCTION_ARGS)
{
	ListArgs	args;
	EntityQuery query;
	ModuleCall	call;

	ReadListArgs(fcinfo, &args);
	BuildListQuery(&query, &user_table, &args);
	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	ListEntities(&query, return_user_rows, fcinfo);
	EndModuleCall(&call);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_count_users);
Datum
um_count_users(PG_FUNCTION_ARGS)
{
	ListArgs	args;
	EntityQuery query;
	ModuleCall	call;
	int64		count;

	ReadCountArgs(fcinfo, &args);
	BuildCountQuery(&query, &user_table, &args);
	BeginModuleCall(&call);
	count = CountEntities(&query);
	EndModuleCall(&call);
	PG_RETURN_INT64(count);
}

PG_FUNCTION_INFO_V1(um_update_user);
Datum
um_update_user(PG_FUNCTION_ARGS)
{
	FieldValue	f[UF_COUNT] = {0};
	text	   *id;
	ModuleCall	call;
	Datum		result;

	RequireArgument(fcinfo, 0, "id");
	RequireArgument(fcinfo, 1, "changes");
	id = PG_GETARG_TEXT_PP(0);
	ParseJsonObjectFields(&PG_GETARG_JSONB_P(1)->root, user_fields + UF_EMAIL,
						  UF_COUNT - UF_EMAIL, f + UF_EMAIL, "changes");
	validate_changes(f);

	BeginModuleCall(&call);
	result = RowAsComposite(fcinfo, &call, UpdateEntity(&call, &user_table, id, f + UF_EMAIL), 0);
	WriteEvents(&call);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_update_users);
Datum
um_update_users(PG_FUNCTION_ARGS)
{
	FieldValue *rows;
	int			n;
	ModuleCall	call;

	RequireArgument(fcinfo, 0, "users");
	n = ParseJsonObjects(PG_GETARG_JSONB_P(0), "user", user_fields, UF_COUNT, &rows);
	for (int i = 0; i < n; i++)
		validate_changes(rows + i * UF_COUNT);
	RequireIds("user", rows, n, UF_COUNT, UF_ID);

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	UpdateEntities(&call, &user_table, rows, n, UF_COUNT, UF_ID, UF_EMAIL, return_user_rows, fcinfo);
	WriteEvents(&call);
	EndModuleCall(&call);
	return (Datum) 0;
}

/*
 * delete_users, soft_delete_users and restore_users(ids text[]): the ids
 * changed, sorted. "change" is DeleteEntities, SoftDeleteEntities or
 * RestoreEntities.
 */
static Datum
change_users(FunctionCallInfo fcinfo, SpiRows (*change) (ModuleCall *, const EntityTable *, ArrayType *))
{
	ArrayType  *ids;
	ModuleCall	call;

	RequireArgument(fcinfo, 0, "ids");
	ids = PG_GETARG_ARRAYTYPE_P(0);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	BeginModuleCall(&call);
	ReturnColumn(fcinfo, change(&call, &user_table, ids), 1);
	WriteEvents(&call);
	EndModuleCall(&call);
	return (Datum) 0;
}

static SpiRows
restore_users(ModuleCall *call, const EntityTable *t, ArrayType *ids)
{
	return RestoreEntities(call, t, ids, false);
}

PG_FUNCTION_INFO_V1(um_delete_users);
Datum
um_delete_users(PG_FUNCTION_ARGS)
{
	return change_users(fcinfo, DeleteEntities);
}

PG_FUNCTION_INFO_V1(um_soft_delete_users);
Datum
um_soft_delete_users(PG_FUNCTION_ARGS)
{
	return change_users(fcinfo, SoftDeleteEntities);
}

PG_FUNCTION_INFO_V1(um_restore_users);
Datum
um_restore_users(PG_FUNCTION_ARGS)
{
	return change_users(fcinfo, restore_users);
}
