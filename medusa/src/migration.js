// The module's migration, which `medusa db:migrate` runs: it installs the
// user_module extension in the application's database. Nothing lives in schema
// public (Medusa's test runner drops it between tests): pg_trgm goes into
// schema extensions, user_module into its own schema. The library must be
// installed on the server and preloaded, with a key: that is set up on the
// server (README step 1), and a missing piece is reported here, at migration
// time, rather than at the first invite.
"use strict";
const { ContainerRegistrationKeys, MedusaError, createPgConnection } = require("@medusajs/framework/utils");

const { Call } = require("./db");

const NAME = "user_module extension";

function notReady(message) {
  return new MedusaError(MedusaError.Types.UNEXPECTED_STATE, `user_module: ${message}`);
}

// Whether the server has the extension's files, and the database the extension.
async function state(knex) {
  const { rows } = await knex.raw(
    `SELECT EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = 'user_module') AS available,
            (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'user_module') AS installed`
  );
  return rows[0];
}

// The server has a key if a token function gets as far as checking a token:
// without one it fails with 55000 first. Sent as the service sends its
// statements, so the error carries the server's message alone.
async function checkKey(knex) {
  try {
    await new Call(knex).query("SELECT user_module.validate_invite_token(?)", ["not-a-token"]);
  } catch (err) {
    if (err.code === "22U01") return;
    if (err.code === "55000")
      throw notReady(`${err.message}. Set user_module.jwt_secret_file (or user_module.jwt_secret) in postgresql.conf and reload the server.`);
    throw err;
  }
}

async function install(knex) {
  const before = await state(knex);
  if (!before.available)
    throw notReady(
      "the extension is not installed on this PostgreSQL server (it is not in pg_available_extensions). " +
        "Build and install it (make && make install), add it to shared_preload_libraries, set its key and restart the server."
    );
  await knex.raw("CREATE SCHEMA IF NOT EXISTS extensions");
  await knex.raw("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions");
  await knex.raw("CREATE EXTENSION IF NOT EXISTS user_module");
  await checkKey(knex);
  return before.installed ? [] : [{ name: NAME }];
}

// The shared connection when Medusa passes its container, else one made from
// the module's database options, closed again afterwards.
async function withConnection({ container, options }, fn) {
  const shared = container?.resolve?.(ContainerRegistrationKeys.PG_CONNECTION, { allowUnregistered: true });
  if (shared) return fn(shared);
  const knex = createPgConnection({ clientUrl: options?.database?.clientUrl, schema: "public", pool: { min: 0, max: 1 } });
  try {
    return await fn(knex);
  } finally {
    await knex.destroy();
  }
}

// MedusaModule's migration hooks: runMigrations returns the migrations it ran.
async function runMigrations(args = {}) {
  return withConnection(args, install);
}

// The extension holds the users, invites and events: reverting the module's
// migration does not drop them. DROP EXTENSION user_module does, by hand.
async function revertMigration({ logger } = {}) {
  logger?.warn?.("user_module: the extension is left in place; DROP EXTENSION user_module removes it and all its data");
}

// A loader: at boot, the database must have the extension (or the
// application runs on a database that was never migrated).
async function checkInstalledLoader({ container }) {
  const knex = container.resolve(ContainerRegistrationKeys.PG_CONNECTION, { allowUnregistered: true });
  if (!knex) throw notReady("no shared database connection (ContainerRegistrationKeys.PG_CONNECTION) to run on");
  const { installed } = await state(knex);
  if (!installed) throw notReady("the extension is not created in this database: run `npx medusa db:migrate`");
}

module.exports = { runMigrations, revertMigration, checkInstalledLoader, install };
