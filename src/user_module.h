/*
 * user_module.h
 *		Declarations shared by the files of user_module.
 *
 * Dependencies run downhill: the SQL-callable users.c and invites.c use
 * entity.c (what both tables share), input.c, filters.c, store.c and
 * events.c; invites.c takes the user-creation path of users.c (never the
 * other way round) and the pure token code of token.h; ulid.c and token.c
 * know nothing of tables.
 */
#ifndef USER_MODULE_H
#define USER_MODULE_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "token.h"

/* ---- module.c: settings ---- */
extern void RequirePreloaded(void);
extern const uint8 *SigningKey(size_t *len);
extern int	VerificationKeys(TokenKey keys[2]);
extern int	um_invite_valid_duration;
extern bool um_notify;

/* ---- ulid.c: ids ---- */
#define ULID_LEN 26
extern void UlidGenerate(char *out);	/* writes ULID_LEN chars, no NUL */
extern text *NewEntityId(const char *prefix);

/* ---- input.c: argument and JSON validation ---- */

/* Longest caller-supplied id and name, in characters (btree-indexed columns). */
#define MAX_ID_LEN		255
#define MAX_NAME_LEN	255

/* One optional field of an entity: absent, SQL NULL, or a value. */
typedef struct FieldValue
{
	bool		present;
	bool		isnull;
	Datum		value;
} FieldValue;

/* What a JSON object may hold, and which Datum type each key carries. */
typedef enum FieldType
{
	FIELD_TEXT,
	FIELD_OBJECT				/* jsonb object */
} FieldType;

typedef struct FieldSpec
{
	const char *name;
	FieldType	type;
} FieldSpec;

/* Whether the len bytes at s spell name (JSON keys are not NUL-terminated). */
static inline bool
NameIs(const char *name, const char *s, int len)
{
	return strlen(name) == (size_t) len && memcmp(name, s, len) == 0;
}

extern void ParseJsonObjectFields(JsonbContainer *object, const FieldSpec *specs,
								  int nspecs, FieldValue *out, const char *what);
extern text *NormalizeEmail(text *raw);
extern void CheckEntityId(text *id);
extern void CheckName(text *value, const char *field);
extern void NormalizeMetadata(FieldValue *f);
extern Jsonb *MergeMetadata(Jsonb *current, Jsonb *patch);
extern bool TextsEqual(text *a, text *b);
extern bool JsonbEqual(Jsonb *a, Jsonb *b);
extern int	UniqueTextsInOrder(Datum *values, int n);
extern bool OnlyElement(ArrayType *array, Datum *element);
extern char *JsonbStringValue(JsonbValue *v);

/* ---- filters.c: filters and order_by to SQL, from a fixed column list ---- */

typedef enum ColumnKind
{
	COL_TEXT,					/* filter by string or array of strings */
	COL_TEXT_CI,				/* same, compared case-insensitively */
	COL_TIME,					/* filter by {"$gt": ...} operators */
	COL_BOOL,					/* filter by true/false */
	COL_METADATA,				/* order only; updates merge into it */
	COL_OTHER					/* order only */
} ColumnKind;

typedef struct EntityColumn
{
	const char *name;			/* column name, a plain identifier */
	ColumnKind	kind;
} EntityColumn;

/* A catalog OID looked up once, valid while its generation is current. */
typedef struct CachedOid
{
	uint64		generation;
	Oid			oid;
} CachedOid;

/* Plans and OIDs kept per backend for what entity.c does with a table. */
typedef struct EntityPlans
{
	CachedOid	table;
	SPIPlanPtr	lock;
	SPIPlanPtr	lock_many;		/* see LockRowsInIdOrder */
	SPIPlanPtr	update;
	SPIPlanPtr	hard_delete[2];	/* [0] of one id, [1] of many: see change_by_ids */
	SPIPlanPtr	soft_delete[2];
	SPIPlanPtr	restore[2];
} EntityPlans;

/* One SQL-callable call at work: see BeginModuleCall in store.c. */
typedef struct ModuleCall
{
	MemoryContext caller_cxt;	/* where results for the caller go */
	Oid			saved_user;		/* the caller */
	int			saved_sec_context;
	int			guc_level;		/* discarded at the end of the call; -1: none */
} ModuleCall;

/* The rows one SPI statement returned; valid until EndModuleCall. */
typedef struct SpiRows
{
	SPITupleTable *table;
	uint64		count;
} SpiRows;

/*
 * A table the module manages: users or invites. columns are the table's
 * leading columns in table order (what filters and order_by may name);
 * change_columns are the column numbers update_* may set.
 */
typedef struct EntityTable
{
	const char *name;			/* table name in schema user_module */
	const char *relation;		/* schema-qualified, quoted where needed */
	const char *entity;			/* "user", "invite": messages, event names */
	const EntityColumn *columns;
	int			ncolumns;
	const char *search_expr;	/* what q words are matched against */
	const int  *change_columns;
	int			nchange_columns;
	const char *restorable;		/* what a deleted row must meet to be restored */
	/* appends rows of this table to the set a function returns */
	void		(*return_rows) (FunctionCallInfo fcinfo, ModuleCall *call, SpiRows rows);
	EntityPlans *plans;
} EntityTable;

