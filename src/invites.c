/*
 * invites.c
 *		The SQL-callable invite functions: create, retrieve, list, count,
 *		update (metadata only), delete, soft delete, restore, refresh tokens,
 *		validate a token, and accept an invite.
 *
 * The usable token is never stored. An invite row keeps only the token's jti
 * and issue time; every function that returns an invite re-derives the token
 * with the key (HMAC is deterministic), and only for callers who may hold
 * tokens. Refreshing draws a new jti, so every earlier token dies at once.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "token.h"
#include "user_module.h"

#define ERRCODE_INVALID_INVITE_TOKEN	MAKE_SQLSTATE('2','2','U','0','1')
#define ERRCODE_INVITE_EXPIRED			MAKE_SQLSTATE('2','2','U','0','2')
#define ERRCODE_INVITE_ACCEPTED			MAKE_SQLSTATE('2','2','U','0','3')

/* Leeway for a token's "nbf" against this server's clock. */
#define NBF_LEEWAY_SECONDS 60

/* Columns of user_module.invite, as SPI numbers them. */
enum
{
	ICOL_ID = 1,
	ICOL_EMAIL,
	ICOL_ACCEPTED,
	ICOL_EXPIRES_AT,
	ICOL_METADATA,
	ICOL_CREATED_AT,
	ICOL_UPDATED_AT,
	ICOL_DELETED_AT,
	ICOL_TOKEN_JTI,
	ICOL_TOKEN_ISSUED_AT
};

/* Every column, as the install script creates them (checked at first use). */
static const EntityColumn invite_columns[] = {
	[ICOL_ID - 1] = {"id", COL_TEXT, TEXTOID},
	[ICOL_EMAIL - 1] = {"email", COL_TEXT_CI, TEXTOID},
	[ICOL_ACCEPTED - 1] = {"accepted", COL_BOOL, BOOLOID},
	[ICOL_EXPIRES_AT - 1] = {"expires_at", COL_TIME, TIMESTAMPTZOID},
	[ICOL_METADATA - 1] = {"metadata", COL_METADATA, JSONBOID},
	[ICOL_CREATED_AT - 1] = {"created_at", COL_TIME, TIMESTAMPTZOID},
	[ICOL_UPDATED_AT - 1] = {"updated_at", COL_TIME, TIMESTAMPTZOID},
	[ICOL_DELETED_AT - 1] = {"deleted_at", COL_TIME, TIMESTAMPTZOID},
	[ICOL_TOKEN_JTI - 1] = {"token_jti", COL_INTERNAL, UUIDOID},
	[ICOL_TOKEN_ISSUED_AT - 1] = {"token_issued_at", COL_INTERNAL, TIMESTAMPTZOID},
};

static const UniqueMessage invite_unique[] = {
	{"invite_pkey", "invite id is already in use",
	"Another invite, live or soft-deleted, has the same id."},
	{"invite_email_unique", "email is already in use by another invite",
	"Emails are unique among live invites, compared case-insensitively."},
	{NULL, NULL, NULL},
};

/* The keys of an invite object; updates take id and metadata only. */
enum
{
	IF_ID,
	IF_EMAIL,
	IF_METADATA,
	IF_COUNT
};

static const FieldSpec invite_fields[IF_COUNT] = {
	{"id", FIELD_TEXT},
	{"email", FIELD_TEXT},
	{"metadata", FIELD_OBJECT},
};

static const FieldSpec invite_update_fields[] = {
	{"id", FIELD_TEXT},
	{"metadata", FIELD_OBJECT},
};

static const int invite_change_columns[] = {ICOL_METADATA};

static EntityPlans invite_plans;

static const EntityTable invite_table = {
	.name = "invite",
	.relation = "user_module.invite",
	.entity = "invite",
	.columns = invite_columns,
	.ncolumns = lengthof(invite_columns),
	.search_expr = "email",
	.change_columns = invite_change_columns,
	.nchange_columns = lengthof(invite_change_columns),
	/* acceptance is final: an accepted invite stays deleted */
	.restorable = "NOT accepted",
	.unique = invite_unique,
	.plans = &invite_plans,
};

