import assert from "node:assert/strict";
import { createPgParser } from "../../../src/sources/db/pg_parser.ts";
import { createStatementGuard } from "../../../src/sources/db/statement_guard.ts";
import { ANALYST_FUNCTIONS } from "../../../src/sources/db/sql_functions.ts";

const parser = await createPgParser();
const guard = createStatementGuard(parser, {});

function assertAllowed(check: (sql: string) => unknown, sql: string) {
  const result = check(sql) as { ok: boolean; reason?: string };
  assert.equal(result.ok, true, `${sql}: ${result.reason}`);
}

function assertRefused(check: (sql: string) => unknown, sql: string, reason: string | RegExp) {
  const result = check(sql) as { ok: boolean; reason?: string };
  assert.equal(result.ok, false, `should be refused: ${sql}`);
  if (typeof reason === "string") assert.equal(result.reason, reason, sql);
  else assert.match(result.reason ?? "", reason, sql);
}

Deno.test("statement guard: allowed read statements pass", () => {
  for (
    const sql of [
      "SELECT 1",
      "select * from orders where amount > 10 order by id limit 5",
      "SELECT c.name, sum(o.amount) FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name",
      "SELECT * FROM customers c LEFT JOIN LATERAL (SELECT * FROM orders o WHERE o.customer_id = c.id LIMIT 1) x ON true",
      "SELECT * FROM (SELECT id FROM orders) AS sub WHERE id IN (SELECT id FROM orders WHERE amount > 1)",
      "SELECT EXISTS (SELECT 1 FROM orders)",
      "WITH big AS (SELECT * FROM orders WHERE amount > 100) SELECT count(*) FROM big",
      "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT sum(n) FROM t",
      "SELECT 1 UNION SELECT 2",
      "SELECT id FROM orders INTERSECT SELECT id FROM orders EXCEPT SELECT 3",
      "VALUES (1, 'a'), (2, 'b')",
      "TABLE orders",
      "EXPLAIN SELECT * FROM orders",
      "EXPLAIN (FORMAT JSON) SELECT * FROM orders",
      "EXPLAIN (COSTS off, VERBOSE) SELECT 1",
      "SHOW work_mem",
      "SHOW ALL",
      "SELECT 1;",
      "-- leading comment\nSELECT /* inline */ 1; -- trailing comment",
      "/* a */ SELECT 1 /* b */ ; /* c */",
      "SELECT now(), pg_sleep(0), count(*) FROM orders",
      "SELECT $$COMMIT; DROP TABLE orders$$ AS text, 'DELETE FROM orders' AS t2",
      'SELECT "pg_read_file" FROM (SELECT 1 AS "pg_read_file") s',
    ]
  ) assertAllowed(guard, sql);
});

