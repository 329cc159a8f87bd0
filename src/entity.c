/*
 * entity.c
 *		The store of users and invites: their statements, built from the one
 *		description of each table (EntityTable), run with plain C values.
 *
 * Fetching, listing and counting rows, inserting, applying changes with
 * Medusa's metadata merge, and deleting, soft-deleting and restoring by id.
 * Every function here runs inside a ModuleCall that an SQL entry point of
 * users.c or invites.c began, after that entry point validated its input;
 * none reads function arguments or builds a result. Statements are kept per
 * table and take every value as a parameter.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "storage/lmgr.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "user_module.h"

/*
 * Rows a list reads at a time. A list of at most this many rows (take given
 * and no larger: what applications send) runs in one statement; any other
 * streams through a cursor, one batch at a time, into the tuplestore the
 * function returns, which spills to disk beyond work_mem: a list of the
 * whole table never holds more than a batch in memory besides.
 */
#define LIST_BATCH 1000

/* ---------------------------------------------------------------- the table */

/*
 * The C code names columns by number (UCOL_*, ICOL_*): the table must have
 * exactly the columns its description lists, in that order. The version check
 * makes a mismatch unlikely; this makes one loud instead of silent.
 */
static void
check_columns(const EntityTable *t, Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < Max(desc->natts, t->ncolumns); i++)
	{
		Form_pg_attribute att = i < desc->natts ? TupleDescAttr(desc, i) : NULL;
		const EntityColumn *col = i < t->ncolumns ? &t->columns[i] : NULL;
		char	   *found = "(none)";
		char	   *expected = "(none)";

		if (att != NULL && !att->attisdropped)
			found = psprintf("%s %s", NameStr(att->attname), format_type_be(att->atttypid));
		if (col != NULL)
			expected = psprintf("%s %s", col->name, format_type_be(col->type));
		if (strcmp(found, expected) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table %s does not have the columns this library expects", t->relation),
					 errdetail("Column %d is %s, the library expects %s.", i + 1, found, expected),
					 errhint("Install the library that matches the installed extension's version.")));
	}
	table_close(rel, AccessShareLock);
}

/* The tables whose columns were checked (users, invites, events): see table_oid. */
static EntityPlans *checked_tables[3];
static int	nchecked_tables = 0;

/* A change to a checked table (ALTER TABLE) has its columns checked again. */
static void
forget_checked_columns(Datum arg, Oid relid)
{
	for (int i = 0; i < nchecked_tables; i++)
		if (relid == InvalidOid || relid == checked_tables[i]->table.oid)
			checked_tables[i]->checked = false;
}

/* The table's OID, its columns checked at first use and after each change. */
static Oid
table_oid(const EntityTable *t)
{
	Oid			relid = ModuleRelation(&t->plans->table, t->name);

	/* locked first, so that a change committed before is seen (its invalidation read) */
	LockRelationOid(relid, AccessShareLock);
	if (!t->plans->checked)
	{
		int			i;

		check_columns(t, relid);
		for (i = 0; i < nchecked_tables && checked_tables[i] != t->plans; i++)
			;
		if (i == nchecked_tables)
		{
			if (nchecked_tables == (int) lengthof(checked_tables))
				elog(ERROR, "too many tables for checked_tables");
			if (nchecked_tables == 0)
				CacheRegisterRelcacheCallback(forget_checked_columns, (Datum) 0);
			checked_tables[nchecked_tables++] = t->plans;
		}
		t->plans->checked = true;
	}
	return relid;
}

/*
 * A kept plan for a statement on the table, built from fmt on first use; a
 * batch's is planned for each call's values (KeptBatchPlan).
 */
SPIPlanPtr
TablePlan(const EntityTable *t, SPIPlanPtr *slot, bool batch, int nargs, const Oid *types,
		  const char *fmt,...)
{
	(void) table_oid(t);
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

/* Runs a statement on the table; its unique violations get the table's messages. */
static SpiRows
run_table_plan(const EntityTable *t, SPIPlanPtr plan, Datum *values, const char *nulls,
			   bool read_only, int expected)
{
	return RunPlanWithMessages(plan, values, nulls, read_only, expected, t->unique);
}

/* The column number of a column the table's description names. */
static int
column_number(const EntityTable *t, const char *name)
{
	for (int i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i].name, name) == 0)
			return i + 1;
	elog(ERROR, "table %s has no column %s", t->relation, name);
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

	if (n == 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s \"%s\" does not exist", t->entity, ClippedText(DatumGetTextPP(unique[0])))));

	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		appendStringInfo(&list, "%s\"%s\"", i > 0 ? ", " : "", ClippedText(DatumGetTextPP(unique[i])));
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("%d %ss do not exist", n, t->entity),
			 errdetail("Missing ids: %s.", list.data)));
}