/*
 * A new invite's row: id, email and metadata from its fields; a fresh token
 * (jti), one issue time for the batch ($4) and the expiry it gives ($5).
 */
static const InsertSpec invite_insert = {
	.ncolumns = 3,
	.columns = (const int[]) {ICOL_ID, ICOL_EMAIL, ICOL_METADATA},
	.fields = (const int[]) {IF_ID, IF_EMAIL, IF_METADATA},
	.stride = IF_COUNT,
	.more_columns = "accepted, token_jti, token_issued_at, expires_at",
	.more_values = "false, pg_catalog.gen_random_uuid(), $4, $5",
	.nmore = 2,
	.more_types = (const Oid[]) {TIMESTAMPTZOID, TIMESTAMPTZOID},
};

static SPIPlanPtr lock_any_plan = NULL;
static SPIPlanPtr mark_accepted_plan = NULL;
static PlanPair refresh_plans;

/* ---------------------------------------------------------------- time */

static int64
unix_seconds(TimestampTz t)
{
	return t / USECS_PER_SEC + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

static TimestampTz
from_unix_seconds(int64 s)
{
	return (s - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) * USECS_PER_SEC;
}

/* ---------------------------------------------------------------- output */

/* Tokens go to members of user_module_admin (superusers included), no one else. */
static bool
caller_may_hold_tokens(ModuleCall *call)
{
	Oid			admin = get_role_oid("user_module_admin", true);

	return superuser_arg(call->saved_user) ||
		(OidIsValid(admin) && has_privs_of_role(call->saved_user, admin));
}

static char *
to_utf8(char *s)
{
	return pg_server_to_any(s, strlen(s), PG_UTF8);
}

/* The current token of invite row i, re-derived from its claims. */
static char *
invite_token(SpiRows rows, uint64 i, const uint8 *key, size_t keylen)
{
	TokenClaims claims = {0};
	bool		isnull;
	char	   *token;

	/* JWTs are UTF-8, whatever the database encoding */
	claims.id = to_utf8(TextDatumGetCString(RowColumn(rows, i, ICOL_ID, &isnull)));
	claims.email = to_utf8(TextDatumGetCString(RowColumn(rows, i, ICOL_EMAIL, &isnull)));
	claims.jti = DatumGetCString(DirectFunctionCall1(uuid_out,
													 RowColumn(rows, i, ICOL_TOKEN_JTI, &isnull)));
	claims.iat = unix_seconds(DatumGetTimestampTz(RowColumn(rows, i, ICOL_TOKEN_ISSUED_AT, &isnull)));
	claims.exp = unix_seconds(DatumGetTimestampTz(RowColumn(rows, i, ICOL_EXPIRES_AT, &isnull)));
	token = TokenSign(&claims, key, keylen);
	if (token == NULL)
		elog(ERROR, "could not compute HMAC-SHA256");
	return token;
}

/* Invite row i as user_module.invite_with_token, with the given token or NULL. */
static HeapTuple
invite_tuple(TupleDesc desc, SpiRows rows, uint64 i, const char *token)
{
	/* result column -> table column; 0 for the token */
	static const int source[] = {ICOL_ID, ICOL_EMAIL, ICOL_ACCEPTED, 0, ICOL_EXPIRES_AT,
	ICOL_METADATA, ICOL_CREATED_AT, ICOL_UPDATED_AT, ICOL_DELETED_AT};
	Datum		values[lengthof(source)];
	bool		nulls[lengthof(source)];

	for (int c = 0; c < (int) lengthof(source); c++)
	{
		if (source[c] == 0)
		{
			nulls[c] = (token == NULL);
			values[c] = token ? CStringGetTextDatum(token) : (Datum) 0;
		}
		else
			values[c] = RowColumn(rows, i, source[c], &nulls[c]);
	}
	return heap_form_tuple(desc, values, nulls);
}

/* Where a set-returning invite function's rows go. */
typedef struct InviteResult
{
	FunctionCallInfo fcinfo;
	ModuleCall *call;
} InviteResult;

/* Appends invite rows to the set the function returns, with tokens for those who may hold them. */
static void
return_invite_rows(SpiRows rows, void *arg)
{
	InviteResult *r = (InviteResult *) arg;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) r->fcinfo->resultinfo;
	bool		with_tokens = rows.count > 0 && caller_may_hold_tokens(r->call);
	size_t		keylen = 0;
	const uint8 *key = with_tokens ? SigningKey(&keylen) : NULL;

	for (uint64 i = 0; i < rows.count; i++)
	{
		char	   *token = with_tokens ? invite_token(rows, i, key, keylen) : NULL;
		HeapTuple	tuple = invite_tuple(rsinfo->setDesc, rows, i, token);

		tuplestore_puttuple(rsinfo->setResult, tuple);
		heap_freetuple(tuple);
		if (token)
			pfree(token);
	}
}

