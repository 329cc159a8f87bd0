// Medusa's core workflows for users and invites (@medusajs/core-flows 2.21.2)
// run against this package, in a Medusa app that also has Medusa's Auth
// Module (@medusajs/auth with the emailpass provider) for acceptInviteWorkflow.
// The app is migrated as `medusa db:migrate` migrates it (MedusaAppMigrateUp:
// this package's migration creates the extension, the Auth Module its tables).
"use strict";
const assert = require("node:assert/strict");
const { before, after, beforeEach, describe, it } = require("node:test");
const { database, dbUrl, outbox, RecordingEventBus, rejectsWith, shutdown, PKG_DIR } = require("./lib/harness");
const { Link, MedusaApp, MedusaAppMigrateUp } = require("@medusajs/framework/modules-sdk");
const { ContainerRegistrationKeys, Modules, createPgConnection } = require("@medusajs/framework/utils");
const { asValue } = require("@medusajs/framework/awilix");
const { createStep, createWorkflow, WorkflowResponse } = require("@medusajs/framework/workflows-sdk");
const {
  createUsersWorkflow,
  updateUsersWorkflow,
  deleteUsersWorkflow,
  createInvitesWorkflow,
  refreshInviteTokensWorkflow,
  deleteInvitesWorkflow,
  acceptInviteWorkflow,
} = require("@medusajs/core-flows");

const DB = "um_medusa_workflows";
let knex, pg, app, container, users, auth;
const bus = new RecordingEventBus();

function appOptions() {
  return {
    cwd: PKG_DIR,
    modulesConfig: {
      [Modules.USER]: { resolve: PKG_DIR },
      [Modules.AUTH]: {
        resolve: "@medusajs/auth",
        options: { providers: [{ resolve: "@medusajs/auth-emailpass", id: "emailpass" }] },
      },
    },
    sharedResourcesConfig: { database: { clientUrl: dbUrl(DB), schema: "public" } },
    injectedDependencies: { [ContainerRegistrationKeys.PG_CONNECTION]: pg, [Modules.EVENT_BUS]: bus },
  };
}

// A workflow that fails after the user step: Medusa compensates the step
// (createUsersStep's compensation deletes the users it created).
const failAfterUsers = createStep("um-fail-after-users", async () => {
  throw new Error("the step after the users failed");
});
const createUsersThenFail = createWorkflow("um-create-users-then-fail", (input) => {
  const created = createUsersWorkflow.runAsStep({ input });
  failAfterUsers();
  return new WorkflowResponse(created);
});

