/*
 * input.c
 *		Validation of arguments and JSON input: emails, ids, names, metadata,
 *		and the objects of create_users/update_users. Every rejection is 22023,
 *		raised before a call switches role or touches a table.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "user_module.h"

static void check_entity_id(text *id);

#define MAX_EMAIL_LEN	254
#define MAX_LOCAL_LEN	64

/*
 * A caller's string as it may appear in a message: at most 64 characters, so
 * a 1 MB value is not echoed into the log.
 */
char *
ClippedString(const char *s, int len)
{
	return pnstrdup(s, pg_mbcharcliplen(s, len, 64));
}

char *
ClippedText(text *t)
{
	return ClippedString(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

/* 22023 when argument argno (named name in the message) is SQL NULL. */
void
RequireArgument(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", name)));
}

char *
JsonbStringValue(JsonbValue *v)
{
	Assert(v->type == jbvString);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static const char *
json_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a JSON value";
	}
}

/*
 * Reads a JSON object whose keys must all be in specs. out[i] receives the
 * value of specs[i]: text for FIELD_TEXT, jsonb for FIELD_OBJECT, or SQL NULL
 * for JSON null. "what" names the object in messages ("user", "changes").
 */
void
ParseJsonObjectFields(JsonbContainer *object, const FieldSpec *specs, int nspecs,
					  FieldValue *out, const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			current = -1;

	memset(out, 0, sizeof(FieldValue) * nspecs);

	if (!JsonContainerIsObject(object))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", what)));

	it = JsonbIteratorInit(object);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			current = -1;
			for (int i = 0; i < nspecs; i++)
			{
				if (NameIs(specs[i].name, v.val.string.val, v.val.string.len))
				{
					current = i;
					break;
				}
			}
			if (current < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown key \"%s\" in %s",
								ClippedString(v.val.string.val, v.val.string.len), what)));
		}
		else if (tok == WJB_VALUE)
		{
			const FieldSpec *spec = &specs[current];
			FieldValue *f = &out[current];

			f->present = true;
			if (v.type == jbvNull)
				f->isnull = true;
			else if (spec->type == FIELD_TEXT && v.type == jbvString)
				f->value = PointerGetDatum(cstring_to_text_with_len(v.val.string.val,
																	v.val.string.len));
			else if (spec->type == FIELD_OBJECT && v.type == jbvBinary &&
					 JsonContainerIsObject(v.val.binary.data))
				f->value = JsonbPGetDatum(JsonbValueToJsonb(&v));
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s.%s must be %s or null, not %s", what, spec->name,
								spec->type == FIELD_TEXT ? "a string" : "an object",
								json_type_name(&v))));
		}
	}
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
 * Reads a JSON array of objects, or one object, as create_* and update_* take
 * them: row i's fields are parsed with specs into out[i * nspecs]. "entity"
 * names one object in messages ("user"). Returns the number of rows.
 */
int
ParseJsonObjects(Jsonb *objects, const char *entity, const FieldSpec *specs, int nspecs,
				 FieldValue **out)
{
	char	   *what = psprintf("%ss", entity);
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
		ParseJsonObjectFields(&objects->root, specs, nspecs, rows, entity);
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
		ParseJsonObjectFields(v.val.binary.data, specs, nspecs, rows + n * nspecs, entity);
		n++;
	}

	error_context_stack = callback.previous;
	*out = rows;
	return n;
}

/*
 * What every new user and invite must have: an email (normalized in place),
 * and an id that is valid or, when none is given, a fresh "<entity>_<ULID>".
 */
void
CheckNewEntity(const char *entity, FieldValue *id, FieldValue *email)
{
	if (!email->present || email->isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("email is required")));
	email->value = PointerGetDatum(NormalizeEmail(DatumGetTextPP(email->value)));

	if (id->present && !id->isnull)
		check_entity_id(DatumGetTextPP(id->value));
	else
	{
		id->present = true;
		id->isnull = false;
		id->value = PointerGetDatum(NewEntityId(entity));
	}
}

void
ReadListArgs(FunctionCallInfo fcinfo, ListArgs *args)
{
	args->filters = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	args->skip = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	args->has_take = !PG_ARGISNULL(2);
	args->take = args->has_take ? PG_GETARG_INT32(2) : 0;
	args->order_by = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	args->with_deleted = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
}

