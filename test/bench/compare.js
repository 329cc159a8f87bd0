// test/bench/compare.js: one side of compare.sh. Times, phase by phase, the
// calls an application makes to Medusa's User Module service (createUsers,
// retrieveUser, listUsers, ..., softDeleteUsers) against user_module's
// functions (side um), the raw-SQL floor (side raw: prepared statements on
// the raw.* tables of setup.sql, identical to the extension's), Medusa's own
// module (side medusa) or the checkout's Medusa module on user_module's
// functions (side bridge: medusa/, Medusa's interface through Medusa's module
// loader); medusa.js boots the last two, and gives both the same calls. Every
// side runs the same phases with the same data generator, sizes and SEED:
// node-postgres over TCP, each call awaited before the next, per-call latency
// from process.hrtime. Writes results[phase] = {ops, ops_per_s, median_ms, ...}
// as JSON. compare.sh runs it; by hand:
//   DB_URL=postgres://postgres@127.0.0.1:PORT/postgres node compare.js um|raw <out.json>
//   DB_URL=postgres://postgres@127.0.0.1:PORT/medusa MEDUSA_DIR=DIR node compare.js medusa <out.json>
//   DB_URL=postgres://postgres@127.0.0.1:PORT/bridge node compare.js bridge <out.json>
// (medusa, bridge: see medusa.js for DIR and the databases' tables)
"use strict";
const fs = require("fs");
const { Client } = require("pg");

const [SIDE, OUT] = process.argv.slice(2);
if (!["um", "raw", "medusa", "bridge"].includes(SIDE) || !OUT)
  throw new Error("usage: node compare.js um|raw|medusa|bridge <out.json>");
const SEED = Number(process.env.SEED || 12345);
// The sizes; accept is user_module's and raw SQL's only (Medusa's module service has no acceptInvite,
// nor has the bridge, which implements that interface).
const N = {
  createOne: Number(process.env.N_CREATE_ONE || 2000),
  createBulk: Number(process.env.N_CREATE_BULK || 10000),
  retrieve: Number(process.env.N_RETRIEVE || 5000),
  listQ: Number(process.env.N_LIST_Q || 1000),
  listCountEmail: Number(process.env.N_LIST_COUNT || 2000),
  update: Number(process.env.N_UPDATE || 2000),
  invites: Number(process.env.N_INVITES || 2000),
  validate: Number(process.env.N_VALIDATE || 5000),
  refresh: Number(process.env.N_REFRESH || 1000),
  del: Number(process.env.N_DELETE || 1000),
  accept: Number(process.env.N_ACCEPT || 2000),
};

// The data generator: the same SEED draws the same users, ids and emails on
// every side, as long as the draws come in the same order.
function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(SEED);
const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
const FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
  "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
  "Chris", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Ashley"];
const LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
  "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
  "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson"];
const Q_TERMS = ["son", "mar", "Lee", "jen", "ick", "rez", "wil", "a.garcia", "zz-nomatch", "Tay"];

function userInput(tag, i) {
  const f = pick(FIRST), l = pick(LAST);
  return { email: `${f}.${l}.${tag}${i}@example.com`.toLowerCase(), first_name: f, last_name: l,
    avatar_url: i % 3 === 0 ? `https://cdn.example.com/a/${tag}${i}.png` : null,
    metadata: i % 2 === 0 ? { source: "bench", i } : null };
}

