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
const { inTransaction } = require("./db");
const { toMedusaError } = require("./errors");
const { collector } = require("./events");
const { User, Invite, COLUMNS } = require("./models");
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

// Whether an update changed a row, as Medusa's ORM decides whether to emit
// *.updated: any column, updated_at included, differs.
const changed = (before, after, entity) =>
  COLUMNS[entity].some((c) => JSON.stringify(before[c]) !== JSON.stringify(after[c]));

class UserModuleService {
  constructor(cradle, options = {}) {
    this.knex_ = cradle[ContainerRegistrationKeys.PG_CONNECTION];
    if (!this.knex_)
      throw new MedusaError(MedusaError.Types.UNEXPECTED_STATE, "user_module: the shared database connection is not registered");
    // resolved lazily: awilix throws for a missing registration only when read
    this.cradle_ = cradle;
    this.options_ = options;
  }

  get eventBus_() {
    try {
      return this.cradle_[Modules.EVENT_BUS];
    } catch {
      return undefined;
    }
  }

  __joinerConfig() {
    return defineJoinerConfig(Modules.USER, { models: [User, Invite] });
  }

  // One service call: fn(query, events) in a transaction, its errors mapped
  // for `call`, then Medusa's events emitted (after the commit when the
  // transaction is ours).
  async call_(sharedContext, call, fn, txOptions) {
    const events = collector(sharedContext);
    let result;
    try {
      result = await inTransaction(this.knex_, sharedContext, (query) => fn(query, events), txOptions);
    } catch (err) {
      throw toMedusaError(err, call);
    }
    await events.emit(this.eventBus_);
    return result;
  }

  // ---- reads ----------------------------------------------------------------

  async retrieve_(entity, id, config = {}, sharedContext = {}) {
    if (typeof id !== "string")
      throw new MedusaError(MedusaError.Types.NOT_FOUND, `${ENTITIES[entity].object} - id must be defined`);
    const project = projector(config, entity);
    const call = { entity, op: "retrieve", id };
    // user_module refuses an empty id as bad input; for Medusa it is just not found
    if (id === "") throw toMedusaError({ code: "P0002" }, call);
    const fn = entity === "User" ? "retrieve_user" : "retrieve_invite";
    const [row] = await this.call_(sharedContext, call, (q) =>
      q(`SELECT * FROM user_module.${fn}(?, ?)`, [id, config.withDeleted === true])
    );
    return project(row);
  }

  async list_(entity, filters = {}, config = {}, sharedContext = {}, withCount = false) {
    const project = projector(config, entity);
    const f = JSON.stringify(toFilters(filters, entity));
    const { skip, take, orderBy, withDeleted } = toListArgs(config, entity);
    const name = ENTITIES[entity].plural;
    return this.call_(
      sharedContext,
      { entity, op: "list" },
      async (q) => {
        const rows = await q(`SELECT * FROM user_module.list_${name}(?::jsonb, ?, ?, ?, ?)`, [f, skip, take, orderBy, withDeleted]);
        if (!withCount) return rows.map(project);
        const [{ count }] = await q(`SELECT user_module.count_${name}(?::jsonb, ?) AS count`, [f, withDeleted]);
        return [rows.map(project), Number(count)];
      },
      // the page and the count see the same snapshot
      withCount ? { isolationLevel: "repeatable read" } : undefined
    );
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

  // ---- checks that give Medusa's messages ------------------------------------
  // user_module's errors never contain an email; Medusa's do. These reads, in
  // the call's transaction before the write, find the value to name. The
  // write is still checked by the database (a concurrent insert is caught
  // there, and mapped with the values given).

  async taken_(q, entity, items) {
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
      const rows = await q(`SELECT email, id FROM user_module.list_${name}(?::jsonb)`, [JSON.stringify({ email: emails })]);
      const live = new Map(rows.map((r) => [emailKey(r.email), r.id]));
      const hit = items.find((i) => live.has(emailKey(i.email)) && live.get(emailKey(i.email)) !== i.id);
      if (hit) return ["email", hit.email];
    }
    return null;
  }

  async takenIds_(q, entity, items) {
    const ids = items.map((i) => i.id).filter((id) => typeof id === "string" && id !== "");
    if (!ids.length) return null;
    const name = ENTITIES[entity].plural;
    const rows = await q(`SELECT id FROM user_module.list_${name}(?::jsonb, with_deleted => true)`, [JSON.stringify({ id: ids })]);
    return rows.length ? ["id", ids.find((id) => rows.some((r) => r.id === id))] : null;
  }

  duplicate_(entity, [field, value]) {
    return new MedusaError(MedusaError.Types.INVALID_DATA, `${entity} with ${field}: ${value}, already exists.`);
  }

  // ---- writes -----------------------------------------------------------------