/* ---------------------------------------------------------------- reads */

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
	Relation	rel = table_open(table_oid(t), AccessShareLock);
	SPITupleTable *table = palloc0(sizeof(SPITupleTable));
	SpiRows		rows = {table, 0};
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	/* id is column 1 of every table, collation "C" like ScanKeyInit's */
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(id));
	scan = systable_beginscan(rel, PrimaryKeyIndex(rel), true,
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
build_query(EntityQuery *q, const EntityTable *t, const char *what, Jsonb *filters,
			bool with_deleted)
{
	memset(q, 0, sizeof(EntityQuery));
	q->table = t;
	initStringInfo(&q->sql);
	appendStringInfo(&q->sql, "SELECT %s FROM %s", what, t->relation);
	AppendWhereClause(&q->sql, t, filters, with_deleted, &q->params);
}

/*
 * The statement of list_*(filters, skip, take, order_by, with_deleted); every
 * argument is checked here (22023), before the call begins.
 */
void
BuildListQuery(EntityQuery *q, const EntityTable *t, const ListArgs *args)
{
	int			skip_param;
	int			take_param;

	if (args->skip < 0 || args->take < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("skip and take must not be negative")));

	build_query(q, t, "*", args->filters, args->with_deleted);

	/*
	 * Filtered by id or email, the rows are few: find them through their
	 * index, then sort. Left to choose, the generic plan of a small table
	 * walks the primary key in order and filters every row, since it cannot
	 * tell how few match; the fence (OFFSET 0) keeps the ORDER BY out of the
	 * scan.
	 */
	if (q->params.by_key)
	{
		char	   *inner = q->sql.data;

		initStringInfo(&q->sql);
		appendStringInfo(&q->sql, "SELECT * FROM (%s OFFSET 0) AS e", inner);
	}
	AppendOrderBy(&q->sql, t, args->order_by);
	skip_param = AddQueryParam(&q->params, INT8OID, Int64GetDatum(args->skip), false);
	take_param = AddQueryParam(&q->params, INT8OID, Int64GetDatum(args->take), !args->has_take);
	appendStringInfo(&q->sql, " OFFSET $%d LIMIT $%d", skip_param, take_param);
	q->batched = !args->has_take || args->take > LIST_BATCH;
}

/* The statement of count_*(filters, with_deleted), checked before the call. */
void
BuildCountQuery(EntityQuery *q, const EntityTable *t, const ListArgs *args)
{
	build_query(q, t, "pg_catalog.count(*)", args->filters, args->with_deleted);
}

/* Runs a list, handing its rows to each(): at once, or a batch at a time. */
void
ListEntities(EntityQuery *q, EachRows each, void *arg)
{
	SPIPlanPtr	plan;

	(void) table_oid(q->table);
	plan = PlanForQuery(q->sql.data, &q->params);
	if (q->batched)
		RunPlanInBatches(plan, q->params.values, q->params.nulls, LIST_BATCH, each, arg);
	else
		each(RunPlan(plan, q->params.values, q->params.nulls, true, SPI_OK_SELECT), arg);
}

int64
CountEntities(EntityQuery *q)
{
	SpiRows		rows;
	bool		isnull;

	(void) table_oid(q->table);
	rows = RunPlan(PlanForQuery(q->sql.data, &q->params), q->params.values, q->params.nulls,
				   true, SPI_OK_SELECT);

	return DatumGetInt64(RowColumn(rows, 0, 1, &isnull));
}

/* ---------------------------------------------------------------- inserts */

/*
 * One field of every row as a one-dimensional array, absent fields as NULL:
 * the parameters of the set-based INSERTs.
 */
