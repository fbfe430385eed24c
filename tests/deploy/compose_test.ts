import assert from "node:assert/strict";
import { parse } from "yaml";

const root = new URL("../../", import.meta.url);

Deno.test("docker-compose.yml: every service healthy-gated, images pinned, config files that exist", async () => {
  const compose = parse(await Deno.readTextFile(new URL("docker-compose.yml", root)));
  const services = compose.services as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(services).sort(), [
    "grafana",
    "mcp-tool-server",
    "postgres",
    "prometheus",
    "redis",
  ]);
  for (const [name, service] of Object.entries(services)) {
    if (typeof service.image === "string") {
      assert.match(service.image, /:[\w.-]*\d[\w.-]*$/, `${name} pins its image version`);
      assert.ok(!service.image.endsWith(":latest"));
    }
  }
  // The server waits for healthy dependencies and checks itself with its own binary.
  const server = services["mcp-tool-server"];
  assert.equal(server.build, ".");
  assert.deepEqual(server.depends_on, {
    postgres: { condition: "service_healthy" },
    redis: { condition: "service_healthy" },
  });
  assert.deepEqual((server.healthcheck as { test: string[] }).test.slice(-1), ["healthcheck"]);
  const env = server.environment as Record<string, string>;
  assert.equal(env.RATE_LIMIT_STORAGE, "redis");
  assert.match(env.REDIS_URL, /^redis:\/\/redis:/);
  assert.match(env.DB_URL, /@postgres:5432\//);
  assert.match(env.API_KEY_PRIMARY, /:\?/, "no default key: compose refuses to start without one");
  assert.match(String(services.postgres.image), /^pgvector\/pgvector:/);
  for (const name of ["postgres", "redis"]) {
    assert.ok((services[name].healthcheck as { test: unknown }).test, `${name} has a healthcheck`);
  }
  // Grafana gets the dashboard with its datasource input set to the provisioned datasource's uid.
  const grafana = services.grafana as { entrypoint: string[] };
  const datasource = parse(await Deno.readTextFile(new URL("deploy/grafana/datasource.yml", root)));
  const uid = datasource.datasources[0].uid as string;
  assert.match(grafana.entrypoint.join(" "), new RegExp(`s/\\$\\$\\{DS_PROMETHEUS\\}/${uid}/g`));
  // Mounted files exist in the repository.
  for (
    const volume of [
      ...services.prometheus.volumes as string[],
      ...services.grafana.volumes as string[],
    ]
  ) {
    const source = volume.split(":")[0];
    await Deno.stat(new URL(source, root));
  }
  // Ports are published on loopback only.
  for (const service of Object.values(services)) {
    for (const port of (service.ports as string[] | undefined) ?? []) {
      assert.match(port, /^127\.0\.0\.1:/);
    }
  }
});
