/*
 * entity.c
 *		What users and invites have in common: reading JSON arrays of objects,
 *		fetching, listing and counting rows, applying changes with Medusa's
 *		metadata merge, and deleting, soft-deleting and restoring by id.
 *
 * Every statement is built from the EntityTable (a fixed relation name and
 * column list) and kept per table; values always travel as parameters. Each
 * function here runs inside a ModuleCall, as the tables' owner.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "user_module.h"

/*
 * A kept plan for a statement built from the table on first use; a batch's
 * is planned for each call's values (KeptBatchPlan).
 */
static SPIPlanPtr
table_plan(SPIPlanPtr *slot, bool batch, int nargs, const Oid *types, const char *fmt,...)
	pg_attribute_printf(5, 6);

static SPIPlanPtr
table_plan(SPIPlanPtr *slot, bool batch, int nargs, const Oid *types, const char *fmt,...)
{
	if (*slot == NULL)
	{
		StringInfoData sql;
		va_list		args;

		initStringInfo(&sql);
		for (;;)
		{
			int			needed;

			va_start(args, fmt);
			needed = appendStringInfoVA(&sql, fmt, args);
			va_end(args);
			if (needed == 0)
				break;
			enlargeStringInfo(&sql, needed);
		}
		if (batch)
			KeptBatchPlan(slot, sql.data, nargs, types);
		else
			KeptPlan(slot, sql.data, nargs, types);
		pfree(sql.data);
	}
	return *slot;
}

void
RequireArgument(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", name)));
}

/* A caller's value as it may appear in a message: at most 64 characters. */
char *
ClippedText(text *t)
{
	return pnstrdup(VARDATA_ANY(t), pg_mbcharcliplen(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), 64));
}

/* ---------------------------------------------------------------- input */

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
 * Reads a JSON array of objects, or one object, as create_* and update_* take
 * them: row i's fields are parsed with specs into out[i * nspecs]. Returns
 * the number of rows.
 */
int
ParseJsonObjects(const EntityTable *t, Jsonb *objects, const FieldSpec *specs, int nspecs,
				 FieldValue **out)
{
	char	   *what = psprintf("%ss", t->entity);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	ElementContext ectx = {what, 0};
	ErrorContextCallback callback;
	FieldValue *rows;
	int			n = 0;

	if (JB_ROOT_IS_OBJECT(objects))
	{
		rows = palloc0(sizeof(FieldValue) * nspecs);
		ParseJsonObjectFields(&objects->root, specs, nspecs, rows, t->entity);
		*out = rows;
		return 1;
	}
	if (JB_ROOT_IS_SCALAR(objects))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON array of objects", what)));

	rows = palloc0(sizeof(FieldValue) * nspecs * Max(JB_ROOT_COUNT(objects), 1));

	callback.callback = element_error_context;
	callback.arg = &ectx;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	it = JsonbIteratorInit(&objects->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		ectx.index = n;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be a JSON array of objects", what)));
		ParseJsonObjectFields(v.val.binary.data, specs, nspecs, rows + n * nspecs, t->entity);
		n++;
	}

	error_context_stack = callback.previous;
	*out = rows;
	return n;
}

/*
 * The fields of one row as statement parameters (values and SPI nulls): a
 * single-row insert binds them directly instead of unnesting arrays.
 */
void
FieldParams(FieldValue *row, const int *fields, int nfields, Datum *values, char *nulls)
{
	for (int c = 0; c < nfields; c++)
	{
		FieldValue *f = &row[fields[c]];
		bool		isnull = !f->present || f->isnull;

		values[c] = isnull ? (Datum) 0 : f->value;
		nulls[c] = isnull ? 'n' : ' ';
	}
}

/*
 * One field of every row as a one-dimensional array, absent fields as NULL:
 * the parameters of the set-based INSERTs.
 */
Datum
FieldArray(FieldValue *rows, int n, int stride, int field, Oid elemtype)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	for (int i = 0; i < n; i++)
	{
		FieldValue *f = &rows[i * stride + field];

		nulls[i] = !f->present || f->isnull;
		elems[i] = nulls[i] ? (Datum) 0 : f->value;
	}
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/* ---------------------------------------------------------------- reads */

