// The module definition: Modules.USER, served by user_module's SQL functions.
// In medusa-config: modules: [{ resolve: "medusa-user-module-pg" }] (README).
"use strict";
const { Module, Modules } = require("@medusajs/framework/utils");
const { UserModuleService } = require("./service");
const { runMigrations, revertMigration, checkInstalledLoader } = require("./migration");

const definition = Module(Modules.USER, {
  service: UserModuleService,
  loaders: [checkInstalledLoader],
});

// MedusaModule runs these instead of MikroORM migrations (`medusa db:migrate`).
definition.runMigrations = runMigrations;
definition.revertMigration = revertMigration;

// The definition is the default export, as Medusa's own modules have it.
// Named exports sit next to it, not on it: Medusa walks the default export.
exports.default = definition;
exports.UserModuleService = UserModuleService;
exports.runMigrations = runMigrations;
