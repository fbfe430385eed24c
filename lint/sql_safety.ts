/**
 * Lint plugin `sql-safety`: the project's counterpart of ruff's S608
 * (SQL built by string formatting).
 *
 * Rule `sql-safety/no-sql-interpolation` fails when SQL handed to a query
 * function is built from values instead of bound parameters. Tool authors
 * write SQL only through the `sql` tagged template (every
 * `${value}` is a bound parameter, so it is safe and never reported) or
 * `query(text, { name: value })` with `:name` placeholders.
 *
 * Reported: the first argument of a call to a function or method named
 * `query`, `unsafe`, `execute`, `exec` or `raw` (`query(…)`,
 * `ctx.sql.query(…)`, `db.unsafe(…)`, `tx?.exec(…)`) when it is
 *
 * - an untagged template literal with at least one `${…}`;
 * - a `+` expression with a string or template literal among its operands
 *   (`"… WHERE id = " + id`), unless every operand is a constant
 *   (`"SELECT 1 " + "FROM t"` splices no value);
 * - `"…".concat(…)` on a string (or template) literal receiver, unless every
 *   piece is a constant.
 *
 * TypeScript wrappers (`as`, `satisfies`, `!`, `<T>`) around the argument are
 * looked through. Also reported: a tagged template with at least one `${…}`
 * whose tag is `unsafe` or a member ending in `unsafe`
 * (``db.unsafe`… ${x}` ``), since such a tag splices its values as text.
 *
 * Not reported: string literals, templates without `${…}`, ``sql`… ${x}` ``,
 * numbers, and identifiers. Limit: a variable holding SQL built elsewhere
 * (`let q = "…" + id; db.query(q)`, or a string grown with `+=`) is not
 * followed — data flow is out of reach of a syntactic rule, and flagging
 * every identifier argument would bury the real findings in false positives.
 *
 * @module
 */

type Node = Deno.lint.Node;

/** Names of the functions and methods whose first argument is SQL text. */
const QUERY_FUNCTIONS: ReadonlySet<string> = new Set([
  "query",
  "unsafe",
  "execute",
  "exec",
  "raw",
]);

const UNSAFE_TAG = /unsafe$/i;

const MESSAGE =
  "SQL built from values: bind them with sql`… ${value}` or query(text, { name: value })";
const HINT = "Splicing a value into SQL text allows SQL injection. Write the statement with " +
  "the sql tagged template (each ${value} becomes a bound parameter) or pass a constant text " +
  "with :name placeholders and the values as query(text, { name: value }).";
const TAG_HINT = "A tag named unsafe splices its values as SQL text. Use the sql tagged " +
  "template, whose ${value}s are bound parameters.";

/** The name a callee or tag is called by: `f` for `f`, `m` for `a.b.m` / `a["m"]`. */
function calleeName(node: Node): string | undefined {
  const n = unwrap(node);
  if (n.type === "ChainExpression") return calleeName(n.expression); // `a?.b?.m(…)`
  if (n.type === "Identifier") return n.name;
  if (n.type === "MemberExpression") {
    const property = n.property;
    if (!n.computed && property.type === "Identifier") return property.name;
    if (n.computed && isStringLiteral(property)) return property.value;
  }
  return undefined;
}

/** Strips TypeScript-only wrappers: `x as T`, `x satisfies T`, `x!`, `<T>x`. */
function unwrap(node: Node): Node {
  let current = node;
  while (
    current.type === "TSAsExpression" || current.type === "TSSatisfiesExpression" ||
    current.type === "TSNonNullExpression" || current.type === "TSTypeAssertion"
  ) {
    current = current.expression;
  }
  return current;
}

function isStringLiteral(node: Node): node is Deno.lint.StringLiteral {
  return node.type === "Literal" && typeof node.value === "string";
}

function isStringOrTemplate(node: Node): boolean {
  return isStringLiteral(node) || node.type === "TemplateLiteral";
}

/** A value fixed in the source: a string/number literal or a template without `${…}`. */
function isConstant(node: Node): boolean {
  const n = unwrap(node);
  if (n.type === "Literal") return typeof n.value === "string" || typeof n.value === "number";
  if (n.type === "TemplateLiteral") return n.expressions.length === 0;
  if (n.type === "BinaryExpression" && n.operator === "+") {
    return isConstant(n.left) && isConstant(n.right);
  }
  return false;
}

/** The operands of a `+` chain: `a + b + c` → `[a, b, c]`. */
function plusOperands(node: Node): Node[] {
  const n = unwrap(node);
  if (n.type === "BinaryExpression" && n.operator === "+") {
    return [...plusOperands(n.left), ...plusOperands(n.right)];
  }
  return [n];
}

/** Whether `node` is SQL text built from values (see the module doc). */
function isBuiltFromValues(node: Node): boolean {
  const n = unwrap(node);
  switch (n.type) {
    case "TemplateLiteral":
      return n.expressions.length > 0;
    case "BinaryExpression":
      return n.operator === "+" && plusOperands(n).some(isStringOrTemplate) && !isConstant(n);
    case "CallExpression": {
      const callee = n.callee;
      return callee.type === "MemberExpression" && calleeName(callee) === "concat" &&
        isStringOrTemplate(unwrap(callee.object)) &&
        !(isConstant(callee.object) && n.arguments.every(isConstant));
    }
    default:
      return false;
  }
}

const plugin: Deno.lint.Plugin = {
  name: "sql-safety",
  rules: {
    "no-sql-interpolation": {
      create(context) {
        return {
          CallExpression(node) {
            const name = calleeName(node.callee);
            if (name === undefined || !QUERY_FUNCTIONS.has(name)) return;
            const first = node.arguments[0];
            if (first === undefined || first.type === "SpreadElement") return;
            if (isBuiltFromValues(first)) {
              context.report({ node: first, message: MESSAGE, hint: HINT });
            }
          },
          TaggedTemplateExpression(node) {
            const name = calleeName(node.tag);
            if (name === undefined || !UNSAFE_TAG.test(name)) return;
            if (node.quasi.expressions.length > 0) {
              context.report({ node, message: MESSAGE, hint: TAG_HINT });
            }
          },
        };
      },
    },
  },
};

export default plugin;