/*
 * Invite row 0 as the function's composite result. given_token is returned as
 * the token if set (validate: the caller holds it); otherwise the token is
 * re-derived for callers who may hold it.
 */
static Datum
invite_result(FunctionCallInfo fcinfo, ModuleCall *call, SpiRows rows, const char *given_token)
{
	TupleDesc	desc = ResultDesc(fcinfo);
	const char *token = given_token;

	if (token == NULL && caller_may_hold_tokens(call))
	{
		size_t		keylen;
		const uint8 *key = SigningKey(&keylen);

		token = invite_token(rows, 0, key, keylen);
	}
	return TupleAsResult(call, invite_tuple(desc, rows, 0, token), desc);
}

/* ---------------------------------------------------------------- create */

static void
validate_new_invite(FieldValue *f)
{
	CheckNewEntity("invite", &f[IF_ID], &f[IF_EMAIL]);
	NormalizeMetadata(&f[IF_METADATA]);
}

/* 23505: an invite for the email of a live user (element: which, or -1). */
static void
email_of_a_user(int64 element)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("email is already in use by a user"),
			 errdetail("An invite cannot be made for the email of a live user."),
			 element >= 0 ? errcontext("element " INT64_FORMAT " of invites", element) : 0));
}

/*
 * Inserts validated invites with fresh tokens, one issue time for the batch,
 * and emits their invite.created events; rows come back in input order. An
 * invite for the email of a live user is refused (23505, naming the first
 * such element); users being created concurrently are waited for
 * (LiveUserHasEmail).
 */
static SpiRows
create_invites(ModuleCall *call, FieldValue *rows, int n)
{
	int64		issued = unix_seconds(GetCurrentStatementStartTimestamp());
	Datum		times[2];
	SpiRows		created;

	for (int i = 0; i < n; i++)
		if (LiveUserHasEmail(rows[i * IF_COUNT + IF_EMAIL].value))
			email_of_a_user(n == 1 ? -1 : i);

	times[0] = TimestampTzGetDatum(from_unix_seconds(issued));
	times[1] = TimestampTzGetDatum(from_unix_seconds(issued + um_invite_valid_duration));
	created = InsertEntities(&invite_table, &invite_insert, rows, n, times);
	EmitEvents(call, "invite.created", created, ICOL_ID);
	return created;
}

