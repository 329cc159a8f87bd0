// test/bench/medusa.js: Medusa's own User Module (@medusajs/user), booted
// standalone as a Medusa server boots its modules: MedusaApp from
// @medusajs/framework, given one shared knex connection pool; the module,
// given no database options of its own, runs its queries on that pool.
// compare.js loads it for its side "medusa"; compare.sh runs it once first:
//   DB_URL=postgres://postgres@127.0.0.1:PORT/medusa MEDUSA_DIR=DIR node medusa.js migrate
// creates Medusa's tables in that empty database. MEDUSA_DIR is a folder where
// test/bench/medusa/package.json and its lockfile were npm-installed: their
// 270 MB stay outside the checkout, so Medusa is resolved from there.
"use strict";
const { createRequire } = require("module");

const DIR = process.env.MEDUSA_DIR;
if (!DIR) throw new Error("set MEDUSA_DIR to a folder where test/bench/medusa/package.json is npm-installed");
const requireMedusa = createRequire(`${DIR}/package.json`);
const { MedusaApp, MedusaAppMigrateUp } = requireMedusa("@medusajs/framework/modules-sdk");
const { ContainerRegistrationKeys, Modules, createPgConnection } = requireMedusa("@medusajs/framework/utils");

// Any key will do: like user_module, Medusa signs invite tokens with HS256.
const JWT_SECRET = "compare-medusa-0123456789";
const quiet = () => {};
const logger = { info: quiet, debug: quiet, log: quiet, activity: quiet, progress: quiet, success: quiet,
  failure: quiet, shouldLog: () => false, warn: console.warn, error: console.error };

// The shared pool, with the pool size of the framework's pgConnectionLoader.
const connect = () => createPgConnection({ clientUrl: process.env.DB_URL, schema: "public", pool: { min: 2 } });

// What MedusaApp and MedusaAppMigrateUp take. cwd: where the module's package
// ("resolve") is looked up.
function appOptions(pool) {
  return {
    cwd: DIR,
    modulesConfig: { [Modules.USER]: { resolve: "@medusajs/user", options: { jwt_secret: JWT_SECRET } } },
    sharedResourcesConfig: { database: { clientUrl: process.env.DB_URL, schema: "public" } },
    injectedDependencies: { [ContainerRegistrationKeys.PG_CONNECTION]: pool, [ContainerRegistrationKeys.LOGGER]: logger },
  };
}

// Medusa's link modules (another package, which a lone User Module does not
// need) are not installed: MedusaApp warns about them, with a stack. Only
// that warning is dropped.
async function withoutLinkWarning(fn) {
  const warn = console.warn;
  console.warn = (...a) => { if (!String(a[0]).startsWith("Error initializing link modules")) warn(...a); };
  try { return await fn(); } finally { console.warn = warn; }
}

async function migrate() {
  const pool = connect();
  await withoutLinkWarning(() => MedusaAppMigrateUp(appOptions(pool)));
  await pool.destroy();
}

// compare.js's side "medusa": the module service's calls, shaped as the other
// sides' (reads give arrays of rows), on Medusa's tables "user" and invite.
// Medusa writes no event rows and has no acceptInvite.
async function medusaSide() {
  const pool = connect();
  const app = await withoutLinkWarning(() => MedusaApp(appOptions(pool)));
  await app.onApplicationStart();
  const service = app.modules[Modules.USER];
  return {
    tables: '"user", invite',
    schema: "public",
    events: null,
    createUser: (u) => service.createUsers(u),
    createUsers: (users) => service.createUsers(users),
    retrieveUser: async (id) => [await service.retrieveUser(id)],
    listUsersQ: (q) => service.listUsers({ q }, { take: 20 }),
    listAndCountUsersByEmail: (email) => service.listAndCountUsers({ email }),
    updateUser: (id, changes) => service.updateUsers({ id, ...changes }),
    createInvite: (email) => service.createInvites({ email }),
    validateInvite: async (inv) => [await service.validateInviteToken(inv.token)],
    refreshInvites: (ids) => service.refreshInviteTokens(ids),
    softDeleteUsers: (ids) => service.softDeleteUsers(ids),
    close: async () => {
      await app.onApplicationShutdown();
      await pool.destroy();
    },
  };
}

module.exports = { medusaSide };

if (require.main === module) {
  if (process.argv[2] !== "migrate") throw new Error("usage: node medusa.js migrate");
  migrate().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
