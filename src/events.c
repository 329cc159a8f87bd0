/*
 * events.c
 *		The transactional outbox: one user_module.event row per entity changed,
 *		written in the caller's transaction, optionally sent with NOTIFY at
 *		commit, claimed by workers with claim_events(), and purged by age with
 *		purge_events().
 *
 * A call collects its events as it makes its changes and writes them with
 * one statement at its end (WriteEvents); then the subscribers of each event
 * run (subscribers.c), still inside the call. Both the rows and the NOTIFYs
 * belong to the (sub)transaction that made the change, so a rollback, or
 * ROLLBACK TO SAVEPOINT, takes them back too.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "user_module.h"

#define EVENT_CHANNEL "user_module_events"
#define EVENT_TABLE "user_module.event"

/* The outbox's columns, checked against the table at first use. */
static const EntityColumn event_columns[] = {
	[EVENT_ID_COLUMN - 1] = {"id", COL_INTERNAL, INT8OID},
	[EVENT_NAME_COLUMN - 1] = {"name", COL_INTERNAL, TEXTOID},
	[EVENT_ENTITY_ID_COLUMN - 1] = {"entity_id", COL_INTERNAL, TEXTOID},
	[EVENT_DATA_COLUMN - 1] = {"data", COL_INTERNAL, JSONBOID},
	[EVENT_CREATED_AT_COLUMN - 1] = {"created_at", COL_INTERNAL, TIMESTAMPTZOID},
};

static EntityPlans event_plans;

static const EntityTable event_table = {
	.name = "event",
	.relation = EVENT_TABLE,
	.entity = "event",
	.columns = event_columns,
	.ncolumns = lengthof(event_columns),
	.plans = &event_plans,
};

static SPIPlanPtr insert_events_plan = NULL;
static SPIPlanPtr insert_event_plan = NULL;
static SPIPlanPtr claim_events_plan = NULL;
static SPIPlanPtr purge_events_plan = NULL;

/*
 * NOTIFY payload: {"id": <event id>, "name": "..."}. Every role that can
 * connect may LISTEN on the channel, so it carries nothing about the entity:
 * a worker reads the rest with claim_events.
 */
static void
notify_event(int64 id, const char *name)
{
	StringInfoData payload;

	initStringInfo(&payload);
	appendStringInfo(&payload, "{\"id\": " INT64_FORMAT ", \"name\": ", id);
	escape_json(&payload, name);
	appendStringInfoChar(&payload, '}');
	Async_Notify(EVENT_CHANNEL, payload.data);
	pfree(payload.data);
}

