/*
 * filters.c
 *		Turns the filters, q and order_by of list_* and count_* into SQL.
 *
 * Column names and operators come only from the EntityTable and the fixed table
 * of operators below; every value travels as a parameter. The SQL text is
 * therefore one of a bounded set of shapes, and store.c keeps a plan for each.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "user_module.h"

#define MAX_Q_WORDS		32
#define MAX_Q_BYTES		1024

typedef struct TimeOperator
{
	const char *key;
	const char *sql;
} TimeOperator;

static const TimeOperator time_operators[] = {
	{"$eq", "OPERATOR(pg_catalog.=)"},
	{"$gt", "OPERATOR(pg_catalog.>)"},
	{"$gte", "OPERATOR(pg_catalog.>=)"},
	{"$lt", "OPERATOR(pg_catalog.<)"},
	{"$lte", "OPERATOR(pg_catalog.<=)"},
};

static void
bad_filter(const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 detail ? errdetail("%s", detail) : 0));
}

int
AddQueryParam(QueryParams *params, Oid type, Datum value, bool isnull)
{
	if (params->n >= MAX_QUERY_PARAMS)
		bad_filter("too many filter conditions", NULL);
	params->types[params->n] = type;
	params->values[params->n] = value;
	params->nulls[params->n] = isnull ? 'n' : ' ';
	return ++params->n;
}

static const EntityColumn *
find_column(const EntityTable *table, const char *name, int len)
{
	for (int i = 0; i < table->ncolumns; i++)
	{
		if (table->columns[i].kind != COL_INTERNAL && NameIs(table->columns[i].name, name, len))
			return &table->columns[i];
	}
	return NULL;
}

/*
 * A timestamptz from a filter value. Parse errors become 22023 like every
 * other bad filter; the error is rethrown at once, so no subtransaction is
 * needed.
 */
static Datum
parse_timestamptz(JsonbValue *v, const char *column)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	char	   *s;
	Datum		result = (Datum) 0;

	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filter on %s needs a timestamp string", column)));
	s = JsonbStringValue(v);
	PG_TRY();
	{
		result = DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
									 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid timestamp in filter on %s", column),
				 errdetail("%s", edata->message)));
	}
	PG_END_TRY();
	return result;
}

/* col = ANY($n): one string or an array of strings */
static void
append_text_filter(StringInfo sql, const EntityColumn *col, JsonbValue *v, QueryParams *params)
{
	Datum	   *elems;
	int			n = 0;
	bool		fold = (col->kind == COL_TEXT_CI);
	int			param;

	if (v->type == jbvString)
	{
		elems = palloc(sizeof(Datum));
		elems[n++] = PointerGetDatum(cstring_to_text_with_len(v->val.string.val, v->val.string.len));
	}
	else if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		JsonbContainer *arr = v->val.binary.data;
		int			size = JsonContainerSize(arr);

		elems = palloc(sizeof(Datum) * Max(size, 1));
		for (int i = 0; i < size; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(arr, i);

			if (e->type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("filter on %s must be a string or an array of strings", col->name)));
			elems[n++] = PointerGetDatum(cstring_to_text_with_len(e->val.string.val, e->val.string.len));
		}
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filter on %s must be a string or an array of strings", col->name)));

	/* the same lower() as the index on lower(email), under the same collation */
	if (fold)
		for (int i = 0; i < n; i++)
			elems[i] = DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, elems[i]);

	param = AddQueryParam(params, TEXTARRAYOID,
						  PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT)),
						  false);
	if (fold || strcmp(col->name, "id") == 0)
		params->by_key = true;
	if (fold)
		appendStringInfo(sql, "pg_catalog.lower(%s) OPERATOR(pg_catalog.=) ANY ($%d::pg_catalog.text[])",
						 col->name, param);
	else
		appendStringInfo(sql, "%s OPERATOR(pg_catalog.=) ANY ($%d::pg_catalog.text[])",
						 col->name, param);
}