before(async () => {
  knex = await database(DB);
  await knex.raw("DROP SCHEMA IF EXISTS user_module CASCADE");
  await knex.raw("DROP EXTENSION IF EXISTS user_module");
  await knex.raw("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  pg = createPgConnection({ clientUrl: dbUrl(DB), schema: "public" });
  await MedusaAppMigrateUp(appOptions());
  app = await MedusaApp(appOptions());
  await app.onApplicationStart();
  // What a Medusa server's loaders register for workflows: Link and Query.
  // Medusa's link modules are in @medusajs/medusa, not installed here, so
  // app.link is undefined: a Link over the loaded modules stands in, as in a
  // server where no module links user or invite to another module (no RBAC).
  container = app.sharedContainer;
  container.register({
    [ContainerRegistrationKeys.LINK]: asValue(app.link ?? new Link()),
    [ContainerRegistrationKeys.QUERY]: asValue(app.query),
  });
  users = app.modules[Modules.USER];
  auth = app.modules[Modules.AUTH];
});
after(() => shutdown(app, pg, knex));
beforeEach(async () => {
  await knex.raw('TRUNCATE user_module."user", user_module.invite, user_module.event');
  bus.emitted.length = 0;
  bus.cleared.length = 0;
});

describe("core-flows workflows on user_module", () => {
  it("the migration created the extension (and nothing of ours in public)", async () => {
    const { rows } = await knex.raw(
      "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname IN ('user_module', 'pg_trgm') ORDER BY e.extname"
    );
    assert.deepEqual(rows.map((r) => r.nspname), ["extensions", "user_module"]);
  });

  it("createUsersWorkflow, updateUsersWorkflow, deleteUsersWorkflow", async () => {
    const { result: created } = await createUsersWorkflow(container).run({
      input: { users: [{ email: "ada@example.com", first_name: "Ada" }, { email: "grace@example.com" }] },
    });
    assert.equal(created.length, 2);
    const [ada, grace] = created;
    const { result: updated } = await updateUsersWorkflow(container).run({ input: { updates: [{ id: ada.id, last_name: "Lovelace" }] } });
    assert.equal(updated[0].last_name, "Lovelace");
    await deleteUsersWorkflow(container).run({ input: { ids: [grace.id] } });
    assert.deepEqual((await users.listUsers()).map((u) => u.email), ["ada@example.com"]);
    assert.deepEqual(bus.names(), [
      `user.user.created "${ada.id}"`,
      `user.user.created "${grace.id}"`,
      `user.created "${ada.id}"`,
      `user.created "${grace.id}"`,
      `user.user.updated "${ada.id}"`,
      `user.updated "${ada.id}"`,
      `user.user.deleted "${grace.id}"`,
      `user.deleted "${grace.id}"`,
    ]);
    assert.deepEqual(await outbox(knex), [
      `user.created ${ada.id}`,
      `user.created ${grace.id}`,
      `user.updated ${ada.id}`,
      `user.deleted ${grace.id}`,
    ]);
  });

  it("createInvitesWorkflow, refreshInviteTokensWorkflow, deleteInvitesWorkflow", async () => {
    const { result: [invite] } = await createInvitesWorkflow(container).run({ input: { invites: [{ email: "joan@example.com" }] } });
    const { result: [fresh] } = await refreshInviteTokensWorkflow(container).run({ input: { invite_ids: [invite.id] } });
    assert.notEqual(fresh.token, invite.token);
    await rejectsWith(users.validateInviteToken(invite.token), "invalid_data", "The invite token is invalid");
    await deleteInvitesWorkflow(container).run({ input: { ids: [invite.id] } });
    assert.equal((await users.listInvites()).length, 0);
    assert.deepEqual(bus.names(), [
      `user.invite.created "${invite.id}"`,
      `user.user.invite.token_generated "${invite.id}"`,
      `invite.created "${invite.id}"`,
      `user.invite.updated "${invite.id}"`,
      `user.user.invite.token_generated "${invite.id}"`,
      `invite.resent "${invite.id}"`,
      `user.invite.deleted "${invite.id}"`,
      `invite.deleted "${invite.id}"`,
    ]);
    assert.deepEqual(await outbox(knex), [`invite.created ${invite.id}`, `invite.resent ${invite.id}`, `invite.deleted ${invite.id}`]);
  });

  it("acceptInviteWorkflow with an emailpass auth identity", async () => {
    const { result: [invite] } = await createInvitesWorkflow(container).run({ input: { invites: [{ email: "hedy@example.com" }] } });
    const identity = await auth.createAuthIdentities({ provider_identities: [{ provider: "emailpass", entity_id: "hedy@example.com" }] });
    const { result: [user] } = await acceptInviteWorkflow(container).run({
      input: { invite_token: invite.token, auth_identity_id: identity.id, user: { first_name: "Hedy" } },
    });
    assert.equal(user.email, "hedy@example.com");
    assert.equal((await auth.retrieveAuthIdentity(identity.id)).app_metadata.user_id, user.id);
    // Medusa's acceptance soft-deletes the invite: its token is refused from then on
    await rejectsWith(users.validateInviteToken(invite.token), "invalid_data", "The invite token is invalid");
    assert.deepEqual(bus.names((e) => !e.internal), [`invite.created "${invite.id}"`, `user.created "${user.id}"`, `invite.accepted "${invite.id}"`]);
    assert.deepEqual(await outbox(knex), [`invite.created ${invite.id}`, `user.created ${user.id}`, `invite.deleted ${invite.id}`]);
  });

  it("a workflow that fails after our step leaves no rows; the outbox keeps the step and its compensation", async () => {
    const { errors } = await createUsersThenFail(container).run({
      input: { users: [{ email: "rollback@example.com" }] },
      throwOnError: false,
    });
    assert.match(errors[0].error.message, /the step after the users failed/);
    assert.equal((await users.listUsers({}, { withDeleted: true })).length, 0);
    const { rows } = await knex.raw('SELECT count(*)::int AS n FROM user_module."user"');
    assert.equal(rows[0].n, 0);
    // Each module call of a Medusa workflow commits on its own; compensation
    // is another call (deleteUsers), so the outbox holds both, in order:
    const events = await outbox(knex);
    assert.equal(events.length, 2);
    assert.match(events[0], /^user\.created user_/);
    assert.equal(events[1], events[0].replace("user.created", "user.deleted"));
    // the workflow's own user.created was grouped and cleared, never emitted
    assert.deepEqual(bus.names((e) => !e.internal), []);
  });
});
