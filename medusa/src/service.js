// The module service: Medusa's IUserModuleService (@medusajs/framework
// 2.21.2), every call delegated to user_module's SQL functions on the shared
// connection. Argument and return shapes are Medusa's (one object in, one out;
// an array in, an array out); errors become MedusaErrors (errors.js); Medusa's
// events go to the event bus after the call succeeded (events.js).
"use strict";
const {
  ContainerRegistrationKeys,
  MedusaError,
  MedusaServiceModelObjectsSymbol,
  Modules,
  defineJoinerConfig,
} = require("@medusajs/framework/utils");
const { Call } = require("./db");
const { toMedusaError } = require("./errors");
const { collector } = require("./events");
const { User, Invite } = require("./models");
const { toFilters, toListArgs, projector } = require("./query");

// What each entity is called in SQL, in events and in linkable keys.
const ENTITIES = {
  User: { plural: "users", object: "user", linkable: "user_id" },
  Invite: { plural: "invites", object: "invite", linkable: "invite_id" },
};

const asArray = (v) => (Array.isArray(v) ? v : [v]);
const unique = (values) => [...new Set(values)];
// How user_module compares emails: trimmed, case-insensitively.
const emailKey = (email) => (typeof email === "string" ? email.trim().toLowerCase() : email);

// `roles` is no column: Medusa's module drops it, its workflows put it in
// (acceptInviteWorkflow passes the invite's roles to createUsers). Every other
// key goes to user_module, which refuses unknown ones.
const withoutRoles = ({ roles, ...rest }) => rest;


class UserModuleService {
  constructor(cradle, options = {}) {
    this.knex_ = cradle[ContainerRegistrationKeys.PG_CONNECTION];
    if (!this.knex_)
      throw new MedusaError(MedusaError.Types.UNEXPECTED_STATE, "user_module: the shared database connection is not registered");
    // resolved at the first call, once: awilix throws for a missing
    // registration only when it is read
    this.cradle_ = cradle;
    this.options_ = options;
    // Named prepared statements save the server's parsing and planning on
    // every call after a connection's first, but a pooler in transaction mode
    // that does not track them (pgbouncer before 1.21) sends the next call to
    // a server connection that never saw them: off unless the option says so.
    this.prepared_ = options.prepared_statements === true;
  }

  get eventBus_() {
    if (this.eventBusResolved_ === undefined) {
      try {
        this.eventBusResolved_ = this.cradle_[Modules.EVENT_BUS] ?? null;
      } catch {
        this.eventBusResolved_ = null;
      }
    }
    return this.eventBusResolved_ ?? undefined;
  }

  __joinerConfig() {
    return defineJoinerConfig(Modules.USER, { models: [User, Invite] });
  }

  // One service call: fn(call, events) runs its statements (db.js), its
  // errors are mapped for `mapping` (errors.js), then Medusa's events are
  // emitted: only once the call succeeded, and after its statements committed
  // unless it runs in the caller's transaction.
  async call_(sharedContext, mapping, fn) {
    const events = collector(sharedContext);
    let result;
    try {
      result = await fn(new Call(this.knex_, sharedContext, this.prepared_), events);
    } catch (err) {
      throw toMedusaError(err, mapping);
    }
    await events.emit(this.eventBus_);
    return result;
  }

  // ---- reads ----------------------------------------------------------------

  async retrieve_(entity, id, config = {}, sharedContext = {}) {
    if (typeof id !== "string")
      throw new MedusaError(MedusaError.Types.NOT_FOUND, `${ENTITIES[entity].object} - id must be defined`);
    const project = projector(config, entity);
    const mapping = { entity, op: "retrieve", id };
    // user_module refuses an empty id as bad input; for Medusa it is just not found
    if (id === "") throw toMedusaError({ code: "P0002" }, mapping);
    const fn = entity === "User" ? "retrieve_user" : "retrieve_invite";
    const [row] = await this.call_(sharedContext, mapping, (call) =>
      call.query(`SELECT * FROM user_module.${fn}(?, ?)`, [id, config.withDeleted === true])
    );
    return project(row);
  }

