// test/bench/medusa.js: Medusa's interface for the User Module
// (IUserModuleService), booted standalone as a Medusa server boots its
// modules: MedusaApp from @medusajs/framework, given one shared knex
// connection pool; the module, given no database options of its own, runs
// its queries on that pool. No event bus is registered, for either module.
// Two modules behind Modules.USER, one per side of compare.js:
//   medusa  Medusa's own @medusajs/user, from MEDUSA_DIR, a folder where
//           test/bench/medusa/package.json and its lockfile were npm-installed
//           (their 270 MB stay outside the checkout); tables "user" and invite
//           in schema public;
//   bridge  the checkout's medusa/ package (medusa-user-module-pg), resolved
//           by its absolute path, on user_module's SQL functions and tables
//           (schema user_module). Its service requires @medusajs/framework
//           from medusa/node_modules (npm ci in medusa/), so MedusaApp is
//           booted from that same copy: one framework, one MedusaModule.
// compare.sh runs it once per module first, in the module's own empty database:
//   DB_URL=postgres://postgres@127.0.0.1:PORT/medusa MEDUSA_DIR=DIR node medusa.js migrate medusa
//   DB_URL=postgres://postgres@127.0.0.1:PORT/bridge node medusa.js migrate bridge
// which creates Medusa's tables, or (the bridge's migration) the extension.
"use strict";
const path = require("path");
const { createRequire } = require("module");

// Any key will do: like user_module, Medusa signs invite tokens with HS256.
// The bridge ignores it (the key is the server's).
const JWT_SECRET = "compare-medusa-0123456789";
const quiet = () => {};
const logger = { info: quiet, debug: quiet, log: quiet, activity: quiet, progress: quiet, success: quiet,
  failure: quiet, shouldLog: () => false, warn: console.warn, error: console.error };

const BRIDGE_DIR = path.resolve(__dirname, "../../medusa");

// Where each module and the framework that boots it come from. cwd: where the
// module's package ("resolve") is looked up.
function moduleOf(which) {
  let dir, resolve, options;
  if (which === "medusa") {
    dir = process.env.MEDUSA_DIR;
    if (!dir) throw new Error("set MEDUSA_DIR to a folder where test/bench/medusa/package.json is npm-installed");
    resolve = "@medusajs/user";
    options = { jwt_secret: JWT_SECRET };
  } else if (which === "bridge") {
    dir = BRIDGE_DIR;
    resolve = BRIDGE_DIR;
    // BENCH_BRIDGE_PREPARED=1: the module option prepared_statements
    if (process.env.BENCH_BRIDGE_PREPARED === "1") options = { prepared_statements: true };
  } else {
    throw new Error(`unknown module ${which}: medusa or bridge`);
  }
  const requireFramework = createRequire(`${dir}/package.json`);
  const { MedusaApp, MedusaAppMigrateUp } = requireFramework("@medusajs/framework/modules-sdk");
  const { ContainerRegistrationKeys, Modules, createPgConnection } = requireFramework("@medusajs/framework/utils");
  // The shared pool, with the pool size of the framework's pgConnectionLoader.
  const connect = () => createPgConnection({ clientUrl: process.env.DB_URL, schema: "public", pool: { min: 2 } });
  // What MedusaApp and MedusaAppMigrateUp take.
  const appOptions = (pool) => ({
    cwd: dir,
    modulesConfig: { [Modules.USER]: { resolve, ...(options && { options }) } },
    sharedResourcesConfig: { database: { clientUrl: process.env.DB_URL, schema: "public" } },
    injectedDependencies: { [ContainerRegistrationKeys.PG_CONNECTION]: pool, [ContainerRegistrationKeys.LOGGER]: logger },
  });
  return { MedusaApp, MedusaAppMigrateUp, Modules, connect, appOptions };
}

// Medusa's link modules (another package, which a lone User Module does not
// need) are not installed: MedusaApp warns about them, with a stack. Only
// that warning is dropped.
async function withoutLinkWarning(fn) {
  const warn = console.warn;
  console.warn = (...a) => { if (!String(a[0]).startsWith("Error initializing link modules")) warn(...a); };
  try { return await fn(); } finally { console.warn = warn; }
}

async function migrate(which) {
  const m = moduleOf(which);
  const pool = m.connect();
  await withoutLinkWarning(() => m.MedusaAppMigrateUp(m.appOptions(pool)));
  await pool.destroy();
}

// The calls compare.js times, on a module service of IUserModuleService,
// shaped as the other sides' (reads give arrays of rows): the same calls for
// Medusa's module and the bridge. Neither has acceptInvite.
function serviceCalls(service) {
  return {
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
  };
}

// What each module writes: Medusa's module its tables in public and no event
// rows; the bridge user_module's tables, and user_module's outbox events.
const TABLES = {
  medusa: { tables: '"user", invite', schema: "public", events: null },
  bridge: { tables: 'user_module."user", user_module.invite, user_module.event', schema: "user_module",
    events: "user_module.event" },
};

// compare.js's sides "medusa" and "bridge": the module booted, its calls.
async function moduleSide(which) {
  const m = moduleOf(which);
  const pool = m.connect();
  const app = await withoutLinkWarning(() => m.MedusaApp(m.appOptions(pool)));
  await app.onApplicationStart();
  return {
    ...TABLES[which],
    ...serviceCalls(app.modules[m.Modules.USER]),
    close: async () => {
      await app.onApplicationShutdown();
      await pool.destroy();
    },
  };
}

module.exports = { moduleSide, serviceCalls };

if (require.main === module) {
  const [cmd, which = "medusa"] = process.argv.slice(2);
  if (cmd !== "migrate") throw new Error("usage: node medusa.js migrate [medusa|bridge]");
  migrate(which).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
