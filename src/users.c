/*
 * users.c
 *		The SQL-callable user functions: create, retrieve, list, count,
 *		update, delete, soft delete, restore.
 *
 * Each function validates its input first (22023 before any statement runs),
 * then runs its statements as the extension owner and writes one event per
 * entity it changed. A failing call raises, and the (sub)transaction abort
 * takes back everything it wrote.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

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
	{"metadata", COL_OTHER},
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

static const EntityTable user_table = {
	"user_module.\"user\"", "user", user_columns, lengthof(user_columns), USER_SEARCH_EXPR
};

/* The keys of a user object; changes take all but id. */
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

/* Maps a changeable field to its column. */
static const int field_column[UF_COUNT] = {
	UCOL_ID, UCOL_EMAIL, UCOL_FIRST_NAME, UCOL_LAST_NAME, UCOL_AVATAR_URL, UCOL_METADATA
};

static SPIPlanPtr insert_users_plan = NULL;
static SPIPlanPtr retrieve_user_plan = NULL;
static SPIPlanPtr lock_user_plan = NULL;
static SPIPlanPtr update_user_plan = NULL;
static SPIPlanPtr delete_users_plan = NULL;
static SPIPlanPtr soft_delete_users_plan = NULL;
static SPIPlanPtr restore_users_plan = NULL;

static inline text *
field_text(FieldValue *f)
{
	return (f->present && !f->isnull) ? DatumGetTextPP(f->value) : NULL;
}

static char *
clipped_id(text *id)
{
	return pnstrdup(VARDATA_ANY(id), pg_mbcliplen(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), 64));
}

static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", name)));
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
	if (f[UF_METADATA].present && !f[UF_METADATA].isnull)
		CheckMetadata(DatumGetJsonbP(f[UF_METADATA].value));
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

/* Adds "element N of <what>" to errors raised while reading a JSON array. */
typedef struct ElementContext
{
	const char *what;
	int			index;
} ElementContext;

static void
element_error_context(void *arg)
{
	ElementContext *ctx = (ElementContext *) arg;

	errcontext("element %d of %s", ctx->index, ctx->what);
}

/*
 * Reads "users": a JSON array of objects, or one object. Each object is parsed
 * with specs into nspecs fields starting at field "first"; returns the count.
 */
static int
parse_user_array(Jsonb *users, int first, int nspecs, const char *what,
				 FieldValue **out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	ElementContext ectx = {what, 0};
	ErrorContextCallback callback;
	FieldValue *rows;
	int			n = 0;

	if (JB_ROOT_IS_OBJECT(users))
	{
		rows = palloc0(sizeof(FieldValue) * UF_COUNT);
		ParseJsonObjectFields(&users->root, user_fields + first, nspecs, rows + first, "user");
		*out = rows;
		return 1;
	}
	if (JB_ROOT_IS_SCALAR(users))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON array of objects", what)));

	rows = palloc0(sizeof(FieldValue) * UF_COUNT * Max(JB_ROOT_COUNT(users), 1));

	callback.callback = element_error_context;
	callback.arg = &ectx;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	it = JsonbIteratorInit(&users->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		ectx.index = n;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be a JSON array of objects", what)));
		ParseJsonObjectFields(v.val.binary.data, user_fields + first, nspecs,
							  rows + n * UF_COUNT + first, "user");
		n++;
	}

	error_context_stack = callback.previous;
	*out = rows;
	return n;
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
	Datum		values[lengthof(fields)];
	Datum	   *elems = palloc(sizeof(Datum) * n);
	bool	   *nulls = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int c = 0; c < lengthof(fields); c++)
	{
		bool		is_json = (fields[c] == UF_METADATA);

		for (int i = 0; i < n; i++)
		{
			FieldValue *f = &rows[i * UF_COUNT + fields[c]];

			nulls[i] = !f->present || f->isnull;
			elems[i] = nulls[i] ? (Datum) 0 : f->value;
		}
		values[c] = PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
													   is_json ? JSONBOID : TEXTOID,
													   -1, false, TYPALIGN_INT));
	}

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