// Each side: the operations as an application would call them, one
// statement per call (list and count: two, as Medusa's listAndCount), each a
// named prepared statement. jsonb arguments go as JSON text: node-postgres
// would send a JS array as a PostgreSQL array.
function umSide(db) {
  const run = async (name, text, values) => (await db.query({ name, text, values })).rows;
  return {
    tables: 'user_module."user", user_module.invite, user_module.event',
    schema: "user_module",
    events: "user_module.event",
    createUser: async (u) => (await run("create_user", "SELECT * FROM user_module.create_user($1, $2, $3, $4, $5)",
      [u.email, u.first_name, u.last_name, u.avatar_url, u.metadata]))[0],
    createUsers: (users) => run("create_users", "SELECT * FROM user_module.create_users($1)", [JSON.stringify(users)]),
    retrieveUser: (id) => run("retrieve_user", "SELECT * FROM user_module.retrieve_user($1)", [id]),
    listUsersQ: (q) => run("list_users_q", "SELECT * FROM user_module.list_users($1, 0, 20)", [JSON.stringify({ q })]),
    listAndCountUsersByEmail: async (email) => {
      const filters = JSON.stringify({ email });
      return [await run("list_users_email", "SELECT * FROM user_module.list_users($1)", [filters]),
        (await run("count_users_email", "SELECT user_module.count_users($1) AS count", [filters]))[0].count];
    },
    updateUser: (id, changes) => run("update_user", "SELECT * FROM user_module.update_user($1, $2)",
      [id, JSON.stringify(changes)]),
    createInvite: async (email) => (await run("create_invite", "SELECT * FROM user_module.create_invite($1)", [email]))[0],
    validateInvite: (inv) => run("validate_invite_token", "SELECT * FROM user_module.validate_invite_token($1)", [inv.token]),
    refreshInvites: (ids) => run("refresh_invite_tokens", "SELECT * FROM user_module.refresh_invite_tokens($1)", [ids]),
    acceptInvite: (inv, first, last) => run("accept_invite", "SELECT * FROM user_module.accept_invite($1, $2, $3)",
      [inv.token, first, last]),
    softDeleteUsers: (ids) => run("soft_delete_users", "SELECT * FROM user_module.soft_delete_users($1)", [ids]),
  };
}