void
ReadCountArgs(FunctionCallInfo fcinfo, ListArgs *args)
{
	memset(args, 0, sizeof(ListArgs));
	args->filters = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	args->with_deleted = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
}

/* update_*s: every object must name the row it changes. */
void
RequireIds(const char *entity, FieldValue *rows, int n, int stride, int id_field)
{
	for (int i = 0; i < n; i++)
	{
		FieldValue *id = &rows[i * stride + id_field];

		if (!id->present || id->isnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("each %s to update needs an id", entity),
					 errcontext("element %d of %ss", i, entity)));
	}
}

static inline bool
is_ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Unicode white space and C1 controls in UTF-8: U+0080-U+009F, U+00A0,
 * U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF.
 * Returns the byte length of the character at s if it is one, else 0.
 */
static int
utf8_space_len(const unsigned char *s, int remaining)
{
	if (remaining >= 2 && s[0] == 0xC2 && s[1] >= 0x80 && s[1] <= 0xA0)
		return 2;
	if (remaining >= 3)
	{
		if (s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80)
			return 3;
		if (s[0] == 0xE2 && s[1] == 0x80 &&
			(s[2] <= 0x8A || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF))
			return 3;
		if (s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F)
			return 3;
		if (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)
			return 3;
		if (s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
			return 3;
	}
	return 0;
}

static void
reject_email(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid email address"),
			 errdetail("%s", detail)));
}

/*
 * Trims ASCII white space and checks that what is left is a plausible address:
 * 1-254 characters, exactly one "@", a local part of 1-64 characters, a
 * non-empty domain, no white space or control characters anywhere.
 */
text *
NormalizeEmail(text *raw)
{
	const char *s;
	int			len;
	int			at = -1;
	bool		utf8 = (GetDatabaseEncoding() == PG_UTF8);

	if (raw == NULL)
		reject_email("An email address is required.");

	s = VARDATA_ANY(raw);
	len = VARSIZE_ANY_EXHDR(raw);
	while (len > 0 && is_ascii_space((unsigned char) s[0]))
		s++, len--;
	while (len > 0 && is_ascii_space((unsigned char) s[len - 1]))
		len--;

	if (len == 0)
		reject_email("An email address is required.");
	/* cheap bound before counting characters: 254 characters fit in 4 * 254 bytes */
	if (len > MAX_EMAIL_LEN * MAX_MULTIBYTE_CHAR_LEN ||
		pg_mbstrlen_with_len(s, len) > MAX_EMAIL_LEN)
		reject_email("An email address has at most 254 characters.");

	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x21 || c == 0x7F || (utf8 && c >= 0x80 && utf8_space_len((const unsigned char *) s + i, len - i) > 0))
			reject_email("An email address cannot contain white space or control characters.");
		if (c == '@')
		{
			if (at >= 0)
				reject_email("An email address has exactly one \"@\".");
			at = i;
		}
	}
	if (at < 0)
		reject_email("An email address has exactly one \"@\".");
	if (at == 0)
		reject_email("The part before \"@\" is empty.");
	if (pg_mbstrlen_with_len(s, at) > MAX_LOCAL_LEN)
		reject_email("The part before \"@\" has at most 64 characters.");
	if (at == len - 1)
		reject_email("The domain after \"@\" is empty.");

	return cstring_to_text_with_len(s, len);
}

/* A caller-supplied id: non-empty, at most MAX_ID_LEN characters. */
static void
check_entity_id(text *id)
{
	int			len = VARSIZE_ANY_EXHDR(id);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("id must not be empty")));
	if (len > MAX_ID_LEN * MAX_MULTIBYTE_CHAR_LEN ||
		pg_mbstrlen_with_len(VARDATA_ANY(id), len) > MAX_ID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("id is too long"),
				 errdetail("An id has at most %d characters.", MAX_ID_LEN)));
}

/* first_name, last_name: indexed, so bounded. */
void
CheckName(text *value, const char *field)
{
	int			len;

	if (value == NULL)
		return;
	len = VARSIZE_ANY_EXHDR(value);
	if (len > MAX_NAME_LEN * MAX_MULTIBYTE_CHAR_LEN ||
		pg_mbstrlen_with_len(VARDATA_ANY(value), len) > MAX_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", field),
				 errdetail("A %s has at most %d characters.", field, MAX_NAME_LEN)));
}