#define MAX_QUERY_PARAMS 64

typedef struct QueryParams
{
	bool		custom_plan;	/* selectivity depends on the values (q) */
	bool		by_key;			/* filtered by id or email: few rows per value */
	int			n;
	Oid			types[MAX_QUERY_PARAMS];
	Datum		values[MAX_QUERY_PARAMS];
	char		nulls[MAX_QUERY_PARAMS];
} QueryParams;

extern int	AddQueryParam(QueryParams *params, Oid type, Datum value, bool isnull);
extern void AppendWhereClause(StringInfo sql, const EntityTable *table, Jsonb *filters,
							  bool with_deleted, QueryParams *params);
extern void AppendOrderBy(StringInfo sql, const EntityTable *table, const char *order_by);

/* ---- store.c: SPI, kept plans, running as the tables' owner ---- */

extern Oid	ModuleRelation(CachedOid *slot, const char *name);
extern Oid	ModuleIndex(CachedOid *slot, Oid table, const char *name);
extern void BeginModuleCall(ModuleCall *call);
extern void BeginLookupCall(ModuleCall *call);
extern void EndModuleCall(ModuleCall *call);
extern void RunContained(Oid role, void (*fn) (void *arg), void *arg);
extern void InstallStoreHooks(void);
extern SPIPlanPtr KeptPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes);
extern SPIPlanPtr KeptBatchPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes);
extern SPIPlanPtr PlanForQuery(const char *sql, const QueryParams *params);
extern SpiRows RunPlan(SPIPlanPtr plan, Datum *values, const char *nulls,
					   bool read_only, int expected);
extern void RunPlanInBatches(SPIPlanPtr plan, Datum *values, const char *nulls, int batch,
							 void (*each) (SpiRows rows, void *arg), void *arg);
extern Datum RowColumn(SpiRows rows, uint64 row, int column, bool *isnull);
extern Datum RowsColumnArray(SpiRows rows, int column, Oid elemtype);
extern TupleDesc ResultDesc(FunctionCallInfo fcinfo);
extern Datum TupleAsResult(ModuleCall *call, HeapTuple tuple, TupleDesc desc);
extern Datum RowAsComposite(FunctionCallInfo fcinfo, ModuleCall *call, SpiRows rows, uint64 row);
extern void ReturnRows(FunctionCallInfo fcinfo, SpiRows rows);
extern void ReturnColumn(FunctionCallInfo fcinfo, SpiRows rows, int column);

/* ---- entity.c: what users and invites share ---- */

extern int	ParseJsonObjects(const EntityTable *t, Jsonb *objects, const FieldSpec *specs,
							 int nspecs, FieldValue **out);
extern Datum FieldArray(FieldValue *rows, int n, int stride, int field, Oid elemtype);
extern void FieldParams(FieldValue *row, const int *fields, int nfields, Datum *values,
						char *nulls);
extern SpiRows FetchEntity(const EntityTable *t, text *id, bool with_deleted);
extern void ListEntities(const EntityTable *t, FunctionCallInfo fcinfo, ModuleCall *call);
extern int64 CountEntities(const EntityTable *t, FunctionCallInfo fcinfo);
extern bool ApplyChanges(const EntityTable *t, text *id, FieldValue *changes,
						 SpiRows *result, bool *changed);
extern SpiRows UpdateEntity(const EntityTable *t, text *id, FieldValue *changes);
extern void UpdateEntities(const EntityTable *t, FunctionCallInfo fcinfo, FieldValue *rows,
						   int n, int stride, int id_field, int changes_field);
extern void ReportMissing(const EntityTable *t, text **ids, int n);
extern void LockRowsInIdOrder(const EntityTable *t, Datum ids);
extern void DeleteEntities(const EntityTable *t, FunctionCallInfo fcinfo);
extern void SoftDeleteEntities(const EntityTable *t, FunctionCallInfo fcinfo);
extern void RestoreEntities(const EntityTable *t, FunctionCallInfo fcinfo);
extern void RequireArgument(FunctionCallInfo fcinfo, int argno, const char *name);
extern char *ClippedText(text *t);

/* ---- users.c: the user-creation path, also taken by accept_invite ---- */
extern bool LiveUserHasEmail(Datum email);
extern SpiRows CreateUser(text *email, text *first_name, text *last_name,
						  text *avatar_url, Jsonb *metadata, text *id);

/* ---- events.c: the outbox ---- */
extern void EmitEvents(const char *name, Datum entity_ids);

/* ---- subscribers.c: functions called with the events they subscribe to ---- */
extern void RunSubscribers(const char *event, SpiRows rows);

#endif							/* USER_MODULE_H */
