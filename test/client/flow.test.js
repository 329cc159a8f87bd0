// user_module as a Node.js application uses it through node-postgres: the
// invite flow across three connections (back office, listener, sign-up page),
// SQLSTATEs in err.code, jsonb and text[] parameters from JavaScript values,
// claim_events as a work queue drained by several workers, and transactions
// (with savepoints) as workflows.
//
// Needs PGHOST/PGPORT/PGUSER of a cluster with user_module preloaded
// (test/lib/cluster.sh exports them). Trust authentication lets the test log in as
// the roles it creates.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');

const database = 'user_module_client_flow';
// Login roles an application would use: the back office is a member of
// user_module_admin, the sign-up page of user_module_invitee. Neither is a
// superuser, so every privilege check of the contract applies to them.
const ADMIN = 'flow_back_office';
const INVITEE = 'flow_signup_page';
// A second channel, used only to know when the listener has caught up (see listen()).
const BARRIER = 'flow_test_barrier';

// The superuser connection: sets the database up and looks at the outbox
// table directly, which no application role may read.
let su;

before(async () => {
  const postgres = new Client({ database: 'postgres' });
  await postgres.connect();
  await postgres.query(`DROP DATABASE IF EXISTS ${database}`);
  for (const role of [ADMIN, INVITEE]) {
    await postgres.query(`DROP ROLE IF EXISTS ${role}`);
  }
  await postgres.query(`CREATE DATABASE ${database}`);
  await postgres.end();

  su = new Client({ database });
  await su.connect();
  await su.query('CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions; CREATE EXTENSION user_module');
  await su.query(`CREATE ROLE ${ADMIN} LOGIN IN ROLE user_module_admin`);
  await su.query(`CREATE ROLE ${INVITEE} LOGIN IN ROLE user_module_invitee`);
});

after(async () => {
  await su.end();
  // Leave the cluster as we found it: the roles are cluster-wide, the database is not.
  const postgres = new Client({ database: 'postgres' });
  await postgres.connect();
  await postgres.query(`DROP DATABASE IF EXISTS ${database}`);
  for (const role of [ADMIN, INVITEE]) {
    await postgres.query(`DROP ROLE IF EXISTS ${role}`);
  }
  await postgres.end();
});

// ---------------------------------------------------------------- helpers

// A connection as `user` that is closed when test `t` ends, pass or fail:
// node --test waits for open sockets, so a forgotten client would hang the run.
async function connect(t, user = ADMIN) {
  const client = new Client({ database, user });
  await client.connect();
  t.after(() => client.end());
  return client;
}

// Polls until cond() is truthy; fails with `what` after `ms` instead of hanging.
async function waitFor(cond, what, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function expectCode(promise, code) {
  let caught;
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `expected SQLSTATE ${code}, got ${err.code}: ${err.message}`);
    caught = err;
    return true;
  });
  return caught;
}