static Datum
field_array(FieldValue *rows, int n, int stride, int field, Oid elemtype)
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

static Oid
column_type(const EntityTable *t, int column)
{
	return t->columns[column - 1].type;
}

/*
 * The INSERT of spec's columns: for one row, from plain values ($1 ...); for
 * many, from ROWS FROM (unnest($1), ...), one array per column.
 */
static SPIPlanPtr
insert_plan(const EntityTable *t, const InsertSpec *spec, bool one, const Oid *types)
{
	SPIPlanPtr *slot = &t->plans->insert[one ? 0 : 1];
	StringInfoData columns;
	StringInfoData source;
	const char *more = spec->nmore ? ", " : "";

	if (*slot != NULL)
	{
		(void) table_oid(t);
		return *slot;
	}
	initStringInfo(&columns);
	initStringInfo(&source);
	for (int c = 0; c < spec->ncolumns; c++)
	{
		appendStringInfo(&columns, "%s%s", c > 0 ? ", " : "", t->columns[spec->columns[c] - 1].name);
		if (one)
			appendStringInfo(&source, "%s$%d", c > 0 ? ", " : "", c + 1);
		else
			appendStringInfo(&source, "%spg_catalog.unnest($%d::%s)", c > 0 ? ", " : "", c + 1,
							 format_type_be_qualified(types[c]));
	}
	if (one)
		return TablePlan(t, slot, false, spec->ncolumns + spec->nmore, types,
						 "INSERT INTO %s (%s, created_at, updated_at%s%s) "
						 "VALUES (%s, pg_catalog.now(), pg_catalog.now()%s%s) RETURNING *",
						 t->relation, columns.data, more, spec->nmore ? spec->more_columns : "",
						 source.data, more, spec->nmore ? spec->more_values : "");
	return TablePlan(t, slot, false, spec->ncolumns + spec->nmore, types,
					 "INSERT INTO %s (%s, created_at, updated_at%s%s) "
					 "SELECT %s, pg_catalog.now(), pg_catalog.now()%s%s "
					 "FROM ROWS FROM (%s) AS r(%s) RETURNING *",
					 t->relation, columns.data, more, spec->nmore ? spec->more_columns : "",
					 columns.data, more, spec->nmore ? spec->more_values : "",
					 source.data, columns.data);
}

/*
 * Inserts validated rows, in one statement, and returns them in input order.
 * One row binds its fields as plain values, cheaper to run than unnesting
 * arrays; many bind each column's fields as an array. more[] are the values
 * of spec's more_values parameters.
 */
SpiRows
InsertEntities(const EntityTable *t, const InsertSpec *spec, FieldValue *rows, int n, Datum *more)
{
	int			nargs = spec->ncolumns + spec->nmore;
	Oid			types[MAX_QUERY_PARAMS];
	Datum		values[MAX_QUERY_PARAMS];
	char		nulls[MAX_QUERY_PARAMS];
	bool		one = (n == 1);

	Assert(nargs <= MAX_QUERY_PARAMS);
	memset(nulls, ' ', nargs);
	for (int c = 0; c < spec->ncolumns; c++)
	{
		Oid			type = column_type(t, spec->columns[c]);

		if (one)
		{
			FieldValue *f = &rows[spec->fields[c]];

			types[c] = type;
			nulls[c] = (!f->present || f->isnull) ? 'n' : ' ';
			values[c] = nulls[c] == 'n' ? (Datum) 0 : f->value;
		}
		else
		{
			types[c] = get_array_type(type);
			values[c] = field_array(rows, n, spec->stride, spec->fields[c], type);
		}
	}
	for (int m = 0; m < spec->nmore; m++)
	{
		types[spec->ncolumns + m] = spec->more_types[m];
		values[spec->ncolumns + m] = more[m];
	}
	return run_table_plan(t, insert_plan(t, spec, one, types), values, nulls, false,
						  SPI_OK_INSERT_RETURNING);
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
	StringInfoData sets;
	Oid			types[MAX_QUERY_PARAMS];

	if (t->plans->update != NULL)
		return t->plans->update;
	types[0] = TEXTOID;
	initStringInfo(&sets);
	for (int k = 0; k < t->nchange_columns; k++)
	{
		types[k + 1] = column_type(t, t->change_columns[k]);
		appendStringInfo(&sets, "%s = $%d, ", t->columns[t->change_columns[k] - 1].name, k + 2);
	}
	return TablePlan(t, &t->plans->update, false, t->nchange_columns + 1, types,
					 "UPDATE %s SET %supdated_at = pg_catalog.now() "
					 "WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text RETURNING *",
					 t->relation, sets.data);
}

