/*
 * user_module.h
 *		Declarations shared by the files of user_module.
 *
 * Dependencies run downhill: the SQL entry points of users.c and invites.c
 * read and validate their arguments (input.c), then begin a module call
 * (store.c) and use entity.c, the store both tables share, and events.c;
 * invites.c asks users.c what it needs of users (never the other way round)
 * and uses the pure token code of token.h; ulid.c and token.c know nothing
 * of tables.
 */
#ifndef USER_MODULE_H
#define USER_MODULE_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "token.h"

/* ---- module.c: settings ---- */
extern void RequirePreloaded(void);
extern const uint8 *SigningKey(size_t *len);
extern int	VerificationKeys(TokenKey keys[2]);
extern int	um_invite_valid_duration;
extern bool um_notify;

/* ---- ulid.c: ids ---- */
#define ULID_LEN 26
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

extern char *ClippedString(const char *s, int len);
extern char *ClippedText(text *t);
extern void RequireArgument(FunctionCallInfo fcinfo, int argno, const char *name);
extern void ParseJsonObjectFields(JsonbContainer *object, const FieldSpec *specs,
								  int nspecs, FieldValue *out, const char *what);
extern int	ParseJsonObjects(Jsonb *objects, const char *entity, const FieldSpec *specs,
							 int nspecs, FieldValue **out);
extern void CheckNewEntity(const char *entity, FieldValue *id, FieldValue *email);
extern void RequireIds(const char *entity, FieldValue *rows, int n, int stride, int id_field);

/* The arguments of list_* (filters, skip, take, order_by, with_deleted) and count_* (filters, with_deleted). */
typedef struct ListArgs
{
	Jsonb	   *filters;		/* NULL: none */
	bool		with_deleted;
	int32		skip;
	bool		has_take;
	int32		take;
	char	   *order_by;		/* NULL: the default */
} ListArgs;

extern void ReadListArgs(FunctionCallInfo fcinfo, ListArgs *args);
extern void ReadCountArgs(FunctionCallInfo fcinfo, ListArgs *args);
extern text *NormalizeEmail(text *raw);
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
	COL_OTHER,					/* order only */
	COL_INTERNAL				/* neither: never shown to callers */
} ColumnKind;

typedef struct EntityColumn
{
	const char *name;			/* column name, a plain identifier */
	ColumnKind	kind;
	Oid			type;			/* checked against the table, with the name */
} EntityColumn;

/* A catalog OID looked up once, valid while its generation is current. */
typedef struct CachedOid
{
	uint64		generation;
	Oid			oid;
} CachedOid;

/* A unique constraint whose violation gets a message of its own. */
typedef struct UniqueMessage
{
	const char *constraint;
	const char *message;
	const char *detail;
} UniqueMessage;

/*
 * A statement in two shapes: [0] for one row or id, bound as plain values;
 * [1] for many, each value an array to unnest. One generic plan cannot suit
 * both sizes.
 */
typedef SPIPlanPtr PlanPair[2];

/* Plans and OIDs kept per backend for what entity.c does with a table. */
typedef struct EntityPlans
{
	CachedOid	table;
	bool		checked;		/* its columns match the description */
	SPIPlanPtr	lock;			/* one live row, for update */
	SPIPlanPtr	lock_many;		/* see lock_rows_in_id_order */
	SPIPlanPtr	update;
	PlanPair	insert;
	PlanPair	hard_delete;
	PlanPair	soft_delete;
	PlanPair	restore;
} EntityPlans;

/*
 * A table the module manages: users or invites, and the one description of
 * it the C code has. columns are every column in table order (checked against
 * the table at first use), of which filters and order_by may name the ones
 * not COL_INTERNAL; change_columns are the column numbers update_* may set.
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
	const UniqueMessage *unique;	/* ends with {NULL} */
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

/* The events a call has made, written when it ends (events.c). */
typedef struct PendingEvents
{
	int			n;
	int			max;
	Datum	   *names;			/* text */
	Datum	   *entity_ids;		/* text */
} PendingEvents;

/* One SQL-callable call at work: see BeginModuleCall in store.c. */
typedef struct ModuleCall
{
	MemoryContext caller_cxt;	/* where results for the caller go */
	Oid			saved_user;		/* the caller */
	int			saved_sec_context;
	int			guc_level;		/* discarded at the end of the call; -1: none */
	PendingEvents events;		/* EmitEvents, WriteEvents */
} ModuleCall;

/* The rows one SPI statement returned; valid until EndModuleCall. */
typedef struct SpiRows
{
	SPITupleTable *table;
	uint64		count;
} SpiRows;

/* Where rows go: an entry point's way of returning them. */
typedef void (*EachRows) (SpiRows rows, void *arg);

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
extern SpiRows RunPlanWithMessages(SPIPlanPtr plan, Datum *values, const char *nulls,
								   bool read_only, int expected, const UniqueMessage *unique);