/* {"$gte": "...", "$lt": "..."}: one condition per operator */
static bool
append_time_filter(StringInfo sql, const EntityColumn *col, JsonbValue *v, QueryParams *params)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	val;
	JsonbIteratorToken tok;
	bool		any = false;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filter on %s must be an object of operators", col->name),
				 errhint("Use {\"$gt\"|\"$gte\"|\"$lt\"|\"$lte\"|\"$eq\": timestamp}.")));

	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		const TimeOperator *op = NULL;

		if (tok != WJB_KEY)
			continue;
		for (int i = 0; i < (int) lengthof(time_operators); i++)
			if (NameIs(time_operators[i].key, k.val.string.val, k.val.string.len))
				op = &time_operators[i];
		if (op == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown operator \"%s\" in filter on %s",
							ClippedString(k.val.string.val, k.val.string.len), col->name),
					 errhint("Use $gt, $gte, $lt, $lte or $eq.")));
		tok = JsonbIteratorNext(&it, &val, true);
		Assert(tok == WJB_VALUE);
		if (any)
			appendStringInfoString(sql, " AND ");
		params->custom_plan = true;
		appendStringInfo(sql, "%s %s $%d::pg_catalog.timestamptz", col->name, op->sql,
						 AddQueryParam(params, TIMESTAMPTZOID,
									   parse_timestamptz(&val, col->name), false));
		any = true;
	}
	return any;
}

/* q: every white-space separated word must occur in the search expression */
static bool
append_q_filter(StringInfo sql, const EntityTable *table, JsonbValue *v, QueryParams *params)
{
	const char *s;
	int			len;
	int			words = 0;

	if (v->type == jbvNull)
		return false;
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filter q must be a string")));
	s = v->val.string.val;
	len = v->val.string.len;
	if (len > MAX_Q_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filter q is too long"),
				 errdetail("q has at most %d bytes.", MAX_Q_BYTES)));

	for (int i = 0; i < len;)
	{
		StringInfoData pattern;
		int			start;

		while (i < len && isspace((unsigned char) s[i]))
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && !isspace((unsigned char) s[i]))
			i++;
		if (++words > MAX_Q_WORDS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("filter q has too many words"),
					 errdetail("q has at most %d words.", MAX_Q_WORDS)));

		/* %, _ and the escape character itself match literally */
		initStringInfo(&pattern);
		appendStringInfoChar(&pattern, '%');
		for (int j = start; j < i; j++)
		{
			if (s[j] == '%' || s[j] == '_' || s[j] == '\\')
				appendStringInfoChar(&pattern, '\\');
			appendStringInfoChar(&pattern, s[j]);
		}
		appendStringInfoChar(&pattern, '%');

		if (words > 1)
			appendStringInfoString(sql, " AND ");
		appendStringInfo(sql, "%s OPERATOR(pg_catalog.~~*) $%d::pg_catalog.text",
						 table->search_expr,
						 AddQueryParam(params, TEXTOID,
									   PointerGetDatum(cstring_to_text_with_len(pattern.data, pattern.len)),
									   false));
	}
	if (words > 0)
		params->custom_plan = true;
	return words > 0;
}

/*
 * The condition of one filter key and value; false if it adds none (an empty
 * q, or {} for a time column).
 */
static bool
append_filter(StringInfo sql, const EntityTable *table, JsonbValue *k, JsonbValue *v,
			  QueryParams *params)
{
	const EntityColumn *col;

	if (k->val.string.len == 1 && k->val.string.val[0] == 'q')
		return append_q_filter(sql, table, v, params);

	col = find_column(table, k->val.string.val, k->val.string.len);
	if (col == NULL || col->kind == COL_OTHER || col->kind == COL_METADATA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown filter \"%s\" for %s",
						ClippedString(k->val.string.val, k->val.string.len), table->entity)));
	switch (col->kind)
	{
		case COL_TEXT:
		case COL_TEXT_CI:
			append_text_filter(sql, col, v, params);
			return true;
		case COL_TIME:
			return append_time_filter(sql, col, v, params);
		case COL_BOOL:
			if (v->type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("filter on %s must be true or false", col->name)));
			appendStringInfo(sql, "%s OPERATOR(pg_catalog.=) $%d::pg_catalog.bool",
							 col->name,
							 AddQueryParam(params, BOOLOID, BoolGetDatum(v->val.boolean), false));
			return true;
		default:
			elog(ERROR, "column %s cannot be filtered", col->name);
	}
}

