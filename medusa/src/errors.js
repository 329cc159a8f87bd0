// How user_module's errors become Medusa's. user_module tells errors apart by
// SQLSTATE (README "Errors"); Medusa by MedusaError type and message. This is
// the one table that maps the first to the second. `call` describes the
// service call that failed: the entity ("User", "Invite"), the operation and
// what it was given, so messages can name ids as Medusa's do.
"use strict";
const { MedusaError } = require("@medusajs/framework/utils");

const T = MedusaError.Types;

// Ids named in a P0002 error: `user "x" does not exist`, or the detail
// `Missing ids: "a", "b".` (ids there are cut at 64 bytes, so the service
// computes missing ids itself first; this is the fallback).
function idsIn(err) {
  const text = err.detail || err.message || "";
  return [...text.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1].replace(/""/g, '"'));
}

// The field of a unique violation, from the constraint's name
// (user_email_unique, invite_email_unique, user_pkey, ...).
function uniqueField(err) {
  return /email/.test(err.constraint || err.message || "") ? "email" : "id";
}

const SQLSTATES = {
  // a live user or invite has the email, or the id is taken
  "23505": {
    type: T.INVALID_DATA,
    message: (err, call) => {
      const field = uniqueField(err);
      const value = (call.values?.[field] ?? []).join(", ");
      const entity = /user/.test(err.constraint || "") && call.entity === "Invite" ? "User" : call.entity;
      return `${entity} with ${field}: ${value}, already exists.`;
    },
  },
  // no such live row
  P0002: {
    type: (err, call) => (call.op === "refresh" ? T.INVALID_DATA : T.NOT_FOUND),
    message: (err, call) => {
      const ids = call.op === "retrieve" ? [call.id] : idsIn(err);
      if (call.op === "retrieve") return `${call.entity} with id: ${ids[0]} was not found`;
      if (call.op === "refresh") return `The following invites do not exist: ${ids.join(", ")}`;
      return `${call.entity} with id "${ids.join(", ")}" not found`;
    },
  },
  // bad input: user_module validates strictly where Medusa lets values through
  "22023": { type: T.INVALID_DATA, message: (err) => err.message },
  // token refused, for any reason (user_module does not say which check failed)
  "22U01": { type: T.INVALID_DATA, message: () => "The invite token is invalid" },
  "22U02": { type: T.INVALID_DATA, message: () => "The invite has expired" },
  // accepted through user_module.accept_invite; Medusa's accepted invites are
  // soft-deleted, and their tokens are invalid too
  "22U03": { type: T.INVALID_DATA, message: () => "The invite token is invalid" },
  // the server is not set up: library not preloaded, no key
  "55000": { type: T.UNEXPECTED_STATE, message: (err) => `user_module: ${err.message}${err.hint ? ` (${err.hint})` : ""}` },
  "42501": { type: T.NOT_ALLOWED, message: (err) => `user_module: ${err.message}` },
  "25006": { type: T.NOT_ALLOWED, message: (err) => `user_module: ${err.message}` },
};

// A MedusaError for an error of a user_module call; anything that is not one
// of user_module's SQLSTATEs (a lost connection, a bug) is passed on as it is.
function toMedusaError(err, call) {
  if (err instanceof MedusaError) return err;
  const entry = err && SQLSTATES[err.code];
  if (!entry) return err;
  const type = typeof entry.type === "function" ? entry.type(err, call) : entry.type;
  const medusaError = new MedusaError(type, entry.message(err, call));
  medusaError.cause = err;
  return medusaError;
}

module.exports = { SQLSTATES, toMedusaError };
