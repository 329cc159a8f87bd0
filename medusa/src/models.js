// Medusa's data model of the User Module, as DML definitions. They are never
// used to read or write rows (user_module's SQL functions do that, on its own
// tables in schema user_module): Medusa derives the module's joiner config and
// its linkable keys (user_id, invite_id) from them, which links, Query and the
// core workflows need. The file is not in a folder named "models" on purpose:
// Medusa would then load it as MikroORM entities and open an ORM connection.
"use strict";
const { model } = require("@medusajs/framework/utils");

const User = model.define("user", {
  id: model.id({ prefix: "user" }).primaryKey(),
  first_name: model.text().searchable().nullable(),
  last_name: model.text().searchable().nullable(),
  email: model.text().searchable(),
  avatar_url: model.text().nullable(),
  metadata: model.json().nullable(),
});

const Invite = model.define("invite", {
  id: model.id({ prefix: "invite" }).primaryKey(),
  email: model.text().searchable(),
  accepted: model.boolean().default(false),
  token: model.text(),
  expires_at: model.dateTime(),
  metadata: model.json().nullable(),
});

// The columns each row has, in the order Medusa serializes them.
const COLUMNS = {
  User: ["id", "first_name", "last_name", "email", "avatar_url", "metadata", "created_at", "updated_at", "deleted_at"],
  Invite: ["id", "email", "accepted", "token", "expires_at", "metadata", "created_at", "updated_at", "deleted_at"],
};

module.exports = { User, Invite, COLUMNS };