  async list_(entity, filters = {}, config = {}, sharedContext = {}, withCount = false) {
    const project = projector(config, entity);
    const f = JSON.stringify(toFilters(filters, entity));
    const { skip, take, orderBy, withDeleted } = toListArgs(config, entity);
    const name = ENTITIES[entity].plural;
    return this.call_(sharedContext, { entity, op: "list" }, async (call) => {
      if (!withCount) {
        const rows = await call.query(`SELECT * FROM user_module.list_${name}(?::jsonb, ?, ?, ?, ?)`, [f, skip, take, orderBy, withDeleted]);
        return rows.map(project);
      }
      // the page and the count in one statement, so from one snapshot: a
      // row with the count alone when the page is empty
      const rows = await call.query(
        `SELECT c.n AS _count, l.* FROM user_module.count_${name}(?::jsonb, ?) AS c(n)
           LEFT JOIN LATERAL user_module.list_${name}(?::jsonb, ?, ?, ?, ?) WITH ORDINALITY AS l ON true
          ORDER BY l.ordinality`,
        [f, withDeleted, f, skip, take, orderBy, withDeleted]
      );
      const count = Number(rows[0]._count);
      const page = rows.filter((r) => r.id !== null).map(({ _count, ordinality, ...row }) => project(row));
      return [page, count];
    });
  }

  retrieveUser(id, config, sharedContext) {
    return this.retrieve_("User", id, config, sharedContext);
  }
  listUsers(filters, config, sharedContext) {
    return this.list_("User", filters, config, sharedContext);
  }
  listAndCountUsers(filters, config, sharedContext) {
    return this.list_("User", filters, config, sharedContext, true);
  }
  retrieveInvite(id, config, sharedContext) {
    return this.retrieve_("Invite", id, config, sharedContext);
  }
  listInvites(filters, config, sharedContext) {
    return this.list_("Invite", filters, config, sharedContext);
  }
  listAndCountInvites(filters, config, sharedContext) {
    return this.list_("Invite", filters, config, sharedContext, true);
  }

  // ---- Medusa's messages for refused writes -----------------------------------
  // user_module's errors never contain an email; Medusa's do. Only after a
  // write was refused do these reads find the value to name: a write that
  // succeeds costs one statement.

  // [field, value] of the first item whose email repeats one before it or is
  // a live row's (of another id), or null
  async taken_(call, entity, items) {
    const name = ENTITIES[entity].plural;
    const seen = new Set();
    for (const item of items) {
      const key = emailKey(item.email);
      if (key === undefined || key === null) continue;
      if (seen.has(key)) return ["email", item.email];
      seen.add(key);
    }
    const emails = items.map((i) => i.email).filter((e) => typeof e === "string");
    if (emails.length) {
      const rows = await call.query(`SELECT email, id FROM user_module.list_${name}(?::jsonb)`, [JSON.stringify({ email: emails })]);
      const live = new Map(rows.map((r) => [emailKey(r.email), r.id]));
      const hit = items.find((i) => live.has(emailKey(i.email)) && live.get(emailKey(i.email)) !== i.id);
      if (hit) return ["email", hit.email];
    }
    return null;
  }

  // ["id", id] of the first given id that a row, live or deleted, has
  async takenIds_(call, entity, items) {
    const ids = items.map((i) => i.id).filter((id) => typeof id === "string" && id !== "");
    if (!ids.length) return null;
    const name = ENTITIES[entity].plural;
    const rows = await call.query(`SELECT id FROM user_module.list_${name}(?::jsonb, with_deleted => true)`, [JSON.stringify({ id: ids })]);
    return rows.length ? ["id", ids.find((id) => rows.some((r) => r.id === id))] : null;
  }

  // the given ids that no live row has, in the order given
  async missing_(call, entity, ids) {
    const rows = await call.query(`SELECT id FROM user_module.list_${ENTITIES[entity].plural}(?::jsonb)`, [JSON.stringify({ id: ids })]);
    const found = new Set(rows.map((r) => r.id));
    return unique(ids.filter((id) => !found.has(id)));
  }

  duplicate_(entity, [field, value]) {
    return new MedusaError(MedusaError.Types.INVALID_DATA, `${entity} with ${field}: ${value}, already exists.`);
  }

  // ---- writes -----------------------------------------------------------------

