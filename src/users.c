/*
 * users.c
 *		The SQL-callable user functions: create, retrieve, list, count,
 *		update, delete, soft delete, restore.
 *
 * Each function validates its input first (22023 before any statement runs),
 * then runs its statements as the tables' owner and writes one event per
 * entity it changed. A failing call raises, and the (sub)transaction abort
 * takes back everything it wrote.
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
	UCOL_METADATA
};

static const EntityColumn user_columns[] = {
	{"id", COL_TEXT},
	{"first_name", COL_TEXT},
	{"last_name", COL_TEXT},
	{"email", COL_TEXT_CI},
	{"avatar_url", COL_OTHER},
	{"metadata", COL_METADATA},
	{"created_at", COL_TIME},
	{"updated_at", COL_TIME},
	{"deleted_at", COL_TIME},
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

static void
return_user_rows(FunctionCallInfo fcinfo, ModuleCall *call, SpiRows rows)
{
	ReturnRows(fcinfo, rows);
}

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
	.return_rows = return_user_rows,
	.plans = &user_plans,
};

static SPIPlanPtr insert_users_plan = NULL;
static SPIPlanPtr insert_user_plan = NULL;

static inline text *
field_text(FieldValue *f)
{
	return (f->present && !f->isnull) ? DatumGetTextPP(f->value) : NULL;
}

/* ---------------------------------------------------------------- input */

/* Normalizes and checks a new user's fields in place; assigns an id if none. */
static void
validate_new_user(FieldValue *f)
{
	if (!f[UF_EMAIL].present || f[UF_EMAIL].isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("email is required")));
	f[UF_EMAIL].value = PointerGetDatum(NormalizeEmail(field_text(&f[UF_EMAIL])));

	if (f[UF_ID].present && !f[UF_ID].isnull)
		CheckEntityId(field_text(&f[UF_ID]));
	else
	{
		f[UF_ID].present = true;
		f[UF_ID].isnull = false;
		f[UF_ID].value = PointerGetDatum(NewEntityId("user"));
	}
	CheckName(field_text(&f[UF_FIRST_NAME]), "first_name");
	CheckName(field_text(&f[UF_LAST_NAME]), "last_name");
	NormalizeMetadata(&f[UF_METADATA]);
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

/* ---------------------------------------------------------------- store */

/* Inserts validated users in one statement; rows come back in input order. */
static SpiRows
insert_users(FieldValue *rows, int n)
{
	static const Oid types[] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID};
	static const int fields[] = {UF_ID, UF_FIRST_NAME, UF_LAST_NAME, UF_EMAIL,
	UF_AVATAR_URL, UF_METADATA};
	static const Oid one_types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID};
	Datum		values[lengthof(fields)];
	char		nulls[lengthof(fields)];

	/* one user: plain VALUES, cheaper to run than unnesting six arrays */
	if (n == 1)
	{
		FieldParams(rows, fields, lengthof(fields), values, nulls);
		return RunPlan(KeptPlan(&insert_user_plan,
								"INSERT INTO user_module.\"user\" "
								"(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at) "
								"VALUES ($1, $2, $3, $4, $5, $6, pg_catalog.now(), pg_catalog.now()) "
								"RETURNING *",
								lengthof(one_types), one_types),
					   values, nulls, false, SPI_OK_INSERT_RETURNING);
	}

	for (int c = 0; c < (int) lengthof(fields); c++)
		values[c] = FieldArray(rows, n, UF_COUNT, fields[c],
							   fields[c] == UF_METADATA ? JSONBOID : TEXTOID);

	return RunPlan(KeptPlan(&insert_users_plan,
							"INSERT INTO user_module.\"user\" "
							"(id, first_name, last_name, email, avatar_url, metadata, created_at, updated_at) "
							"SELECT u.id, u.first_name, u.last_name, u.email, u.avatar_url, u.metadata, "
							"pg_catalog.now(), pg_catalog.now() "
							"FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), "
							"pg_catalog.unnest($2::pg_catalog.text[]), pg_catalog.unnest($3::pg_catalog.text[]), "
							"pg_catalog.unnest($4::pg_catalog.text[]), pg_catalog.unnest($5::pg_catalog.text[]), "
							"pg_catalog.unnest($6::pg_catalog.jsonb[])) "
							"AS u(id, first_name, last_name, email, avatar_url, metadata) "
							"RETURNING *",
							lengthof(types), types),
				   values, NULL, false, SPI_OK_INSERT_RETURNING);
}

/* Creates validated users and their user.created events. */
static SpiRows
create_users_rows(FieldValue *rows, int n)
{
	SpiRows		created = insert_users(rows, n);

	EmitEvents("user.created", RowsColumnArray(created, UCOL_ID, TEXTOID));
	return created;
}