/* The column number of a column the table's EntityColumns name. */
static int
column_number(const EntityTable *t, const char *name)
{
	for (int i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i].name, name) == 0)
			return i + 1;
	elog(ERROR, "table %s has no column %s", t->relation, name);
}

/*
 * The row with this id (live only, unless with_deleted), read straight
 * through the primary key rather than by an SPI statement: retrieve_* and
 * validate_invite_token are hot paths, and starting an executor costs more
 * than the lookup itself. It reads with the statement's snapshot, as the
 * query of a STABLE function would, and returns the row as SPI would.
 */
SpiRows
FetchEntity(const EntityTable *t, text *id, bool with_deleted)
{
	Relation	rel = table_open(ModuleRelation(&t->plans->table, t->name), AccessShareLock);
	SPITupleTable *table = palloc0(sizeof(SPITupleTable));
	SpiRows		rows = {table, 0};
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	/* id is column 1 of every table, collation "C" like ScanKeyInit's */
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(id));
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true,
							  GetActiveSnapshot(), 1, &key);
	tuple = systable_getnext(scan);
	table->tupdesc = CreateTupleDescCopy(RelationGetDescr(rel));
	if (tuple != NULL)
	{
		bool		live;		/* deleted_at IS NULL */

		(void) heap_getattr(tuple, column_number(t, "deleted_at"), table->tupdesc, &live);
		if (with_deleted || live)
		{
			table->vals = palloc(sizeof(HeapTuple));
			table->vals[0] = heap_copytuple(tuple);
			table->numvals = rows.count = 1;
		}
	}
	systable_endscan(scan);
	table_close(rel, NoLock);
	return rows;
}

/* "SELECT <what> FROM <table> WHERE <filters>" for list_* and count_* */
static void
build_query(StringInfo sql, const EntityTable *t, const char *what,
			FunctionCallInfo fcinfo, int filters_arg, int with_deleted_arg,
			QueryParams *params)
{
	Jsonb	   *filters = PG_ARGISNULL(filters_arg) ? NULL : PG_GETARG_JSONB_P(filters_arg);
	bool		with_deleted = !PG_ARGISNULL(with_deleted_arg) && PG_GETARG_BOOL(with_deleted_arg);

	initStringInfo(sql);
	appendStringInfo(sql, "SELECT %s FROM %s", what, t->relation);
	AppendWhereClause(sql, t, filters, with_deleted, params);
}

/*
 * Rows a list reads at a time. A list of at most this many rows (take given
 * and no larger: what applications send) runs in one statement; any other
 * streams through a cursor, one batch at a time, into the tuplestore the
 * function returns, which spills to disk beyond work_mem: a list of the
 * whole table never holds more than a batch in memory besides.
 */
#define LIST_BATCH 1000

typedef struct ListBatchArg
{
	const EntityTable *t;
	FunctionCallInfo fcinfo;
	ModuleCall *call;
} ListBatchArg;

static void
return_list_batch(SpiRows rows, void *arg)
{
	ListBatchArg *a = (ListBatchArg *) arg;

	a->t->return_rows(a->fcinfo, a->call, rows);
}

/*
 * list_*(filters, skip, take, order_by, with_deleted): appends the rows to
 * the set the function returns (it called InitMaterializedSRF).
 */
void
ListEntities(const EntityTable *t, FunctionCallInfo fcinfo, ModuleCall *call)
{
	QueryParams params = {0};
	StringInfoData sql;
	int32		skip = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	bool		no_take = PG_ARGISNULL(2);
	int32		take = no_take ? 0 : PG_GETARG_INT32(2);
	int			skip_param;
	int			take_param;
	SPIPlanPtr	plan;
	ListBatchArg arg = {t, fcinfo, call};

	if (skip < 0 || take < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("skip and take must not be negative")));

	build_query(&sql, t, "*", fcinfo, 0, 4, &params);

	/*
	 * Filtered by id or email, the rows are few: find them through their
	 * index, then sort. Left to choose, the generic plan of a small table
	 * walks the primary key in order and filters every row, since it cannot
	 * tell how few match; the fence (OFFSET 0) keeps the ORDER BY out of the
	 * scan.
	 */
	if (params.by_key)
	{
		char	   *inner = sql.data;

		initStringInfo(&sql);
		appendStringInfo(&sql, "SELECT * FROM (%s OFFSET 0) AS e", inner);
	}
	AppendOrderBy(&sql, t, PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)));
	skip_param = AddQueryParam(&params, INT8OID, Int64GetDatum(skip), false);
	take_param = AddQueryParam(&params, INT8OID, Int64GetDatum(take), no_take);
	appendStringInfo(&sql, " OFFSET $%d LIMIT $%d", skip_param, take_param);

	plan = PlanForQuery(sql.data, &params);
	if (!no_take && take <= LIST_BATCH)
		t->return_rows(fcinfo, call, RunPlan(plan, params.values, params.nulls,
											 true, SPI_OK_SELECT));
	else
		RunPlanInBatches(plan, params.values, params.nulls, LIST_BATCH,
						 return_list_batch, &arg);
}