// A listening connection. `payloads` collects the parsed payloads of
// user_module_events in arrival order: {"id": <event id>, "name": ...}, no
// more (any role that can connect may LISTEN). Like a worker, the test reads
// the rest of an event from the outbox by its id: events() gives the
// notifications in arrival order with the outbox row's entity_id, and checks
// that each id names an event of that name.
//
// settle() proves a negative without sleeping: it commits a NOTIFY on a
// barrier channel from another connection and waits until the listener gets
// it. PostgreSQL queues notifications in commit order and delivers them in
// queue order, so once the barrier has arrived, every notification committed
// before it has arrived too; anything not in `payloads` by then was not sent.
async function listen(t) {
  const client = await connect(t);
  const payloads = [];
  const barriers = new Set();
  client.on('notification', (msg) => {
    if (msg.channel === 'user_module_events') payloads.push(JSON.parse(msg.payload));
    else if (msg.channel === BARRIER) barriers.add(msg.payload);
  });
  await client.query('LISTEN user_module_events');
  await client.query(`LISTEN ${BARRIER}`);
  // outbox rows by event id, read once per id (no test here claims the events
  // a listener is told about before it looks them up)
  const rows = new Map();
  const events = async () => {
    const received = [...payloads];
    const unknown = received.map((p) => p.id).filter((id) => !rows.has(id));
    if (unknown.length > 0) {
      const { rows: found } = await su.query(
        'SELECT e.id, e.name, e.entity_id FROM user_module.event e WHERE e.id = ANY($1::bigint[])',
        [unknown]);
      for (const r of found) rows.set(Number(r.id), r);
    }
    return received.map((p) => {
      assert.deepEqual(Object.keys(p).sort(), ['id', 'name'], 'a payload has the keys id and name only');
      assert.equal(typeof p.id, 'number');
      const row = rows.get(p.id);
      assert.ok(row, `notified event ${p.id} (${p.name}) is in the outbox`);
      assert.equal(row.name, p.name, `event ${p.id}: the payload's name is the outbox row's`);
      return { id: p.id, name: p.name, entity_id: row.entity_id };
    });
  };
  let n = 0;
  return {
    payloads,
    // the notifications about the given entities, in arrival order
    async of(entityIds) {
      return (await events()).filter((e) => entityIds.includes(e.entity_id));
    },
    async settle() {
      const mark = `barrier-${++n}`;
      await su.query('SELECT pg_notify($1, $2)', [BARRIER, mark]);
      await waitFor(() => barriers.has(mark), `the listener to receive ${mark}`);
    },
    // waits for the notification of the outbox's event `name` about
    // `entityId` (there must be exactly one), returns its payload
    async expect(name, entityId) {
      const { rows: ids } = await su.query(
        'SELECT e.id FROM user_module.event e WHERE e.name = $1 AND e.entity_id = $2', [name, entityId]);
      assert.equal(ids.length, 1, `one ${name} event for ${entityId} in the outbox`);
      const id = Number(ids[0].id);
      await waitFor(() => payloads.some((p) => p.id === id), `NOTIFY ${name} (event ${id}) for ${entityId}`);
      const payload = payloads.find((p) => p.id === id);
      assert.deepEqual(payload, { id, name });
      return payload;
    },
  };
}

// The outbox rows about the given entities, as the superuser sees them.
async function outbox(entityIds) {
  const { rows } = await su.query(
    'SELECT e.id::text AS id, e.name, e.entity_id FROM user_module.event e WHERE e.entity_id = ANY($1) ORDER BY e.id',
    [entityIds]);
  return rows;
}

// One claim as a worker does it: its own transaction, committed after the
// events are handled (here: returned), so a failure would give them back.
async function claimBatch(client, max) {
  await client.query('BEGIN');
  const { rows } = await client.query('SELECT * FROM user_module.claim_events($1)', [max]);
  await client.query('COMMIT');
  return rows;
}

// Empties the outbox, so a test that counts events starts from nothing.
async function drain(client) {
  while ((await claimBatch(client, 1000)).length > 0);
}

async function createUsers(client, users) {
  const { rows } = await client.query('SELECT * FROM user_module.create_users($1)', [JSON.stringify(users)]);
  return rows;
}

// ------------------------------------------------------------------ tests