Deno.test("statement guard: attack corpus is refused with a reason", () => {
  const cases: [string, string | RegExp][] = [
    ["SELECT 1; COMMIT; DROP TABLE orders;", "Only one statement is allowed"],
    ["COMMIT; INSERT INTO orders VALUES (1); SELECT 1", "Only one statement is allowed"],
    ["ROLLBACK; DROP TABLE orders;", "Only one statement is allowed"],
    ["END; DELETE FROM orders;", "Only one statement is allowed"],
    [
      "COMMIT; SET default_transaction_read_only = off; DROP TABLE orders;",
      "Only one statement is allowed",
    ],
    ["COMMIT; BEGIN READ WRITE; UPDATE orders SET amount = 0;", "Only one statement is allowed"],
    ["/* c */ COMMIT; DELETE FROM orders;", "Only one statement is allowed"],
    ["SELECT 1; SELECT 2", "Only one statement is allowed"],
    [
      "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
      "Data-modifying WITH is not allowed (DELETE)",
    ],
    [
      "WITH a AS (SELECT 1), b AS (UPDATE orders SET amount=0 RETURNING 1) SELECT * FROM a",
      "Data-modifying WITH is not allowed (UPDATE)",
    ],
    [
      "WITH i AS (INSERT INTO orders VALUES (1) RETURNING id) SELECT 1 UNION SELECT id FROM i",
      "Data-modifying WITH is not allowed (INSERT)",
    ],
    [
      "SELECT * FROM (WITH m AS (DELETE FROM orders RETURNING 1) SELECT * FROM m) s",
      /^Data-modifying WITH is not allowed/,
    ],
    [
      "SELECT 1 WHERE EXISTS (WITH m AS (DELETE FROM orders RETURNING 1) SELECT 1 FROM m)",
      /^Data-modifying WITH is not allowed/,
    ],
    [
      "WITH m AS (MERGE INTO orders o USING customers c ON o.customer_id = c.id " +
      "WHEN MATCHED THEN DELETE RETURNING 1) SELECT * FROM m",
      "Data-modifying WITH is not allowed (MERGE)",
    ],
    ["SELECT * FROM orders FOR UPDATE", "Locking clauses (FOR UPDATE/SHARE) are not allowed"],
    ["SELECT * FROM orders FOR SHARE", "Locking clauses (FOR UPDATE/SHARE) are not allowed"],
    [
      "SELECT * FROM (SELECT * FROM orders FOR NO KEY UPDATE SKIP LOCKED) s",
      "Locking clauses (FOR UPDATE/SHARE) are not allowed",
    ],
    [
      "SELECT 1 UNION SELECT * FROM (SELECT 2 FROM orders FOR KEY SHARE) s",
      "Locking clauses (FOR UPDATE/SHARE) are not allowed",
    ],
    ["EXPLAIN ANALYZE DELETE FROM orders", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN ANALYSE SELECT 1", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN (ANALYZE) SELECT 1", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN (ANALYZE true) SELECT 1", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN (analyze on, buffers) SELECT 1", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN (FORMAT JSON, ANALYZE) SELECT 1", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN DELETE FROM orders", "Statement type not allowed: DELETE"],
    ["EXPLAIN UPDATE orders SET amount = 0", "Statement type not allowed: UPDATE"],
    ["EXPLAIN CREATE TABLE x AS SELECT 1", "Statement type not allowed: CREATE TABLE AS"],
    ["EXPLAIN SELECT * FROM orders FOR UPDATE", /^Locking clauses/],
    ["EXPLAIN SELECT pg_read_file('/etc/passwd')", "Function not allowed: pg_read_file"],
    ["COPY orders TO PROGRAM 'id'", "Statement type not allowed: COPY"],
    ["COPY (SELECT 1) TO STDOUT", "Statement type not allowed: COPY"],
    ["DO $$ BEGIN DELETE FROM orders; END $$", "Statement type not allowed: DO"],
    ["CALL p()", "Statement type not allowed: CALL"],
    ["SET statement_timeout = 0", "Statement type not allowed: SET"],
    ["SET LOCAL statement_timeout = 0", "Statement type not allowed: SET"],
    ["RESET ALL", "Statement type not allowed: RESET"],
    ["SELECT * INTO evil FROM orders", "Statement type not allowed: SELECT INTO"],
    ["CREATE TABLE x AS SELECT 1", "Statement type not allowed: CREATE TABLE AS"],
    ["CREATE MATERIALIZED VIEW x AS SELECT 1", /^Statement type not allowed: CREATE/],
    ["SELECT pg_read_file('/etc/passwd')", "Function not allowed: pg_read_file"],
    ["SELECT PG_CATALOG.PG_READ_FILE('/etc/passwd')", "Function not allowed: pg_read_file"],
    ['SELECT "pg_catalog"."pg_read_file"(\'x\')', "Function not allowed: pg_read_file"],
    ["SELECT * FROM pg_ls_dir('.')", "Function not allowed: pg_ls_dir"],
    ["SELECT * FROM pg_ls_waldir()", "Function not allowed: pg_ls_waldir"],
    ["SELECT pg_read_binary_file('x')", "Function not allowed: pg_read_binary_file"],
    ["SELECT pg_stat_file('x')", "Function not allowed: pg_stat_file"],
    ["SELECT lo_import('/etc/passwd')", "Function not allowed: lo_import"],
    ["SELECT lo_export(1, '/tmp/x')", "Function not allowed: lo_export"],
    ["SELECT pg_terminate_backend(pid) FROM pg_stat_activity", /pg_terminate_backend/],
    ["SELECT pg_cancel_backend(1)", "Function not allowed: pg_cancel_backend"],
    ["SELECT pg_reload_conf()", "Function not allowed: pg_reload_conf"],
    ["SELECT pg_rotate_logfile()", "Function not allowed: pg_rotate_logfile"],
    ["SELECT * FROM dblink('host=x', 'DELETE FROM orders') AS t(a int)", /dblink/],
    ["SELECT dblink_exec('DELETE FROM orders')", "Function not allowed: dblink_exec"],
    [
      "SELECT set_config('default_transaction_read_only','off',false)",
      "Function not allowed: set_config",
    ],
    ["SELECT query_to_xml('SELECT * FROM secrets', true, false, '')", /query_to_xml/],
    [
      "SELECT 1 FROM orders WHERE amount > (SELECT length(pg_read_file('x')))",
      "Function not allowed: pg_read_file",
    ],
    ["LOCK TABLE orders", "Statement type not allowed: LOCK"],
    ["PREPARE p AS SELECT 1", "Statement type not allowed: PREPARE"],
    ["EXECUTE p", "Statement type not allowed: EXECUTE"],
    ["DEALLOCATE ALL", "Statement type not allowed: DEALLOCATE"],
    ["DECLARE c CURSOR FOR SELECT 1", "Statement type not allowed: DECLARE CURSOR"],
    ["FETCH ALL FROM c", "Statement type not allowed: FETCH"],
    ["LISTEN ch", "Statement type not allowed: LISTEN"],
    ["NOTIFY ch", "Statement type not allowed: NOTIFY"],
    ["VACUUM orders", "Statement type not allowed: VACUUM"],
    ["ANALYZE orders", "Statement type not allowed: ANALYZE"],
    ["DISCARD ALL", "Statement type not allowed: DISCARD"],
    ["BEGIN", "Statement type not allowed: BEGIN"],
    ["COMMIT", "Statement type not allowed: COMMIT"],
    ["END", "Statement type not allowed: COMMIT"],
    ["ROLLBACK", "Statement type not allowed: ROLLBACK"],
    ["SAVEPOINT s", "Statement type not allowed: SAVEPOINT"],
    ["INSERT INTO orders VALUES (1)", "Statement type not allowed: INSERT"],
    ["UPDATE orders SET amount = 0", "Statement type not allowed: UPDATE"],
    ["DELETE FROM orders", "Statement type not allowed: DELETE"],
    ["MERGE INTO orders USING customers ON false WHEN MATCHED THEN DELETE", /MERGE/],
    ["DROP TABLE orders", "Statement type not allowed: DROP"],
    ["ALTER TABLE orders ADD COLUMN x int", "Statement type not allowed: ALTER TABLE"],
    ["TRUNCATE orders", "Statement type not allowed: TRUNCATE"],
    ["GRANT ALL ON orders TO public", "Statement type not allowed: GRANT"],
    ["", "No statement given"],
    ["   \n\t ", "No statement given"],
    ["-- just a comment", "No statement given"],
    ["/* only */ /* comments */", "No statement given"],
    [";", "No statement given"],
    ["SELEC 1", 'Syntax error at position 1: syntax error at or near "SELEC"'],
    ["SELECT 1 FROM", /^Syntax error at position \d+: syntax error at end of input$/],
    ["SELECT 'unterminated", /^Syntax error/],
  ];
  for (const [sql, reason] of cases) assertRefused(guard, sql, reason);
});