PG_FUNCTION_INFO_V1(um_create_invite);
Datum
um_create_invite(PG_FUNCTION_ARGS)
{
	/* argument order: email, metadata, id */
	static const int arg_field[] = {IF_EMAIL, IF_METADATA, IF_ID};
	FieldValue	f[IF_COUNT];
	size_t		keylen;
	ModuleCall	call;
	Datum		result;

	for (int a = 0; a < (int) lengthof(arg_field); a++)
	{
		FieldValue *fv = &f[arg_field[a]];

		fv->present = true;
		fv->isnull = PG_ARGISNULL(a);
		fv->value = fv->isnull ? (Datum) 0 : PG_GETARG_DATUM(a);
	}
	validate_new_invite(f);
	(void) SigningKey(&keylen); /* no invites without a usable key */

	BeginModuleCall(&call);
	result = invite_result(fcinfo, &call, create_invites(&call, f, 1), NULL);
	WriteEvents(&call);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_create_invites);
Datum
um_create_invites(PG_FUNCTION_ARGS)
{
	FieldValue *rows;
	int			n;
	size_t		keylen;
	ModuleCall	call;

	RequireArgument(fcinfo, 0, "invites");
	n = ParseJsonObjects(PG_GETARG_JSONB_P(0), "invite", invite_fields, IF_COUNT, &rows);
	for (int i = 0; i < n; i++)
		validate_new_invite(rows + i * IF_COUNT);

	InitMaterializedSRF(fcinfo, 0);
	if (n == 0)
		return (Datum) 0;
	(void) SigningKey(&keylen);
	BeginModuleCall(&call);
	return_invite_rows(create_invites(&call, rows, n), &(InviteResult) {fcinfo, &call});
	WriteEvents(&call);
	EndModuleCall(&call);
	return (Datum) 0;
}

/* ---------------------------------------------------------------- reads */

PG_FUNCTION_INFO_V1(um_retrieve_invite);
Datum
um_retrieve_invite(PG_FUNCTION_ARGS)
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
	rows = FetchEntity(&invite_table, id, with_deleted);
	if (rows.count == 0)
		ReportMissing(&invite_table, &id, 1);
	result = invite_result(fcinfo, &call, rows, NULL);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_list_invites);
Datum
um_list_invites(PG_FUNCTION_ARGS)
{
	ListArgs	args;
	EntityQuery query;
	ModuleCall	call;

	ReadListArgs(fcinfo, &args);
	BuildListQuery(&query, &invite_table, &args);
	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	ListEntities(&query, return_invite_rows, &(InviteResult) {fcinfo, &call});
	EndModuleCall(&call);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_count_invites);
Datum
um_count_invites(PG_FUNCTION_ARGS)
{
	ListArgs	args;
	EntityQuery query;
	ModuleCall	call;
	int64		count;

	ReadCountArgs(fcinfo, &args);
	BuildCountQuery(&query, &invite_table, &args);
	BeginModuleCall(&call);
	count = CountEntities(&query);
	EndModuleCall(&call);
	PG_RETURN_INT64(count);
}

/* ---------------------------------------------------------------- updates */

PG_FUNCTION_INFO_V1(um_update_invite);
Datum
um_update_invite(PG_FUNCTION_ARGS)
{
	FieldValue	f[IF_COUNT] = {0};
	text	   *id;
	ModuleCall	call;
	Datum		result;

	RequireArgument(fcinfo, 0, "id");
	RequireArgument(fcinfo, 1, "changes");
	id = PG_GETARG_TEXT_PP(0);
	ParseJsonObjectFields(&PG_GETARG_JSONB_P(1)->root, invite_fields + IF_METADATA, 1,
						  f + IF_METADATA, "changes");

	BeginModuleCall(&call);
	result = invite_result(fcinfo, &call, UpdateEntity(&call, &invite_table, id, f + IF_METADATA), NULL);
	WriteEvents(&call);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_update_invites);
Datum
um_update_invites(PG_FUNCTION_ARGS)
{
	int			stride = lengthof(invite_update_fields);
	FieldValue *rows;
	int			n;
	ModuleCall	call;

	RequireArgument(fcinfo, 0, "invites");
	n = ParseJsonObjects(PG_GETARG_JSONB_P(0), "invite", invite_update_fields, stride, &rows);
	RequireIds("invite", rows, n, stride, 0);

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	UpdateEntities(&call, &invite_table, rows, n, stride, 0, 1, return_invite_rows,
				   &(InviteResult) {fcinfo, &call});
	WriteEvents(&call);
	EndModuleCall(&call);
	return (Datum) 0;
}

