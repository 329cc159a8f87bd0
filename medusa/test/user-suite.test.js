// The cases of Medusa's own suite for the user service of @medusajs/user
// (packages/modules/user/integration-tests/__tests__/user.spec.ts), run
// against this package with Medusa's test runner, moduleIntegrationTestRunner:
// it boots the module as Medusa boots it, injects its MockEventBusService and
// drops schema public after every case. Written anew; the steps and the
// expected values (messages, event names, payloads, counts) are Medusa's.
// "differs:" cases assert user_module's behaviour where it deliberately
// differs (doc/medusa.md "Differences").
"use strict";
const assert = require("node:assert/strict");
const { mock, after, beforeEach, afterEach, describe, it } = require("node:test");
const { PKG_DIR, database, freshModule, rejectsWith } = require("./lib/harness");
const { moduleIntegrationTestRunner, MockEventBusService } = require("@medusajs/test-utils");
const { Module, Modules } = require("@medusajs/framework/utils");
const { UserModuleService } = require("../src/service");
const { User, Invite } = require("../src/models");

const DB = "um_medusa_user_suite";
let knex;
const fixtures = () => [
  { id: "1", email: "user_1@test.com" },
  { id: "2", email: "user_2@test.com" },
];

moduleIntegrationTestRunner({
  moduleName: Modules.USER,
  resolve: PKG_DIR,
  cwd: PKG_DIR,
  dbName: DB,
  // Medusa's models, so the runner creates their tables in public and drops
  // public after each case, as it does for Medusa's own module
  moduleModels: [User, Invite],
  hooks: { beforeModuleInit: async () => freshModule((knex ??= await database(DB))) },
  testSuite: ({ service }) => {
    after(async () => knex?.destroy());
    let emit;
    beforeEach(() => {
      emit = mock.method(MockEventBusService.prototype, "emit");
    });
    afterEach(() => mock.restoreAll());

    it("should export the appropriate linkable configuration", () => {
      const linkable = { ...Module(Modules.USER, { service: UserModuleService }).linkable };
      delete linkable.toJSON;
      assert.deepEqual(Object.keys(linkable), ["user", "invite"]);
      assert.deepEqual(linkable.user.id, { linkable: "user_id", entity: "User", primaryKey: "id", serviceName: "user", field: "user" });
      assert.deepEqual(linkable.invite.id, { linkable: "invite_id", entity: "Invite", primaryKey: "id", serviceName: "user", field: "invite" });
    });

    describe("UserModuleService - User", () => {
      describe("list", () => {
        it("should list users", async () => {
          await service.createUsers(fixtures());
          const users = await service.listUsers();
          assert.deepEqual(users.map((u) => u.id), ["1", "2"]);
        });
        it("should list users by id", async () => {
          await service.createUsers(fixtures());
          const users = await service.listUsers({ id: ["1"] });
          assert.deepEqual(users.map((u) => u.id), ["1"]);
        });
      });

      describe("listAndCount", () => {
        it("should list and count users", async () => {
          await service.createUsers(fixtures());
          const [users, count] = await service.listAndCountUsers();
          assert.equal(count, 2);
          assert.deepEqual(users.map((u) => u.id), ["1", "2"]);
        });
        it("should list and count users by id", async () => {
          await service.createUsers(fixtures());
          const [users, count] = await service.listAndCountUsers({ id: "1" });
          assert.equal(count, 1);
          assert.deepEqual(users.map((u) => u.id), ["1"]);
        });
      });

      describe("retrieve", () => {
        it("should return an user for the given id", async () => {
          await service.createUsers(fixtures());
          const user = await service.retrieveUser("1");
          assert.equal(user.id, "1");
          assert.equal(user.email, "user_1@test.com");
        });
        it("should throw an error when an user with the given id does not exist", async () => {
          await rejectsWith(service.retrieveUser("does-not-exist"), "not_found", "User with id: does-not-exist was not found");
        });
        it("should throw an error when a userId is not provided", async () => {
          await rejectsWith(service.retrieveUser(undefined), "not_found", "user - id must be defined");
        });
        it("should return user based on config select param", async () => {
          await service.createUsers(fixtures());
          const user = await service.retrieveUser("1", { select: ["id"] });
          assert.deepEqual(JSON.parse(JSON.stringify(user)), { id: "1" });
        });
      });

      describe("delete", () => {
        it("should delete the users given an id successfully", async () => {
          await service.createUsers(fixtures());
          await service.deleteUsers(["1"]);
          assert.equal((await service.listUsers({ id: ["1"] })).length, 0);
        });
      });

      describe("update", () => {
        it("should throw an error when a id does not exist", async () => {
          await rejectsWith(service.updateUsers([{ id: "does-not-exist" }]), "not_found", 'User with id "does-not-exist" not found');
        });
        it("should emit user created events", async () => {
          await service.createUsers(fixtures());
          emit.mock.resetCalls();
          await service.updateUsers([{ id: "1", first_name: "John" }]);
          assert.equal(emit.mock.callCount(), 1);
          const [messages, options] = emit.mock.calls[0].arguments;
          assert.equal(messages.length, 1);
          assert.equal(messages[0].name, "user.user.updated");
          assert.deepEqual(messages[0].data, { id: "1" });
          assert.deepEqual(options, { internal: true });
        });
      });

      describe("create", () => {
        it("should create a user successfully", async () => {
          await service.createUsers(fixtures());
          const [users, count] = await service.listAndCountUsers({ id: ["1"] });
          assert.equal(count, 1);
          assert.equal(users[0].id, "1");
        });
        it("should emit user created events", async () => {
          await service.createUsers(fixtures());
          assert.equal(emit.mock.callCount(), 1);
          const [messages, options] = emit.mock.calls[0].arguments;
          assert.deepEqual(
            messages.map((m) => [m.name, m.data]),
            [
              ["user.user.created", { id: "1" }],
              ["user.user.created", { id: "2" }],
            ]
          );
          assert.deepEqual(messages[0].metadata, { source: "user", object: "user", action: "created" });
          assert.deepEqual(options, { internal: true });
        });
      });

      describe("differs on purpose", () => {
        it("differs: emails are unique case-insensitively (Medusa creates both)", async () => {
          await service.createUsers({ email: "ada@example.com" });
          await rejectsWith(service.createUsers({ email: "ADA@Example.com" }), "invalid_data", "User with email: ADA@Example.com, already exists.");
          assert.equal(emit.mock.callCount(), 1);
        });
        it("differs: the email filter is case-insensitive (Medusa compares exactly)", async () => {
          await service.createUsers({ email: "Ada@Example.com" });
          assert.deepEqual((await service.listUsers({ email: "ada@example.com" })).map((u) => u.email), ["Ada@Example.com"]);
        });
        it("differs: an unknown key is invalid_data (Medusa drops it)", async () => {
          await rejectsWith(service.createUsers({ email: "x@example.com", nickname: "X" }), "invalid_data", 'unknown key "nickname" in user');
          assert.equal((await service.listUsers()).length, 0);
          assert.equal(emit.mock.callCount(), 0);
        });
        it("differs: an email is validated (Medusa stores any string)", async () => {
          await rejectsWith(service.createUsers({ email: "not-an-email" }), "invalid_data", "invalid email address");
        });
        it("differs: q matches % literally (Medusa matches every user)", async () => {
          await service.createUsers(fixtures());
          assert.equal((await service.listUsers({ q: "%" })).length, 0);
          assert.equal((await service.listUsers({ q: "USER_1" })).length, 1);
        });
        it("differs: filter operators without a translation are invalid_data (Medusa has $like, $or, ...)", async () => {
          await rejectsWith(
            service.listUsers({ email: { $like: "%test%" } }),
            "invalid_data",
            "User filters: $like on email is not supported by user_module (use a value, an array or $in)"
          );
          await rejectsWith(service.listUsers({ $or: [{ id: "1" }] }), "invalid_data", "User filters: $or is not supported by user_module");
        });
        it("differs: restoring a live user restores nothing and returns {} (Medusa returns its id)", async () => {
          await service.createUsers(fixtures());
          assert.deepEqual(await service.restoreUsers(["1"]), {});
        });
      });

      describe("the same as Medusa, beyond its suite", () => {
        it("$in and the time operators are translated", async () => {
          await service.createUsers(fixtures());
          const users = await service.listUsers({ id: { $in: ["2", "x"] }, created_at: { $lte: new Date(Date.now() + 60000), $gt: "2000-01-01" } });
          assert.deepEqual(users.map((u) => u.id), ["2"]);
          assert.deepEqual((await service.listUsers({ id: { $in: [] } })).map((u) => u.id), []);
        });
        it("order, skip and take", async () => {
          await service.createUsers(fixtures());
          assert.deepEqual((await service.listUsers({}, { order: { email: "DESC" } })).map((u) => u.id), ["2", "1"]);
          assert.deepEqual((await service.listUsers({}, { skip: 1, take: 5 })).map((u) => u.id), ["2"]);
          assert.deepEqual((await service.listUsers({}, { take: 0 })).map((u) => u.id), []);
        });
        it("soft delete returns the linkable keys, emits user.user.deleted, and withDeleted finds the row", async () => {
          await service.createUsers(fixtures());
          emit.mock.resetCalls();
          assert.deepEqual(await service.softDeleteUsers(["1", "nobody"]), { user_id: ["1"] });
          assert.deepEqual(emit.mock.calls[0].arguments[0].map((m) => [m.name, m.data.id]), [["user.user.deleted", "1"]]);
          await rejectsWith(service.retrieveUser("1"), "not_found", "User with id: 1 was not found");
          assert.equal((await service.retrieveUser("1", { withDeleted: true })).id, "1");
          emit.mock.resetCalls();
          assert.deepEqual(await service.restoreUsers(["1"]), { user_id: ["1"] });
          assert.equal(emit.mock.callCount(), 0);
        });
        it("restore into a taken email names it", async () => {
          await service.createUsers({ id: "1", email: "a@example.com" });
          await service.softDeleteUsers(["1"]);
          await service.createUsers({ id: "2", email: "a@example.com" });
          await rejectsWith(service.restoreUsers(["1"]), "invalid_data", "User with email: a@example.com, already exists.");
        });
        it("an update that changes nothing emits nothing; metadata merges", async () => {
          await service.createUsers({ id: "1", email: "a@example.com", metadata: { x: 1, y: 2 } });
          emit.mock.resetCalls();
          const same = await service.updateUsers({ id: "1", first_name: null });
          assert.equal(emit.mock.callCount(), 0);
          assert.equal(same.id, "1");
          const [u] = await service.updateUsers({ selector: { id: "1" }, data: { metadata: { y: "", z: 3 } } });
          assert.deepEqual(u.metadata, { x: 1, z: 3 });
          assert.equal(emit.mock.callCount(), 1);
        });
        it("a duplicate id is invalid_data", async () => {
          await service.createUsers(fixtures());
          await rejectsWith(service.createUsers({ id: "1", email: "other@test.com" }), "invalid_data", "User with id: 1, already exists.");
        });
      });
    });
  },
});