// The floor: the same rows written with one plain statement per call, the
// events user_module writes inserted into raw.event by the same statement
// (same transaction). Without a ULID generator in SQL, ids come from a
// counter here, of the same shape ("user_" + 26 characters). What it leaves
// out is what the functions add: input checks, token signing and checking,
// NOTIFY of the events.
function rawSide(db) {
  const run = async (name, text, values) => (await db.query({ name, text, values })).rows;
  let lastId = 0;
  const newId = (prefix) => prefix + String(++lastId).padStart(26, "0");
  const events = (name, from) =>
    `ev AS (INSERT INTO raw.event (name, entity_id, data) SELECT '${name}', id, jsonb_build_object('id', id) FROM ${from})`;
  // escapes LIKE's wildcards: q words are literal in user_module
  const contains = (q) => `%${q.replace(/[\\%_]/g, "\\$&")}%`;
  return {
    tables: 'raw."user", raw.invite, raw.event',
    schema: "raw",
    events: "raw.event",
    createUser: async (u) => (await run("raw_create_user",
      `WITH u AS (INSERT INTO raw."user" (id, first_name, last_name, email, avatar_url, metadata)
                  VALUES ($1, $2, $3, $4, $5, $6) RETURNING *),
            ${events("user.created", "u")}
       SELECT * FROM u`,
      [newId("user_"), u.first_name, u.last_name, u.email, u.avatar_url, u.metadata]))[0],
    createUsers: (users) => run("raw_create_users",
      `WITH u AS (INSERT INTO raw."user" (id, first_name, last_name, email, avatar_url, metadata)
                  SELECT id, first_name, last_name, email, avatar_url, metadata
                    FROM jsonb_to_recordset($1::jsonb)
                         AS x(id text, first_name text, last_name text, email text, avatar_url text, metadata jsonb)
                  RETURNING *),
            ${events("user.created", "u")}
       SELECT * FROM u`,
      [JSON.stringify(users.map((u) => ({ id: newId("user_"), ...u })))]),
    retrieveUser: (id) => run("raw_retrieve_user", 'SELECT * FROM raw."user" WHERE id = $1 AND deleted_at IS NULL', [id]),
    // the expression of the trigram index, as user_module's q filter uses it
    listUsersQ: (q) => run("raw_list_users_q",
      `SELECT * FROM raw."user"
        WHERE deleted_at IS NULL
          AND (COALESCE(first_name, '') || ' ' || COALESCE(last_name, '') || ' ' || email) ILIKE $1
        ORDER BY id LIMIT 20`, [contains(q)]),
    listAndCountUsersByEmail: async (email) => [
      await run("raw_list_users_email",
        'SELECT * FROM raw."user" WHERE lower(email) = lower($1) AND deleted_at IS NULL ORDER BY id', [email]),
      (await run("raw_count_users_email",
        'SELECT count(*) FROM raw."user" WHERE lower(email) = lower($1) AND deleted_at IS NULL', [email]))[0].count],
    updateUser: (id, changes) => run("raw_update_user",
      `WITH u AS (UPDATE raw."user"
                     SET first_name = $2, metadata = COALESCE(metadata, '{}') || $3::jsonb, updated_at = now()
                   WHERE id = $1 AND deleted_at IS NULL RETURNING *),
            ${events("user.updated", "u")}
       SELECT * FROM u`, [id, changes.first_name, changes.metadata]),
    // create_invite also refuses the email of a live user
    createInvite: async (email) => (await run("raw_create_invite",
      `WITH i AS (INSERT INTO raw.invite (id, email, expires_at, token_jti, token_issued_at)
                  SELECT $1, $2, now() + interval '1 day', gen_random_uuid(), now()
                   WHERE NOT EXISTS (SELECT FROM raw."user" WHERE lower(email) = lower($2) AND deleted_at IS NULL)
                  RETURNING *),
            ${events("invite.created", "i")}
       SELECT * FROM i`, [newId("invite_"), email]))[0],
    // a primary-key read of the invite the token names (no token to check)
    validateInvite: (inv) => run("raw_validate_invite",
      "SELECT * FROM raw.invite WHERE id = $1 AND deleted_at IS NULL", [inv.id]),
    refreshInvites: (ids) => run("raw_refresh_invites",
      `WITH i AS (UPDATE raw.invite
                     SET token_jti = gen_random_uuid(), token_issued_at = now(),
                         expires_at = now() + interval '1 day', updated_at = now()
                   WHERE id = ANY ($1) AND deleted_at IS NULL RETURNING *),
            ${events("invite.resent", "i")}
       SELECT * FROM i ORDER BY id`, [ids]),
    // accept_invite's writes: the invite accepted and soft-deleted (if live,
    // unaccepted, unexpired), the user with its email, both events
    acceptInvite: (inv, first, last) => run("raw_accept_invite",
      `WITH i AS (UPDATE raw.invite SET accepted = true, deleted_at = now(), updated_at = now()
                   WHERE id = $1 AND deleted_at IS NULL AND NOT accepted AND expires_at > now()
                  RETURNING id, email),
            u AS (INSERT INTO raw."user" (id, first_name, last_name, email)
                  SELECT $2, $3, $4, email FROM i RETURNING *),
            ev AS (INSERT INTO raw.event (name, entity_id, data)
                   SELECT 'user.created', id, jsonb_build_object('id', id) FROM u
                   UNION ALL
                   SELECT 'invite.accepted', id, jsonb_build_object('id', id) FROM i)
       SELECT * FROM u`, [inv.id, newId("user_"), first, last]),
    softDeleteUsers: (ids) => run("raw_soft_delete_users",
      `WITH d AS (UPDATE raw."user" SET deleted_at = now(), updated_at = now()
                   WHERE id = ANY ($1) AND deleted_at IS NULL RETURNING id),
            ${events("user.deleted", "d")}
       SELECT id FROM d ORDER BY id`, [ids]),
  };
}

const now = () => process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;
// index floor(p × n) of the sorted latencies
function stats(lat) {
  const s = [...lat].sort((x, y) => x - y);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, median_ms: q(0.5), p95_ms: q(0.95), p99_ms: q(0.99), max_ms: s[s.length - 1] };
}