/*
 * Whether a live user has this email, in any case (lowered as the index
 * user_email_unique lowers it: under the database collation). Users that a transaction still in progress is creating, changing
 * or soft-deleting are waited for, as a unique index waits for a conflicting
 * insert: so an invite checked against the users while create_user runs for
 * the same email (in any case) waits for that transaction and sees its
 * outcome, instead of missing the user it has not committed yet. The index is
 * read with a dirty snapshot, as PostgreSQL checks exclusion constraints
 * (execIndexing.c). Inside a ModuleCall.
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
		scan = index_beginscan(rel, index, &dirty, 1, 0);
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

/* ---------------------------------------------------------------- SQL API */

/*
 * One user from SQL-style arguments (NULL for SQL NULL), validated as
 * create_user validates them; inside a ModuleCall. accept_invite comes here.
 */
SpiRows
CreateUser(text *email, text *first_name, text *last_name, text *avatar_url,
		   Jsonb *metadata, text *id)
{
	FieldValue	f[UF_COUNT];
	Datum		args[UF_COUNT];

	args[UF_ID] = PointerGetDatum(id);
	args[UF_EMAIL] = PointerGetDatum(email);
	args[UF_FIRST_NAME] = PointerGetDatum(first_name);
	args[UF_LAST_NAME] = PointerGetDatum(last_name);
	args[UF_AVATAR_URL] = PointerGetDatum(avatar_url);
	args[UF_METADATA] = PointerGetDatum(metadata);
	for (int i = 0; i < UF_COUNT; i++)
	{
		f[i].present = true;
		f[i].isnull = (DatumGetPointer(args[i]) == NULL);
		f[i].value = args[i];
	}
	validate_new_user(f);
	return create_users_rows(f, 1);
}

#define TEXT_ARG_OR_NULL(n) (PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n))

PG_FUNCTION_INFO_V1(um_create_user);
Datum
um_create_user(PG_FUNCTION_ARGS)
{
	ModuleCall	call;
	Datum		result;

	BeginModuleCall(&call);
	result = RowAsComposite(fcinfo, &call,
							CreateUser(TEXT_ARG_OR_NULL(0), TEXT_ARG_OR_NULL(1), TEXT_ARG_OR_NULL(2),
									   TEXT_ARG_OR_NULL(3),
									   PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4),
									   TEXT_ARG_OR_NULL(5)),
							0);
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
	n = ParseJsonObjects(&user_table, PG_GETARG_JSONB_P(0), user_fields, UF_COUNT, &rows);
	for (int i = 0; i < n; i++)
		validate_new_user(rows + i * UF_COUNT);

	InitMaterializedSRF(fcinfo, 0);
	if (n == 0)
		return (Datum) 0;
	BeginModuleCall(&call);
	ReturnRows(fcinfo, create_users_rows(rows, n));
	EndModuleCall(&call);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_retrieve_user);
Datum
um_retrieve_user(PG_FUNCTION_ARGS)
{
	ModuleCall	call;
	SpiRows		rows;
	Datum		result;

	RequireArgument(fcinfo, 0, "id");
	BeginLookupCall(&call);
	rows = FetchEntity(&user_table, PG_GETARG_TEXT_PP(0), !PG_ARGISNULL(1) && PG_GETARG_BOOL(1));
	if (rows.count == 0)
		ReportMissing(&user_table, (text *[]) {PG_GETARG_TEXT_PP(0)}, 1);
	result = RowAsComposite(fcinfo, &call, rows, 0);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_list_users);
Datum
um_list_users(PG_FUNCTION_ARGS)
{
	ModuleCall	call;

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	ListEntities(&user_table, fcinfo, &call);
	EndModuleCall(&call);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_count_users);
Datum
um_count_users(PG_FUNCTION_ARGS)
{
	ModuleCall	call;
	int64		count;

	BeginModuleCall(&call);
	count = CountEntities(&user_table, fcinfo);
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
	result = RowAsComposite(fcinfo, &call, UpdateEntity(&user_table, id, f + UF_EMAIL), 0);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_update_users);
Datum
um_update_users(PG_FUNCTION_ARGS)
{
	FieldValue *rows;
	int			n;

	RequireArgument(fcinfo, 0, "users");
	n = ParseJsonObjects(&user_table, PG_GETARG_JSONB_P(0), user_fields, UF_COUNT, &rows);
	for (int i = 0; i < n; i++)
		validate_changes(rows + i * UF_COUNT);
	UpdateEntities(&user_table, fcinfo, rows, n, UF_COUNT, UF_ID, UF_EMAIL);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_delete_users);
Datum
um_delete_users(PG_FUNCTION_ARGS)
{
	DeleteEntities(&user_table, fcinfo);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_soft_delete_users);
Datum
um_soft_delete_users(PG_FUNCTION_ARGS)
{
	SoftDeleteEntities(&user_table, fcinfo);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_restore_users);
Datum
um_restore_users(PG_FUNCTION_ARGS)
{
	RestoreEntities(&user_table, fcinfo);
	return (Datum) 0;
}
