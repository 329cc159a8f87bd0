// Types of the package: the module definition for Modules.USER, whose
// service implements IUserModuleService of @medusajs/framework 2.21.2.
import type { ModuleExports } from "@medusajs/framework/types";
import type { IUserModuleService } from "@medusajs/framework/types";

/** The module's options, in medusa-config's module entry. */
export interface UserModuleOptions {
  /** Send each statement as a named prepared statement (not behind pgbouncer before 1.21 in transaction mode). */
  prepared_statements?: boolean;
}

export interface UserModuleService extends IUserModuleService {}
export declare const UserModuleService: {
  new (cradle: Record<string, unknown>, options?: UserModuleOptions): UserModuleService;
};

/** MedusaModule's migration hook: creates pg_trgm (schema extensions) and user_module. */
export declare function runMigrations(args?: {
  options?: { database?: { clientUrl?: string } };
  container?: { resolve(key: string, opts?: { allowUnregistered?: boolean }): unknown };
}): Promise<{ name: string }[]>;

declare const definition: ModuleExports<typeof UserModuleService> & {
  linkable: Record<string, unknown>;
  runMigrations: typeof runMigrations;
  revertMigration: () => Promise<void>;
};
export default definition;