test('invite flow: admin invites, listener hears it at COMMIT, invitee accepts via the link', async (t) => {
  const admin = await connect(t, ADMIN);
  const listener = await listen(t);
  const invitee = await connect(t, INVITEE);
  const email = 'New.Hire@Shop.Example';

  // 1. The back office creates the invite inside an explicit transaction.
  await admin.query('BEGIN');
  const { rows: [invite] } = await admin.query(
    'SELECT * FROM user_module.create_invite($1, $2)',
    [email, JSON.stringify({ role: 'editor', invited_by: 'ops' })]);
  assert.equal(invite.email, email);
  assert.equal(invite.accepted, false);
  assert.deepEqual(invite.metadata, { role: 'editor', invited_by: 'ops' });
  assert.equal(typeof invite.token, 'string', 'an admin gets the token');

  // Not committed yet: the listener has caught up and heard nothing.
  await listener.settle();
  assert.deepEqual(await listener.of([invite.id]), [], 'no notification before COMMIT');

  await admin.query('COMMIT');
  const created = await listener.expect('invite.created', invite.id);
  // the payload names the event, nothing else: no entity id, no data
  assert.deepEqual(Object.keys(created).sort(), ['id', 'name']);
  assert.equal(typeof created.id, 'number');
  assert.equal(created.name, 'invite.created');

  // 2. The application mails a link; the sign-up page parses the token back out of it.
  const link = `https://shop.example/invite?token=${encodeURIComponent(invite.token)}`;
  const token = new URL(link).searchParams.get('token');
  assert.equal(token, invite.token);

  // 3. The sign-up page (member of user_module_invitee only) checks the token...
  const { rows: [checked] } = await invitee.query('SELECT * FROM user_module.validate_invite_token($1)', [token]);
  assert.equal(checked.id, invite.id);
  assert.equal(checked.email, email, 'the form can show the email');
  // ...and may do nothing else.
  await expectCode(invitee.query('SELECT * FROM user_module.create_invite($1)', ['sneaky@shop.example']), '42501');
  await expectCode(invitee.query('SELECT * FROM user_module.list_users()'), '42501');

  // 4. The invitee sends the form: the user is created with the invite's email.
  const { rows: [user] } = await invitee.query(
    'SELECT * FROM user_module.accept_invite($1, $2, $3)', [token, 'Nina', 'Hire']);
  assert.equal(user.email, email);
  assert.equal(user.first_name, 'Nina');
  assert.equal(user.last_name, 'Hire');

  // 5. The back office finds the new user by the email (case-insensitively).
  const { rows: found } = await admin.query(
    'SELECT * FROM user_module.list_users($1)', [JSON.stringify({ email: [email.toLowerCase()] })]);
  assert.deepEqual(found.map((u) => [u.id, u.email]), [[user.id, email]]);

  // 6. The listener heard the whole flow, in commit order.
  await listener.expect('invite.accepted', invite.id);
  assert.deepEqual((await listener.of([invite.id, user.id])).map((e) => e.name),
    ['invite.created', 'user.created', 'invite.accepted']);

  // 7. The link is used up; a made-up token is refused the same way any bad token is.
  await expectCode(invitee.query('SELECT * FROM user_module.accept_invite($1, $2)', [token, 'Nina']), '22U03');
  const madeUp = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6Im5vcGUifQ.c2lnbmF0dXJl';
  await expectCode(invitee.query('SELECT * FROM user_module.accept_invite($1, $2)', [madeUp, 'Eve']), '22U01');
  await expectCode(invitee.query('SELECT * FROM user_module.validate_invite_token($1)', ['not a token']), '22U01');
});