Deno.test("statement guard: the refusal names SELECT INTO inside a query", () => {
  assertRefused(
    guard,
    "SELECT * FROM orders UNION SELECT * INTO evil FROM orders",
    "Statement type not allowed: SELECT INTO",
  );
});

Deno.test("statement guard: table allow-list", async (t) => {
  const restricted = createStatementGuard(parser, {
    allowedTables: ["orders", "Customers", "sales.invoices"],
  });

  await t.step("listed tables pass, bare entries also match public.", () => {
    assertAllowed(restricted, "SELECT * FROM orders");
    assertAllowed(restricted, "SELECT * FROM ORDERS o JOIN customers c ON c.id = o.customer_id");
    assertAllowed(restricted, "SELECT * FROM public.orders");
    assertAllowed(restricted, "SELECT * FROM sales.invoices");
    assertAllowed(restricted, "EXPLAIN SELECT * FROM orders");
    assertAllowed(restricted, "SELECT 1");
    assertAllowed(restricted, "SHOW work_mem");
  });

  await t.step("unlisted tables are refused, wherever they appear", () => {
    assertRefused(restricted, "SELECT * FROM secrets", "Table not allowed: secrets");
    assertRefused(restricted, "EXPLAIN SELECT * FROM secrets", "Table not allowed: secrets");
    assertRefused(
      restricted,
      "SELECT * FROM orders WHERE id IN (SELECT order_id FROM secrets)",
      "Table not allowed: secrets",
    );
    assertRefused(
      restricted,
      "SELECT * FROM orders o, LATERAL (SELECT * FROM secrets) s",
      "Table not allowed: secrets",
    );
    assertRefused(
      restricted,
      "SELECT * FROM orders UNION ALL SELECT * FROM secrets",
      "Table not allowed: secrets",
    );
    assertRefused(
      restricted,
      "WITH x AS (SELECT * FROM secrets) SELECT * FROM x",
      "Table not allowed: secrets",
    );
    assertRefused(restricted, "TABLE secrets", "Table not allowed: secrets");
    assertRefused(restricted, "SELECT * FROM pg_catalog.pg_authid", /pg_catalog\.pg_authid/);
    assertRefused(restricted, "SELECT * FROM pg_user", "Table not allowed: pg_user");
  });

  await t.step("schemas must match", () => {
    // A bare entry stands for the default schema only.
    assertRefused(restricted, "SELECT * FROM other.orders", "Table not allowed: other.orders");
    // A qualified entry allows only the qualified reference.
    assertRefused(restricted, "SELECT * FROM invoices", "Table not allowed: invoices");
    assertRefused(restricted, "SELECT * FROM public.invoices", /public\.invoices/);
  });

  await t.step("quoted names are compared as written (Postgres does not fold them)", () => {
    assertAllowed(restricted, 'SELECT * FROM "orders"');
    assertRefused(restricted, 'SELECT * FROM "Orders"', "Table not allowed: Orders");
  });

  await t.step("a CTE named like a forbidden table is fine only when defined in the query", () => {
    assertAllowed(restricted, "WITH secrets AS (SELECT * FROM orders) SELECT * FROM secrets");
    assertAllowed(
      restricted,
      "WITH secrets AS (SELECT 1 AS a) SELECT * FROM orders WHERE id IN (SELECT a FROM secrets)",
    );
    assertAllowed(
      restricted,
      "WITH RECURSIVE secrets(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM secrets WHERE n < 3) " +
        "SELECT * FROM secrets",
    );
    // Schema-qualified: the real table, not the CTE.
    assertRefused(
      restricted,
      "WITH secrets AS (SELECT 1) SELECT * FROM public.secrets",
      "Table not allowed: public.secrets",
    );
    // The CTE is not in scope outside the subquery that defines it.
    assertRefused(
      restricted,
      "SELECT * FROM (WITH secrets AS (SELECT 1) SELECT * FROM secrets) a, secrets",
      "Table not allowed: secrets",
    );
    // Without RECURSIVE a CTE cannot see a later sibling: that name is the real table.
    assertRefused(
      restricted,
      "WITH a AS (SELECT * FROM secrets), secrets AS (SELECT 1) SELECT * FROM a",
      "Table not allowed: secrets",
    );
    // Without RECURSIVE a CTE cannot see itself either.
    assertRefused(
      restricted,
      "WITH secrets AS (SELECT * FROM secrets) SELECT * FROM secrets",
      "Table not allowed: secrets",
    );
  });

  await t.step("an empty allow-list allows every table", () => {
    const open = createStatementGuard(parser, { allowedTables: [] });
    assertAllowed(open, "SELECT * FROM secrets");
  });
});

