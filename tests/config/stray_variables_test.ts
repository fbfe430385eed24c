import assert from "node:assert/strict";
import {
  describeStray,
  editDistance,
  KNOWN_VARIABLES,
  strayVariables,
} from "../../src/config/stray_variables.ts";

Deno.test("strayVariables() names the closest known variable of a near miss", () => {
  assert.deepEqual(
    strayVariables({
      DB_ULR: "postgres://db/app",
      API_KEY_PRIMAY: "x",
      RATE_LIMIT_RMP: "5",
      TOOL_FILE: "/etc/mcp-tool-server/tools.yaml",
      PROT: "8000",
      // Ours, whatever libpq's PG prefix.
      PGLITE_DATADIR: "/var/lib/mcp",
    }),
    [
      { name: "API_KEY_PRIMAY", closest: "API_KEY_PRIMARY" },
      { name: "DB_ULR", closest: "DB_URL" },
      { name: "PGLITE_DATADIR", closest: "PGLITE_DATA_DIR" },
      { name: "PROT", closest: "PORT" },
      { name: "RATE_LIMIT_RMP", closest: "RATE_LIMIT_RPM" },
      { name: "TOOL_FILE", closest: "TOOLS_FILE" },
    ],
  );
});

Deno.test("strayVariables() reports our prefixes even far from any known name", () => {
  const found = strayVariables({ DB_PASSWORD: "pw", CACHE_TTL: "60", SQL_QUERY_TABLES: "a" });
  assert.deepEqual(found.map((s) => s.name), ["CACHE_TTL", "DB_PASSWORD", "SQL_QUERY_TABLES"]);
  assert.equal(
    found.find((s) => s.name === "SQL_QUERY_TABLES")?.closest,
    "SQL_QUERY_ALLOWED_TABLES",
  );
});

Deno.test("strayVariables() leaves the machine's, libpq's and Kubernetes service-link variables alone", () => {
  assert.deepEqual(
    strayVariables({
      HOME: "/root",
      HOSTNAME: "pod-1",
      PATH: "/bin",
      TERM: "xterm",
      LANG: "C.UTF-8",
      PGPORT: "5432",
      PGHOST: "db",
      PGUSER: "reader",
      NO_COLOR: "1",
      SSL_CERT_FILE: "/etc/ssl/certs/ca.pem",
      HTTPS_PROXY: "http://proxy:3128",
      PGSSLMODE: "require",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318",
      DENO_DIR: "/deno",
      // A Service named "db" and one named "api" in the namespace:
      DB_PORT: "tcp://10.0.0.7:5432",
      DB_SERVICE_HOST: "10.0.0.7",
      DB_SERVICE_PORT: "5432",
      DB_SERVICE_PORT_POSTGRES: "5432",
      DB_PORT_5432_TCP: "tcp://10.0.0.7:5432",
      DB_PORT_5432_TCP_ADDR: "10.0.0.7",
      DB_PORT_5432_TCP_PORT: "5432",
      DB_PORT_5432_TCP_PROTO: "tcp",
      API_SERVICE_HOST: "10.0.0.8",
      // Every known name, and the _FILE form of each secret.
      ...Object.fromEntries([...KNOWN_VARIABLES].map((name) => [name, "x"])),
      DB_URL_FILE: "/run/secrets/db_url",
      // Not upper case, or absurdly long: nobody's typo of ours.
      db_url: "postgres://db/app",
      ["DB_" + "X".repeat(10_000)]: "1",
    }),
    [],
  );
});

Deno.test("strayVariables() accepts the names a tools file reads with ${NAME}", () => {
  const env = { DB_REPORTING_URL: "postgres://r/app", API_CRM_TOKEN: "t" };
  assert.equal(strayVariables(env).length, 2);
  assert.deepEqual(strayVariables(env, new Set(["DB_REPORTING_URL", "API_CRM_TOKEN"])), []);
});

Deno.test("describeStray() says what to do", () => {
  assert.equal(
    describeStray({ name: "DB_ULR", closest: "DB_URL" }),
    "DB_ULR: is not a variable this server reads; did you mean DB_URL?",
  );
  assert.equal(
    describeStray({ name: "DB_X", closest: undefined }),
    "DB_X: is not a variable this server reads; remove it",
  );
});

Deno.test("editDistance() counts an adjacent swap as one edit", () => {
  assert.equal(editDistance("DB_ULR", "DB_URL"), 1);
  assert.equal(editDistance("PORT", "PGPORT"), 2);
  assert.equal(editDistance("", "ABC"), 3);
  assert.equal(editDistance("HOST", "HOST"), 0);
});

Deno.test("editDistance() with a limit gives the full distance, or limit + 1 once past it", () => {
  const words = [...KNOWN_VARIABLES, "", "A", "AB", "BA", "CAB", "DB_ULR", "XDB_URLX", "PGPORT"];
  for (const a of words) {
    for (const b of words) {
      const full = editDistance(a, b);
      for (const limit of [0, 1, 2, 8]) {
        assert.equal(editDistance(a, b, limit), Math.min(full, limit + 1), `${a} ${b} ${limit}`);
      }
    }
  }
});

Deno.test("strayVariables() finds every one- and two-edit miss of a known name (the character filter rules none out)", () => {
  // Each known name mutated once and twice: a substitution (by a letter, a
  // digit, `_`), a deletion, an insertion, an adjacent swap. A mutant that is
  // itself a known name, or nearer another one, is checked against that one.
  const alphabet = ["A", "Q", "Z", "0", "7", "_"];
  const mutants = (name: string): string[] => {
    const out: string[] = [];
    for (let i = 0; i < name.length; i++) {
      out.push(name.slice(0, i) + name.slice(i + 1));
      for (const c of alphabet) {
        out.push(name.slice(0, i) + c + name.slice(i + 1), name.slice(0, i) + c + name.slice(i));
      }
      if (i + 1 < name.length) {
        out.push(name.slice(0, i) + name[i + 1] + name[i] + name.slice(i + 2));
      }
    }
    return out;
  };
  let checked = 0;
  for (const known of KNOWN_VARIABLES) {
    const once = mutants(known);
    const twice = once.filter((_, i) => i % 7 === 0).flatMap((m) =>
      mutants(m).filter((_, i) => i % 5 === 0)
    );
    for (const name of [...once, ...twice]) {
      if (KNOWN_VARIABLES.has(name) || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
      // Others' names, never reported (the test above): libpq's PG*, service links.
      if (/^(PG(?!LITE_)|NODE_|DENO_)|_(SERVICE_HOST|SERVICE_PORT|PORT)/.test(name)) continue;
      const allowed = Math.min(known.length, name.length) <= 5 ? 1 : 2;
      if (editDistance(name, known) > allowed) continue;
      const [found] = strayVariables({ [name]: "x" });
      assert(
        found?.closest !== undefined,
        `${name} (near ${known}) was not reported with a closest name`,
      );
      assert(
        editDistance(name, found.closest) <= editDistance(name, known),
        `${name}: ${found.closest} is farther than ${known}`,
      );
      checked++;
    }
  }
  assert(checked > 10_000, `only ${checked} mutants checked`);
});