/* count_*(filters, with_deleted) */
int64
CountEntities(const EntityTable *t, FunctionCallInfo fcinfo)
{
	QueryParams params = {0};
	StringInfoData sql;
	SpiRows		rows;
	bool		isnull;

	build_query(&sql, t, "pg_catalog.count(*)", fcinfo, 0, 1, &params);
	rows = RunPlan(PlanForQuery(sql.data, &params), params.values, params.nulls,
				   true, SPI_OK_SELECT);
	return DatumGetInt64(RowColumn(rows, 0, 1, &isnull));
}

/* ---------------------------------------------------------------- updates */

static bool
values_equal(Datum a, bool anull, Datum b, bool bnull, bool is_json)
{
	if (anull || bnull)
		return anull && bnull;
	if (is_json)
		return JsonbEqual(DatumGetJsonbP(a), DatumGetJsonbP(b));
	return TextsEqual(DatumGetTextPP(a), DatumGetTextPP(b));
}

/* UPDATE <table> SET <change columns> = $2..., updated_at = now() WHERE id = $1 */
static SPIPlanPtr
update_plan(const EntityTable *t)
{
	if (t->plans->update == NULL)
	{
		StringInfoData sets;
		Oid			types[MAX_QUERY_PARAMS];

		types[0] = TEXTOID;
		initStringInfo(&sets);
		for (int k = 0; k < t->nchange_columns; k++)
		{
			const EntityColumn *col = &t->columns[t->change_columns[k] - 1];

			types[k + 1] = (col->kind == COL_METADATA) ? JSONBOID : TEXTOID;
			appendStringInfo(&sets, "%s = $%d, ", col->name, k + 2);
		}
		table_plan(&t->plans->update, false, t->nchange_columns + 1, types,
				   "UPDATE %s SET %supdated_at = pg_catalog.now() "
				   "WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text RETURNING *",
				   t->relation, sets.data);
	}
	return t->plans->update;
}

/*
 * Applies validated changes (changes[k] for change_columns[k]; absent means
 * unchanged) to the live row "id", locking it first. Returns false if there is
 * no such row. Otherwise *result is the row as it now is and *changed tells
 * whether any value really changed; only then is the row written and
 * updated_at moved. Metadata merges as Medusa's does; JSON null clears it.
 */
bool
ApplyChanges(const EntityTable *t, text *id, FieldValue *changes, SpiRows *result,
			 bool *changed)
{
	static const Oid lock_types[] = {TEXTOID};
	Datum		values[MAX_QUERY_PARAMS];
	char		nulls[MAX_QUERY_PARAMS];
	SpiRows		current;

	values[0] = PointerGetDatum(id);
	nulls[0] = ' ';
	current = RunPlan(table_plan(&t->plans->lock, false, 1, lock_types,
								 "SELECT * FROM %s WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text "
								 "AND deleted_at IS NULL FOR UPDATE",
								 t->relation),
					  values, NULL, false, SPI_OK_SELECT);
	if (current.count == 0)
		return false;

	*changed = false;
	for (int k = 0; k < t->nchange_columns; k++)
	{
		int			col = t->change_columns[k];
		bool		is_json = (t->columns[col - 1].kind == COL_METADATA);
		bool		oldnull;
		Datum		old = RowColumn(current, 0, col, &oldnull);
		Datum		new = old;
		bool		newnull = oldnull;

		if (changes[k].present)
		{
			newnull = changes[k].isnull;
			new = changes[k].value;
			if (is_json && !newnull)
			{
				Jsonb	   *merged = MergeMetadata(oldnull ? NULL : DatumGetJsonbP(old),
												   DatumGetJsonbP(new));

				newnull = (merged == NULL);
				new = PointerGetDatum(merged);
			}
			if (!values_equal(old, oldnull, new, newnull, is_json))
				*changed = true;
		}
		values[k + 1] = new;
		nulls[k + 1] = newnull ? 'n' : ' ';
	}

	if (!*changed)
	{
		*result = current;
		return true;
	}
	*result = RunPlan(update_plan(t), values, nulls, false, SPI_OK_UPDATE_RETURNING);
	return true;
}