/* Room for "more" events in the call's list. */
static void
reserve_events(PendingEvents *events, uint64 more)
{
	if (events->n + more <= (uint64) events->max)
		return;
	if (events->n + more > (uint64) (MaxAllocSize / sizeof(Datum)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many events in one call")));
	events->max = Max(events->max * 2, (int) (events->n + more));
	events->max = Min(events->max, (int) (MaxAllocSize / sizeof(Datum)));
	if (events->names == NULL)
	{
		events->names = palloc(sizeof(Datum) * events->max);
		events->entity_ids = palloc(sizeof(Datum) * events->max);
	}
	else
	{
		events->names = repalloc(events->names, sizeof(Datum) * events->max);
		events->entity_ids = repalloc(events->entity_ids, sizeof(Datum) * events->max);
	}
}

/*
 * Adds an event named "name" (text) for entity_id (text) to those the call
 * writes when it ends; both must stay valid until then (WriteEvents).
 */
void
EmitEvent(ModuleCall *call, Datum name, Datum entity_id)
{
	reserve_events(&call->events, 1);
	call->events.names[call->events.n] = name;
	call->events.entity_ids[call->events.n++] = entity_id;
}

/*
 * One event named "name" for the id in column id_column of each row, in row
 * order. The ids are read from the rows when the events are written: the
 * rows stay as they are until the call ends.
 */
void
EmitEvents(ModuleCall *call, const char *name, SpiRows rows, int id_column)
{
	Datum		text_name;

	if (rows.count == 0)
		return;
	text_name = CStringGetTextDatum(name);
	reserve_events(&call->events, rows.count);
	for (uint64 i = 0; i < rows.count; i++)
	{
		bool		isnull;

		call->events.names[call->events.n] = text_name;
		call->events.entity_ids[call->events.n++] = RowColumn(rows, i, id_column, &isnull);
	}
}

/*
 * Writes the call's events with one statement, in the order they were
 * emitted, sends their NOTIFYs, then runs their subscribers: so a subscriber
 * sees every change of the call. Every entry point that emits events calls
 * this before EndModuleCall.
 */
void
WriteEvents(ModuleCall *call)
{
	static const Oid one_types[] = {TEXTOID, TEXTOID};
	static const Oid types[] = {TEXTARRAYOID, TEXTARRAYOID};
	PendingEvents *events = &call->events;
	Datum		values[2];
	SpiRows		rows;

	if (events->n == 0)
		return;
	if (events->n == 1)
	{
		/* one event: plain VALUES, cheaper to run than unnesting arrays */
		values[0] = events->names[0];
		values[1] = events->entity_ids[0];
		rows = RunPlan(TablePlan(&event_table, &insert_event_plan, false, lengthof(one_types), one_types,
								 "INSERT INTO %s (name, entity_id, data) "
								 "VALUES ($1, $2, pg_catalog.jsonb_build_object('id', $2)) "
								 "RETURNING *",
								 event_table.relation),
					   values, NULL, false, SPI_OK_INSERT_RETURNING);
	}
	else
	{
		values[0] = PointerGetDatum(construct_array(events->names, events->n, TEXTOID,
													-1, false, TYPALIGN_INT));
		values[1] = PointerGetDatum(construct_array(events->entity_ids, events->n, TEXTOID,
													-1, false, TYPALIGN_INT));
		rows = RunPlan(TablePlan(&event_table, &insert_events_plan, false, lengthof(types), types,
								 "INSERT INTO %s (name, entity_id, data) "
								 "SELECT e.name, e.entity_id, pg_catalog.jsonb_build_object('id', e.entity_id) "
								 "FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), "
								 "pg_catalog.unnest($2::pg_catalog.text[])) AS e(name, entity_id) "
								 "RETURNING *",
								 event_table.relation),
					   values, NULL, false, SPI_OK_INSERT_RETURNING);
	}
	events->n = 0;

	if (um_notify)
	{
		for (uint64 i = 0; i < rows.count; i++)
		{
			bool		isnull;

			notify_event(DatumGetInt64(RowColumn(rows, i, EVENT_ID_COLUMN, &isnull)),
						 TextDatumGetCString(RowColumn(rows, i, EVENT_NAME_COLUMN, &isnull)));
		}
	}
	RunSubscribers(rows);
}

/*
 * claim_events(max integer DEFAULT 100) RETURNS SETOF user_module.event
 *
 * Removes and returns up to max of the oldest events, skipping rows another
 * session has claimed but not yet committed: a queue with at-least-once
 * delivery, since an aborted worker's delete is undone.
 */
PG_FUNCTION_INFO_V1(um_claim_events);
Datum
um_claim_events(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {INT8OID};
	int32		max = PG_ARGISNULL(0) ? 100 : PG_GETARG_INT32(0);
	Datum		values[1];
	ModuleCall	call;

	if (max < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max must not be negative")));

	InitMaterializedSRF(fcinfo, 0);
	BeginModuleCall(&call);
	values[0] = Int64GetDatum(max);
	ReturnRows(fcinfo,
			   RunPlan(KeptPlan(&claim_events_plan,
								"WITH claimed AS ("
								" DELETE FROM " EVENT_TABLE " WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
								"  SELECT id FROM " EVENT_TABLE " ORDER BY id LIMIT $1"
								"  FOR UPDATE SKIP LOCKED))"
								" RETURNING *) "
								"SELECT * FROM claimed ORDER BY id",
								1, types),
					   values, NULL, false, SPI_OK_SELECT));
	EndModuleCall(&call);
	return (Datum) 0;
}

/*
 * purge_events(retention interval DEFAULT '7 days') RETURNS bigint
 *
 * Deletes the events written more than retention ago, so that an outbox
 * nobody claims from stays bounded; returns how many it deleted. Events a
 * worker is claiming right now are skipped rather than waited for.
 */
PG_FUNCTION_INFO_V1(um_purge_events);
Datum
um_purge_events(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {INTERVALOID};
	Interval	zero = {0};
	Datum		values[1];
	ModuleCall	call;
	SpiRows		rows;
	bool		isnull;
	int64		purged;

	if (PG_ARGISNULL(0) ||
		DatumGetInt32(DirectFunctionCall2(interval_cmp, PG_GETARG_DATUM(0),
										  IntervalPGetDatum(&zero))) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retention must be an interval of zero or more")));

	BeginModuleCall(&call);
	values[0] = PG_GETARG_DATUM(0);
	rows = RunPlan(KeptPlan(&purge_events_plan,
							"WITH purged AS ("
							" DELETE FROM " EVENT_TABLE " WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
							"  SELECT id FROM " EVENT_TABLE
							"  WHERE created_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $1)"
							"  FOR UPDATE SKIP LOCKED))"
							" RETURNING 1) "
							"SELECT pg_catalog.count(*) FROM purged",
							1, types),
				   values, NULL, false, SPI_OK_SELECT);
	purged = DatumGetInt64(RowColumn(rows, 0, 1, &isnull));
	EndModuleCall(&call);
	PG_RETURN_INT64(purged);
}