  async createUsers(data, sharedContext = {}) {
    const input = asArray(data).map(withoutRoles);
    if (!input.length) return [];
    const mapping = { entity: "User", op: "create", values: { email: input.map((i) => i.email), id: input.map((i) => i.id) } };
    const rows = await this.call_(sharedContext, mapping, async (call, events) => {
      const rows = await call.write("SELECT * FROM user_module.create_users(?::jsonb)", [JSON.stringify(input)], async (err) => {
        if (err.code !== "23505") return err;
        const taken = (await this.taken_(call, "User", input)) ?? (await this.takenIds_(call, "User", input));
        return taken ? this.duplicate_("User", taken) : err;
      });
      events.each("user", "created", rows);
      return rows;
    });
    return Array.isArray(data) ? rows : rows[0];
  }

  async createInvites(data, sharedContext = {}) {
    const input = asArray(data).map(withoutRoles);
    if (!input.length) return [];
    const mapping = { entity: "Invite", op: "create", values: { email: input.map((i) => i.email), id: input.map((i) => i.id) } };
    const rows = await this.call_(sharedContext, mapping, async (call, events) => {
      const rows = await call.write("SELECT * FROM user_module.create_invites(?::jsonb)", [JSON.stringify(input)], async (err) => {
        if (err.code !== "23505") return err;
        // Medusa's own check comes first, its message naming every user found
        const emails = input.map((i) => i.email).filter((e) => typeof e === "string");
        const users = await call.query("SELECT email FROM user_module.list_users(?::jsonb)", [JSON.stringify({ email: emails })]);
        if (users.length)
          return new MedusaError(
            MedusaError.Types.INVALID_DATA,
            `User account for following email(s) already exist: ${users.map((u) => u.email).join(", ")}`
          );
        const taken = (await this.taken_(call, "Invite", input)) ?? (await this.takenIds_(call, "Invite", input));
        return taken ? this.duplicate_("Invite", taken) : err;
      });
      events.each("invite", "created", rows);
      events.tokenGenerated("token_generated", rows);
      return rows;
    });
    return Array.isArray(data) ? rows : rows[0];
  }

  // update{Users,Invites}(data | data[] | { selector, data })
  async update_(entity, data, sharedContext = {}) {
    const isSelector = data && !Array.isArray(data) && "selector" in data && "data" in data;
    const name = ENTITIES[entity].plural;
    const object = ENTITIES[entity].object;
    const mapping = { entity, op: "update", values: {} };
    // Medusa emits *.updated for the rows that changed; user_module moves
    // updated_at (to now(), the transaction's start) only for those
    const update = (call, updates) =>
      call.write(
        `SELECT u.*, u.updated_at = pg_catalog.now() AS _changed FROM user_module.update_${name}(?::jsonb) AS u`,
        [JSON.stringify(updates)],
        async (err) => {
          if (err.code === "P0002") {
            const ids = updates.map((u) => u.id).filter((id) => typeof id === "string");
            const missing = await this.missing_(call, entity, ids);
            if (missing.length) return new MedusaError(MedusaError.Types.NOT_FOUND, `${entity} with id "${missing.join(", ")}" not found`);
          }
          if (err.code === "23505") {
            const taken = await this.taken_(call, entity, updates.filter((u) => typeof u.email === "string"));
            if (taken) return this.duplicate_(entity, taken);
          }
          return err;
        }
      );
    const rows = await this.call_(sharedContext, mapping, async (call, events) => {
      let updates = asArray(data).map(withoutRoles);
      mapping.values.email = updates.map((u) => u.email).filter((e) => e !== undefined);
      let changedRows;
      if (isSelector) {
        // the rows the selector finds, updated in the same transaction
        changedRows = await call.transaction(async () => {
          const f = JSON.stringify(toFilters(data.selector, entity));
          const ids = (await call.query(`SELECT id FROM user_module.list_${name}(?::jsonb)`, [f])).map((r) => r.id);
          updates = ids.map((id) => ({ ...withoutRoles(data.data), id }));
          return updates.length ? update(call, updates) : [];
        });
      } else {
        changedRows = updates.length ? await update(call, updates) : [];
      }
      const rows = changedRows.map(({ _changed, ...row }) => row);
      events.each(object, "updated", changedRows.filter((r) => r._changed));
      if (entity === "Invite" && rows.length) events.tokenGenerated("token_generated", rows);
      return rows;
    });
    return Array.isArray(data) || isSelector ? rows : rows[0];
  }

