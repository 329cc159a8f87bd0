// The module's migration (`medusa db:migrate`) on servers that are not ready
// for it, which test/run starts beside the main cluster, on its socket
// directory (PGHOST): UM_NO_KEY_PORT preloads the library but has no key;
// UM_BARE_PORT is the same major without user_module's files. The migration must stop with
// a MedusaError that says what to do, before any invite can fail.
"use strict";
const assert = require("node:assert/strict");
const { describe, it } = require("node:test");
const { rejectsWith } = require("./lib/harness");
const { runMigrations } = require("../src");

const server = (port) => ({
  options: { database: { clientUrl: `postgres://postgres@${encodeURIComponent(process.env.PGHOST)}:${port}/postgres` } },
});

describe("the migration on a server that is not ready", () => {
  it("without a key: unexpected_state, naming the setting to set", async () => {
    await rejectsWith(
      runMigrations(server(process.env.UM_NO_KEY_PORT)),
      "unexpected_state",
      /^user_module: user_module has no signing key\. Set user_module\.jwt_secret_file \(or user_module\.jwt_secret\) in postgresql\.conf and reload the server\.$/
    );
  });

  it("without the extension's files: unexpected_state, saying how to install them", async () => {
    const { createPgConnection } = require("@medusajs/framework/utils");
    const knex = createPgConnection(server(process.env.UM_BARE_PORT).options.database);
    const { rows } = await knex.raw("SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'user_module'");
    await knex.destroy();
    assert.equal(rows[0].n, 0, "the server of UM_BARE_PORT has user_module's files: it cannot show their absence");
    await rejectsWith(
      runMigrations(server(process.env.UM_BARE_PORT)),
      "unexpected_state",
      /^user_module: the extension is not installed on this PostgreSQL server \(it is not in pg_available_extensions\)\./
    );
  });
});