static bool
values_equal(Datum a, bool anull, Datum b, bool bnull, bool is_json)
{
	if (anull || bnull)
		return anull && bnull;
	if (is_json)
		return JsonbEqual(DatumGetJsonbP(a), DatumGetJsonbP(b));
	else
	{
		text	   *ta = DatumGetTextPP(a);
		text	   *tb = DatumGetTextPP(b);

		return VARSIZE_ANY_EXHDR(ta) == VARSIZE_ANY_EXHDR(tb) &&
			memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), VARSIZE_ANY_EXHDR(ta)) == 0;
	}
}

/*
 * Applies validated changes to the live user "id", locking its row first.
 * Returns false if there is no such user. Otherwise *result is the row as it
 * now is and *changed tells whether any value really changed; only then is
 * the row written and updated_at moved.
 */
static bool
apply_user_changes(text *id, FieldValue *changes, SpiRows *result, bool *changed)
{
	static const Oid lock_types[] = {TEXTOID};
	static const Oid update_types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID};
	Datum		values[6];
	char		nulls[6];
	SpiRows		current;

	values[0] = PointerGetDatum(id);
	current = RunPlan(KeptPlan(&lock_user_plan,
							   "SELECT * FROM user_module.\"user\" "
							   "WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text AND deleted_at IS NULL "
							   "FOR UPDATE",
							   1, lock_types),
					  values, NULL, false, SPI_OK_SELECT);
	if (current.count == 0)
		return false;

	*changed = false;
	nulls[0] = ' ';
	for (int f = UF_EMAIL; f < UF_COUNT; f++)
	{
		int			col = field_column[f];
		bool		is_json = (f == UF_METADATA);
		bool		oldnull;
		Datum		old = RowColumn(current, 0, col, &oldnull);
		Datum		new = old;
		bool		newnull = oldnull;

		if (changes[f].present)
		{
			newnull = changes[f].isnull;
			new = changes[f].value;
			if (is_json && !newnull)
			{
				/* merge, as Medusa does; NULL clears the whole metadata */
				Jsonb	   *merged = MergeMetadata(oldnull ? NULL : DatumGetJsonbP(old),
												   DatumGetJsonbP(new));

				newnull = (merged == NULL);
				new = PointerGetDatum(merged);
			}
			if (!values_equal(old, oldnull, new, newnull, is_json))
				*changed = true;
		}
		values[col - 1] = new;
		nulls[col - 1] = newnull ? 'n' : ' ';
	}

	if (!*changed)
	{
		*result = current;
		return true;
	}
	*result = RunPlan(KeptPlan(&update_user_plan,
							   "UPDATE user_module.\"user\" SET first_name = $2, last_name = $3, "
							   "email = $4, avatar_url = $5, metadata = $6, updated_at = pg_catalog.now() "
							   "WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text "
							   "RETURNING *",
							   lengthof(update_types), update_types),
					  values, nulls, false, SPI_OK_UPDATE_RETURNING);
	return true;
}

/* P0002 naming every missing id. */
static void
report_missing_users(text **missing, int n)
{
	StringInfoData list;

	if (n == 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("user \"%s\" does not exist", clipped_id(missing[0]))));

	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		appendStringInfo(&list, "%s\"%s\"", i > 0 ? ", " : "", clipped_id(missing[i]));
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("%d users do not exist", n),
			 errdetail("Missing ids: %s.", list.data)));
}

/* Runs one of the id-list statements and writes an event per id it returns. */
static void
change_users_by_id(FunctionCallInfo fcinfo, SPIPlanPtr *slot, const char *sql,
				   int expected, const char *event)
{
	static const Oid types[] = {TEXTARRAYOID};
	Datum		values[1];
	ModuleCall	call;
	SpiRows		rows;

	require_arg(fcinfo, 0, "ids");
	values[0] = PG_GETARG_DATUM(0);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	BeginModuleCall(&call);
	rows = RunPlan(KeptPlan(slot, sql, 1, types), values, NULL, false, expected);
	EmitEvents(event, RowsColumnArray(rows, 1, TEXTOID));
	ReturnColumn(fcinfo, rows, 1);
	EndModuleCall(&call);
}

/* ---------------------------------------------------------------- SQL API */