/*
 * delete_invites, soft_delete_invites and restore_invites(ids text[]): the
 * ids changed, sorted. restore_invites locks the invites it can restore
 * first, then, like create_invite, refuses (23505) to bring back an invite for
 * the email of a live user.
 */
static Datum
change_invites(FunctionCallInfo fcinfo, SpiRows (*change) (ModuleCall *, const EntityTable *, ArrayType *))
{
	ArrayType  *ids;
	ModuleCall	call;

	RequireArgument(fcinfo, 0, "ids");
	ids = PG_GETARG_ARRAYTYPE_P(0);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	BeginModuleCall(&call);
	ReturnColumn(fcinfo, change(&call, &invite_table, ids), 1);
	WriteEvents(&call);
	EndModuleCall(&call);
	return (Datum) 0;
}

/*
 * Locks, in id order, the invites that can be restored, checks their emails
 * against the live users, and restores exactly those rows. Locking returns
 * each row as it now is, after waiting for any transaction changing it.
 * LiveUserHasEmail may then wait, with these invites locked, for a
 * transaction creating a user with one of their emails.
 */
static SpiRows
restore_invites(ModuleCall *call, const EntityTable *t, ArrayType *ids)
{
	static const Oid types[] = {TEXTARRAYOID};
	static SPIPlanPtr lock_restorable_plan = NULL;
	Datum		values[1] = {PointerGetDatum(ids)};
	SpiRows		locked;

	locked = RunPlan(TablePlan(t, &lock_restorable_plan, true, 1, types,
							   "SELECT e.id, e.email FROM %s AS e, pg_catalog.unnest($1::pg_catalog.text[]) AS ids(id) "
							   "WHERE e.id OPERATOR(pg_catalog.=) ids.id AND e.deleted_at IS NOT NULL AND %s "
							   "ORDER BY e.id FOR UPDATE OF e",
							   t->relation, t->restorable),
					 values, NULL, false, SPI_OK_SELECT);
	for (uint64 i = 0; i < locked.count; i++)
	{
		bool		isnull;

		if (LiveUserHasEmail(RowColumn(locked, i, 2, &isnull)))
			email_of_a_user(-1);
	}
	/* exactly those: a later snapshot could see more rows to restore */
	return RestoreEntities(call, t, DatumGetArrayTypeP(RowsColumnArray(locked, 1, TEXTOID)), true);
}

PG_FUNCTION_INFO_V1(um_delete_invites);
Datum
um_delete_invites(PG_FUNCTION_ARGS)
{
	return change_invites(fcinfo, DeleteEntities);
}

PG_FUNCTION_INFO_V1(um_soft_delete_invites);
Datum
um_soft_delete_invites(PG_FUNCTION_ARGS)
{
	return change_invites(fcinfo, SoftDeleteEntities);
}

PG_FUNCTION_INFO_V1(um_restore_invites);
Datum
um_restore_invites(PG_FUNCTION_ARGS)
{
	return change_invites(fcinfo, restore_invites);
}

