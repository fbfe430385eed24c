/**
 * Decides whether one SQL text may run through the opt-in `sql_query` tool.
 *
 * The decision is an allow-list over PostgreSQL's own parse tree (see
 * `pg_parser.ts`), never patterns over the text: comments, quoting, dollar
 * quotes and odd spacing cannot hide a statement from the parser that the
 * server itself would run. Only one read statement passes — `SELECT` (with
 * `VALUES` and set operations), `EXPLAIN` without `ANALYZE` of such a
 * `SELECT`, and `SHOW` — and the whole tree is walked, so a write tucked into
 * a CTE, a locking clause on a subquery or a `SELECT ... INTO` is found
 * wherever it sits.
 *
 * The guard is one layer, not the only one: queries still run in a read-only
 * transaction that is rolled back, with a statement timeout, on a session
 * that is reset after caller-written SQL. The guard adds what those cannot:
 * it refuses transaction control (`COMMIT; DROP ...` would escape the
 * read-only transaction); function families whose effects no transaction
 * contains (sql_functions.ts); for SQL a caller wrote, every function not on
 * the analyst allow-list; and, when configured, tables outside an allow-list.
 *
 * @example
 * ```ts
 * import { createPgParser } from "./pg_parser.ts";
 * import { createStatementGuard } from "./statement_guard.ts";
 * import assert from "node:assert/strict";
 *
 * const guard = createStatementGuard(await createPgParser(), { allowedTables: ["orders"] });
 * assert.deepEqual(guard("SELECT count(*) FROM orders;"), {
 *   ok: true,
 *   statement: "select",
 *   text: "SELECT count(*) FROM orders",
 * });
 * assert.deepEqual(guard("COMMIT; DROP TABLE orders"), {
 *   ok: false,
 *   reason: "Only one statement is allowed",
 * });
 * ```
 *
 * @module
 */
import { type PgParser, SqlSyntaxError } from "./pg_parser.ts";
import { isDeniedFunction, isDeniedRelation } from "./sql_functions.ts";

/**
 * The verdict on one SQL text; `reason` is a short sentence safe to show the
 * caller. An allowed text says what it is, from the parse tree: `statement`
 * (`SELECT` includes `VALUES`, `TABLE` and set operations) and `text`, the
 * one statement alone (without the comments, spaces and `;` after it), for
 * a caller that wraps it.
 */
export type GuardResult =
  | {
    readonly ok: true;
    readonly statement: "select" | "explain" | "show";
    readonly text: string;
  }
  | { readonly ok: false; readonly reason: string };

/** Options of {@linkcode createStatementGuard}. */
export interface StatementGuardOptions {
  /**
   * When non-empty, every table (or view) the statement names must be listed.
   * An entry `orders` allows `orders` and `public.orders`; an entry
   * `sales.orders` allows only the qualified `sales.orders`. Entries are
   * compared lower-cased, as Postgres folds unquoted names.
   */
  readonly allowedTables?: readonly string[];
  /**
   * When given, the statement may call only these functions (lower-cased
   * names; see `ANALYST_FUNCTIONS` in sql_functions.ts), unqualified or in
   * `pg_catalog`, and operators only from `pg_catalog`: the rule for SQL a
   * caller wrote. Without it only the denied families are refused (SQL an
   * operator wrote). Denied families are refused either way.
   */
  readonly allowedFunctions?: ReadonlySet<string>;
}

/** Table sampling methods built into PostgreSQL (an extension adds others). */
const SAMPLING_METHODS: ReadonlySet<string> = new Set(["system", "bernoulli"]);

/** Statements that write: nested in a CTE they are the "data-modifying WITH". */
const WRITE_STATEMENTS: ReadonlySet<string> = new Set([
  "InsertStmt",
  "UpdateStmt",
  "DeleteStmt",
  "MergeStmt",
]);