/*
 * Appends " WHERE <conditions>" for filters (a JSON object of column names
 * and q), every value as a parameter; only live rows unless with_deleted.
 * A bad filter is 22023, raised while the statement is built, before any
 * call begins.
 */
void
AppendWhereClause(StringInfo sql, const EntityTable *table, Jsonb *filters,
				  bool with_deleted, QueryParams *params)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			conditions = 0;

	appendStringInfoString(sql, " WHERE ");
	if (!with_deleted)
	{
		appendStringInfoString(sql, "deleted_at IS NULL");
		conditions++;
	}

	if (filters != NULL)
	{
		if (!JB_ROOT_IS_OBJECT(filters))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("filters must be a JSON object")));

		it = JsonbIteratorInit(&filters->root);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			int			mark;
			bool		added;

			if (tok != WJB_KEY)
				continue;
			tok = JsonbIteratorNext(&it, &v, true);
			Assert(tok == WJB_VALUE);

			mark = sql->len;
			if (conditions > 0)
				appendStringInfoString(sql, " AND ");
			appendStringInfoChar(sql, '(');

			added = append_filter(sql, table, &k, &v, params);

			if (added)
			{
				appendStringInfoChar(sql, ')');
				conditions++;
			}
			else
			{
				/* an empty q or {}: no condition, take the text back */
				sql->len = mark;
				sql->data[mark] = '\0';
			}
		}
	}

	if (conditions == 0)
		appendStringInfoString(sql, "true");
}

/*
 * order_by: comma-separated column names, "-" before a name for descending.
 * Ties are always broken by id, so pages are stable. Every name is checked,
 * but a column named again, or anything after id (which is unique), cannot
 * change the order and is left out of the statement: a 1 MB order_by of
 * "id,id,..." stays a one-key ORDER BY.
 */
void
AppendOrderBy(StringInfo sql, const EntityTable *table, const char *order_by)
{
	const char *p = order_by;
	bool		has_id = false;
	bool		first = true;
	bool	   *named = palloc0(sizeof(bool) * table->ncolumns);

	appendStringInfoString(sql, " ORDER BY ");

	while (p != NULL)
	{
		const char *end = strchr(p, ',');
		int			len = end ? (int) (end - p) : (int) strlen(p);
		const char *name = p;
		bool		desc = false;
		const EntityColumn *col;

		p = end ? end + 1 : NULL;
		while (len > 0 && isspace((unsigned char) *name))
			name++, len--;
		while (len > 0 && isspace((unsigned char) name[len - 1]))
			len--;
		if (len > 0 && *name == '-')
		{
			desc = true;
			name++, len--;
		}
		if (len == 0)
		{
			/* a blank order_by means the default; an empty item is an error */
			if (first && p == NULL && !desc)
				break;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("empty column name in order_by")));
		}
		col = find_column(table, name, len);
		if (col == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot order %ss by \"%s\"", table->entity, ClippedString(name, len)),
					 errhint("order_by takes column names of the %s row, \"-\" before a name for descending.",
							 table->entity)));
		if (has_id || named[col - table->columns])
			continue;
		named[col - table->columns] = true;
		if (strcmp(col->name, "id") == 0)
			has_id = true;
		appendStringInfo(sql, "%s%s %s", first ? "" : ", ", col->name, desc ? "DESC" : "ASC");
		first = false;
	}
	if (!has_id)
		appendStringInfo(sql, "%sid ASC", first ? "" : ", ");
	pfree(named);
}