async function main() {
  const db = new Client({ connectionString: process.env.DB_URL });
  await db.connect();
  const side = SIDE === "um" ? umSide(db) : SIDE === "raw" ? rawSide(db) : await require("./medusa.js").moduleSide(SIDE);
  await db.query(`TRUNCATE ${side.tables}`);

  // A warm-up (Node's JIT, the session's plans, Medusa's pool), then fresh tables.
  // The update has phase d's shape: every side warms the statement it times.
  for (let i = 0; i < 100; i++) {
    const u = await side.createUser(userInput("warm", i));
    await side.retrieveUser(u.id);
    await side.listUsersQ("warm");
    await side.updateUser(u.id, { first_name: "W", metadata: { updated: i } });
  }
  for (let i = 0; i < 50; i++) {
    const inv = await side.createInvite(`warm-invite-${i}@example.org`);
    await side.validateInvite(inv);
    await side.refreshInvites([inv.id]);
  }
  await db.query(`TRUNCATE ${side.tables}`);
  await db.query(`VACUUM ANALYZE ${side.tables}`);

  const results = {};
  async function phase(name, ops, fn) {
    const lat = [];
    const t0 = now();
    await fn(lat);
    const wall = ms(t0, now());
    const st = lat.length ? stats(lat) : { n: 1, median_ms: wall };
    results[name] = { ops, wall_ms: wall, ops_per_s: (ops / wall) * 1000, ...st };
    const r = results[name];
    console.log(`${SIDE.padEnd(6)} ${name.padEnd(34)} ops=${String(ops).padStart(6)} wall=${wall.toFixed(0).padStart(7)}ms ` +
      `ops/s=${r.ops_per_s.toFixed(1).padStart(9)} med=${r.median_ms.toFixed(3)}ms p95=${(r.p95_ms ?? wall).toFixed(3)}ms`);
  }
  const timed = async (lat, f) => { const a = now(); const r = await f(); lat.push(ms(a, now())); return r; };
  // a read that finds nothing is an error for user_module and Medusa: check raw's too
  const one = (rows, what) => { if (rows.length !== 1) throw new Error(`${SIDE}: ${what} found ${rows.length} rows`); };

  const userIds = [];
  await phase("a_createUsers_single", N.createOne, async (lat) => {
    for (let i = 0; i < N.createOne; i++) {
      const u = await timed(lat, () => side.createUser(userInput("a", i)));
      userIds.push(u.id);
    }
  });

  const bulkInput = Array.from({ length: N.createBulk }, (_, i) => userInput("b", i));
  await phase("b_createUsers_bulk10000", N.createBulk, async () => {
    const created = await side.createUsers(bulkInput);
    for (const u of created) userIds.push(u.id);
  });
  await db.query(`ANALYZE ${side.schema}."user"`);
  const emails = (await db.query(`SELECT email FROM ${side.schema}."user" WHERE deleted_at IS NULL`)).rows.map((r) => r.email);

  await phase("c1_retrieveUser", N.retrieve, async (lat) => {
    for (let i = 0; i < N.retrieve; i++) {
      const id = userIds[Math.floor(rnd() * userIds.length)];
      one(await timed(lat, () => side.retrieveUser(id)), `user ${id}`);
    }
  });
  await phase("c2_listUsers_q_take20", N.listQ, async (lat) => {
    for (let i = 0; i < N.listQ; i++) {
      const q = Q_TERMS[i % Q_TERMS.length];
      await timed(lat, () => side.listUsersQ(q));
    }
  });
  await phase("c3_listAndCountUsers_email", N.listCountEmail, async (lat) => {
    for (let i = 0; i < N.listCountEmail; i++) {
      const email = emails[Math.floor(rnd() * emails.length)];
      const [rows, count] = await timed(lat, () => side.listAndCountUsersByEmail(email));
      one(rows, email);
      if (Number(count) !== 1) throw new Error(`${SIDE}: ${email} counted ${count} times`);
    }
  });

  await phase("d_updateUsers_single", N.update, async (lat) => {
    for (let i = 0; i < N.update; i++) {
      const id = userIds[i];
      await timed(lat, () => side.updateUser(id, { first_name: `Upd${i}`, metadata: { updated: i } }));
    }
  });

  const invites = [];
  await phase("e1_createInvites_single", N.invites, async (lat) => {
    for (let i = 0; i < N.invites; i++) {
      const inv = await timed(lat, () => side.createInvite(`invitee${i}@example.org`));
      invites.push(inv);
    }
  });
  await phase("e2_validateInviteToken", N.validate, async (lat) => {
    for (let i = 0; i < N.validate; i++) {
      const inv = invites[i % invites.length];
      one(await timed(lat, () => side.validateInvite(inv)), `invite ${inv.id}`);
    }
  });
  // a refresh changes the token: keep the new one for the accept phase (um)
  const byId = new Map(invites.map((inv) => [inv.id, inv]));
  const keepTokens = (rows) => { for (const r of rows) byId.get(r.id).token = r.token; };
  await phase("e3_refreshInviteTokens_single", N.refresh, async (lat) => {
    for (let i = 0; i < N.refresh; i++) {
      keepTokens(await timed(lat, () => side.refreshInvites([invites[i].id])));
    }
  });
  const refreshBatchIds = invites.slice(N.refresh, 2 * N.refresh).map((x) => x.id);
  await phase("e4_refreshInviteTokens_batch1000", refreshBatchIds.length, async () => {
    keepTokens(await side.refreshInvites(refreshBatchIds));
  });
  // accept the first N.accept invites, refreshed or not (Medusa's interface cannot)
  if (side.acceptInvite) {
    await phase("e5_acceptInvite", N.accept, async (lat) => {
      for (let i = 0; i < N.accept; i++) {
        one(await timed(lat, () => side.acceptInvite(invites[i], "Invitee", `No${i}`)), `accepting ${invites[i].id}`);
      }
    });
  }

  // bulk-created users, past the first 500
  const sdIds = userIds.slice(N.createOne + 500, N.createOne + 500 + N.del);
  await phase("f1_softDeleteUsers_single", N.del, async (lat) => {
    for (const id of sdIds) await timed(lat, () => side.softDeleteUsers([id]));
  });

  // Every side must have written the same rows, and user_module, raw SQL and
  // the bridge the same events (Medusa's module writes none; the bridge
  // accepts no invites).
  const accepted = side.acceptInvite ? N.accept : 0;
  const counts = (await db.query(
    `SELECT (SELECT count(*) FROM ${side.schema}."user") AS users,
            (SELECT count(*) FROM ${side.schema}."user" WHERE deleted_at IS NOT NULL) AS soft_deleted,
            (SELECT count(*) FROM ${side.schema}.invite) AS invites,
            (SELECT count(*) FROM ${side.schema}.invite WHERE accepted) AS accepted`)).rows[0];
  const events = side.events && Object.fromEntries((await db.query(
    `SELECT name, count(*)::int AS n FROM ${side.events} GROUP BY name ORDER BY name`)).rows.map((r) => [r.name, r.n]));
  const expected = Object.fromEntries(Object.entries({
    "invite.accepted": accepted, "invite.created": N.invites, "invite.resent": 2 * N.refresh,
    "user.created": N.createOne + N.createBulk + accepted, "user.deleted": N.del, "user.updated": N.update,
  }).filter(([, n]) => n > 0));
  if (side.events && JSON.stringify(events) !== JSON.stringify(expected)) {
    throw new Error(`${SIDE}: events ${JSON.stringify(events)}, expected ${JSON.stringify(expected)}`);
  }
  if (Number(counts.users) !== N.createOne + N.createBulk + accepted || Number(counts.soft_deleted) !== N.del
      || Number(counts.accepted) !== accepted) {
    throw new Error(`${SIDE}: final counts ${JSON.stringify(counts)}`);
  }
  if (side.close) await side.close();
  await db.end();

  const out = { when: new Date().toISOString(), side: SIDE, seed: SEED, N, final_counts: counts, events,
    node: process.version, results };
  fs.writeFileSync(OUT, JSON.stringify(out, null, 2));
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
