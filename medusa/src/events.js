// The events Medusa's User Module (@medusajs/user 2.21.2) hands to the event
// bus, built with Medusa's own helpers so that names, payloads, metadata and
// grouping are exactly Medusa's: one message per row (user.user.created,
// user.invite.updated, ...), plus one user.user.invite.token_generated for
// invites, whose id is an array when there are several. They are emitted once,
// after the call succeeded, in one eventBus.emit(messages, { internal: true })
// as Medusa's @EmitEvents does. user_module's own outbox events are separate:
// the SQL functions write those in the call's transaction.
"use strict";
const { MessageAggregator, moduleEventBuilderFactory, Modules, UserEvents } = require("@medusajs/framework/utils");

// The aggregator is made at the first event: reads have none.
function collector(sharedContext = {}) {
  let context = null;
  const add = (object, action, rows, eventName) => {
    context ??= { ...sharedContext, messageAggregator: sharedContext.messageAggregator ?? new MessageAggregator() };
    moduleEventBuilderFactory({ source: Modules.USER, object, action, eventName })({ data: rows, sharedContext: context });
  };
  return {
    // one message per row
    each(object, action, rows) {
      for (const row of rows) add(object, action, [{ id: row.id }]);
    },
    // one message for all rows
    tokenGenerated(action, rows) {
      add("invite", action, rows.map((r) => ({ id: r.id })), UserEvents.INVITE_TOKEN_GENERATED);
    },
    async emit(eventBus) {
      const aggregator = context?.messageAggregator;
      if (!eventBus || !aggregator || aggregator.count() === 0) return;
      const groups = aggregator.getMessages();
      aggregator.clearMessages();
      await Promise.all(Object.values(groups).map((messages) => eventBus.emit(messages, { internal: true })));
    },
  };
}

module.exports = { collector };
