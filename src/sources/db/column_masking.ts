/**
 * Rewrites a statement so that every table with column policies is read
 * through a subquery that shows only what the policies allow.
 *
 * `FROM customers c` becomes `FROM (SELECT "id", <mask>("email") AS "email"
 * FROM "public"."customers") c`. Whatever the statement then does with the
 * table — `SELECT *`, a filter or join on a policed column, `row_to_json(c)`,
 * `c::text`, `string_agg`, a subquery, a CTE — it sees the subquery's
 * columns: a denied column does not exist, a masked one is masked before any
 * expression of the caller's touches it. The rewrite works on PostgreSQL's
 * own parse tree (each table reference and where it sits in the text), never
 * on patterns over the text, and is checked by parsing its own output: every
 * reference to a policed table must be one this module wrote, else the
 * statement is refused.
 *
 * Ways around a subquery are refused, not rewritten: a view, materialized
 * view, inheritance child or parent whose rows come from a policed table
 * (the catalog says which, see `masking_catalog.ts`); `ONLY` on a policed
 * table; a CTE named like one; a `$n` the statement's values do not fill
 * (the HMAC key of `hash` is bound after them).
 *
 * @module
 */
import type { PgParser } from "./pg_parser.ts";
import { SqlSyntaxError } from "./pg_parser.ts";
import { type ColumnPolicyKind, policyExpression, quoteIdent } from "./column_policy.ts";

/** A relation as the catalog knows it, under the names it can be reached by. */
export interface CatalogRelation {
  readonly schema: string;
  readonly name: string;
  /** Found by its bare name on the search path (`pg_table_is_visible`). */
  readonly visible: boolean;
  /** A policed table: every column in order, each with its policy if it has one. */
  readonly columns?: readonly { readonly name: string; readonly kind?: ColumnPolicyKind }[];
  /** Rows come from this policed table (qualified), through a view or inheritance. */
  readonly derivedFrom?: string;
}

/** The relations of one database, looked up the way PostgreSQL resolves a name. */
export interface MaskingCatalog {
  /** `schema\0name` → relation. */
  readonly qualified: ReadonlyMap<string, CatalogRelation>;
  /** Bare name → the relation the search path finds. */
  readonly visible: ReadonlyMap<string, CatalogRelation>;
}

/** Builds a {@linkcode MaskingCatalog} from its relations. */
export function maskingCatalog(relations: Iterable<CatalogRelation>): MaskingCatalog {
  const qualified = new Map<string, CatalogRelation>();
  const visible = new Map<string, CatalogRelation>();
  for (const relation of relations) {
    qualified.set(`${relation.schema}\0${relation.name}`, relation);
    if (relation.visible) visible.set(relation.name, relation);
  }
  return { qualified, visible };
}

/** What to run instead of a statement. */
export type MaskPlan =
  /** No policed table is read: run the text as it is. */
  | { readonly kind: "unchanged"; readonly unknown: boolean }
  | {
    readonly kind: "rewritten";
    readonly text: string;
    /** The HMAC pads are bound as `$n+1` (outer) and `$n+2` (inner). */
    readonly hashKeys: boolean;
    /** The statement is an `EXPLAIN`: its plan would print bound values, so the keys are blanks. */
    readonly explain: boolean;
    readonly unknown: boolean;
  }
  | { readonly kind: "refused"; readonly reason: string };

interface RangeVarNode {
  readonly catalogname?: string;
  readonly schemaname?: string;
  readonly relname: string;
  readonly inh?: boolean;
  readonly alias?: { readonly aliasname: string };
  readonly location: number;
}

interface Found {
  readonly ranges: RangeVarNode[];
  readonly ctes: Set<string>;
  maxParam: number;
}

function collect(node: unknown, found: Found): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, found);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "RangeVar") found.ranges.push(value as RangeVarNode);
    else if (key === "CommonTableExpr") {
      const name = (value as { ctename?: string }).ctename;
      if (name !== undefined) found.ctes.add(name);
    } else if (key === "ParamRef") {
      found.maxParam = Math.max(found.maxParam, (value as { number?: number }).number ?? 0);
    }
    collect(value, found);
  }
}