Deno.test("statement guard: parse time per statement", () => {
  const sql =
    "WITH big AS (SELECT * FROM orders WHERE amount > 100) SELECT c.name, sum(b.amount) " +
    "FROM customers c JOIN big b ON b.customer_id = c.id GROUP BY c.name ORDER BY 2 DESC LIMIT 10";
  const runs = 500;
  const start = performance.now();
  for (let i = 0; i < runs; i++) assert.equal(guard(sql).ok, true);
  const perStatement = (performance.now() - start) / runs;
  console.log(`guard (parse + walk): ${perStatement.toFixed(3)} ms per statement`);
  // A generous bound: only catches a pathological regression.
  assert.ok(perStatement < 20, `${perStatement} ms`);
});

const analyst = createStatementGuard(parser, { allowedFunctions: ANALYST_FUNCTIONS });

Deno.test("statement guard (caller-written SQL): what an analyst writes passes the function allow-list", () => {
  for (
    const sql of [
      "SELECT count(*), sum(amount), avg(amount), min(amount), max(amount) FROM orders",
      "SELECT customer_id, string_agg(id::text, ',' ORDER BY id) FILTER (WHERE amount > 1) FROM orders GROUP BY 1",
      "SELECT id, row_number() OVER (PARTITION BY customer_id ORDER BY amount DESC), lag(amount) OVER w FROM orders WINDOW w AS (ORDER BY id)",
      "SELECT date_trunc('month', now()), extract(year FROM now()), now() AT TIME ZONE 'UTC', age(now())",
      "SELECT substring('abc' FROM 1 FOR 2), position('b' IN 'abc'), trim(BOTH 'x' FROM 'xax'), overlay('abc' PLACING 'z' FROM 2)",
      "SELECT coalesce(NULL, 1), nullif(1, 2), greatest(1, 2), least(1, 2), CASE WHEN true THEN 1 END",
      "SELECT 'a' LIKE 'b' ESCAPE 'c', 'a' SIMILAR TO 'b', 'a' IS NORMALIZED, collation for ('a')",
      "SELECT current_user, session_user, current_date, current_timestamp, localtimestamp, current_schema",
      "SELECT jsonb_build_object('a', 1) -> 'a', to_jsonb(o) FROM orders o",
      "SELECT g FROM generate_series(1, 10) g, unnest(ARRAY[1, 2]) u",
      "SELECT to_tsvector('english', 'a b') @@ plainto_tsquery('english', 'a')",
      "SELECT pg_catalog.lower('A'), 1 OPERATOR(pg_catalog.+) 2",
      "SELECT * FROM orders TABLESAMPLE bernoulli(10) REPEATABLE (1)",
      "SELECT o.id FROM orders o WHERE o.amount > (SELECT avg(amount) FROM orders)",
      "EXPLAIN SELECT count(*) FROM orders",
      "SHOW work_mem",
      // A CTE may take a denied catalog's name: it is the CTE that is read.
      "WITH pg_stats AS (SELECT 1 AS n) SELECT n FROM pg_stats",
      "SELECT table_name FROM information_schema.tables",
    ]
  ) assertAllowed(analyst, sql);
});