/*
 * Locks the rows whose ids the text[] "ids" holds, in id order. A call that
 * changes several rows takes this lock first: two calls naming the same rows
 * in different orders would otherwise each lock one and wait for the other
 * (40P01). The sort runs below the locking, so locks are taken in its order.
 */
void
LockRowsInIdOrder(const EntityTable *t, Datum ids)
{
	static const Oid types[] = {TEXTARRAYOID};

	RunPlan(table_plan(&t->plans->lock_many, true, 1, types,
					   "SELECT FROM %s AS e, pg_catalog.unnest($1::pg_catalog.text[]) AS ids(id) "
					   "WHERE e.id OPERATOR(pg_catalog.=) ids.id ORDER BY e.id FOR UPDATE OF e",
					   t->relation),
			&ids, NULL, false, SPI_OK_SELECT);
}

/* update_*(id, changes): the row as it now is, and its event if it changed. */
SpiRows
UpdateEntity(const EntityTable *t, text *id, FieldValue *changes)
{
	SpiRows		rows;
	bool		changed;

	if (!ApplyChanges(t, id, changes, &rows, &changed))
		ReportMissing(t, &id, 1);
	if (changed)
		EmitEvents(psprintf("%s.updated", t->entity), RowsColumnArray(rows, 1, TEXTOID));
	return rows;
}

/*
 * update_*s: applies each row's changes in order, returns the rows as they
 * end up, and writes one "<entity>.updated" event per entity that changed. Any
 * missing id fails the whole call, naming every missing id.
 */
void
UpdateEntities(const EntityTable *t, FunctionCallInfo fcinfo, FieldValue *rows, int n,
			   int stride, int id_field, int changes_field)
{
	text	  **missing = palloc(sizeof(text *) * Max(n, 1));
	int			nmissing = 0;
	Datum	   *changed_ids = palloc(sizeof(Datum) * Max(n, 1));
	int			nchanged = 0;
	ModuleCall	call;

	for (int i = 0; i < n; i++)
	{
		FieldValue *id = &rows[i * stride + id_field];

		if (!id->present || id->isnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("each %s to update needs an id", t->entity),
					 errcontext("element %d of %ss", i, t->entity)));
	}

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	if (n > 1)
		LockRowsInIdOrder(t, FieldArray(rows, n, stride, id_field, TEXTOID));
	for (int i = 0; i < n; i++)
	{
		FieldValue *f = rows + i * stride;
		text	   *id = DatumGetTextPP(f[id_field].value);
		SpiRows		result;
		bool		changed;

		if (!ApplyChanges(t, id, f + changes_field, &result, &changed))
			missing[nmissing++] = id;
		else
		{
			t->return_rows(fcinfo, &call, result);
			if (changed)
				changed_ids[nchanged++] = PointerGetDatum(id);
		}
	}
	if (nmissing > 0)
		ReportMissing(t, missing, nmissing);

	/* an id listed twice is still one entity changed: one event */
	nchanged = UniqueTextsInOrder(changed_ids, nchanged);
	EmitEvents(psprintf("%s.updated", t->entity),
			   PointerGetDatum(construct_array(changed_ids, nchanged, TEXTOID, -1, false, TYPALIGN_INT)));
	EndModuleCall(&call);
}

