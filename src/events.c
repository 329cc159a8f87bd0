/*
 * events.c
 *		The transactional outbox: one user_module.event row per entity changed,
 *		written in the caller's transaction, optionally sent with NOTIFY at
 *		commit, claimed by workers with claim_events(), and purged by age with
 *		purge_events().
 *
 * Both the row and the NOTIFY belong to the (sub)transaction that made the
 * change, so a rollback, or ROLLBACK TO SAVEPOINT, takes them back too. The
 * subscribers of each event run right after its row is written
 * (subscribers.c).
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

/*
 * Writes one event named "name" for each id of the text[] entity_ids, in
 * array order, then runs their subscribers. Called inside a ModuleCall.
 */
void
EmitEvents(const char *name, Datum entity_ids)
{
	static const Oid types[] = {TEXTOID, TEXTARRAYOID};
	ArrayType  *ids = DatumGetArrayTypeP(entity_ids);
	Datum		values[2];
	SpiRows		rows;

	if (ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids)) == 0)
		return;

	values[0] = CStringGetTextDatum(name);
	if (OnlyElement(ids, &values[1]))
	{
		/* one event: plain VALUES, cheaper to run than unnesting an array */
		static const Oid one_types[] = {TEXTOID, TEXTOID};

		rows = RunPlan(KeptPlan(&insert_event_plan,
								"INSERT INTO user_module.event (name, entity_id, data) "
								"VALUES ($1, $2, pg_catalog.jsonb_build_object('id', $2)) "
								"RETURNING *",
								2, one_types),
					   values, NULL, false, SPI_OK_INSERT_RETURNING);
	}
	else
	{
		values[1] = entity_ids;
		rows = RunPlan(KeptPlan(&insert_events_plan,
								"INSERT INTO user_module.event (name, entity_id, data) "
								"SELECT $1, e, pg_catalog.jsonb_build_object('id', e) "
								"FROM pg_catalog.unnest($2::pg_catalog.text[]) AS e "
								"RETURNING *",
								2, types),
					   values, NULL, false, SPI_OK_INSERT_RETURNING);
	}

	if (um_notify)
	{
		for (uint64 i = 0; i < rows.count; i++)
		{
			bool		isnull;

			notify_event(DatumGetInt64(RowColumn(rows, i, 1, &isnull)), name);
		}
	}
	RunSubscribers(name, rows);
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
								" DELETE FROM user_module.event WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
								"  SELECT id FROM user_module.event ORDER BY id LIMIT $1"
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
							" DELETE FROM user_module.event WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
							"  SELECT id FROM user_module.event"
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