Deno.test("statement guard (caller-written SQL): every function off the allow-list is refused, wherever it hides", () => {
  const cases: [string, string | RegExp][] = [
    // Session advisory locks outlive the call and fill the cluster's lock table.
    [
      "SELECT count(pg_advisory_lock(g)) FROM generate_series(1, 20000) g",
      "Function not allowed: pg_advisory_lock",
    ],
    ["SELECT pg_advisory_lock_shared(1)", /pg_advisory_lock_shared/],
    ["SELECT pg_try_advisory_lock(1, 2)", /pg_try_advisory_lock/],
    ["SELECT pg_advisory_xact_lock(g) FROM generate_series(1, 9) g", /pg_advisory_xact_lock/],
    ['SELECT "pg_advisory_lock"(1)', /pg_advisory_lock/],
    ['SELECT U&"pg_adv\\0069sory_lock"(1)', /pg_advisory_lock/],
    ["SELECT pg_catalog.pg_advisory_lock(1)", /pg_advisory_lock/],
    ["WITH x AS (SELECT pg_advisory_lock(1)) SELECT * FROM x", /pg_advisory_lock/],
    ["SELECT 1 FROM orders ORDER BY pg_advisory_lock(id)", /pg_advisory_lock/],
    ["SELECT count(*) FILTER (WHERE pg_try_advisory_lock(id)) FROM orders", /pg_try_advisory_lock/],
    // Side effects a READ ONLY transaction does not stop.
    ["SELECT lo_from_bytea(0, 'x')", /lo_from_bytea/],
    ["SELECT lo_put(1, 0, 'x')", /lo_put/],
    ["SELECT lo_unlink(1)", /lo_unlink/],
    ["SELECT lo_create(0)", /lo_create/],
    ["SELECT pg_notify('c', 'x')", /pg_notify/],
    ["SELECT nextval('orders_id_seq')", /nextval/],
    ["SELECT setval('orders_id_seq', 1)", /setval/],
    [
      "SELECT * FROM pg_create_logical_replication_slot('s', 'test_decoding')",
      /pg_create_logical_replication_slot/,
    ],
    ["SELECT pg_create_physical_replication_slot('s')", /pg_create_physical_replication_slot/],
    ["SELECT pg_import_system_collations('pg_catalog')", /pg_import_system_collations/],
    ["SELECT pg_switch_wal()", /pg_switch_wal/],
    ["SELECT pg_backup_start('x')", /pg_backup_start/],
    ["SELECT pg_file_write('x', 'y', false)", /pg_file_write/],
    ["SELECT set_config('search_path', 'x', false)", /set_config/],
    ["SELECT current_setting('data_directory')", /current_setting/],
    ["SELECT setseed(0.5)", /setseed/],
    // SQL run from text, past every check here.
    ["SELECT ts_rewrite('a'::tsquery, 'SELECT pg_read_file(''x'')')", /ts_rewrite/],
    ["SELECT ts_stat('SELECT 1')", /ts_stat/],
    ["SELECT query_to_xml('SELECT 1', true, true, '')", /query_to_xml/],
    ["SELECT dblink_exec('dbname=x', 'DELETE FROM orders')", /dblink_exec/],
    ["SELECT xpath('/a', '<a/>')", /xpath/],
    // Catalog set-returning functions read what no table allow-list names.
    ["SELECT * FROM pg_stat_get_activity(NULL)", /pg_stat_get_activity/],
    ["SELECT * FROM pg_hba_file_rules()", /pg_hba_file_rules/],
    ["SELECT * FROM pg_show_all_file_settings()", /pg_show_all_file_settings/],
    ["SELECT * FROM pg_ls_dir('.')", /pg_ls_dir/],
    ["SELECT pg_terminate_backend(pid) FROM orders", /pg_terminate_backend/],
    ["SELECT version()", /version/],
    // Credentials, the server's files, large object data and sampled values, as relations.
    ["SELECT rolpassword FROM pg_authid", "Table not allowed: pg_authid"],
    ["SELECT * FROM pg_catalog.pg_shadow", "Table not allowed: pg_shadow"],
    ["SELECT * FROM pg_hba_file_rules", "Table not allowed: pg_hba_file_rules"],
    ["SELECT * FROM PG_CATALOG.PG_FILE_SETTINGS", "Table not allowed: pg_file_settings"],
    ["SELECT data FROM pg_largeobject", "Table not allowed: pg_largeobject"],
    [
      "SELECT most_common_vals FROM pg_stats WHERE tablename = 'secret'",
      "Table not allowed: pg_stats",
    ],
    ["SELECT query FROM pg_stat_activity", "Table not allowed: pg_stat_activity"],
    [
      "WITH x AS (SELECT * FROM pg_user_mappings) SELECT * FROM x",
      "Table not allowed: pg_user_mappings",
    ],
    ["SELECT has_table_privilege('orders', 'select')", /has_table_privilege/],
    // A function of another schema, even with an allowed name.
    ["SELECT public.count(*) FROM orders", "Function not allowed: public.count"],
    ['SELECT "Count"(*) FROM orders', "Function not allowed: Count"],
    ["SELECT 1 OPERATOR(public.+) 2", "Operator not allowed: public.+"],
    ["SELECT * FROM orders TABLESAMPLE system_time(1000)", /Sampling method not allowed/],
    // Inside every kind of clause.
    ["EXPLAIN SELECT pg_advisory_lock(1)", /pg_advisory_lock/],
    ["SELECT * FROM orders o, LATERAL (SELECT lo_create(o.id)) x", /lo_create/],
    ["SELECT (SELECT max(x) FROM (SELECT pg_notify('a', 'b') AS x) s)", /pg_notify/],
    ["SELECT 1 UNION SELECT pg_advisory_lock(2)", /pg_advisory_lock/],
    ["VALUES (pg_advisory_lock(1))", /pg_advisory_lock/],
    [
      "SELECT id FROM orders GROUP BY id HAVING bool_and(pg_try_advisory_lock(id))",
      /pg_try_advisory_lock/,
    ],
    ["SELECT sum(id) OVER (ORDER BY pg_advisory_lock(id)) FROM orders", /pg_advisory_lock/],
    ["SELECT * FROM ROWS FROM (generate_series(1, 2), pg_ls_dir('.')) x", /pg_ls_dir/],
    ["SELECT 1 -- comment\r, pg_advisory_lock(1)", /pg_advisory_lock/],
    ["SELECT 1\0; SELECT pg_advisory_lock(1)", "The text contains a NUL character"],
  ];
  for (const [sql, reason] of cases) assertRefused(analyst, sql, reason);
});