PG_FUNCTION_INFO_V1(um_create_user);
Datum
um_create_user(PG_FUNCTION_ARGS)
{
	/* argument order: email, first_name, last_name, avatar_url, metadata, id */
	static const int arg_field[] = {UF_EMAIL, UF_FIRST_NAME, UF_LAST_NAME,
	UF_AVATAR_URL, UF_METADATA, UF_ID};
	FieldValue	f[UF_COUNT];
	ModuleCall	call;
	Datum		result;

	for (int a = 0; a < lengthof(arg_field); a++)
	{
		FieldValue *fv = &f[arg_field[a]];

		fv->present = true;
		fv->isnull = PG_ARGISNULL(a);
		fv->value = fv->isnull ? (Datum) 0 : PG_GETARG_DATUM(a);
	}
	validate_new_user(f);

	BeginModuleCall(&call);
	result = RowAsComposite(fcinfo, &call, create_users_rows(f, 1), 0);
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

	require_arg(fcinfo, 0, "users");
	n = parse_user_array(PG_GETARG_JSONB_P(0), UF_ID, UF_COUNT, "users", &rows);
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
	static const Oid types[] = {TEXTOID, BOOLOID};
	Datum		values[2];
	ModuleCall	call;
	SpiRows		rows;
	Datum		result;

	require_arg(fcinfo, 0, "id");
	values[0] = PG_GETARG_DATUM(0);
	values[1] = BoolGetDatum(!PG_ARGISNULL(1) && PG_GETARG_BOOL(1));

	BeginModuleCall(&call);
	rows = RunPlan(KeptPlan(&retrieve_user_plan,
							"SELECT * FROM user_module.\"user\" "
							"WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text "
							"AND ($2::pg_catalog.bool OR deleted_at IS NULL)",
							2, types),
				   values, NULL, true, SPI_OK_SELECT);
	if (rows.count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("user \"%s\" does not exist", clipped_id(PG_GETARG_TEXT_PP(0)))));
	result = RowAsComposite(fcinfo, &call, rows, 0);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

/* Shared by list_users and count_users: "<select> FROM user WHERE ..." */
static void
build_user_query(StringInfo sql, const char *select, FunctionCallInfo fcinfo,
				 int filters_arg, int with_deleted_arg, QueryParams *params)
{
	Jsonb	   *filters = PG_ARGISNULL(filters_arg) ? NULL : PG_GETARG_JSONB_P(filters_arg);
	bool		with_deleted = !PG_ARGISNULL(with_deleted_arg) && PG_GETARG_BOOL(with_deleted_arg);

	initStringInfo(sql);
	appendStringInfo(sql, "SELECT %s FROM %s", select, user_table.relation);
	AppendWhereClause(sql, &user_table, filters, with_deleted, params);
}

PG_FUNCTION_INFO_V1(um_list_users);
Datum
um_list_users(PG_FUNCTION_ARGS)
{
	QueryParams params = {0};
	StringInfoData sql;
	int32		skip = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	ModuleCall	call;
	int			skip_param;
	int			take_param;

	if (skip < 0 || (!PG_ARGISNULL(2) && PG_GETARG_INT32(2) < 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("skip and take must not be negative")));

	build_user_query(&sql, "*", fcinfo, 0, 4, &params);
	AppendOrderBy(&sql, &user_table, PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)));
	skip_param = AddQueryParam(&params, INT8OID, Int64GetDatum(skip), false);
	take_param = AddQueryParam(&params, INT8OID,
							   PG_ARGISNULL(2) ? (Datum) 0 : Int64GetDatum(PG_GETARG_INT32(2)),
							   PG_ARGISNULL(2));
	appendStringInfo(&sql, " OFFSET $%d LIMIT $%d", skip_param, take_param);

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	ReturnRows(fcinfo, RunPlan(PlanForQuery(sql.data, &params),
							   params.values, params.nulls, true, SPI_OK_SELECT));
	EndModuleCall(&call);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_count_users);