/* P0002 naming every missing id, each once. */
void
ReportMissing(const EntityTable *t, text **ids, int n)
{
	StringInfoData list;
	Datum	   *unique = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		unique[i] = PointerGetDatum(ids[i]);
	n = UniqueTextsInOrder(unique, n);
	for (int i = 0; i < n; i++)
		ids[i] = DatumGetTextPP(unique[i]);

	if (n == 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s \"%s\" does not exist", t->entity, ClippedText(ids[0]))));

	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		appendStringInfo(&list, "%s\"%s\"", i > 0 ? ", " : "", ClippedText(ids[i]));
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("%d %ss do not exist", n, t->entity),
			 errdetail("Missing ids: %s.", list.data)));
}

/* ---------------------------------------------------------------- by id */

/*
 * Runs "change" (a DELETE or an UPDATE of the table as "e") on the rows whose
 * ids argument 0 holds and that meet "condition", writes one
 * "<entity>.<event>" per row it changed, and returns their ids, sorted.
 * "id_source" is the word that brings in another table: USING or FROM.
 *
 * One id is matched with "e.id = $1", which always reads the primary key.
 * Many are joined to unnest(ids): "id = ANY(ids)" would let a plan filter
 * rows by the array, comparing every row with every id (minutes for 150,000
 * ids). The two statements are kept apart because a single generic plan must
 * suit both sizes: planned for a batch, the join may hash a whole index even
 * when one id is given; and the batch is planned for each call's ids (see
 * KeptBatchPlan). Many are locked in id order first (LockRowsInIdOrder).
 * A row named twice is changed once.
 */
static void
change_by_ids(const EntityTable *t, FunctionCallInfo fcinfo, SPIPlanPtr slots[2],
			  const char *change, const char *id_source, const char *condition,
			  const char *event)
{
	static const Oid one_type[] = {TEXTOID};
	static const Oid many_type[] = {TEXTARRAYOID};
	ArrayType  *ids;
	bool		one;
	Datum		values[1];
	ModuleCall	call;
	SpiRows		rows;
	SPIPlanPtr	plan;

	RequireArgument(fcinfo, 0, "ids");
	ids = PG_GETARG_ARRAYTYPE_P(0);
	one = OnlyElement(ids, &values[0]);
	if (!one)
		values[0] = PointerGetDatum(ids);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	BeginModuleCall(&call);
	if (one)
		plan = table_plan(&slots[0], false, 1, one_type,
						  "WITH changed AS (%s WHERE e.id OPERATOR(pg_catalog.=) $1::pg_catalog.text%s "
						  "RETURNING e.id) SELECT id FROM changed",
						  change, condition);
	else
	{
		LockRowsInIdOrder(t, values[0]);
		plan = table_plan(&slots[1], true, 1, many_type,
						  "WITH changed AS (%s %s pg_catalog.unnest($1::pg_catalog.text[]) AS ids(id) "
						  "WHERE e.id OPERATOR(pg_catalog.=) ids.id%s RETURNING e.id) "
						  "SELECT id FROM changed ORDER BY id",
						  change, id_source, condition);
	}
	rows = RunPlan(plan, values, NULL, false, SPI_OK_SELECT);
	EmitEvents(psprintf("%s.%s", t->entity, event), RowsColumnArray(rows, 1, TEXTOID));
	ReturnColumn(fcinfo, rows, 1);
	EndModuleCall(&call);
}

void
DeleteEntities(const EntityTable *t, FunctionCallInfo fcinfo)
{
	change_by_ids(t, fcinfo, t->plans->hard_delete,
				  psprintf("DELETE FROM %s AS e", t->relation), "USING", "", "deleted");
}

void
SoftDeleteEntities(const EntityTable *t, FunctionCallInfo fcinfo)
{
	change_by_ids(t, fcinfo, t->plans->soft_delete,
				  psprintf("UPDATE %s AS e SET deleted_at = pg_catalog.now(), updated_at = pg_catalog.now()",
						   t->relation),
				  "FROM", " AND e.deleted_at IS NULL", "deleted");
}

void
RestoreEntities(const EntityTable *t, FunctionCallInfo fcinfo)
{
	change_by_ids(t, fcinfo, t->plans->restore,
				  psprintf("UPDATE %s AS e SET deleted_at = NULL, updated_at = pg_catalog.now()",
						   t->relation),
				  "FROM", psprintf(" AND e.deleted_at IS NOT NULL AND %s", t->restorable), "restored");
}