/*
 * metadata given as an argument: a JSON object, or null (SQL NULL or the
 * JSON null, which becomes SQL NULL as it does in create_users' objects).
 */
void
NormalizeMetadata(FieldValue *f)
{
	Jsonb	   *metadata;
	JsonbValue	scalar;

	if (!f->present || f->isnull)
		return;
	metadata = DatumGetJsonbP(f->value);
	if (JB_ROOT_IS_SCALAR(metadata) && JsonbExtractScalar(&metadata->root, &scalar) &&
		scalar.type == jbvNull)
		f->isnull = true;
	else if (!JB_ROOT_IS_OBJECT(metadata))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metadata must be a JSON object or null")));
}

/* Byte equality of two texts: what a deterministic collation calls equal. */
bool
TextsEqual(text *a, text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

bool
JsonbEqual(Jsonb *a, Jsonb *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return compareJsonbContainers(&a->root, &b->root) == 0;
}

/*
 * Medusa's metadata merge: keys of patch replace those of current one level
 * deep (nested objects are replaced, not merged); a key set to "" is removed.
 * A NULL current is an empty object, but stays NULL if the merge adds nothing.
 */
Jsonb *
MergeMetadata(Jsonb *current, Jsonb *patch)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbValue *result;
	int			npairs = 0;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);

	if (current != NULL)
	{
		it = JsonbIteratorInit(&current->root);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			tok = JsonbIteratorNext(&it, &v, true);
			Assert(tok == WJB_VALUE);
			if (getKeyJsonValueFromContainer(&patch->root, k.val.string.val,
											 k.val.string.len, NULL) != NULL)
				continue;
			pushJsonbValue(&state, WJB_KEY, &k);
			pushJsonbValue(&state, WJB_VALUE, &v);
			npairs++;
		}
	}

	it = JsonbIteratorInit(&patch->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		if (v.type == jbvString && v.val.string.len == 0)
			continue;
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &v);
		npairs++;
	}

	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	if (current == NULL && npairs == 0)
		return NULL;
	return JsonbValueToJsonb(result);
}

typedef struct TextAt
{
	text	   *value;
	int			position;
} TextAt;

static int
compare_text_at(const void *a, const void *b)
{
	const TextAt *x = a;
	const TextAt *y = b;
	int			xlen = VARSIZE_ANY_EXHDR(x->value);
	int			ylen = VARSIZE_ANY_EXHDR(y->value);
	int			c = memcmp(VARDATA_ANY(x->value), VARDATA_ANY(y->value), Min(xlen, ylen));

	if (c == 0)
		c = (xlen > ylen) - (xlen < ylen);
	if (c == 0)
		c = x->position - y->position;
	return c;
}

/*
 * Removes repeated texts from values, keeping each at its first position and
 * the rest in order; returns the new count. O(n log n).
 */
int
UniqueTextsInOrder(Datum *values, int n)
{
	TextAt	   *sorted;
	bool	   *repeated;
	int			kept = 0;

	if (n < 2)
		return n;
	sorted = palloc(sizeof(TextAt) * n);
	repeated = palloc0(sizeof(bool) * n);
	for (int i = 0; i < n; i++)
	{
		sorted[i].value = DatumGetTextPP(values[i]);
		sorted[i].position = i;
	}
	qsort(sorted, n, sizeof(TextAt), compare_text_at);
	for (int i = 1; i < n; i++)
		if (TextsEqual(sorted[i - 1].value, sorted[i].value))
			repeated[sorted[i].position] = true;
	for (int i = 0; i < n; i++)
		if (!repeated[i])
			values[kept++] = values[i];
	pfree(sorted);
	pfree(repeated);
	return kept;
}

/*
 * Whether a text[] holds exactly one element that is not NULL; if so, that
 * element. Callers bind a single value directly rather than unnest an array.
 */
bool
OnlyElement(ArrayType *array, Datum *element)
{
	bool		isnull;

	if (ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array)) != 1)
		return false;
	*element = array_get_element(PointerGetDatum(array), 1, ARR_LBOUND(array),
								 -1, -1, false, TYPALIGN_INT, &isnull);
	return !isnull;
}
