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

/* What filters and order_by may name: the columns an invite is returned with. */
static const EntityColumn invite_columns[] = {
	{"id", COL_TEXT},
	{"email", COL_TEXT_CI},
	{"accepted", COL_BOOL},
	{"expires_at", COL_TIME},
	{"metadata", COL_METADATA},
	{"created_at", COL_TIME},
	{"updated_at", COL_TIME},
	{"deleted_at", COL_TIME},
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

static void return_invite_rows(FunctionCallInfo fcinfo, ModuleCall *call, SpiRows rows);

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
	.return_rows = return_invite_rows,
	.plans = &invite_plans,
};

static SPIPlanPtr restorable_emails_plan = NULL;
static SPIPlanPtr insert_invites_plan = NULL;
static SPIPlanPtr insert_invite_plan = NULL;
static SPIPlanPtr refresh_plan = NULL;
static SPIPlanPtr refresh_one_plan = NULL;
static SPIPlanPtr missing_ids_plan = NULL;
static SPIPlanPtr lock_any_plan = NULL;
static SPIPlanPtr mark_accepted_plan = NULL;

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

static void
return_invite_rows(FunctionCallInfo fcinfo, ModuleCall *call, SpiRows rows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		with_tokens = rows.count > 0 && caller_may_hold_tokens(call);
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
	if (!f[IF_EMAIL].present || f[IF_EMAIL].isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("email is required")));
	f[IF_EMAIL].value = PointerGetDatum(NormalizeEmail(DatumGetTextPP(f[IF_EMAIL].value)));
	if (f[IF_ID].present && !f[IF_ID].isnull)
		CheckEntityId(DatumGetTextPP(f[IF_ID].value));
	else
	{
		f[IF_ID].present = true;
		f[IF_ID].isnull = false;
		f[IF_ID].value = PointerGetDatum(NewEntityId("invite"));
	}
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
 * 23505 if a live user has the email of one of the invites, naming the first
 * such element. Users being created concurrently are waited for
 * (LiveUserHasEmail).
 */
static void
reject_emails_of_users(FieldValue *rows, int n)
{
	for (int i = 0; i < n; i++)
		if (LiveUserHasEmail(rows[i * IF_COUNT + IF_EMAIL].value))
			email_of_a_user(n == 1 ? -1 : i);
}

/*
 * Inserts validated invites with fresh tokens, one issue time for the batch,
 * and writes their invite.created events; rows come back in input order.
 */
