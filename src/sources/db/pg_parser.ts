/**
 * The real PostgreSQL parser (libpg_query, Postgres 18's own grammar compiled
 * to WASM), for deciding what a SQL text is from its parse tree instead of
 * guessing from its characters.
 *
 * The package's own entry point reads the `.wasm` from disk, which the server
 * may not do (it runs with `--allow-net --allow-env` only). So the WASM is
 * imported as bytes — part of the module graph, like PGlite's — and handed to
 * the Emscripten factory through its `instantiateWasm` hook, which skips every
 * file and network load.
 *
 * There is no module-level instance: {@linkcode createPgParser} costs a WASM
 * compile (tens of milliseconds), so the caller creates one parser and keeps it.
 *
 * @example
 * ```ts
 * import { createPgParser } from "./pg_parser.ts";
 * import assert from "node:assert/strict";
 *
 * const parser = await createPgParser();
 * const { stmts } = parser.parse("SELECT 1;");
 * assert.equal(stmts.length, 1);
 * assert.ok("SelectStmt" in stmts[0].stmt);
 * ```
 *
 * @module
 */
// @ts-types="./libpg_query_wasm.d.ts"
import factory from "libpg-query/wasm/libpg-query.js";
import type { PgQueryWasmModule } from "./libpg_query_wasm.d.ts";
import wasm from "libpg-query/wasm/libpg-query.wasm" with { type: "bytes" };

/** One statement of a parse: `{ "<NodeType>": {...fields} }` plus its place in the text. */
export interface RawStatement {
  /** A single-key object naming the node type, e.g. `{ SelectStmt: {...} }`. */
  readonly stmt: Record<string, unknown>;
  /** Byte offset of the statement in the text (absent when 0). */
  readonly stmt_location?: number;
  /** Byte length of the statement (absent when it runs to the end). */
  readonly stmt_len?: number;
}

/** libpg_query's JSON parse tree. Empty text (or only comments) gives no statements. */
export interface ParseResult {
  readonly version?: number;
  readonly stmts: readonly RawStatement[];
}

/** The text is not valid PostgreSQL. The message is Postgres's and names only the text itself. */
export class SqlSyntaxError extends Error {
  /** 1-based character position of the error as Postgres reports it; undefined when it gives none. */
  readonly position: number | undefined;

  constructor(message: string, position: number | undefined) {
    super(message);
    this.name = "SqlSyntaxError";
    this.position = position;
  }
}

/** A loaded parser. `parse` is synchronous and may be called any number of times. */
export interface PgParser {
  /** Parses `sql`; throws {@linkcode SqlSyntaxError} when it is not valid PostgreSQL. */
  parse(sql: string): ParseResult;
}

/** Loads the parser from the embedded WASM (no file or network access). */
export async function createPgParser(): Promise<PgParser> {
  const compiled = await WebAssembly.compile(wasm);
  // Emscripten's hook gives no way to report a failed instantiation, so a
  // failure would leave the factory's promise pending forever: race it.
  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => fail = reject);
  // Emscripten's Node path reads `__dirname` (only to locate files, and we
  // hand it the WASM). In `deno bundle` output this CommonJS file becomes ESM
  // and has none, so a stand-in lives for the factory's synchronous start.
  const scope = globalThis as { __dirname?: string };
  const standIn = !("__dirname" in scope);
  if (standIn) scope.__dirname = "/";
  let loading: Promise<PgQueryWasmModule>;
  try {
    loading = factory({
      instantiateWasm(imports, done) {
        WebAssembly.instantiate(compiled, imports).then(done, fail);
        return {};
      },
    });
  } finally {
    if (standIn) delete scope.__dirname;
  }
  const m = await Promise.race([loading, failed]);

  return {
    parse(sql: string): ParseResult {
      const bytes = m.lengthBytesUTF8(sql) + 1;
      const queryPointer = m._malloc(bytes);
      if (!queryPointer) throw new Error("libpg_query: out of memory");
      let resultPointer = 0;
      try {
        m.stringToUTF8(sql, queryPointer, bytes);
        resultPointer = m._wasm_parse_query_raw(queryPointer);
        if (!resultPointer) throw new Error("libpg_query: out of memory");
        // PgQueryParseResult { char *parse_tree; char *stderr_buffer; PgQueryError *error; }
        const treePointer = m.getValue(resultPointer, "i32");
        const errorPointer = m.getValue(resultPointer + 8, "i32");
        if (errorPointer) {
          // PgQueryError { char *message; char *funcname; char *filename; int lineno; int cursorpos; ... }
          const messagePointer = m.getValue(errorPointer, "i32");
          const cursor = m.getValue(errorPointer + 16, "i32");
          const message = messagePointer ? m.UTF8ToString(messagePointer) : "syntax error";
          throw new SqlSyntaxError(message, cursor > 0 ? cursor : undefined);
        }
        return JSON.parse(m.UTF8ToString(treePointer)) as ParseResult;
      } finally {
        m._free(queryPointer);
        if (resultPointer) m._wasm_free_parse_result(resultPointer);
      }
    },
  };
}
