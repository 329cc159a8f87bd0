// The connection and transaction a call runs in. The module has no pool of
// its own: it uses the knex connection the Medusa application shares between
// its modules (ContainerRegistrationKeys.PG_CONNECTION). A call joins the
// caller's transaction when the shared context carries one, and otherwise
// runs in a transaction of its own, so that a call's rows and the events
// user_module writes to its outbox commit or roll back together.
"use strict";

// The knex transaction in sharedContext.transactionManager, if any: Medusa's
// MikroORM-based modules put an EntityManager there, whose transaction is a
// knex transaction on the same shared connection; a caller of this module may
// also pass a knex transaction directly.
function callersTransaction(sharedContext) {
  const manager = sharedContext?.transactionManager;
  if (!manager) return null;
  if (typeof manager.getTransactionContext === "function") return manager.getTransactionContext() ?? null;
  if (manager.isTransaction === true && typeof manager.raw === "function") return manager;
  return null;
}

// knex puts the statement in front of the server's message ("SELECT ... -
// message"); the message alone is what user_module says and Medusa shows.
function serverMessage(err) {
  if (err && typeof err.message === "string" && err.code && err.message.startsWith("SELECT ")) {
    const at = err.message.indexOf(" - ");
    if (at >= 0) err.message = err.message.slice(at + 3);
  }
  return err;
}

// Runs fn(query) in the caller's transaction or in one of its own; query(sql,
// bindings) returns the rows. Every value travels as a bind parameter.
async function inTransaction(knex, sharedContext, fn, { isolationLevel } = {}) {
  const query = (trx) => async (sql, bindings = []) => {
    try {
      return (await trx.raw(sql, bindings)).rows;
    } catch (err) {
      throw serverMessage(err);
    }
  };
  const run = (trx) => fn(query(trx));
  const joined = callersTransaction(sharedContext);
  if (joined) return run(joined);
  return knex.transaction(run, isolationLevel ? { isolationLevel } : undefined);
}

module.exports = { inTransaction, callersTransaction };
