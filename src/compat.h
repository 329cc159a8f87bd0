/*
 * compat.h
 *		What differs between the PostgreSQL majors user_module builds on.
 *
 * Each difference says which major changed what. Code elsewhere uses these
 * names only, never PG_VERSION_NUM. It is also built outside the server, with
 * token.c: it includes only what a frontend program may.
 */
#ifndef USER_MODULE_COMPAT_H
#define USER_MODULE_COMPAT_H

#include "common/jsonapi.h"
#include "nodes/pg_list.h"

/*
 * PostgreSQL 18 replaced pg_attribute_noreturn() with pg_noreturn (C11's
 * _Noreturn), which comes first in a declaration; before 18, the attribute
 * may come first too.
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * PostgreSQL 16 moved the permissions of a query's relations from its range
 * table entries to a list of RTEPermissionInfo, and ExecutorCheckPerms_hook
 * takes that list too. The range table still names every relation, which is
 * all the hook of store.c reads.
 */
#if PG_VERSION_NUM >= 160000
#define CHECK_PERMS_PARAMS	List *range_table, List *perm_infos, bool ereport_on_violation
#define CHECK_PERMS_ARGS	range_table, perm_infos, ereport_on_violation
#else
#define CHECK_PERMS_PARAMS	List *range_table, bool ereport_on_violation
#define CHECK_PERMS_ARGS	range_table, ereport_on_violation
#endif

/*
 * PostgreSQL 16 gave stringToQualifiedNameList a context for soft errors;
 * NULL raises them, as 15 does.
 */
#if PG_VERSION_NUM >= 160000
#define QualifiedNameList(string)	stringToQualifiedNameList(string, NULL)
#else
#define QualifiedNameList(string)	stringToQualifiedNameList(string)
#endif

/*
 * PostgreSQL 16 has the JSON parser's semantic actions return a
 * JsonParseErrorType (JSON_SUCCESS to go on); they returned nothing before.
 */
#if PG_VERSION_NUM >= 160000
typedef JsonParseErrorType JsonActionResult;
#define JSON_ACTION_DONE	JSON_SUCCESS
#else
typedef void JsonActionResult;
#define JSON_ACTION_DONE
#endif

/*
 * PostgreSQL 17 has makeJsonLexContextCstringLen fill a context the caller
 * may provide (NULL: a new one is allocated, as before).
 */
#if PG_VERSION_NUM >= 170000
#define NewJsonLexContext(json, len, encoding) \
	makeJsonLexContextCstringLen(NULL, json, len, encoding, true)
#else
#define NewJsonLexContext(json, len, encoding) \
	makeJsonLexContextCstringLen(json, len, encoding, true)
#endif

/*
 * PostgreSQL 16 keeps settings' values and their "extra" in a memory context
 * of its own: check hooks allocate and free them with guc_malloc, guc_strdup
 * and guc_free, no longer with malloc, strdup and free. LOG: NULL when out of
 * memory, as malloc.
 */
#if PG_VERSION_NUM >= 160000
#define GucMalloc(size)		guc_malloc(LOG, size)
#define GucStrdup(string)	guc_strdup(LOG, string)
#define GucFree(pointer)	guc_free(pointer)
#else
#define GucMalloc(size)		malloc(size)
#define GucStrdup(string)	strdup(string)
#define GucFree(pointer)	free(pointer)
#endif

/*
 * PostgreSQL 18 gave index_beginscan an IndexScanInstrumentation argument,
 * where EXPLAIN counts index searches; NULL: nobody counts.
 */
#if PG_VERSION_NUM >= 180000
#define IndexBeginScan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys)
#else
#define IndexBeginScan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, nkeys, norderbys)
#endif

/*
 * PostgreSQL 18 has RelationGetPrimaryKeyIndex say whether a deferrable
 * primary key will do; ours are not deferrable, and 15 to 17 take no others.
 */
#if PG_VERSION_NUM >= 180000
#define PrimaryKeyIndex(relation)	RelationGetPrimaryKeyIndex(relation, false)
#else
#define PrimaryKeyIndex(relation)	RelationGetPrimaryKeyIndex(relation)
#endif

#endif							/* USER_MODULE_COMPAT_H */
