-- The names of the extension's functions, from the catalog: the leak check
-- (test/leak/leak.sh) and the SQL fuzzer (test/fuzz/sql_fuzz.py) must each
-- call every one or say in the test why it leaves one out, so that a new
-- function cannot be forgotten.
SELECT DISTINCT p.proname
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_proc p ON p.oid = d.objid
WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'user_module')
  AND d.deptype = 'e'
ORDER BY 1;