Deno.test("statement guard: the operator's SQL is refused the families no transaction contains", () => {
  for (
    const [sql, reason] of [
      ["SELECT pg_advisory_lock(1)", /pg_advisory_lock/],
      ["SELECT lo_from_bytea(0, 'x')", /lo_from_bytea/],
      ["SELECT pg_notify('c', 'x')", /pg_notify/],
      ["SELECT nextval('s')", /nextval/],
      ["SELECT ts_rewrite('a'::tsquery, 'SELECT 1')", /ts_rewrite/],
      ["SELECT pg_drop_replication_slot('s')", /pg_drop_replication_slot/],
    ] as const
  ) assertRefused(guard, sql, reason);
  // What is not in a denied family stays the operator's choice.
  assertAllowed(guard, "SELECT current_setting('work_mem'), version() FROM pg_stat_activity");
});

Deno.test("statement guard: an allowed text says what it is and gives the statement alone", () => {
  const cases: [string, string, string][] = [
    ["SELECT 1;", "select", "SELECT 1"],
    ["-- c\rSELECT 'é' ; -- after", "select", "SELECT 'é' "],
    ["/* x */ VALUES (1) ", "select", "VALUES (1) "],
    ["SELECT 1 -- trailing", "select", "SELECT 1 -- trailing"],
    ["  TABLE orders;\n", "select", "TABLE orders"],
    ["SELECT '😀', 'ü' ;", "select", "SELECT '😀', 'ü' "],
    ["EXPLAIN SELECT 1", "explain", "EXPLAIN SELECT 1"],
    ["SHOW work_mem;", "show", "SHOW work_mem"],
  ];
  for (const [sql, statement, text] of cases) {
    assert.deepEqual(analyst(sql), { ok: true, statement, text }, JSON.stringify(sql));
  }
});