function resolve(catalog: MaskingCatalog, range: RangeVarNode): CatalogRelation | undefined {
  return range.schemaname === undefined
    ? catalog.visible.get(range.relname)
    : catalog.qualified.get(`${range.schemaname}\0${range.relname}`);
}

function isPoliced(relation: CatalogRelation | undefined): boolean {
  return relation?.columns?.some((c) => c.kind !== undefined) ?? false;
}

function qualifiedName(relation: CatalogRelation): string {
  return `${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}`;
}

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** Plans statements against one catalog; pure, so a caller may cache plans by text. */
export function createColumnMasker(
  parser: PgParser,
  catalog: MaskingCatalog,
): (text: string, valueCount: number) => MaskPlan {
  return function planMasking(text, valueCount) {
    let tree;
    try {
      tree = parser.parse(text);
    } catch (error) {
      if (error instanceof SqlSyntaxError) return { kind: "refused", reason: error.message };
      throw error;
    }
    const found: Found = { ranges: [], ctes: new Set(), maxParam: 0 };
    collect(tree.stmts, found);
    let unknown = false;
    const policed: { range: RangeVarNode; relation: CatalogRelation }[] = [];
    for (const range of found.ranges) {
      const relation = resolve(catalog, range);
      if (range.schemaname === undefined && found.ctes.has(range.relname)) {
        // A CTE reference or the table: refuse the ambiguity rather than guess the scope.
        if (isPoliced(relation) || relation?.derivedFrom !== undefined) {
          return {
            kind: "refused",
            reason: `A CTE may not be named "${range.relname}", a table with column policies`,
          };
        }
        continue;
      }
      if (relation === undefined) {
        unknown = true;
        continue;
      }
      if (relation.derivedFrom !== undefined) {
        return {
          kind: "refused",
          reason: `"${relation.schema}.${relation.name}" reads ${relation.derivedFrom}, ` +
            `which has column policies: query ${relation.derivedFrom} itself`,
        };
      }
      if (!isPoliced(relation)) continue;
      if (range.inh !== true) {
        return {
          kind: "refused",
          reason: `ONLY is not supported on "${relation.name}", a table with column policies`,
        };
      }
      policed.push({ range, relation });
    }
    if (policed.length === 0) return { kind: "unchanged", unknown };

    const hashKeys = policed.some((p) => p.relation.columns!.some((c) => c.kind === "hash"));
    if (hashKeys && found.maxParam > valueCount) {
      return { kind: "refused", reason: `$${found.maxParam} has no value` };
    }
    const keys = { outer: `$${valueCount + 1}`, inner: `$${valueCount + 2}` };
    const bytes = ENCODER.encode(text);
    const pieces: Uint8Array[] = [];
    const written: number[] = [];
    let at = 0;
    let length = 0;
    const sorted = [...policed].sort((a, b) => a.range.location - b.range.location);
    for (const { range, relation } of sorted) {
      const parts = 1 + (range.schemaname === undefined ? 0 : 1) +
        (range.catalogname === undefined ? 0 : 1);
      const end = nameEnd(bytes, range.location, parts);
      if (end === undefined || range.location < at) {
        return { kind: "refused", reason: unsupported(relation) };
      }
      const head = bytes.subarray(at, range.location);
      pieces.push(head);
      length += head.length;
      const columns = relation.columns!.flatMap((c) => {
        const quoted = quoteIdent(c.name);
        if (c.kind === undefined) return [quoted];
        const expression = policyExpression(quoted, c.kind, keys);
        return expression === undefined ? [] : [`${expression} AS ${quoted}`];
      });
      const before = `(SELECT ${columns.join(", ")} FROM `;
      const after = `)${range.alias === undefined ? ` AS ${quoteIdent(range.relname)}` : ""}`;
      const beforeBytes = ENCODER.encode(before);
      written.push(length + beforeBytes.length);
      const piece = ENCODER.encode(before + qualifiedName(relation) + after);
      pieces.push(piece);
      length += piece.length;
      at = end;
    }
    pieces.push(bytes.subarray(at));
    const out = new Uint8Array(length + bytes.length - at);
    let offset = 0;
    for (const piece of pieces) {
      out.set(piece, offset);
      offset += piece.length;
    }
    const rewritten = DECODER.decode(out);
    const explain = tree.stmts.some((s) => "ExplainStmt" in s.stmt);

    // The proof: parse what was written; every policed reference must be one of ours.
    let check;
    try {
      check = parser.parse(rewritten);
    } catch {
      return { kind: "refused", reason: unsupported(sorted[0].relation) };
    }
    const again: Found = { ranges: [], ctes: new Set(), maxParam: 0 };
    collect(check.stmts, again);
    const ours = new Set(written);
    let seen = 0;
    for (const range of again.ranges) {
      const relation = resolve(catalog, range);
      if (relation?.derivedFrom !== undefined) {
        return { kind: "refused", reason: unsupported(sorted[0].relation) };
      }
      if (!isPoliced(relation)) continue;
      if (!ours.has(range.location)) {
        return { kind: "refused", reason: unsupported(relation!) };
      }
      seen++;
    }
    if (seen !== written.length) {
      return { kind: "refused", reason: unsupported(sorted[0].relation) };
    }
    return { kind: "rewritten", text: rewritten, hashKeys, explain, unknown };
  };
}

