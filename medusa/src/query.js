// Medusa's filters and find config, translated to the arguments of
// user_module's list and count functions. user_module takes a fixed set of
// filters (doc/reference.md "Filters"): equality on a value or a list of
// values, q, and $eq/$gt/$gte/$lt/$lte on the time columns. Medusa's other
// operators ($ne, $like, $or, ...) have no translation, and say so rather than
// being dropped (a dropped filter would return rows the caller excluded).
"use strict";
const { MedusaError } = require("@medusajs/framework/utils");
const { COLUMNS } = require("./models");

const TIME_COLUMNS = new Set(["created_at", "updated_at", "deleted_at", "expires_at"]);
const TIME_OPERATORS = new Set(["$eq", "$gt", "$gte", "$lt", "$lte"]);

function invalid(message) {
  return new MedusaError(MedusaError.Types.INVALID_DATA, message);
}

const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date);

// Medusa's filters to user_module's filters object.
function toFilters(filters, entity) {
  const out = {};
  for (const [key, value] of Object.entries(filters ?? {})) {
    if (value === undefined) continue;
    if (key.startsWith("$")) throw invalid(`${entity} filters: ${key} is not supported by user_module`);
    if (TIME_COLUMNS.has(key)) {
      if (!isPlainObject(value)) {
        out[key] = { $eq: value };
        continue;
      }
      for (const op of Object.keys(value)) {
        if (!TIME_OPERATORS.has(op))
          throw invalid(`${entity} filters: operator ${op} on ${key} is not supported by user_module (use $eq, $gt, $gte, $lt or $lte)`);
      }
      out[key] = value;
      continue;
    }
    if (isPlainObject(value)) {
      const ops = Object.keys(value);
      if (ops.length === 1 && ops[0] === "$in" && Array.isArray(value.$in)) out[key] = value.$in;
      else if (ops.length === 1 && ops[0] === "$eq") out[key] = value.$eq;
      else throw invalid(`${entity} filters: ${ops.join(", ")} on ${key} is not supported by user_module (use a value, an array or $in)`);
      continue;
    }
    out[key] = value;
  }
  return out;
}

// Medusa's find config to list_*'s skip, take, order_by and with_deleted.
// Like Medusa, skip and take count only when they are safe integers.
function toListArgs(config = {}, entity) {
  const order = Object.entries(config.order ?? {}).map(([column, direction]) => {
    if (typeof direction !== "string" || !/^(asc|desc)$/i.test(direction))
      throw invalid(`${entity} order: ${column} must be "ASC" or "DESC"`);
    return /^desc$/i.test(direction) ? `-${column}` : column;
  });
  return {
    skip: Number.isSafeInteger(config.skip) ? config.skip : 0,
    take: Number.isSafeInteger(config.take) ? config.take : null,
    orderBy: order.join(",") || "id",
    withDeleted: config.withDeleted === true,
  };
}

// `select` keeps the chosen fields, and the primary key as Medusa does;
// `relations`: neither model has any.
function projector(config = {}, entity) {
  if (Array.isArray(config.relations) && config.relations.length)
    throw invalid(`${entity} has no relations: ${config.relations.join(", ")}`);
  const select = config.select;
  if (!Array.isArray(select) || select.length === 0) return (row) => row;
  const unknown = select.filter((f) => !COLUMNS[entity].includes(f));
  if (unknown.length) throw invalid(`${entity} has no field ${unknown.join(", ")}`);
  const fields = COLUMNS[entity].filter((f) => f === "id" || select.includes(f));
  return (row) => Object.fromEntries(fields.map((f) => [f, row[f]]));
}

module.exports = { toFilters, toListArgs, projector, invalid };