extern void RunPlanInBatches(SPIPlanPtr plan, Datum *values, const char *nulls, int batch,
							 EachRows each, void *arg);
extern Datum RowColumn(SpiRows rows, uint64 row, int column, bool *isnull);
extern Datum RowsColumnArray(SpiRows rows, int column, Oid elemtype);
extern TupleDesc ResultDesc(FunctionCallInfo fcinfo);
extern Datum TupleAsResult(ModuleCall *call, HeapTuple tuple, TupleDesc desc);
extern Datum RowAsComposite(FunctionCallInfo fcinfo, ModuleCall *call, SpiRows rows, uint64 row);
extern void ReturnRows(FunctionCallInfo fcinfo, SpiRows rows);
extern void ReturnColumn(FunctionCallInfo fcinfo, SpiRows rows, int column);

/*
 * ---- entity.c: the store of both tables ----
 *
 * Plain C values in, rows out; every function runs inside a ModuleCall that
 * its caller (an SQL entry point of users.c or invites.c) began, with input
 * already validated.
 */

/* list_* and count_*: a statement built, and its input checked, before the call */
typedef struct EntityQuery
{
	const EntityTable *table;
	StringInfoData sql;
	QueryParams params;
	bool		batched;		/* stream through a cursor (see LIST_BATCH) */
} EntityQuery;

extern void BuildListQuery(EntityQuery *q, const EntityTable *t, const ListArgs *args);
extern void BuildCountQuery(EntityQuery *q, const EntityTable *t, const ListArgs *args);
extern void ListEntities(EntityQuery *q, EachRows each, void *arg);
extern int64 CountEntities(EntityQuery *q);
extern SPIPlanPtr TablePlan(const EntityTable *t, SPIPlanPtr *slot, bool batch, int nargs,
							const Oid *types, const char *fmt,...) pg_attribute_printf(6, 7);
extern SpiRows FetchEntity(const EntityTable *t, text *id, bool with_deleted);
/*
 * How create_* fills a table's row from its fields: column columns[c] gets
 * field fields[c] of each row (text, or jsonb for metadata); more_columns get
 * more_values, SQL whose parameters $ncolumns+1.. are given at each call.
 */
typedef struct InsertSpec
{
	int			ncolumns;
	const int  *columns;
	const int  *fields;
	int			stride;			/* fields in a row */
	const char *more_columns;
	const char *more_values;
	int			nmore;
	const Oid  *more_types;
} InsertSpec;

extern SpiRows InsertEntities(const EntityTable *t, const InsertSpec *spec, FieldValue *rows,
							  int n, Datum *more);
extern SpiRows UpdateEntity(ModuleCall *call, const EntityTable *t, text *id, FieldValue *changes);
extern void UpdateEntities(ModuleCall *call, const EntityTable *t, FieldValue *rows, int n,
						   int stride, int id_field, int changes_field, EachRows each, void *arg);
extern SpiRows ChangeByIds(const EntityTable *t, PlanPair plans, const char *change,
						   const char *id_source, const char *condition, const char *returning,
						   ArrayType *ids, bool locked, int nextra, const Oid *extra_types,
						   Datum *extra);
extern SpiRows DeleteEntities(ModuleCall *call, const EntityTable *t, ArrayType *ids);
extern SpiRows SoftDeleteEntities(ModuleCall *call, const EntityTable *t, ArrayType *ids);
extern SpiRows RestoreEntities(ModuleCall *call, const EntityTable *t, ArrayType *ids, bool locked);
pg_noreturn extern void ReportMissing(const EntityTable *t, text **ids, int n);

/* ---- users.c: what invites.c may know of users ---- */
extern bool LiveUserHasEmail(Datum email);
extern FieldValue *InvitedUserFields(text *first_name, text *last_name, text *avatar_url,
									 Jsonb *metadata);
extern SpiRows CreateInvitedUser(ModuleCall *call, FieldValue *user, Datum email);

/* ---- events.c: the outbox ---- */

/* Columns of user_module.event, as SPI numbers them (checked at first use). */
enum
{
	EVENT_ID_COLUMN = 1,
	EVENT_NAME_COLUMN,
	EVENT_ENTITY_ID_COLUMN,
	EVENT_DATA_COLUMN,
	EVENT_CREATED_AT_COLUMN
};

extern void EmitEvent(ModuleCall *call, Datum name, Datum entity_id);
extern void EmitEvents(ModuleCall *call, const char *name, SpiRows rows, int id_column);
extern void WriteEvents(ModuleCall *call);

/* ---- subscribers.c: functions called with the events they subscribe to ---- */
extern void RunSubscribers(SpiRows rows);

#endif							/* USER_MODULE_H */