test('errors carry the contract SQLSTATE in err.code, and never the email', async (t) => {
  const admin = await connect(t);
  const email = 'Taken.Person@Errors.Example';
  await admin.query('SELECT * FROM user_module.create_user($1)', [email]);
  await admin.query('SELECT * FROM user_module.create_invite($1)', ['pending@errors.example']);

  // The error must not repeat the address: messages end up in logs and HTTP
  // responses. PostgreSQL's own unique violation would put it in err.detail.
  const leaksNothing = (err, value) => {
    const fields = { message: err.message, ...err };
    for (const [field, text] of Object.entries(fields)) {
      if (typeof text === 'string') {
        assert.ok(!text.toLowerCase().includes(value.toLowerCase()), `err.${field} contains the email: ${text}`);
      }
    }
  };
  // The check itself works: a plain unique index does leak the value.
  await su.query('CREATE TEMP TABLE plain (email text UNIQUE)');
  await su.query('INSERT INTO plain VALUES ($1)', [email]);
  const plain = await expectCode(su.query('INSERT INTO plain VALUES ($1)', [email]), '23505');
  assert.throws(() => leaksNothing(plain, email), /err\.detail contains the email/);
  await su.query('DROP TABLE plain');

  // 23505: duplicates compare case-insensitively, for users and for invites
  let err = await expectCode(admin.query('SELECT * FROM user_module.create_user($1)', [email.toUpperCase()]), '23505');
  assert.equal(err.constraint, 'user_email_unique');
  leaksNothing(err, email);
  err = await expectCode(admin.query('SELECT * FROM user_module.create_invite($1)', [email.toLowerCase()]), '23505');
  leaksNothing(err, email);
  err = await expectCode(admin.query('SELECT * FROM user_module.create_invite($1)', ['PENDING@errors.example']), '23505');
  assert.equal(err.constraint, 'invite_email_unique');
  leaksNothing(err, 'pending@errors.example');

  // P0002: retrieving what does not exist
  await expectCode(admin.query('SELECT * FROM user_module.retrieve_user($1)', ['user_missing']), 'P0002');
  await expectCode(admin.query('SELECT * FROM user_module.retrieve_invite($1)', ['invite_missing']), 'P0002');

  // 22023: bad email, unknown key in a jsonb argument, negative skip
  await expectCode(admin.query('SELECT * FROM user_module.create_user($1)', ['no-at-sign.example']), '22023');
  await expectCode(createUsers(admin, [{ email: 'ok@errors.example', nickname: 'x' }]), '22023');
  await expectCode(admin.query('SELECT * FROM user_module.update_user((SELECT id FROM user_module.list_users($1)), $2)',
    [JSON.stringify({ email }), JSON.stringify({ nickname: 'x' })]), '22023');
  await expectCode(admin.query('SELECT * FROM user_module.list_users($1, $2)', ['{}', -1]), '22023');

  // None of the failures left anything behind.
  const { rows: [{ n }] } = await admin.query('SELECT user_module.count_users($1) AS n',
    [JSON.stringify({ email: ['ok@errors.example', 'no-at-sign.example'] })]);
  assert.equal(n, '0', 'bigint arrives as a string');
});

test('jsonb arrays via JSON.stringify, text[] as JS arrays, filters as JSON', async (t) => {
  const admin = await connect(t);
  // Deliberately not in alphabetical order, so "input order" is not an accident of sorting.
  const people = [
    { email: 'zoe@json.example', first_name: 'Zoe', metadata: { plan: 'pro', seats: 3, tags: ['a', 'b'] } },
    { email: 'grace@json.example', first_name: 'Grace', last_name: 'Hopper' },
    { email: 'grace.kelly@json.example', first_name: 'Grace', last_name: 'Kelly', metadata: { nested: { ok: true } } },
  ];

  // node-postgres turns a JS array into a PostgreSQL array literal ('{...}'),
  // which is not JSON: a jsonb argument that is an array must be stringified.
  await expectCode(admin.query('SELECT * FROM user_module.create_users($1)', [people]), '22P02');

  // With JSON.stringify, cast or not: rows in input order, metadata as objects.
  const first = (await admin.query('SELECT * FROM user_module.create_users($1::jsonb)',
    [JSON.stringify(people.slice(0, 1))])).rows;
  const rest = (await admin.query('SELECT * FROM user_module.create_users($1)',
    [JSON.stringify(people.slice(1))])).rows;
  const rows = [...first, ...rest];
  assert.deepEqual(rows.map((r) => r.email), people.map((p) => p.email));
  assert.deepEqual(rows.map((r) => r.metadata), people.map((p) => p.metadata ?? null));
  const ids = rows.map((r) => r.id);

  // Filters: q words must all match; email takes an array and ignores case.
  const list = async (filters, ...more) => (await admin.query(
    `SELECT * FROM user_module.list_users($1${more.map((_, i) => `, $${i + 2}`).join('')})`,
    [JSON.stringify(filters), ...more])).rows.map((r) => r.email);
  assert.deepEqual(await list({ q: 'grace json.example' }), ['grace@json.example', 'grace.kelly@json.example']);
  assert.deepEqual(await list({ q: 'grace', email: ['GRACE.KELLY@json.example', 'zoe@json.example'] }),
    ['grace.kelly@json.example']);
  assert.deepEqual(await list({ q: 'json.example' }, 1, 1), ['grace@json.example'], 'skip and take as numbers');
  const { rows: [{ n }] } = await admin.query('SELECT user_module.count_users($1) AS n',
    [JSON.stringify({ q: 'grace', email: ['grace@json.example', 'zoe@json.example'] })]);
  assert.equal(Number(n), 1);

  // text[] arguments take a JS array of strings as they are.
  const idsOf = async (fn, arg) =>
    (await admin.query(`SELECT * FROM user_module.${fn}($1) AS t(id)`, [arg])).rows.map((r) => r.id);
  assert.deepEqual((await idsOf('soft_delete_users', [ids[0], ids[1], 'no-such-id'])).sort(), [ids[0], ids[1]].sort());
  assert.deepEqual(await list({ q: 'json.example' }), ['grace.kelly@json.example']);
  assert.deepEqual(await idsOf('restore_users', [ids[1]]), [ids[1]]);
  assert.deepEqual(await list({ q: 'json.example' }), ['grace@json.example', 'grace.kelly@json.example']);
  assert.deepEqual((await idsOf('delete_users', ids)).sort(), [...ids].sort());
  assert.deepEqual(await list({ q: 'json.example' }, 0, null, 'id', true), [], 'hard-deleted, even with_deleted');
});

