// Invite tokens as an application sees them through node-postgres, checked
// against npm's jsonwebtoken (the library Medusa signs with): it verifies our
// tokens with the same key, and our verifier refuses its forgeries.
//
// Needs PGHOST/PGPORT/PGUSER of a cluster with user_module preloaded, and the
// cluster's key in UM_JWT_SECRET (test/lib/cluster.sh exports both).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jwt = require('jsonwebtoken');
const { Client } = require('pg');

const secret = process.env.UM_JWT_SECRET;
const database = 'user_module_client_tokens';
let db;

async function expectCode(promise, code) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `expected SQLSTATE ${code}, got ${err.code}: ${err.message}`);
    return true;
  });
}

const validate = (token) => db.query('SELECT * FROM user_module.validate_invite_token($1)', [token]);

before(async () => {
  assert.ok(secret, 'UM_JWT_SECRET must hold the cluster key');
  const admin = new Client({ database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  db = new Client({ database });
  await db.connect();
  await db.query('CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions; CREATE EXTENSION user_module');
});

after(async () => {
  await db.end();
});

test('jsonwebtoken verifies our token with the same key, claims as Medusa writes them', async () => {
  const { rows } = await db.query(
    "SELECT * FROM user_module.create_invite('Node.Client@Example.com', '{\"via\": \"node\"}')");
  const invite = rows[0];
  const decoded = jwt.verify(invite.token, secret, { algorithms: ['HS256'], complete: true });
  assert.deepEqual(decoded.header, { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(Object.keys(decoded.payload), ['id', 'email', 'iat', 'exp', 'jti']);
  assert.equal(decoded.payload.id, invite.id);
  assert.equal(decoded.payload.email, 'Node.Client@Example.com');
  assert.equal(decoded.payload.exp - decoded.payload.iat, 86400);
  assert.equal(decoded.payload.exp * 1000, invite.expires_at.getTime());
  assert.match(decoded.payload.jti, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  // the dashboard's check on the decoded payload (reference §4.2)
  for (const k of ['id', 'jti']) assert.equal(typeof decoded.payload[k], 'string');
  for (const k of ['exp', 'iat']) assert.equal(typeof decoded.payload[k], 'number');
});

test('a token jsonwebtoken signs with the key and the current claims is accepted', async () => {
  const { rows } = await db.query("SELECT * FROM user_module.create_invite('interop@example.com')");
  const mine = jwt.decode(rows[0].token);
  const theirs = jwt.sign(mine, secret, { algorithm: 'HS256' });
  assert.equal(theirs, rows[0].token, 'same claims and key give the same bytes');
  const v = await validate(theirs);
  assert.equal(v.rows[0].id, rows[0].id);
});

test('forgeries are refused with 22U01', async () => {
  const { rows } = await db.query("SELECT * FROM user_module.create_invite('forged@example.com')");
  const claims = jwt.decode(rows[0].token);
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

  await expectCode(validate(jwt.sign(claims, 'another-key-that-is-long-enough-000000')), '22U01');
  await expectCode(validate(jwt.sign({ ...claims, jti: '00000000-0000-4000-8000-000000000000' }, secret)), '22U01');
  await expectCode(validate(jwt.sign({ ...claims, id: 'someone-else' }, secret)), '22U01');
  await expectCode(validate(jwt.sign(claims, secret, { algorithm: 'HS512' })), '22U01');
  await expectCode(validate(jwt.sign(claims, secret, { algorithm: 'HS384' })), '22U01');
  await expectCode(validate(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`), '22U01');
  await expectCode(validate(jwt.sign(claims, secret, { header: { crit: ['exp'] } })), '22U01');
  await expectCode(validate(''), '22U01');
  await expectCode(validate(null), '22U01');
});

test('an expired token is 22U02, after the signature checked out', async () => {
  const { rows } = await db.query("SELECT * FROM user_module.create_invite('late@example.com')");
  const claims = jwt.decode(rows[0].token);
  const expired = jwt.sign({ ...claims, iat: claims.iat - 100000, exp: claims.iat - 10 }, secret);
  await expectCode(validate(expired), '22U02');
  // the same claims under another key stay 22U01: expiry is not revealed to forgers
  await expectCode(validate(jwt.sign({ ...claims, exp: claims.iat - 10 }, 'x'.repeat(40))), '22U01');
});

test('refresh kills the old token; accept takes the invite email; a second accept is 22U03', async () => {
  const { rows } = await db.query("SELECT * FROM user_module.create_invite('joiner@example.com')");
  const old = rows[0].token;
  const fresh = (await db.query('SELECT * FROM user_module.refresh_invite_tokens($1)', [[rows[0].id]])).rows[0];
  assert.notEqual(fresh.token, old);
  jwt.verify(fresh.token, secret);
  await expectCode(validate(old), '22U01');
  const user = (await db.query('SELECT * FROM user_module.accept_invite($1, $2)', [fresh.token, 'Jo'])).rows[0];
  assert.equal(user.email, 'joiner@example.com');
  assert.equal(user.first_name, 'Jo');
  await expectCode(db.query('SELECT * FROM user_module.accept_invite($1)', [fresh.token]), '22U03');
});