/* P0002 naming the ids (sorted, each once) that refreshed (rows) lacks, if any. */
static void
report_missing_invites(ArrayType *ids, SpiRows refreshed)
{
	static const Oid types[] = {TEXTARRAYOID, TEXTARRAYOID};
	static SPIPlanPtr missing_ids_plan = NULL;
	Datum		values[2] = {PointerGetDatum(ids), RowsColumnArray(refreshed, ICOL_ID, TEXTOID)};
	SpiRows		missing;
	text	  **missing_ids;
	bool		isnull;

	missing = RunPlan(KeptPlan(&missing_ids_plan,
							   "SELECT DISTINCT x FROM pg_catalog.unnest($1::pg_catalog.text[]) AS x "
							   "WHERE x IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.unnest($2::pg_catalog.text[]) AS r "
							   "WHERE r OPERATOR(pg_catalog.=) x) ORDER BY x",
							   lengthof(types), types),
					  values, NULL, true, SPI_OK_SELECT);
	if (missing.count == 0)
		return;
	missing_ids = palloc(sizeof(text *) * missing.count);
	for (uint64 i = 0; i < missing.count; i++)
		missing_ids[i] = DatumGetTextPP(RowColumn(missing, i, 1, &isnull));
	ReportMissing(&invite_table, missing_ids, (int) missing.count);
}

/*
 * refresh_invite_tokens(ids text[]): a new jti, issue time and expiry for each
 * live invite, in id order. The old tokens stop working at once; a missing or
 * deleted id fails the call (P0002, naming every one). Duplicates are fine.
 */
PG_FUNCTION_INFO_V1(um_refresh_invite_tokens);
Datum
um_refresh_invite_tokens(PG_FUNCTION_ARGS)
{
	static const Oid time_types[] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	int64		issued = unix_seconds(GetCurrentStatementStartTimestamp());
	ArrayType  *ids;
	size_t		keylen;
	Datum		times[2];
	ModuleCall	call;
	SpiRows		rows;

	RequireArgument(fcinfo, 0, "ids");
	ids = PG_GETARG_ARRAYTYPE_P(0);
	(void) SigningKey(&keylen);
	times[0] = TimestampTzGetDatum(from_unix_seconds(issued));
	times[1] = TimestampTzGetDatum(from_unix_seconds(issued + um_invite_valid_duration));

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	rows = ChangeByIds(&invite_table, refresh_plans,
					   "UPDATE %s AS e SET token_jti = pg_catalog.gen_random_uuid(), "
					   "token_issued_at = $2, expires_at = $3, updated_at = pg_catalog.now()",
					   "FROM", " AND e.deleted_at IS NULL", "e.*", ids, false,
					   lengthof(time_types), time_types, times);

	/* as many rows as ids: every id was found (the rows are distinct) */
	if (rows.count < (uint64) ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids)))
		report_missing_invites(ids, rows);

	EmitEvents(&call, "invite.resent", rows, ICOL_ID);
	return_invite_rows(rows, &(InviteResult) {fcinfo, &call});
	WriteEvents(&call);
	EndModuleCall(&call);
	return (Datum) 0;
}

/* ---------------------------------------------------------------- tokens */

static void
invalid_token(void)
{
	/* one message for every cause: never tell which check failed */
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_INVITE_TOKEN),
			 errmsg("invalid invite token")));
}

/*
 * Checks signature and claims of a presented token; 22U01 if anything is off.
 * The signature may be under the current key or, during a rotation, the
 * previous one; tokens are only ever signed with the current key.
 */
static void
verify_token(text *token, TokenClaims *claims)
{
	TokenKey	keys[2];
	int			nkeys = VerificationKeys(keys);
	TokenStatus status;

	if (token == NULL)
		invalid_token();
	status = TokenVerifyAnyKey(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), PG_UTF8,
							   keys, nkeys, claims);
	if (status == TOKEN_CRYPTO_FAILED)
		elog(ERROR, "could not compute HMAC-SHA256");
	if (status != TOKEN_VALID)
		invalid_token();
	/* a genuine token holds what invite_token wrote: back to the database encoding */
	claims->id = pg_any_to_server(claims->id, strlen(claims->id), PG_UTF8);
}

/*
 * Holds a genuine token against its invite row (none: rows.count == 0): the
 * jti must be the invite's current one, compared in constant time; then an
 * accepted invite is 22U03 (although acceptance also soft-deleted it), any
 * other deleted one 22U01, and an expired token or invite 22U02.
 */
