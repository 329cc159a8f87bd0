// The connection and transaction a call runs in. The module has no pool of
// its own: it uses the knex connection the Medusa application shares between
// its modules (ContainerRegistrationKeys.PG_CONNECTION). A call joins the
// caller's transaction when the shared context carries one. Otherwise a call
// of one statement runs on its own: every user_module function is one
// statement that writes its rows and its outbox events together, so it needs
// no BEGIN and COMMIT around it (two round trips saved per call); a call of
// several statements opens a transaction.
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

// The statements come from this package only, written with "?" for each
// value; pg takes "$1", "$2". Converted once per statement, and numbered so
// that, with the module option prepared_statements, each can be a named
// prepared statement on every connection it runs on.
const statements = new Map();
function statementOf(sql) {
  let statement = statements.get(sql);
  if (!statement) {
    let n = 0;
    statement = { text: sql.replace(/\?/g, () => `$${++n}`), name: `user_module_${statements.size + 1}` };
    statements.set(sql, statement);
  }
  return statement;
}

// One statement on the pg connection under knex: the pool's, or the caller's
// transaction's (knex hands a transaction's own connection to whoever asks its
// client). knex's query builder is not needed for statements that are
// complete already, and would cost a rewrite of the text per call.
async function rowsOf(runner, sql, values = [], prepared = false) {
  const { text, name } = statementOf(sql);
  const connection = await runner.client.acquireConnection();
  try {
    return (await connection.query(prepared ? { name, text, values } : { text, values })).rows;
  } finally {
    await runner.client.releaseConnection(connection);
  }
}

// One service call's statements. Every value travels as a bind parameter.
class Call {
  constructor(knex, sharedContext, prepared) {
    this.knex = knex;
    this.runner = callersTransaction(sharedContext);
    this.joined = this.runner !== null;
    this.prepared = prepared;
  }

  // one statement, in the call's transaction if it has one
  query(sql, bindings) {
    return rowsOf(this.runner ?? this.knex, sql, bindings, this.prepared);
  }

  // A write whose failure is explained by reading afterwards (which value
  // was taken, which ids are missing): explain(err) returns the error to
  // throw. In the caller's transaction the write runs under a savepoint,
  // since a failed statement would leave nothing readable until its rollback.
  async write(sql, bindings, explain) {
    try {
      if (!this.joined) return await this.query(sql, bindings);
      return await this.runner.transaction((savepoint) => rowsOf(savepoint, sql, bindings, this.prepared));
    } catch (err) {
      throw await explain(err);
    }
  }

  // fn() with every statement in one transaction: the caller's, or one of
  // its own, committed when fn returns.
  async transaction(fn, isolationLevel) {
    if (this.runner) return fn();
    return this.knex.transaction(
      async (trx) => {
        this.runner = trx;
        try {
          return await fn();
        } finally {
          this.runner = null;
        }
      },
      isolationLevel ? { isolationLevel } : undefined
    );
  }
}

module.exports = { Call };