/*
 * Applies validated changes (changes[k] for change_columns[k]; absent means
 * unchanged) to the live row "id", locking it first. Returns false if there is
 * no such row. Otherwise *result is the row as it now is and *changed tells
 * whether any value really changed; only then is the row written and
 * updated_at moved. Metadata merges as Medusa's does; JSON null clears it.
 */
static bool
apply_changes(const EntityTable *t, text *id, FieldValue *changes, SpiRows *result,
			  bool *changed)
{
	static const Oid lock_types[] = {TEXTOID};
	Datum		values[MAX_QUERY_PARAMS];
	char		nulls[MAX_QUERY_PARAMS];
	SpiRows		current;

	values[0] = PointerGetDatum(id);
	nulls[0] = ' ';
	current = RunPlan(TablePlan(t, &t->plans->lock, false, 1, lock_types,
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
	*result = run_table_plan(t, update_plan(t), values, nulls, false, SPI_OK_UPDATE_RETURNING);
	return true;
}

/*
 * Locks the rows whose ids the text[] "ids" holds, in id order. A call that
 * changes several rows takes this lock first: two calls naming the same rows
 * in different orders would otherwise each lock one and wait for the other
 * (40P01). The sort runs below the locking, so locks are taken in its order.
 */
static void
lock_rows_in_id_order(const EntityTable *t, Datum ids)
{
	static const Oid types[] = {TEXTARRAYOID};

	RunPlan(TablePlan(t, &t->plans->lock_many, true, 1, types,
					  "SELECT FROM %s AS e, pg_catalog.unnest($1::pg_catalog.text[]) AS ids(id) "
					  "WHERE e.id OPERATOR(pg_catalog.=) ids.id ORDER BY e.id FOR UPDATE OF e",
					  t->relation),
			&ids, NULL, false, SPI_OK_SELECT);
}

/* update_*(id, changes): the row as it now is, and its event if it changed. */
SpiRows
UpdateEntity(ModuleCall *call, const EntityTable *t, text *id, FieldValue *changes)
{
	SpiRows		rows;
	bool		changed;

	if (!apply_changes(t, id, changes, &rows, &changed))
		ReportMissing(t, &id, 1);
	if (changed)
		EmitEvents(call, psprintf("%s.updated", t->entity), rows, 1);
	return rows;
}

/*
 * update_*s: applies each row's changes in order, hands each row as it ends
 * up to each(), and emits one "<entity>.updated" event per entity that
 * changed. Any missing id fails the whole call, naming every missing id.
 */
void
UpdateEntities(ModuleCall *call, const EntityTable *t, FieldValue *rows, int n, int stride,
			   int id_field, int changes_field, EachRows each, void *arg)
{
	text	  **missing = palloc(sizeof(text *) * Max(n, 1));
	int			nmissing = 0;
	Datum	   *changed_ids = palloc(sizeof(Datum) * Max(n, 1));
	int			nchanged = 0;
	Datum		event = CStringGetTextDatum(psprintf("%s.updated", t->entity));

	if (n > 1)
		lock_rows_in_id_order(t, field_array(rows, n, stride, id_field, TEXTOID));
	for (int i = 0; i < n; i++)
	{
		FieldValue *f = rows + i * stride;
		text	   *id = DatumGetTextPP(f[id_field].value);
		SpiRows		result;
		bool		changed;

		if (!apply_changes(t, id, f + changes_field, &result, &changed))
			missing[nmissing++] = id;
		else
		{
			each(result, arg);
			if (changed)
				changed_ids[nchanged++] = PointerGetDatum(id);
		}
	}
	if (nmissing > 0)
		ReportMissing(t, missing, nmissing);

	/* an id listed twice is still one entity changed: one event */
	nchanged = UniqueTextsInOrder(changed_ids, nchanged);
	for (int i = 0; i < nchanged; i++)
		EmitEvent(call, event, changed_ids[i]);
}

/* ---------------------------------------------------------------- by id */

/*
 * Runs "change" (a DELETE or an UPDATE of the table as "e", %s standing for
 * the table) on the rows whose ids the text[] ids holds and that meet
 * "condition", and returns "returning" of the rows it changed, sorted by id.
 * "id_source" is the word that brings in another table: USING or FROM.
 * Parameters $2.. are extra[], of extra_types.
 *
 * One id is matched with "e.id = $1", which always reads the primary key.
 * Many are joined to unnest(ids): "id = ANY(ids)" would let a plan filter
 * rows by the array, comparing every row with every id (minutes for 150,000
 * ids). Many are locked in id order first (lock_rows_in_id_order), unless the
 * caller did ("locked"). A row named twice is changed once.
 */
SpiRows
ChangeByIds(const EntityTable *t, PlanPair plans, const char *change, const char *id_source,
			const char *condition, const char *returning, ArrayType *ids, bool locked,
			int nextra, const Oid *extra_types, Datum *extra)
{
	Oid			types[MAX_QUERY_PARAMS];
	Datum		values[MAX_QUERY_PARAMS];
	bool		one = OnlyElement(ids, &values[0]);
	char	   *verb = psprintf(change, t->relation);
	SPIPlanPtr	plan;

	types[0] = one ? TEXTOID : TEXTARRAYOID;
	if (!one)
		values[0] = PointerGetDatum(ids);
	for (int i = 0; i < nextra; i++)
	{
		types[i + 1] = extra_types[i];
		values[i + 1] = extra[i];
	}
	if (one)
		plan = TablePlan(t, &plans[0], false, nextra + 1, types,
						 "WITH changed AS (%s WHERE e.id OPERATOR(pg_catalog.=) $1::pg_catalog.text%s "
						 "RETURNING %s) SELECT * FROM changed",
						 verb, condition, returning);
	else
	{
		if (!locked)
			lock_rows_in_id_order(t, values[0]);
		plan = TablePlan(t, &plans[1], true, nextra + 1, types,
						 "WITH changed AS (%s %s pg_catalog.unnest($1::pg_catalog.text[]) AS ids(id) "
						 "WHERE e.id OPERATOR(pg_catalog.=) ids.id%s RETURNING %s) "
						 "SELECT * FROM changed ORDER BY id",
						 verb, id_source, condition, returning);
	}
	return run_table_plan(t, plan, values, NULL, false, SPI_OK_SELECT);
}

/* delete_*(ids): the ids deleted, and their events. */
SpiRows
DeleteEntities(ModuleCall *call, const EntityTable *t, ArrayType *ids)
{
	SpiRows		rows = ChangeByIds(t, t->plans->hard_delete, "DELETE FROM %s AS e", "USING", "",
								   "e.id", ids, false, 0, NULL, NULL);

	EmitEvents(call, psprintf("%s.deleted", t->entity), rows, 1);
	return rows;
}

/* soft_delete_*(ids): the ids soft-deleted now, and their events. */
SpiRows
SoftDeleteEntities(ModuleCall *call, const EntityTable *t, ArrayType *ids)
{
	SpiRows		rows = ChangeByIds(t, t->plans->soft_delete,
								   "UPDATE %s AS e SET deleted_at = pg_catalog.now(), "
								   "updated_at = pg_catalog.now()",
								   "FROM", " AND e.deleted_at IS NULL", "e.id", ids, false, 0, NULL, NULL);

	EmitEvents(call, psprintf("%s.deleted", t->entity), rows, 1);
	return rows;
}

/* restore_*(ids): the ids restored, and their events. */
SpiRows
RestoreEntities(ModuleCall *call, const EntityTable *t, ArrayType *ids, bool locked)
{
	SpiRows		rows = ChangeByIds(t, t->plans->restore,
								   "UPDATE %s AS e SET deleted_at = NULL, updated_at = pg_catalog.now()",
								   "FROM", psprintf(" AND e.deleted_at IS NOT NULL AND %s", t->restorable),
								   "e.id", ids, locked, 0, NULL, NULL);

	EmitEvents(call, psprintf("%s.restored", t->entity), rows, 1);
	return rows;
}