test('claim_events: four workers drain the outbox, each event exactly once; rollback redelivers; claims skip held rows', async (t) => {
  const admin = await connect(t);
  const workers = await Promise.all([1, 2, 3, 4].map(() => connect(t)));
  await drain(admin); // events of earlier tests

  // --- N events, drained concurrently by 4 workers in batches of 10
  const N = 200;
  await createUsers(admin, Array.from({ length: N }, (_, i) => ({ email: `worker${i}@queue.example` })));
  const expected = (await su.query('SELECT e.id::text AS id FROM user_module.event e ORDER BY e.id')).rows.map((r) => r.id);
  assert.equal(expected.length, N);

  const work = async (client) => {
    const got = [];
    for (;;) {
      await client.query('BEGIN');
      const { rows } = await client.query('SELECT * FROM user_module.claim_events(10)');
      // "Handle" the batch while its rows are still claimed, so the other
      // workers have to skip them rather than finish before this one starts.
      await client.query('SELECT pg_sleep(0.005)');
      await client.query('COMMIT');
      if (rows.length === 0) return got;
      const batch = rows.map((r) => r.id);
      assert.deepEqual(batch, [...batch].sort((a, b) => Number(a) - Number(b)), 'a batch is in id order');
      for (const r of rows) assert.deepEqual(r.data, { id: r.entity_id });
      got.push(...batch);
    }
  };
  const perWorker = await Promise.all(workers.map(work));
  t.diagnostic(`events per worker: ${perWorker.map((got) => got.length).join(', ')}`);
  const all = perWorker.flat();
  assert.equal(new Set(all).size, all.length, 'no event was delivered twice');
  assert.deepEqual([...all].sort((a, b) => Number(a) - Number(b)), expected, 'no event is missing');
  assert.ok(perWorker.filter((got) => got.length > 0).length >= 2,
    `the workers shared the queue (${perWorker.map((g) => g.length).join('/')})`);

  // --- a worker that rolls back gives its events back (at-least-once)
  const [a, b] = workers;
  await createUsers(admin, [{ email: 'retry1@queue.example' }, { email: 'retry2@queue.example' }]);
  await a.query('BEGIN');
  const lost = (await a.query('SELECT * FROM user_module.claim_events(10)')).rows.map((r) => r.id);
  assert.equal(lost.length, 2);
  await a.query('ROLLBACK'); // the worker failed while handling them
  assert.deepEqual((await claimBatch(b, 10)).map((r) => r.id), lost, 'the same events, again');

  // --- rows held by an open claim are skipped, not waited for
  await createUsers(admin, Array.from({ length: 20 }, (_, i) => ({ email: `held${i}@queue.example` })));
  const queued = (await su.query('SELECT e.id::text AS id FROM user_module.event e ORDER BY e.id')).rows.map((r) => r.id);
  assert.equal(queued.length, 20);
  await a.query('BEGIN');
  const held = (await a.query('SELECT * FROM user_module.claim_events(5)')).rows.map((r) => r.id);
  assert.deepEqual(held, queued.slice(0, 5));
  // a is still open. If b waited for a's rows it would stop here; the lock
  // timeout turns such a wait into an error (55P03) instead of a hang.
  await b.query('BEGIN');
  await b.query("SET LOCAL lock_timeout = '2s'");
  const next = (await b.query('SELECT * FROM user_module.claim_events(5)')).rows.map((r) => r.id);
  assert.deepEqual(next, queued.slice(5, 10), 'b got the next five');
  await b.query('COMMIT');
  await a.query('COMMIT');
  const rest = await claimBatch(b, 100);
  assert.deepEqual(rest.map((r) => r.id), queued.slice(10));
});

