/**
 * What a tool kind of a tools file (`kind: sql`, `kind: http`, …) is: its
 * schema, its checks at load and its build step, in one object. The loader
 * and the builder know no kind by name; they go through the list in
 * `mod.ts`, so a new kind is one file and one line there.
 *
 * @module
 */
import type { z } from "zod";
import type { Config } from "../../../config/env.ts";
import type { GuardResult } from "../../../sources/db/statement_guard.ts";
import type { SqlSource } from "../../../sources/db/sql_source.ts";
import type { Upstream } from "../../../sources/http/upstream.ts";
import type { Tool, ToolContext, ToolSources } from "../../define.ts";
import type { CursorCodec } from "../../result_cursor.ts";
import type { SourceSpec } from "../spec.ts";
import type { CommonSpec } from "./common.ts";

/** What load-time checks of one entry may use and report to. */
export interface CheckContext {
  /**
   * Reports a problem at a field of the entry (`["statement"]`,
   * `["parameters", "id"]`): the file's line and column are found from it.
   */
  problem(field: readonly (string | number)[], message: string): void;
  /** Judges one SQL text read-only (the statement guard over the real parser). */
  readonly guard: (sql: string) => GuardResult;
}

/** The RAG store and its search, when `ENABLE_RAG` is on. */
export interface RagSearch {
  readonly store: SqlSource;
  search(
    reader: ToolContext["sql"],
    request: { query: string; topK: number; source?: string; signal?: AbortSignal },
  ): Promise<unknown>;
}

/** What of the server a kind may build its tools on. */
export interface ServerParts {
  readonly config: Config;
  /** The server's own database (DB_URL or the embedded one). */
  readonly sql: SqlSource;
  /** The server's own upstream (API_BASE_URL or the demo), when there is one. */
  readonly upstream: Upstream | undefined;
  /** The RAG store and its search, when `ENABLE_RAG` is on (vector_search tools need it). */
  readonly rag?: RagSearch;
  /** Cursors continuing a truncated SELECT result; without it, results do not continue. */
  readonly cursors?: CursorCodec;
}

/** What building one entry gets: the server's parts and the entry's own source. */
export interface KindBuildContext extends ServerParts {
  /** The source the entry names with `source:`, opened; undefined when it names none. */
  readonly source: ToolSources | undefined;
}

/** The fields any kind's entry has, as the loader and the builder read them. */
export type KindSpec = CommonSpec & { readonly kind: string; readonly source?: string };

/**
 * One tool kind. `S` is its schema (a strict object with a literal `kind`
 * and the `COMMON_FIELDS` of `common.ts`); `C` is what its checks hand its build
 * step, so a call never re-derives what load already worked out.
 */
export interface ToolKind<
  S extends z.ZodObject<{ kind: z.ZodLiteral<string> }> = z.ZodObject<
    { kind: z.ZodLiteral<string> }
  >,
  C = unknown,
> {
  /** The entry's shape, its `kind:` value included; the tools-file schema is the union of every kind's. */
  readonly schema: S;
  /**
   * The source kinds a `source:` of this kind's entries may name; absent when
   * the kind takes no source (its schema then has no `source` field).
   */
  readonly sourceKinds?: readonly SourceSpec["kind"][];
  /**
   * Checks what the schema cannot (beyond each parameter's own checks, which
   * the loader makes for every kind), reporting each problem to `ctx`.
   * Returns what the build step needs (nothing, for a kind that needs
   * nothing); after reporting a problem it may return undefined, as the file
   * is then refused and nothing is built.
   */
  check(spec: z.output<S>, ctx: CheckContext): C | undefined;
  /** Builds the tool of a checked entry; throws when the server lacks what it needs. */
  build(name: string, spec: z.output<S>, checked: C, ctx: KindBuildContext): Tool;
}

/** Declares a kind, inferring its schema and checked types. */
export function defineKind<S extends z.ZodObject<{ kind: z.ZodLiteral<string> }>, C>(
  kind: ToolKind<S, C>,
): ToolKind<S, C> {
  return Object.freeze(kind);
}
