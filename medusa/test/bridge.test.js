// What the bridge adds around the SQL functions: one connection, the caller's
// transaction joined, events only after success, and nothing in schema
// public, whose reset (Medusa's test runner drops it) leaves our rows alone.
"use strict";
const assert = require("node:assert/strict");
const { before, after, beforeEach, describe, it, mock } = require("node:test");
const { Client } = require("pg");
const { database, dbUrl, freshModule, outbox, RecordingEventBus, rejectsWith, shutdown, PKG_DIR } = require("./lib/harness");
const { MedusaApp } = require("@medusajs/framework/modules-sdk");
const { ContainerRegistrationKeys, Modules, createPgConnection } = require("@medusajs/framework/utils");

const DB = "um_medusa_bridge";
let knex, pg, app, service;
const bus = new RecordingEventBus();

before(async () => {
  knex = await database(DB);
  await freshModule(knex);
  pg = createPgConnection({ clientUrl: dbUrl(DB), schema: "public" });
  app = await MedusaApp({
    cwd: PKG_DIR,
    modulesConfig: { [Modules.USER]: { resolve: PKG_DIR } },
    injectedDependencies: { [ContainerRegistrationKeys.PG_CONNECTION]: pg, [Modules.EVENT_BUS]: bus },
  });
  await app.onApplicationStart();
  service = app.modules[Modules.USER];
});
after(() => shutdown(app, pg, knex));
beforeEach(async () => {
  await knex.raw('TRUNCATE user_module."user", user_module.invite, user_module.event');
  bus.emitted.length = 0;
});

describe("the bridge", () => {
  it("joins the caller's knex transaction: a rollback takes back rows and outbox events", async () => {
    await assert.rejects(
      pg.transaction(async (trx) => {
        await service.createUsers({ email: "tx@example.com" }, { transactionManager: trx });
        const { rows } = await trx.raw("SELECT count(*)::int AS n FROM user_module.list_users()");
        assert.equal(rows[0].n, 1);
        throw new Error("the caller rolls back");
      }),
      /the caller rolls back/
    );
    assert.equal((await service.listUsers()).length, 0);
    assert.deepEqual(await outbox(knex), []);
    // the call succeeded in the caller's transaction: Medusa's event was emitted then
    assert.deepEqual(bus.names().map((n) => n.split(" ")[0]), ["user.user.created"]);
  });

  it("joins a MikroORM EntityManager's transaction (sharedContext.transactionManager of Medusa's modules)", async () => {
    const trx = await pg.transaction();
    const manager = { getTransactionContext: () => trx };
    const [user] = await service.createUsers([{ email: "em@example.com" }], { transactionManager: manager });
    assert.equal((await service.listUsers({ id: user.id })).length, 0, "not visible outside before commit");
    await trx.commit();
    assert.equal((await service.listUsers({ id: user.id })).length, 1);
  });

  it("a refused write in the caller's transaction gets Medusa's message and leaves that transaction usable", async () => {
    await service.createUsers({ email: "first@example.com" });
    await pg.transaction(async (trx) => {
      await rejectsWith(
        service.createUsers([{ email: "other@example.com" }, { email: "FIRST@example.com" }], { transactionManager: trx }),
        "invalid_data",
        "User with email: FIRST@example.com, already exists."
      );
      await rejectsWith(
        service.refreshInviteTokens(["invite_missing"], { transactionManager: trx }),
        "invalid_data",
        "The following invites do not exist: invite_missing"
      );
      await service.createUsers({ email: "second@example.com" }, { transactionManager: trx });
    });
    assert.deepEqual((await service.listUsers({}, { order: { email: "ASC" } })).map((u) => u.email), ["first@example.com", "second@example.com"]);
    assert.deepEqual((await outbox(knex)).map((e) => e.split(" ")[0]), ["user.created", "user.created"]);
  });

  it("a call that succeeds on its own is one statement (no BEGIN, COMMIT or checks around it)", async () => {
    // every statement, whoever sends it (knex or the module), goes through pg's Client.query
    const query = mock.method(Client.prototype, "query");
    try {
      const [user] = await service.createUsers([{ email: "one@example.com" }]);
      await service.retrieveUser(user.id);
      await service.listAndCountUsers({ q: "one" }, { take: 10 });
      await service.updateUsers({ id: user.id, first_name: "One" });
      const [invite] = await service.createInvites([{ email: "one-invite@example.com" }]);
      await service.validateInviteToken(invite.token);
      await service.refreshInviteTokens([invite.id]);
      await service.softDeleteUsers([user.id]);
    } finally {
      query.mock.restore();
    }
    const statements = query.mock.calls.map((c) => String(c.arguments[0]?.text ?? c.arguments[0]).replace(/\s+/g, " "));
    assert.equal(statements.length, 8, statements.join("\n"));
    assert.ok(statements.every((s) => s.startsWith("SELECT ")), statements.join("\n"));
  });

  it("with the option prepared_statements, each statement is prepared once per connection; without, never", async () => {
    const { UserModuleService } = require("../src/service");
    const prepared = async (options) => {
      const one = createPgConnection({ clientUrl: dbUrl(DB), schema: "public", pool: { min: 1, max: 1 } });
      try {
        const users = new UserModuleService({ [ContainerRegistrationKeys.PG_CONNECTION]: one }, options);
        const [user] = await users.createUsers([{ email: `prepared-${options.prepared_statements}@example.com` }]);
        for (let i = 0; i < 3; i++) assert.equal((await users.retrieveUser(user.id)).id, user.id);
        const { rows } = await one.raw("SELECT statement FROM pg_prepared_statements ORDER BY statement");
        return rows.map((r) => r.statement.replace(/\s+/g, " ").trim());
      } finally {
        await one.destroy();
      }
    };
    assert.deepEqual(await prepared({ prepared_statements: true }), [
      "SELECT * FROM user_module.create_users($1::jsonb)",
      "SELECT * FROM user_module.retrieve_user($1, $2)",
    ]);
    assert.deepEqual(await prepared({}), []);
  });

  it("a failed call emits nothing and leaves no outbox event", async () => {
    await service.createUsers({ email: "dup@example.com" });
    bus.emitted.length = 0;
    await rejectsWith(
      service.createUsers([{ email: "ok@example.com" }, { email: "DUP@example.com" }]),
      "invalid_data",
      "User with email: DUP@example.com, already exists."
    );
    assert.deepEqual(bus.names(), []);
    assert.deepEqual((await outbox(knex)).length, 1);
  });

  it("a reset of schema public leaves users, invites and events intact", async () => {
    const [user] = await service.createUsers([{ email: "keep@example.com" }]);
    const [invite] = await service.createInvites([{ email: "keep-invite@example.com" }]);
    const before = await outbox(knex);
    await knex.raw("DROP SCHEMA public CASCADE");
    await knex.raw("CREATE SCHEMA public");
    assert.equal((await service.retrieveUser(user.id)).email, "keep@example.com");
    assert.equal((await service.validateInviteToken(invite.token)).id, invite.id);
    assert.deepEqual(await outbox(knex), before);
    assert.deepEqual(before, [`user.created ${user.id}`, `invite.created ${invite.id}`]);
  });

  it("the migration is idempotent and reports that the key works", async () => {
    const { runMigrations } = require("../src");
    assert.deepEqual(await runMigrations({ options: { database: { clientUrl: dbUrl(DB) } } }), []);
  });
});