/** SQL names of statement nodes whose node name does not spell them. */
const STATEMENT_NAMES: Readonly<Record<string, string>> = {
  VariableSetStmt: "SET",
  VariableShowStmt: "SHOW",
  TransactionStmt: "transaction control",
  DeclareCursorStmt: "DECLARE CURSOR",
  ClosePortalStmt: "CLOSE",
  DeallocateStmt: "DEALLOCATE",
  CreateTableAsStmt: "CREATE TABLE AS",
  CreateStmt: "CREATE TABLE",
  DoStmt: "DO",
  CopyStmt: "COPY",
  CallStmt: "CALL",
};

/** `TransactionStmt.kind` → the command, so the reason names what was typed. */
const TRANSACTION_KINDS: Readonly<Record<string, string>> = {
  TRANS_STMT_BEGIN: "BEGIN",
  TRANS_STMT_START: "START TRANSACTION",
  TRANS_STMT_COMMIT: "COMMIT",
  TRANS_STMT_ROLLBACK: "ROLLBACK",
  TRANS_STMT_SAVEPOINT: "SAVEPOINT",
  TRANS_STMT_RELEASE: "RELEASE SAVEPOINT",
  TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO SAVEPOINT",
  TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
  TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
  TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
};

/** A node type name (PascalCase, ends in `Stmt`): field names are camelCase, so never match. */
const STATEMENT_NODE = /^[A-Z][A-Za-z]*Stmt$/;

type Node = Record<string, unknown>;