Datum
um_count_users(PG_FUNCTION_ARGS)
{
	QueryParams params = {0};
	StringInfoData sql;
	ModuleCall	call;
	SpiRows		rows;
	bool		isnull;
	int64		count;

	build_user_query(&sql, "pg_catalog.count(*)", fcinfo, 0, 1, &params);

	BeginModuleCall(&call);
	rows = RunPlan(PlanForQuery(sql.data, &params),
				   params.values, params.nulls, true, SPI_OK_SELECT);
	count = DatumGetInt64(RowColumn(rows, 0, 1, &isnull));
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
	SpiRows		rows;
	bool		changed;
	Datum		result;

	require_arg(fcinfo, 0, "id");
	require_arg(fcinfo, 1, "changes");
	id = PG_GETARG_TEXT_PP(0);
	ParseJsonObjectFields(&PG_GETARG_JSONB_P(1)->root, user_fields + UF_EMAIL,
						  UF_COUNT - UF_EMAIL, f + UF_EMAIL, "changes");
	validate_changes(f);

	BeginModuleCall(&call);
	if (!apply_user_changes(id, f, &rows, &changed))
		report_missing_users(&id, 1);
	if (changed)
		EmitEvents("user.updated", RowsColumnArray(rows, UCOL_ID, TEXTOID));
	result = RowAsComposite(fcinfo, &call, rows, 0);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_update_users);
Datum
um_update_users(PG_FUNCTION_ARGS)
{
	FieldValue *rows;
	int			n;
	text	  **missing;
	int			nmissing = 0;
	Datum	   *changed_ids;
	int			nchanged = 0;
	ModuleCall	call;

	require_arg(fcinfo, 0, "users");
	n = parse_user_array(PG_GETARG_JSONB_P(0), UF_ID, UF_COUNT, "users", &rows);
	for (int i = 0; i < n; i++)
	{
		FieldValue *f = rows + i * UF_COUNT;

		if (!f[UF_ID].present || f[UF_ID].isnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("each user to update needs an id"),
					 errcontext("element %d of users", i)));
		validate_changes(f);
	}

	InitMaterializedSRF(fcinfo, 0);
	missing = palloc(sizeof(text *) * Max(n, 1));
	changed_ids = palloc(sizeof(Datum) * Max(n, 1));

	BeginModuleCall(&call);
	for (int i = 0; i < n; i++)
	{
		FieldValue *f = rows + i * UF_COUNT;
		text	   *id = field_text(&f[UF_ID]);
		SpiRows		result;
		bool		changed;

		if (!apply_user_changes(id, f, &result, &changed))
			missing[nmissing++] = id;
		else
		{
			ReturnRows(fcinfo, result);
			if (changed)
				changed_ids[nchanged++] = PointerGetDatum(id);
		}
	}
	if (nmissing > 0)
		report_missing_users(missing, nmissing);

	/* an id listed twice is still one entity changed: one event */
	nchanged = UniqueTextsInOrder(changed_ids, nchanged);
	EmitEvents("user.updated",
			   PointerGetDatum(construct_array(changed_ids, nchanged, TEXTOID, -1, false, TYPALIGN_INT)));
	EndModuleCall(&call);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_delete_users);
Datum
um_delete_users(PG_FUNCTION_ARGS)
{
	change_users_by_id(fcinfo, &delete_users_plan,
					   "WITH changed AS (DELETE FROM user_module.\"user\" "
					   "WHERE id OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]) RETURNING id) "
					   "SELECT id FROM changed ORDER BY id",
					   SPI_OK_SELECT, "user.deleted");
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_soft_delete_users);
Datum
um_soft_delete_users(PG_FUNCTION_ARGS)
{
	change_users_by_id(fcinfo, &soft_delete_users_plan,
					   "WITH changed AS (UPDATE user_module.\"user\" "
					   "SET deleted_at = pg_catalog.now(), updated_at = pg_catalog.now() "
					   "WHERE id OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]) AND deleted_at IS NULL "
					   "RETURNING id) "
					   "SELECT id FROM changed ORDER BY id",
					   SPI_OK_SELECT, "user.deleted");
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_restore_users);
Datum
um_restore_users(PG_FUNCTION_ARGS)
{
	change_users_by_id(fcinfo, &restore_users_plan,
					   "WITH changed AS (UPDATE user_module.\"user\" "
					   "SET deleted_at = NULL, updated_at = pg_catalog.now() "
					   "WHERE id OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]) AND deleted_at IS NOT NULL "
					   "RETURNING id) "
					   "SELECT id FROM changed ORDER BY id",
					   SPI_OK_SELECT, "user.restored");
	return (Datum) 0;
}
