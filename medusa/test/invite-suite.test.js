// The cases of Medusa's own suite for the invite service of @medusajs/user
// (packages/modules/user/integration-tests/__tests__/invite.spec.ts), run as
// user-suite.test.js runs the user cases. Medusa's fixtures carry a `token`,
// which Medusa's module ignores and user_module refuses as an unknown key:
// the fixtures here have none, and a "differs:" case asserts the refusal.
"use strict";
const assert = require("node:assert/strict");
const { mock, after, beforeEach, afterEach, describe, it } = require("node:test");
const jwt = require("jsonwebtoken");
const { PKG_DIR, database, freshModule, rejectsWith } = require("./lib/harness");
const { moduleIntegrationTestRunner, MockEventBusService } = require("@medusajs/test-utils");
const { Modules } = require("@medusajs/framework/utils");
const { User, Invite } = require("../src/models");

const DB = "um_medusa_invite_suite";
let knex;
const fixtures = () => [
  { id: "1", email: "user_1@test.com" },
  { id: "2", email: "user_2@test.com" },
];
const messagesOf = (emit, call = 0) => emit.mock.calls[call].arguments[0].map((m) => [m.name, m.data]);

moduleIntegrationTestRunner({
  moduleName: Modules.USER,
  resolve: PKG_DIR,
  cwd: PKG_DIR,
  dbName: DB,
  moduleModels: [User, Invite],
  hooks: { beforeModuleInit: async () => freshModule((knex ??= await database(DB))) },
  testSuite: ({ service }) => {
    after(async () => knex?.destroy());
    let emit;
    beforeEach(() => {
      emit = mock.method(MockEventBusService.prototype, "emit");
    });
    afterEach(() => mock.restoreAll());

    describe("UserModuleService - Invite", () => {
      describe("listInvites", () => {
        it("should list invites", async () => {
          await service.createInvites(fixtures());
          assert.deepEqual((await service.listInvites()).map((i) => i.id), ["1", "2"]);
        });
        it("should list invites by id", async () => {
          await service.createInvites(fixtures());
          assert.deepEqual((await service.listInvites({ id: ["1"] })).map((i) => i.id), ["1"]);
        });
      });

      describe("listAndCountInvites", () => {
        it("should list and count invites", async () => {
          await service.createInvites(fixtures());
          const [invites, count] = await service.listAndCountInvites();
          assert.equal(count, 2);
          assert.deepEqual(invites.map((i) => i.id), ["1", "2"]);
        });
        it("should listAndCount invites by id", async () => {
          await service.createInvites(fixtures());
          const [invites, count] = await service.listAndCountInvites({ id: "1" });
          assert.equal(count, 1);
          assert.deepEqual(invites.map((i) => i.id), ["1"]);
        });
      });

      describe("retrieveInvite", () => {
        it("should return an invite for the given id", async () => {
          await service.createInvites(fixtures());
          const invite = await service.retrieveInvite("1");
          assert.equal(invite.id, "1");
          const payload = jwt.decode(invite.token);
          assert.ok(payload.exp <= Date.now() / 1000 + 86400, `exp ${payload.exp} is more than a day away`);
        });
        it("should throw an error when an invite with the given id does not exist", async () => {
          await rejectsWith(service.retrieveInvite("does-not-exist"), "not_found", "Invite with id: does-not-exist was not found");
        });
        it("should throw an error when inviteId is not provided", async () => {
          await rejectsWith(service.retrieveInvite(undefined), "not_found", "invite - id must be defined");
        });
        it("should return invite based on config select param", async () => {
          await service.createInvites(fixtures());
          const invite = await service.retrieveInvite("1", { select: ["id"] });
          assert.deepEqual(JSON.parse(JSON.stringify(invite)), { id: "1" });
        });
      });

      describe("updateInvite", () => {
        it("should throw an error when an id does not exist", async () => {
          await rejectsWith(service.updateInvites([{ id: "does-not-exist" }]), "not_found", 'Invite with id "does-not-exist" not found');
        });
        it("differs: should emit invite updated events (for a metadata change: accepted cannot be set)", async () => {
          await service.createInvites(fixtures());
          emit.mock.resetCalls();
          await service.updateInvites([{ id: "1", metadata: { team: "a" } }]);
          assert.equal(emit.mock.callCount(), 1);
          assert.deepEqual(messagesOf(emit), [
            ["user.invite.updated", { id: "1" }],
            ["user.user.invite.token_generated", { id: "1" }],
          ]);
        });
        it("differs: accepted cannot be set by an update (Medusa sets it)", async () => {
          await service.createInvites(fixtures());
          emit.mock.resetCalls();
          await rejectsWith(service.updateInvites([{ id: "1", accepted: true }]), "invalid_data", 'unknown key "accepted" in invite');
          assert.equal(emit.mock.callCount(), 0);
        });
      });

      describe("resendInvite", () => {
        it("should emit token generated event for invites", async () => {
          await service.createInvites(fixtures());
          emit.mock.resetCalls();
          await service.refreshInviteTokens(["1"]);
          assert.equal(emit.mock.callCount(), 1);
          assert.deepEqual(messagesOf(emit), [
            ["user.invite.updated", { id: "1" }],
            ["user.user.invite.token_generated", { id: "1" }],
          ]);
          assert.equal(emit.mock.calls[0].arguments[0][1].metadata.action, "created");
        });
      });

      describe("createInvitie", () => {
        it("should create an invite successfully", async () => {
          await service.createInvites(fixtures());
          const [invites, count] = await service.listAndCountInvites({ id: ["1"] });
          assert.equal(count, 1);
          assert.equal(invites[0].id, "1");
        });
        it("should throw if there is an existing user with the invite email", async () => {
          await service.createUsers([{ email: "existing@email.com" }]);
          await rejectsWith(
            service.createInvites([{ email: "existing@email.com" }]),
            "invalid_data",
            "User account for following email(s) already exist: existing@email.com"
          );
        });
        it("should emit invite created events", async () => {
          await service.createInvites(fixtures());
          assert.equal(emit.mock.callCount(), 1);
          assert.deepEqual(messagesOf(emit), [
            ["user.invite.created", { id: "1" }],
            ["user.invite.created", { id: "2" }],
            ["user.user.invite.token_generated", { id: ["1", "2"] }],
          ]);
          assert.deepEqual(emit.mock.calls[0].arguments[1], { internal: true });
        });
      });

      describe("differs on purpose", () => {
        it("differs: a token given to createInvites is invalid_data (Medusa ignores it)", async () => {
          await rejectsWith(service.createInvites({ email: "a@test.com", token: "test" }), "invalid_data", 'unknown key "token" in invite');
        });
        it("differs: the existing-user check is case-insensitive (Medusa lets EXISTING@ through)", async () => {
          await service.createUsers([{ email: "existing@email.com" }]);
          await rejectsWith(
            service.createInvites([{ email: "EXISTING@email.com" }]),
            "invalid_data",
            "User account for following email(s) already exist: existing@email.com"
          );
        });
        it("differs: a malformed token is 'The invite token is invalid' (Medusa: JsonWebTokenError jwt malformed)", async () => {
          await rejectsWith(service.validateInviteToken("not-a-token"), "invalid_data", "The invite token is invalid");
        });
        it("differs: the token of a soft-deleted invite is invalid (Medusa: Invite with id: 1 was not found)", async () => {
          const [invite] = await service.createInvites(fixtures());
          await service.softDeleteInvites(["1"]);
          await rejectsWith(service.validateInviteToken(invite.token), "invalid_data", "The invite token is invalid");
        });
      });

      describe("the same as Medusa, beyond its suite", () => {
        it("a token validates, and a refreshed one replaces it", async () => {
          const [invite] = await service.createInvites(fixtures());
          assert.equal((await service.validateInviteToken(invite.token)).id, "1");
          const [fresh] = await service.refreshInviteTokens(["1"]);
          assert.notEqual(fresh.token, invite.token);
          await rejectsWith(service.validateInviteToken(invite.token), "invalid_data", "The invite token is invalid");
          assert.equal((await service.validateInviteToken(fresh.token)).id, "1");
        });
        it("refreshing missing invites names them in the order given", async () => {
          await service.createInvites(fixtures());
          await rejectsWith(service.refreshInviteTokens(["x2", "1", "x1"]), "invalid_data", "The following invites do not exist: x2, x1");
        });
        it("a second live invite for an email is invalid_data", async () => {
          await service.createInvites(fixtures());
          await rejectsWith(service.createInvites({ email: "user_1@test.com" }), "invalid_data", "Invite with email: user_1@test.com, already exists.");
        });
        it("an expired token: The invite has expired (a token made in a transaction joined with a 1 s lifetime)", async () => {
          await knex.transaction(async (trx) => {
            await trx.raw("SET LOCAL user_module.invite_valid_duration = '1s'");
            await service.createInvites({ id: "brief", email: "brief@test.com" }, { transactionManager: trx });
          });
          const { token } = await service.retrieveInvite("brief");
          await new Promise((r) => setTimeout(r, 2100));
          await rejectsWith(service.validateInviteToken(token), "invalid_data", "The invite has expired");
        });
        it("soft delete and restore of invites return invite_id and emit only on delete", async () => {
          await service.createInvites(fixtures());
          emit.mock.resetCalls();
          assert.deepEqual(await service.softDeleteInvites("1"), { invite_id: ["1"] });
          assert.deepEqual(messagesOf(emit), [["user.invite.deleted", { id: "1" }]]);
          assert.deepEqual(await service.restoreInvites(["1"]), { invite_id: ["1"] });
          assert.equal(emit.mock.callCount(), 1);
          await service.deleteInvites(["1", "2"]);
          assert.deepEqual(messagesOf(emit, 1), [
            ["user.invite.deleted", { id: "1" }],
            ["user.invite.deleted", { id: "2" }],
          ]);
        });
      });
    });
  },
});
