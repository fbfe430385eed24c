/**
 * The YAML parser, for code that loads it lazily (`await import("./yaml.ts")`).
 *
 * Why a module of ours in between: under Deno the `yaml` package is CommonJS,
 * and in the split bundle (`scripts/bundle.ts`) a lazy import of a CommonJS
 * package yields only its `module.exports`, as `default`; a lazy import of an
 * ES module (this one) has the same named exports from source, in the binary
 * and in the bundle.
 *
 * @module
 */
export { parse } from "yaml";