  async createUsers(data, sharedContext = {}) {
    const input = asArray(data).map(withoutRoles);
    if (!input.length) return [];
    const call = { entity: "User", op: "create", values: { email: input.map((i) => i.email), id: input.map((i) => i.id) } };
    const rows = await this.call_(sharedContext, call, async (q, events) => {
      const taken = (await this.taken_(q, "User", input)) ?? (await this.takenIds_(q, "User", input));
      if (taken) throw this.duplicate_("User", taken);
      const rows = await q("SELECT * FROM user_module.create_users(?::jsonb)", [JSON.stringify(input)]);
      events.each("user", "created", rows);
      return rows;
    });
    return Array.isArray(data) ? rows : rows[0];
  }

  async createInvites(data, sharedContext = {}) {
    const input = asArray(data).map(withoutRoles);
    if (!input.length) return [];
    const call = { entity: "Invite", op: "create", values: { email: input.map((i) => i.email), id: input.map((i) => i.id) } };
    const rows = await this.call_(sharedContext, call, async (q, events) => {
      // Medusa's own check, with its message naming every user found
      const emails = input.map((i) => i.email).filter((e) => typeof e === "string");
      const users = emails.length
        ? await q("SELECT email FROM user_module.list_users(?::jsonb)", [JSON.stringify({ email: emails })])
        : [];
      if (users.length)
        throw new MedusaError(
          MedusaError.Types.INVALID_DATA,
          `User account for following email(s) already exist: ${users.map((u) => u.email).join(", ")}`
        );
      const taken = (await this.taken_(q, "Invite", input)) ?? (await this.takenIds_(q, "Invite", input));
      if (taken) throw this.duplicate_("Invite", taken);
      const rows = await q("SELECT * FROM user_module.create_invites(?::jsonb)", [JSON.stringify(input)]);
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
    const call = { entity, op: "update", values: {} };
    const rows = await this.call_(sharedContext, call, async (q, events) => {
      let updates = asArray(data).map(withoutRoles);
      if (isSelector) {
        const f = JSON.stringify(toFilters(data.selector, entity));
        const ids = (await q(`SELECT id FROM user_module.list_${name}(?::jsonb)`, [f])).map((r) => r.id);
        updates = ids.map((id) => ({ ...withoutRoles(data.data), id }));
      }
      if (!updates.length) return [];
      const ids = unique(updates.map((u) => u.id).filter((id) => typeof id === "string"));
      const before = new Map(
        (await q(`SELECT * FROM user_module.list_${name}(?::jsonb)`, [JSON.stringify({ id: ids })])).map((r) => [r.id, r])
      );
      const missing = ids.filter((id) => !before.has(id));
      if (missing.length)
        throw new MedusaError(MedusaError.Types.NOT_FOUND, `${entity} with id "${missing.join(", ")}" not found`);
      call.values.email = updates.map((u) => u.email).filter((e) => e !== undefined);
      const withEmail = updates.filter((u) => typeof u.email === "string");
      const taken = withEmail.length ? await this.taken_(q, entity, withEmail) : null;
      if (taken) throw this.duplicate_(entity, taken);
      const rows = await q(`SELECT * FROM user_module.update_${name}(?::jsonb)`, [JSON.stringify(updates)]);
      const after = new Map(rows.map((r) => [r.id, r]));
      events.each(object, "updated", [...after.values()].filter((r) => changed(before.get(r.id), r, entity)));
      if (entity === "Invite") events.tokenGenerated("token_generated", rows);
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
    const call = { entity, op: action, values: {} };
    const done = await this.call_(sharedContext, call, async (q, events) => {
      if (action === "restore") {
        const rows = await q(`SELECT * FROM user_module.list_${plural}(?::jsonb, with_deleted => true)`, [JSON.stringify({ id: list })]);
        const deleted = rows.filter((r) => r.deleted_at !== null);
        call.values.email = deleted.map((r) => r.email);
        const taken = deleted.length ? await this.taken_(q, entity, deleted) : null;
        if (taken) throw this.duplicate_(entity, taken);
      }
      const fn = { delete: "delete", softDelete: "soft_delete", restore: "restore" }[action];
      const result = (await q(`SELECT done.id FROM user_module.${fn}_${plural}(?::text[]) AS done(id)`, [list])).map((r) => r.id);
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
    const call = { entity: "Invite", op: "refresh" };
    return this.call_(sharedContext, call, async (q, events) => {
      // Medusa's message lists the missing ids in the order given
      const found = new Set(
        (await q("SELECT id FROM user_module.list_invites(?::jsonb)", [JSON.stringify({ id: ids })])).map((r) => r.id)
      );
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length)
        throw new MedusaError(MedusaError.Types.INVALID_DATA, `The following invites do not exist: ${missing.join(", ")}`);
      const rows = await q("SELECT * FROM user_module.refresh_invite_tokens(?::text[])", [ids]);
      events.each("invite", "updated", rows);
      events.tokenGenerated("created", rows);
      return rows;
    });
  }

  async validateInviteToken(token, sharedContext = {}) {
    const [row] = await this.call_(sharedContext, { entity: "Invite", op: "validate" }, (q) =>
      q("SELECT * FROM user_module.validate_invite_token(?)", [token ?? null])
    );
    return row;
  }
}

// Module() reads the models from here to build the linkable keys.
UserModuleService[MedusaServiceModelObjectsSymbol] = { User, Invite };

module.exports = { UserModuleService };
