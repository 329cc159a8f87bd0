// Shared by the tests: the database server from the environment (PGHOST,
// PGPORT and PGUSER as test/lib/cluster.sh exports them; Medusa's test runner
// reads DB_HOST, DB_PORT and DB_USERNAME, which test/run.sh sets from them),
// Medusa apps booted with this package as Modules.USER, an event bus that
// records, and assertions on MedusaErrors.
"use strict";
const assert = require("node:assert/strict");
const path = require("node:path");
const test = require("node:test");
const { createPgConnection } = require("@medusajs/framework/utils");
const { install } = require("../../src/migration");

const PKG_DIR = path.resolve(__dirname, "../..");

// moduleIntegrationTestRunner is written for jest: it calls these globals.
Object.assign(global, {
  describe: test.describe,
  it: test.it,
  beforeAll: test.before,
  afterAll: test.after,
  beforeEach: test.beforeEach,
  afterEach: test.afterEach,
});

// Medusa's link modules live in @medusajs/medusa, which a lone module does not
// need; MedusaApp warns (with a stack) that it cannot load them. Only that
// warning is dropped.
const warn = console.warn;
console.warn = (...a) => {
  if (!String(a[0]).startsWith("Error initializing link modules")) warn(...a);
};

const dbUrl = (db) => `postgres://${encodeURIComponent(process.env.PGUSER || "postgres")}@127.0.0.1:${process.env.PGPORT}/${db}`;

// A knex connection to a database (created when missing, as a superuser),
// for setting up and for looking at what the module wrote.
async function database(db) {
  const admin = createPgConnection({ clientUrl: dbUrl("postgres"), schema: "public", pool: { min: 0, max: 1 } });
  const { rows } = await admin.raw("SELECT 1 FROM pg_database WHERE datname = ?", [db]);
  if (!rows.length) await admin.raw("CREATE DATABASE ??", [db]);
  await admin.destroy();
  return createPgConnection({ clientUrl: dbUrl(db), schema: "public", pool: { min: 0, max: 2 } });
}

// The module's migration (src/migration.js), then empty tables: each test
// case starts from no rows, as Medusa's suites do.
async function freshModule(knex) {
  await install(knex);
  await knex.raw('TRUNCATE user_module."user", user_module.invite, user_module.event RESTART IDENTITY');
}

// Rows of user_module's outbox, oldest first.
async function outbox(knex) {
  const { rows } = await knex.raw("SELECT name, entity_id FROM user_module.event ORDER BY id");
  return rows.map((r) => `${r.name} ${r.entity_id}`);
}

// An event bus that records what it is handed, as Medusa's event bus module
// would receive it; grouped events (workflows) are released or cleared.
class RecordingEventBus {
  constructor() {
    this.emitted = [];
    this.grouped = new Map();
    this.cleared = [];
  }
  async emit(messages, options = {}) {
    for (const m of Array.isArray(messages) ? messages : [messages]) {
      const group = m.metadata?.eventGroupId;
      if (group && !options.internal) {
        if (!this.grouped.has(group)) this.grouped.set(group, []);
        this.grouped.get(group).push(m);
      } else this.emitted.push({ name: m.name, data: m.data, internal: options.internal === true });
    }
  }
  async releaseGroupedEvents(group) {
    for (const m of this.grouped.get(group) ?? []) this.emitted.push({ name: m.name, data: m.data, internal: false });
    this.grouped.delete(group);
  }
  async clearGroupedEvents(group) {
    this.cleared.push(...(this.grouped.get(group) ?? []).map((m) => m.name));
    this.grouped.delete(group);
  }
  subscribe() {
    return this;
  }
  unsubscribe() {
    return this;
  }
  names(filter = () => true) {
    return this.emitted.filter(filter).map((e) => `${e.name} ${JSON.stringify(e.data.id)}`);
  }
}

// Asserts that a promise rejects with a MedusaError of that type and message.
async function rejectsWith(promise, type, message) {
  await assert.rejects(promise, (err) => {
    assert.equal(err?.constructor?.name, "MedusaError", `not a MedusaError: ${err?.stack ?? err}`);
    assert.equal(err.type, type);
    if (message instanceof RegExp) assert.match(err.message, message);
    else assert.equal(err.message, message);
    return true;
  });
}

// Shuts a booted Medusa app down and closes the connections given.
async function shutdown(app, ...connections) {
  const { MedusaModule } = require("@medusajs/framework/modules-sdk");
  await app?.onApplicationShutdown();
  MedusaModule.clearInstances();
  for (const connection of connections) await connection?.destroy();
}

module.exports = { PKG_DIR, dbUrl, database, freshModule, outbox, RecordingEventBus, rejectsWith, shutdown };