static SpiRows
create_invite_rows(FieldValue *rows, int n)
{
	static const Oid types[] = {TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID,
	TIMESTAMPTZOID, TIMESTAMPTZOID};
	int64		issued = unix_seconds(GetCurrentStatementStartTimestamp());
	size_t		keylen;
	Datum		values[5];
	SpiRows		created;

	(void) SigningKey(&keylen); /* no invites without a usable key */
	reject_emails_of_users(rows, n);

	values[3] = TimestampTzGetDatum(from_unix_seconds(issued));
	values[4] = TimestampTzGetDatum(from_unix_seconds(issued + um_invite_valid_duration));
	if (n == 1)
	{
		/* one invite: plain VALUES, cheaper to run than unnesting arrays */
		static const Oid one_types[] = {TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		static const int fields[] = {IF_ID, IF_EMAIL, IF_METADATA};
		char		nulls[5] = "     ";

		FieldParams(rows, fields, lengthof(fields), values, nulls);
		created = RunPlan(KeptPlan(&insert_invite_plan,
								   "INSERT INTO user_module.invite (id, email, accepted, expires_at, metadata, "
								   "created_at, updated_at, token_jti, token_issued_at) "
								   "VALUES ($1, $2, false, $5, $3, pg_catalog.now(), pg_catalog.now(), "
								   "pg_catalog.gen_random_uuid(), $4) "
								   "RETURNING *",
								   lengthof(one_types), one_types),
						  values, nulls, false, SPI_OK_INSERT_RETURNING);
	}
	else
	{
		values[0] = FieldArray(rows, n, IF_COUNT, IF_ID, TEXTOID);
		values[1] = FieldArray(rows, n, IF_COUNT, IF_EMAIL, TEXTOID);
		values[2] = FieldArray(rows, n, IF_COUNT, IF_METADATA, JSONBOID);
		created = RunPlan(KeptPlan(&insert_invites_plan,
								   "INSERT INTO user_module.invite (id, email, accepted, expires_at, metadata, "
								   "created_at, updated_at, token_jti, token_issued_at) "
								   "SELECT i.id, i.email, false, $5, i.metadata, pg_catalog.now(), pg_catalog.now(), "
								   "pg_catalog.gen_random_uuid(), $4 "
								   "FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), "
								   "pg_catalog.unnest($2::pg_catalog.text[]), pg_catalog.unnest($3::pg_catalog.jsonb[])) "
								   "AS i(id, email, metadata) "
								   "RETURNING *",
								   lengthof(types), types),
						  values, NULL, false, SPI_OK_INSERT_RETURNING);
	}
	EmitEvents("invite.created", RowsColumnArray(created, ICOL_ID, TEXTOID));
	return created;
}

PG_FUNCTION_INFO_V1(um_create_invite);
Datum
um_create_invite(PG_FUNCTION_ARGS)
{
	/* argument order: email, metadata, id */
	static const int arg_field[] = {IF_EMAIL, IF_METADATA, IF_ID};
	FieldValue	f[IF_COUNT];
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

	BeginModuleCall(&call);
	result = invite_result(fcinfo, &call, create_invite_rows(f, 1), NULL);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_create_invites);
Datum
um_create_invites(PG_FUNCTION_ARGS)
{
	FieldValue *rows;
	int			n;
	ModuleCall	call;

	RequireArgument(fcinfo, 0, "invites");
	n = ParseJsonObjects(&invite_table, PG_GETARG_JSONB_P(0), invite_fields, IF_COUNT, &rows);
	for (int i = 0; i < n; i++)
		validate_new_invite(rows + i * IF_COUNT);

	InitMaterializedSRF(fcinfo, 0);
	if (n == 0)
		return (Datum) 0;
	BeginModuleCall(&call);
	return_invite_rows(fcinfo, &call, create_invite_rows(rows, n));
	EndModuleCall(&call);
	return (Datum) 0;
}

/* ---------------------------------------------------------------- reads */

PG_FUNCTION_INFO_V1(um_retrieve_invite);
Datum
um_retrieve_invite(PG_FUNCTION_ARGS)
{
	ModuleCall	call;
	SpiRows		rows;
	Datum		result;

	RequireArgument(fcinfo, 0, "id");
	BeginLookupCall(&call);
	rows = FetchEntity(&invite_table, PG_GETARG_TEXT_PP(0), !PG_ARGISNULL(1) && PG_GETARG_BOOL(1));
	if (rows.count == 0)
		ReportMissing(&invite_table, (text *[]) {PG_GETARG_TEXT_PP(0)}, 1);
	result = invite_result(fcinfo, &call, rows, NULL);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(um_list_invites);
Datum
um_list_invites(PG_FUNCTION_ARGS)
{
	ModuleCall	call;

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	ListEntities(&invite_table, fcinfo, &call);
	EndModuleCall(&call);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_count_invites);
Datum
um_count_invites(PG_FUNCTION_ARGS)
{
	ModuleCall	call;
	int64		count;

	BeginModuleCall(&call);
	count = CountEntities(&invite_table, fcinfo);
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
	result = invite_result(fcinfo, &call, UpdateEntity(&invite_table, id, f + IF_METADATA), NULL);
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

	RequireArgument(fcinfo, 0, "invites");
	n = ParseJsonObjects(&invite_table, PG_GETARG_JSONB_P(0), invite_update_fields, stride, &rows);
	UpdateEntities(&invite_table, fcinfo, rows, n, stride, 0, 1);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_delete_invites);
Datum
um_delete_invites(PG_FUNCTION_ARGS)
{
	DeleteEntities(&invite_table, fcinfo);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(um_soft_delete_invites);
Datum
um_soft_delete_invites(PG_FUNCTION_ARGS)
{
	SoftDeleteEntities(&invite_table, fcinfo);
	return (Datum) 0;
}

/*
 * restore_invites(ids text[]): as for users, and like create_invite it
 * refuses (23505) to bring back an invite for the email of a live user.
 */
PG_FUNCTION_INFO_V1(um_restore_invites);
Datum
um_restore_invites(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {TEXTARRAYOID};
	Datum		values[1];
	ModuleCall	call;
	SpiRows		emails;

	RequireArgument(fcinfo, 0, "ids");
	values[0] = PG_GETARG_DATUM(0);
	BeginModuleCall(&call);
	emails = RunPlan(KeptPlan(&restorable_emails_plan,
							  "SELECT email FROM user_module.invite "
							  "WHERE id OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]) "
							  "AND deleted_at IS NOT NULL AND NOT accepted",
							  1, types),
					 values, NULL, true, SPI_OK_SELECT);
	for (uint64 i = 0; i < emails.count; i++)
	{
		bool		isnull;

		if (LiveUserHasEmail(RowColumn(emails, i, 1, &isnull)))
			email_of_a_user(-1);
	}
	EndModuleCall(&call);

	RestoreEntities(&invite_table, fcinfo);
	return (Datum) 0;
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
	static const Oid types[] = {TEXTARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	static const Oid one_types[] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	static const Oid missing_types[] = {TEXTARRAYOID, TEXTARRAYOID};
	Datum		one_id;
	int64		issued = unix_seconds(GetCurrentStatementStartTimestamp());
	size_t		keylen;
	Datum		values[3];
	ModuleCall	call;
	SpiRows		rows;
	Datum		refreshed_ids;
	ArrayType  *ids_given;
	SpiRows		missing = {NULL, 0};

	RequireArgument(fcinfo, 0, "ids");
	(void) SigningKey(&keylen);
	values[0] = PG_GETARG_DATUM(0);
	values[1] = TimestampTzGetDatum(from_unix_seconds(issued));
	values[2] = TimestampTzGetDatum(from_unix_seconds(issued + um_invite_valid_duration));

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);

	/*
	 * One id reads the primary key; many are locked in id order and joined to
	 * the invites, as in change_by_ids (entity.c), which says why.
	 */
	if (OnlyElement(DatumGetArrayTypeP(values[0]), &one_id))
		rows = RunPlan(KeptPlan(&refresh_one_plan,
								"WITH changed AS (UPDATE user_module.invite "
								"SET token_jti = pg_catalog.gen_random_uuid(), token_issued_at = $2, "
								"expires_at = $3, updated_at = pg_catalog.now() "
								"WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text AND deleted_at IS NULL "
								"RETURNING *) SELECT * FROM changed",
								lengthof(one_types), one_types),
					   (Datum[]) {one_id, values[1], values[2]}, NULL, false, SPI_OK_SELECT);
	else
	{
		LockRowsInIdOrder(&invite_table, values[0]);
		rows = RunPlan(KeptBatchPlan(&refresh_plan,
									 "WITH changed AS (UPDATE user_module.invite AS e "
								"SET token_jti = pg_catalog.gen_random_uuid(), token_issued_at = $2, "
								"expires_at = $3, updated_at = pg_catalog.now() "
								"FROM pg_catalog.unnest($1::pg_catalog.text[]) AS ids(id) "
								"WHERE e.id OPERATOR(pg_catalog.=) ids.id AND e.deleted_at IS NULL "
								"RETURNING e.*) SELECT * FROM changed ORDER BY id",
								lengthof(types), types),
					   values, NULL, false, SPI_OK_SELECT);
	}
	refreshed_ids = RowsColumnArray(rows, ICOL_ID, TEXTOID);

	/* as many rows as ids: every id was found (the rows are distinct) */
	ids_given = DatumGetArrayTypeP(values[0]);
	if (rows.count < (uint64) ArrayGetNItems(ARR_NDIM(ids_given), ARR_DIMS(ids_given)))
	{
		values[1] = refreshed_ids;
		missing = RunPlan(KeptPlan(&missing_ids_plan,
								   "SELECT DISTINCT x FROM pg_catalog.unnest($1::pg_catalog.text[]) AS x "
								   "WHERE x IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.unnest($2::pg_catalog.text[]) AS r "
								   "WHERE r OPERATOR(pg_catalog.=) x) ORDER BY x",
								   lengthof(missing_types), missing_types),
						  values, NULL, true, SPI_OK_SELECT);
	}
	if (missing.count > 0)
	{
		text	  **ids = palloc(sizeof(text *) * missing.count);
		bool		isnull;

		for (uint64 i = 0; i < missing.count; i++)
			ids[i] = DatumGetTextPP(RowColumn(missing, i, 1, &isnull));
		ReportMissing(&invite_table, ids, (int) missing.count);
	}

	EmitEvents("invite.resent", refreshed_ids);
	return_invite_rows(fcinfo, &call, rows);
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
	TokenClaims claims;
	ModuleCall	call;
	Datum		values[1];
	SpiRows		invite;
	SpiRows		user;
	bool		isnull;
	Datum		result;

	verify_token(token, &claims);
	BeginModuleCall(&call);

	values[0] = PointerGetDatum(cstring_to_text(claims.id));
	invite = RunPlan(KeptPlan(&lock_any_plan,
							  "SELECT * FROM user_module.invite "
							  "WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text FOR UPDATE",
							  1, types),
					 values, NULL, false, SPI_OK_SELECT);
	check_invite(invite, &claims);

	user = CreateUser(DatumGetTextPP(RowColumn(invite, 0, ICOL_EMAIL, &isnull)),
					  PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
					  PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2),
					  PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3),
					  PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4),
					  NULL);
	RunPlan(KeptPlan(&mark_accepted_plan,
					 "UPDATE user_module.invite SET accepted = true, deleted_at = pg_catalog.now(), "
					 "updated_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.text",
					 1, types),
			values, NULL, false, SPI_OK_UPDATE);
	EmitEvents("invite.accepted", RowsColumnArray(invite, ICOL_ID, TEXTOID));

	result = RowAsComposite(fcinfo, &call, user, 0);
	EndModuleCall(&call);
	PG_RETURN_DATUM(result);
}