test('a transaction is a workflow: an error rolls back every step and its events; a savepoint undoes one step', async (t) => {
  const admin = await connect(t);
  const listener = await listen(t);
  const count = async () => {
    const { rows: [r] } = await admin.query(
      'SELECT user_module.count_users() AS users, user_module.count_invites() AS invites');
    return r;
  };
  const before = await count();

  // --- the third step fails: the first two go with it
  await admin.query('BEGIN');
  const { rows: [user] } = await admin.query('SELECT * FROM user_module.create_user($1, $2)', ['owner@flow.example', 'Olive']);
  const { rows: [invite] } = await admin.query('SELECT * FROM user_module.create_invite($1)', ['colleague@flow.example']);
  await expectCode(admin.query('SELECT * FROM user_module.create_user($1)', ['OWNER@flow.example']), '23505');
  await admin.query('ROLLBACK');

  assert.deepEqual(await count(), before, 'no user, no invite');
  assert.deepEqual(await outbox([user.id, invite.id]), [], 'no events');
  await listener.settle();
  assert.deepEqual(await listener.of([user.id, invite.id]), [], 'no notifications');

  // --- the same workflow, with the risky step behind a savepoint
  await admin.query('BEGIN');
  const { rows: [kept] } = await admin.query('SELECT * FROM user_module.create_user($1, $2)', ['owner@flow.example', 'Olive']);
  const { rows: [keptInvite] } = await admin.query('SELECT * FROM user_module.create_invite($1)', ['colleague@flow.example']);
  await admin.query('SAVEPOINT risky_step');
  // The step changes something (user.updated) before it fails...
  await admin.query('SELECT * FROM user_module.update_user($1, $2)', [kept.id, JSON.stringify({ metadata: { step: 3 } })]);
  await expectCode(admin.query('SELECT * FROM user_module.create_user($1)', ['Owner@Flow.Example']), '23505');
  // ...and rolling back to the savepoint undoes that change and its event, nothing else.
  await admin.query('ROLLBACK TO SAVEPOINT risky_step');
  const { rows: [later] } = await admin.query('SELECT * FROM user_module.create_invite($1)', ['another@flow.example']);
  await admin.query('COMMIT');

  const after = await count();
  assert.equal(Number(after.users), Number(before.users) + 1);
  assert.equal(Number(after.invites), Number(before.invites) + 2);
  const { rows: [stored] } = await admin.query('SELECT * FROM user_module.retrieve_user($1)', [kept.id]);
  assert.equal(stored.metadata, null, 'the update inside the savepoint is gone');

  const ids = [kept.id, keptInvite.id, later.id];
  const expected = [['user.created', kept.id], ['invite.created', keptInvite.id], ['invite.created', later.id]];
  assert.deepEqual((await outbox(ids)).map((e) => [e.name, e.entity_id]), expected);
  await listener.expect('invite.created', later.id);
  await listener.settle(); // a stray user.updated would have arrived by now
  assert.deepEqual((await listener.of(ids)).map((e) => [e.name, e.entity_id]), expected);
});
