/**
 * `check --connect`: each SQL tool's statement prepared against its database
 * (Parse and Describe of the extended protocol, never Execute), so an
 * unknown table or column, an operator that does not apply, or a parameter
 * whose declared type cannot be what the database expects fails `check`
 * with the tool named, not a call later.
 *
 * A tool's database is its `source` (kind `postgres`), or the server's own
 * (`DB_URL`). Statements on the embedded database are not prepared: it is
 * the demo data, built into the program.
 *
 * @module
 */
import postgres from "postgres";
import type { ParameterSpec } from "./parameters.ts";
import type { CheckedTool, ToolsFile } from "./load.ts";

/** One tool's statement that does not prepare, or a database that cannot be reached. */
export interface ConnectProblem {
  /** The tool, or the source when the database itself could not be reached. */
  readonly tool?: string;
  readonly source: string;
  readonly message: string;
  /** The database could not be reached (a run-time failure, not a problem of the file). */
  readonly unreachable?: boolean;
}

/** What the check needs beside the file. */
export interface ConnectCheckOptions {
  /** `DB_URL`: the database of SQL tools without a source (none: embedded, skipped). */
  readonly serverDbUrl: string | undefined;
  readonly connectTimeoutSeconds: number;
}

/** What was checked. */
export interface ConnectCheckResult {
  readonly prepared: readonly string[];
  /** SQL tools on the embedded database, not prepared. */
  readonly skipped: readonly string[];
  readonly problems: readonly ConnectProblem[];
}

const NUMERIC = new Set(["int2", "int4", "int8", "numeric", "float4", "float8", "oid", "money"]);
/** Types a string's text converts to without a cast (the parameter is sent as text). */
const WANTS_STRING_NOT = new Set([...NUMERIC, "bool"]);

/** Why a declared parameter type cannot bind to the type PostgreSQL inferred, if it cannot. */
function typeProblem(declared: ParameterSpec["type"], inferred: string): string | undefined {
  if (declared === "string" && WANTS_STRING_NOT.has(inferred)) {
    return `is declared string but the database expects ${inferred}`;
  }
  if ((declared === "integer" || declared === "number") && inferred === "bool") {
    return `is declared ${declared} but the database expects bool`;
  }
  if (declared === "boolean" && NUMERIC.has(inferred)) {
    return `is declared boolean but the database expects ${inferred}`;
  }
  return undefined;
}

/**
 * Prepares every SQL tool's statement of `file` on its database; executes
 * nothing. Each database is reached with one connection, read-only.
 */
export async function connectCheck(
  file: ToolsFile,
  options: ConnectCheckOptions,
): Promise<ConnectCheckResult> {
  type SqlTool = Extract<CheckedTool, { kind: "sql" }>;
  const byDatabase = new Map<string, { source: string; tools: [string, SqlTool][] }>();
  const skipped: string[] = [];
  for (const [name, tool] of file.tools) {
    if (tool.kind !== "sql") continue;
    const source = tool.spec.source === undefined ? undefined : file.spec.sources[tool.spec.source];
    const url = source?.kind === "postgres"
      ? source.url
      : source === undefined
      ? options.serverDbUrl
      : undefined;
    if (url === undefined) {
      skipped.push(name);
      continue;
    }
    const entry = byDatabase.get(url) ?? { source: tool.spec.source ?? "DB_URL", tools: [] };
    entry.tools.push([name, tool]);
    byDatabase.set(url, entry);
  }
  const prepared: string[] = [];
  const problems: ConnectProblem[] = [];
  for (const [url, { source, tools }] of byDatabase) {
    const db = postgres(url, {
      max: 1,
      connect_timeout: options.connectTimeoutSeconds,
      prepare: false,
      onnotice: () => {},
      connection: { default_transaction_read_only: true, statement_timeout: 10_000 },
    });
    try {
      try {
        await db`SELECT 1`;
      } catch (error) {
        problems.push({
          source,
          unreachable: true,
          message: `cannot connect: ${(error as Error).message}`,
        });
        continue;
      }
      const typeNames = new Map<number, string>();
      for (const [name, { spec, checked }] of tools) {
        try {
          // Parse + Describe: PostgreSQL resolves every name and infers each $n's type.
          const described = await db.unsafe(checked.text).describe();
          prepared.push(name);
          for (const [i, oid] of described.types.entries()) {
            const param = checked.order[i];
            if (!typeNames.has(oid)) {
              const [row] = await db`SELECT typname FROM pg_type WHERE oid = ${oid}`;
              typeNames.set(oid, String(row?.typname ?? oid));
            }
            const problem = typeProblem(spec.parameters[param].type, typeNames.get(oid)!);
            if (problem) {
              problems.push({ tool: name, source, message: `parameter ${param} ${problem}` });
            }
          }
        } catch (error) {
          problems.push({ tool: name, source, message: (error as Error).message });
        }
      }
    } finally {
      await db.end({ timeout: 1 });
    }
  }
  return { prepared, skipped, problems };
}
