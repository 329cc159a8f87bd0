-- The install step, as the README gives it: pg_trgm in a schema only a
-- superuser owns (not public, which belongs to the database owner), then
-- user_module. Tests that set up a database run this file.
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions;
CREATE EXTENSION user_module;