function unsupported(relation: CatalogRelation): string {
  return `This form of statement is not supported on "${relation.name}", a table with column ` +
    `policies: name it in FROM or JOIN, as SELECT ... FROM ${relation.name}`;
}

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d, 0x0c, 0x0b]);
const QUOTE = 0x22;
const DOT = 0x2e;

/** Skips spaces and comments (`--` to a line end, nested block comments). */
function skipSpace(b: Uint8Array, i: number): number {
  for (;;) {
    if (SPACE.has(b[i])) i++;
    else if (b[i] === 0x2d && b[i + 1] === 0x2d) {
      while (i < b.length && b[i] !== 0x0a && b[i] !== 0x0d) i++;
    } else if (b[i] === 0x2f && b[i + 1] === 0x2a) {
      let depth = 1;
      i += 2;
      while (i < b.length && depth > 0) {
        if (b[i] === 0x2f && b[i + 1] === 0x2a) (depth++, i += 2);
        else if (b[i] === 0x2a && b[i + 1] === 0x2f) (depth--, i += 2);
        else i++;
      }
    } else return i;
  }
}

function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
}

/**
 * Where the `parts`-part name at byte `start` ends, or undefined when the
 * bytes there are not such a name (the rewrite is then refused). Any
 * mistake here is caught by re-parsing the output.
 */
function nameEnd(b: Uint8Array, start: number, parts: number): number | undefined {
  let i = start;
  for (let part = 0; part < parts; part++) {
    if (part > 0) {
      i = skipSpace(b, i);
      if (b[i] !== DOT) return undefined;
      i = skipSpace(b, i + 1);
    }
    const unicode = (b[i] === 0x55 || b[i] === 0x75) && b[i + 1] === 0x26 && b[i + 2] === QUOTE;
    if (b[i] === QUOTE || unicode) {
      i += unicode ? 3 : 1;
      for (;;) {
        if (i >= b.length) return undefined;
        if (b[i] === QUOTE) {
          if (b[i + 1] === QUOTE) i += 2;
          else break;
        } else i++;
      }
      i++;
      // U&"…" UESCAPE 'c' belongs to the name; an alias cannot be spelled UESCAPE.
      if (unicode) return undefined;
    } else if (isIdentStart(b[i])) {
      while (i < b.length && isIdentPart(b[i])) i++;
    } else return undefined;
  }
  return i;
}
