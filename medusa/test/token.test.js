// A token this package issues verifies with jsonwebtoken and the server's key
// exactly like one Medusa's own module (@medusajs/user 2.21.2, given the same
// key as jwt_secret) issues: the same header, the same claims in the same
// order, the same lifetime.
"use strict";
const assert = require("node:assert/strict");
const { after, it } = require("node:test");
const jwt = require("jsonwebtoken");
const { database, dbUrl, freshModule, shutdown, PKG_DIR } = require("./lib/harness");
const { MedusaApp, MedusaAppMigrateUp } = require("@medusajs/framework/modules-sdk");
const { ContainerRegistrationKeys, Modules, createPgConnection } = require("@medusajs/framework/utils");

const SECRET = process.env.UM_JWT_SECRET;
const connections = [];
after(async () => Promise.all(connections.map((c) => c.destroy())));

// An invite made by the module `resolve` in its own database and app.
async function inviteFrom(db, resolve, options) {
  const knex = await database(db);
  connections.push(knex);
  const pg = createPgConnection({ clientUrl: dbUrl(db), schema: "public" });
  connections.push(pg);
  const config = {
    cwd: PKG_DIR,
    modulesConfig: { [Modules.USER]: { resolve, options } },
    sharedResourcesConfig: { database: { clientUrl: dbUrl(db), schema: "public" } },
    injectedDependencies: { [ContainerRegistrationKeys.PG_CONNECTION]: pg },
  };
  if (resolve === PKG_DIR) await freshModule(knex);
  else await knex.raw('DROP TABLE IF EXISTS public."user", public.invite, public.mikro_orm_migrations CASCADE');
  await MedusaAppMigrateUp(config);
  const app = await MedusaApp(config);
  await app.onApplicationStart();
  const invite = await app.modules[Modules.USER].createInvites({ email: "token@example.com" });
  await shutdown(app);
  return invite.token;
}

it("a token of this package verifies like one of @medusajs/user: same header, same claims", async () => {
  const ours = jwt.verify(await inviteFrom("um_medusa_token", PKG_DIR), SECRET, { complete: true });
  const medusa = jwt.verify(await inviteFrom("um_medusa_peer", "@medusajs/user", { jwt_secret: SECRET }), SECRET, { complete: true });
  assert.deepEqual(ours.header, { alg: "HS256", typ: "JWT" });
  assert.deepEqual(ours.header, medusa.header);
  assert.deepEqual(Object.keys(ours.payload), ["id", "email", "iat", "exp", "jti"]);
  assert.deepEqual(Object.keys(ours.payload), Object.keys(medusa.payload));
  assert.equal(ours.payload.exp - ours.payload.iat, medusa.payload.exp - medusa.payload.iat);
  assert.match(ours.payload.id, /^invite_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.match(medusa.payload.id, /^invite_[0-9A-HJKMNP-TV-Z]{26}$/);
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(ours.payload.jti, uuid);
  assert.match(medusa.payload.jti, uuid);
  assert.equal(ours.payload.email, medusa.payload.email);
  // and a wrong key is refused alike
  assert.throws(() => jwt.verify(jwt.sign(ours.payload, "another key"), SECRET), { message: "invalid signature" });
});