static void
check_invite(SpiRows rows, const TokenClaims *claims)
{
	bool		isnull;
	char	   *jti;
	size_t		len;
	int64		now = unix_seconds(GetCurrentStatementStartTimestamp());

	if (rows.count == 0)
		invalid_token();
	jti = DatumGetCString(DirectFunctionCall1(uuid_out, RowColumn(rows, 0, ICOL_TOKEN_JTI, &isnull)));
	len = strlen(jti);
	if (strlen(claims->jti) != len || timingsafe_bcmp(jti, claims->jti, len) != 0)
		invalid_token();
	if (DatumGetBool(RowColumn(rows, 0, ICOL_ACCEPTED, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INVITE_ACCEPTED),
				 errmsg("invite has already been accepted")));
	(void) RowColumn(rows, 0, ICOL_DELETED_AT, &isnull);
	if (!isnull)
		invalid_token();
	if (claims->has_nbf && claims->nbf > now + NBF_LEEWAY_SECONDS)
		invalid_token();
	if (now >= claims->exp ||
		now >= unix_seconds(DatumGetTimestampTz(RowColumn(rows, 0, ICOL_EXPIRES_AT, &isnull))))
		ereport(ERROR,
				(errcode(ERRCODE_INVITE_EXPIRED),
				 errmsg("invite token has expired"),
				 errhint("Refresh the invite to issue a new token.")));
}

/*
 * validate_invite_token(token text): the invite a token is for, if the token
 * is genuine and current. Reads only, so it also works on a hot standby.
 */
PG_FUNCTION_INFO_V1(um_validate_invite_token);
Datum
um_validate_invite_token(PG_FUNCTION_ARGS)
{
	text	   *token = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	TokenClaims claims;
	ModuleCall	call;
	SpiRows		rows;
	Datum		result;

	verify_token(token, &claims);
	BeginLookupCall(&call);
	rows = FetchEntity(&invite_table, cstring_to_text(claims.id), true);
	check_invite(rows, &claims);
	result = invite_result(fcinfo, &call, rows, text_to_cstring(token));
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

/*
 * accept_invite(token, first_name, last_name, avatar_url, metadata): in one
 * step, validates the token, creates the user with the invite's email, and
 * marks the invite accepted and soft-deleted. The invite row stays locked
 * from the check to the end of the transaction, so of two concurrent accepts
 * the second sees the first's result and gets 22U03.
 */
PG_FUNCTION_INFO_V1(um_accept_invite);
Datum
um_accept_invite(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {TEXTOID};
	text	   *token = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	FieldValue *user_fields;
	TokenClaims claims;
	ModuleCall	call;
	Datum		values[1];
	SpiRows		invite;
	SpiRows		user;
	bool		isnull;
	Datum		result;

	verify_token(token, &claims);
	user_fields = InvitedUserFields(PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
									PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2),
									PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3),
									PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4));
	BeginModuleCall(&call);

	values[0] = PointerGetDatum(cstring_to_text(claims.id));
	invite = RunPlan(TablePlan(&invite_table, &lock_any_plan, false, 1, types,
							   "SELECT * FROM %s WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text FOR UPDATE",
							   invite_table.relation),
					 values, NULL, false, SPI_OK_SELECT);
	check_invite(invite, &claims);

	user = CreateInvitedUser(&call, user_fields, RowColumn(invite, 0, ICOL_EMAIL, &isnull));
	RunPlan(TablePlan(&invite_table, &mark_accepted_plan, false, 1, types,
					  "UPDATE %s SET accepted = true, deleted_at = pg_catalog.now(), "
					  "updated_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text",
					  invite_table.relation),
			values, NULL, false, SPI_OK_UPDATE);
	EmitEvents(&call, "invite.accepted", invite, ICOL_ID);

	result = RowAsComposite(fcinfo, &call, user, 0);
	WriteEvents(&call);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}