const refuse = (reason: string): GuardResult => ({ ok: false, reason });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The statement's own text: libpg_query gives its place in UTF-8 bytes (a length of 0: to the end). */
function statementText(sql: string, location = 0, length = 0): string {
  // deno-lint-ignore no-control-regex -- ASCII: bytes and UTF-16 units agree
  if (/^[\x00-\x7f]*$/.test(sql)) {
    return length ? sql.slice(location, location + length) : sql.slice(location);
  }
  const bytes = encoder.encode(sql);
  return decoder.decode(bytes.subarray(location, length ? location + length : undefined));
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The user-facing name of a statement node, e.g. `DeleteStmt` → `DELETE`. */
function statementName(type: string, fields: unknown): string {
  if (type === "TransactionStmt" && isNode(fields)) {
    return TRANSACTION_KINDS[String(fields.kind)] ?? "transaction control";
  }
  if (type === "VariableSetStmt" && isNode(fields) && String(fields.kind).startsWith("VAR_RESET")) {
    return "RESET";
  }
  if (type === "FetchStmt" && isNode(fields) && fields.ismove) return "MOVE";
  if (type === "VacuumStmt" && isNode(fields) && !fields.is_vacuumcmd) return "ANALYZE";
  const known = STATEMENT_NAMES[type];
  if (known) return known;
  // AlterTableStmt → ALTER TABLE
  return type.replace(/Stmt$/, "").replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
}

/** The single `{ Type: fields }` pair of a wrapped node. */
function unwrap(node: Node): [string, unknown] | undefined {
  const keys = Object.keys(node);
  return keys.length === 1 ? [keys[0], node[keys[0]]] : undefined;
}

/** `String` nodes of a name list (`funcname`, …) as plain strings. */
function nameParts(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((part) =>
    isNode(part) && isNode(part.String) && typeof part.String.sval === "string"
      ? part.String.sval
      : ""
  );
}

/** Whether an EXPLAIN option list turns on ANALYZE — refused whatever its value, to keep it simple. */
function hasAnalyze(options: unknown): boolean {
  if (!Array.isArray(options)) return false;
  return options.some((option) =>
    isNode(option) && isNode(option.DefElem) &&
    String(option.DefElem.defname).toLowerCase() === "analyze"
  );
}

/** Parses the allow-list into a lookup of `schema.table` and bare `table` keys. */
function tableAllowList(entries: readonly string[]): (schema: string, rel: string) => boolean {
  const qualified = new Set<string>();
  const bare = new Set<string>();
  for (const entry of entries) {
    const name = entry.trim().toLowerCase();
    if (name === "") continue;
    (name.includes(".") ? qualified : bare).add(name);
  }
  return (schema, rel) => {
    if (schema === "") return bare.has(rel);
    // A bare entry stands for the default schema only: `other.orders` is another table.
    return qualified.has(`${schema}.${rel}`) || (schema === "public" && bare.has(rel));
  };
}

/**
 * Creates the guard. It keeps `parser` (one WASM instance) and the
 * allow-list; each call parses and judges one SQL text synchronously.
 */
export function createStatementGuard(
  parser: PgParser,
  options: StatementGuardOptions = {},
): (sql: string) => GuardResult {
  const allowed = options.allowedTables?.some((t) => t.trim() !== "")
    ? tableAllowList(options.allowedTables)
    : undefined;
  const functions = options.allowedFunctions;

  /** Why a call of the function named `parts` (schema-qualified or not) is refused, if it is. */
  function judgeFunction(parts: readonly string[]): string | undefined {
    const name = (parts.at(-1) ?? "").toLowerCase();
    if (isDeniedFunction(name)) return `Function not allowed: ${name}`;
    if (!functions) return undefined;
    // Exact names here: the parser has folded unquoted ones, and a quoted
    // "Count" is another function than count.
    const schema = parts.length > 1 ? parts.at(-2)! : "pg_catalog";
    if (schema !== "pg_catalog") return `Function not allowed: ${schema}.${parts.at(-1)}`;
    if (!functions.has(parts.at(-1) ?? "")) return `Function not allowed: ${parts.at(-1)}`;
    return undefined;
  }

  /**
   * Walks every object and array below `value`. `ctes` holds the CTE names
   * visible here: an unqualified table reference to one of them reads the
   * CTE, not a table, so the allow-list does not apply to it.
   */
  function walk(value: unknown, ctes: ReadonlySet<string>): string | undefined {
    if (Array.isArray(value)) {
      for (const item of value) {
        const reason = walk(item, ctes);
        if (reason) return reason;
      }
      return undefined;
    }
    if (!isNode(value)) return undefined;

    // Field checks by name, so they hold whether a node is wrapped
    // (`{ SelectStmt: {...} }`) or inlined in a typed field (`larg`, `rel`).
    // SELECT ... INTO creates a table.
    if ("intoClause" in value && value.intoClause) {
      return "Statement type not allowed: SELECT INTO";
    }
    if (Array.isArray(value.lockingClause) && value.lockingClause.length > 0) {
      return "Locking clauses (FOR UPDATE/SHARE) are not allowed";
    }
    if (Array.isArray(value.funcname)) {
      const reason = judgeFunction(nameParts(value.funcname));
      if (reason) return reason;
    }
    if (functions) {
      // An operator named with its schema (`OPERATOR(s.+)`) runs that schema's function.
      if (typeof value.kind === "string" && value.kind.startsWith("AEXPR_")) {
        const parts = nameParts(value.name);
        if (parts.length > 1 && parts.at(-2)!.toLowerCase() !== "pg_catalog") {
          return `Operator not allowed: ${parts.join(".")}`;
        }
      }
      // TABLESAMPLE's method is a function too.
      if (Array.isArray(value.method) && "relation" in value) {
        const method = (nameParts(value.method).at(-1) ?? "").toLowerCase();
        if (!SAMPLING_METHODS.has(method)) return `Sampling method not allowed: ${method}`;
      }
    }
    // Only a RangeVar has `relname` in a raw parse tree.
    if (typeof value.relname === "string" && functions) {
      const schema = typeof value.schemaname === "string" ? value.schemaname : "";
      const isCte = schema === "" && ctes.has(value.relname);
      if (!isCte && (schema === "" || schema === "pg_catalog") && isDeniedRelation(value.relname)) {
        return `Table not allowed: ${value.relname}`;
      }
    }
    if (typeof value.relname === "string" && allowed) {
      const schema = typeof value.schemaname === "string" ? value.schemaname : "";
      // A catalog (`db.schema.table`) can only be the current database, so it is ignored.
      const isCte = schema === "" && ctes.has(value.relname);
      if (!isCte && !allowed(schema, value.relname)) {
        return `Table not allowed: ${schema ? `${schema}.` : ""}${value.relname}`;
      }
    }

    const entry = unwrap(value);
    if (entry && STATEMENT_NODE.test(entry[0]) && entry[0] !== "SelectStmt") {
      return WRITE_STATEMENTS.has(entry[0])
        ? `Data-modifying WITH is not allowed (${statementName(entry[0], entry[1])})`
        : `Statement type not allowed: ${statementName(entry[0], entry[1])}`;
    }

    if (isNode(value.withClause)) return walkWith(value, value.withClause, ctes);
    for (const child of Object.values(value)) {
      const reason = walk(child, ctes);
      if (reason) return reason;
    }
    return undefined;
  }

  /**
   * A query with a WITH clause: without RECURSIVE a CTE sees only the CTEs
   * before it (a later name there means a real table); with RECURSIVE each
   * sees all. The query body sees all of them.
   */
  function walkWith(query: Node, withClause: Node, outer: ReadonlySet<string>): string | undefined {
    const list = Array.isArray(withClause.ctes) ? withClause.ctes : [];
    const names = list.map((cte) =>
      isNode(cte) && isNode(cte.CommonTableExpr) ? String(cte.CommonTableExpr.ctename) : ""
    );
    const all = new Set([...outer, ...names]);
    for (const [i, cte] of list.entries()) {
      const visible = withClause.recursive ? all : new Set([...outer, ...names.slice(0, i)]);
      const reason = walk(cte, visible);
      if (reason) return reason;
    }
    for (const [key, child] of Object.entries(query)) {
      if (key === "withClause") continue;
      const reason = walk(child, all);
      if (reason) return reason;
    }
    return undefined;
  }

  return (sql: string): GuardResult => {
    // The parser (and the wire protocol) read text as C strings: what follows
    // a NUL would go unseen here.
    if (sql.includes("\0")) return refuse("The text contains a NUL character");
    let statements;
    try {
      statements = parser.parse(sql).stmts;
    } catch (error) {
      if (!(error instanceof SqlSyntaxError)) throw error;
      return refuse(
        error.position === undefined
          ? `Syntax error: ${error.message}`
          : `Syntax error at position ${error.position}: ${error.message}`,
      );
    }
    if (statements.length === 0) return refuse("No statement given");
    if (statements.length > 1) return refuse("Only one statement is allowed");

    const [only] = statements;
    const accept = (statement: "select" | "explain" | "show"): GuardResult => ({
      ok: true,
      statement,
      text: statementText(sql, only.stmt_location, only.stmt_len),
    });
    const top = unwrap(only.stmt);
    if (!top || !isNode(top[1])) return refuse("Statement not recognized");
    const [type, fields] = top;
    let query: unknown = only.stmt;
    if (type === "ExplainStmt") {
      if (hasAnalyze(fields.options)) return refuse("EXPLAIN ANALYZE is not allowed");
      // EXPLAIN only plans, but what it plans must itself be allowed: an
      // EXPLAIN of a write is refused like the write.
      const inner = isNode(fields.query) ? unwrap(fields.query) : undefined;
      if (!inner) return refuse("Statement not recognized");
      if (inner[0] !== "SelectStmt") {
        return refuse(`Statement type not allowed: ${statementName(inner[0], inner[1])}`);
      }
      query = fields.query;
    } else if (type === "VariableShowStmt") {
      return accept("show");
    } else if (type !== "SelectStmt") {
      return refuse(`Statement type not allowed: ${statementName(type, fields)}`);
    }
    const reason = walk(query, new Set());
    return reason ? refuse(reason) : accept(type === "ExplainStmt" ? "explain" : "select");
  };
}
