/**
 * Types for the Emscripten factory in `libpg-query/wasm/libpg-query.js`,
 * which ships without its own: only the members `pg_parser.ts` uses.
 *
 * @module
 */

/** The running Emscripten module: the C heap and the exported parser calls. */
export interface PgQueryWasmModule {
  lengthBytesUTF8(text: string): number;
  stringToUTF8(text: string, pointer: number, maxBytes: number): void;
  UTF8ToString(pointer: number): string;
  getValue(pointer: number, type: "i32"): number;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  /** Returns a pointer to a `PgQueryParseResult` {tree, stderr, error}. */
  _wasm_parse_query_raw(queryPointer: number): number;
  _wasm_free_parse_result(resultPointer: number): void;
}

/** Emscripten's hook to instantiate the WASM ourselves instead of reading it from disk. */
export interface PgQueryModuleOptions {
  instantiateWasm(
    imports: WebAssembly.Imports,
    done: (instance: WebAssembly.Instance) => void,
  ): Record<string, never>;
}

declare function PgQueryModule(options: PgQueryModuleOptions): Promise<PgQueryWasmModule>;
export default PgQueryModule;