  updateUsers(data, sharedContext) {
    return this.update_("User", data, sharedContext);
  }
  updateInvites(data, sharedContext) {
    return this.update_("Invite", data, sharedContext);
  }

  // delete (hard), softDelete and restore: by id or ids
  async byIds_(entity, action, ids, config = {}, sharedContext = {}) {
    const list = asArray(ids);
    const { plural, object, linkable } = ENTITIES[entity];
    const mapping = { entity, op: action, values: {} };
    const done = await this.call_(sharedContext, mapping, async (call, events) => {
      const fn = { delete: "delete", softDelete: "soft_delete", restore: "restore" }[action];
      const rows = await call.write(`SELECT done.id FROM user_module.${fn}_${plural}(?::text[]) AS done(id)`, [list], async (err) => {
        // a restore refused: a live row has the email of a row brought back
        if (action !== "restore" || err.code !== "23505") return err;
        const rows = await call.query(`SELECT * FROM user_module.list_${plural}(?::jsonb, with_deleted => true)`, [JSON.stringify({ id: list })]);
        const deleted = rows.filter((r) => r.deleted_at !== null);
        mapping.values.email = deleted.map((r) => r.email);
        const taken = deleted.length ? await this.taken_(call, entity, deleted) : null;
        return taken ? this.duplicate_(entity, taken) : err;
      });
      const result = rows.map((r) => r.id);
      // Medusa emits *.deleted for both deletes, and nothing on restore
      if (action !== "restore") events.each(object, "deleted", result.map((id) => ({ id })));
      return result;
    });
    if (action === "delete") return undefined;
    if (!done.length) return {};
    const keys = { [linkable]: done };
    const pick = config?.returnLinkableKeys;
    return Array.isArray(pick) ? Object.fromEntries(Object.entries(keys).filter(([k]) => pick.includes(k))) : keys;
  }

  deleteUsers(ids, sharedContext) {
    return this.byIds_("User", "delete", ids, {}, sharedContext);
  }
  softDeleteUsers(ids, config, sharedContext) {
    return this.byIds_("User", "softDelete", ids, config, sharedContext);
  }
  restoreUsers(ids, config, sharedContext) {
    return this.byIds_("User", "restore", ids, config, sharedContext);
  }
  deleteInvites(ids, sharedContext) {
    return this.byIds_("Invite", "delete", ids, {}, sharedContext);
  }
  softDeleteInvites(ids, config, sharedContext) {
    return this.byIds_("Invite", "softDelete", ids, config, sharedContext);
  }
  restoreInvites(ids, config, sharedContext) {
    return this.byIds_("Invite", "restore", ids, config, sharedContext);
  }

  // ---- tokens -----------------------------------------------------------------

  async refreshInviteTokens(inviteIds, sharedContext = {}) {
    const ids = asArray(inviteIds);
    if (!ids.length) return [];
    return this.call_(sharedContext, { entity: "Invite", op: "refresh" }, async (call, events) => {
      const rows = await call.write("SELECT * FROM user_module.refresh_invite_tokens(?::text[])", [ids], async (err) => {
        if (err.code !== "P0002") return err;
        // Medusa's message lists the missing ids in the order given
        const missing = await this.missing_(call, "Invite", ids);
        return missing.length
          ? new MedusaError(MedusaError.Types.INVALID_DATA, `The following invites do not exist: ${missing.join(", ")}`)
          : err;
      });
      events.each("invite", "updated", rows);
      events.tokenGenerated("created", rows);
      return rows;
    });
  }

  async validateInviteToken(token, sharedContext = {}) {
    const [row] = await this.call_(sharedContext, { entity: "Invite", op: "validate" }, (call) =>
      call.query("SELECT * FROM user_module.validate_invite_token(?)", [token ?? null])
    );
    return row;
  }
}

// Module() reads the models from here to build the linkable keys.
UserModuleService[MedusaServiceModelObjectsSymbol] = { User, Invite };

module.exports = { UserModuleService };
