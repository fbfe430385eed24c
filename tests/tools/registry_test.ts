import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool, type Tool } from "../../src/tools/define.ts";
import { createRegistry, RegistryError, TOOL_NAME_PATTERN } from "../../src/tools/registry.ts";

function tool(overrides: Partial<Record<keyof Tool, unknown>> = {}): Tool {
  return {
    ...defineTool({
      name: "echo",
      description: "Echoes its input.",
      input: z.strictObject({ text: z.string() }),
      handler: (input) => Promise.resolve(input),
    }),
    ...overrides,
  } as Tool;
}

/** Asserts `createRegistry(tools)` throws a RegistryError and returns its message. */
function registryError(tools: readonly Tool[]): string {
  let caught: unknown;
  try {
    createRegistry(tools);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof RegistryError, `expected a RegistryError, got ${caught}`);
  assert.equal(caught.name, "RegistryError");
  return caught.message;
}

const topCustomers = defineTool({
  name: "get_top_customers",
  description: "Lists the customers with the highest spend.",
  input: z.strictObject({
    limit: z.number().int().min(1).max(100).default(10),
    region: z.string().optional(),
    since: z.string(),
  }),
  output: z.object({ customers: z.array(z.string()) }),
  annotations: { title: "Top customers", readOnlyHint: true },
  timeoutSeconds: 5,
  handler: () => Promise.resolve({ customers: [] }),
});

const ping = defineTool({
  name: "ping",
  description: "Answers pong.",
  input: z.object({}),
  handler: () => Promise.resolve("pong"),
});

Deno.test("createRegistry() lists valid tools in registration order", () => {
  const registry = createRegistry([topCustomers, ping, tool()]);
  assert.deepEqual(registry.tools.map((t) => t.name), ["get_top_customers", "ping", "echo"]);
  assert.deepEqual(registry.descriptors.map((d) => d.name), [
    "get_top_customers",
    "ping",
    "echo",
  ]);
  assert.equal(registry.get("ping"), ping);
  assert.equal(registry.get("get_top_customers"), topCustomers);
  assert.equal(registry.get("nope"), undefined);
  assert.equal(registry.get("PING"), undefined);
});

Deno.test("createRegistry() accepts an empty tool list", () => {
  const registry = createRegistry([]);
  assert.deepEqual(registry.tools, []);
  assert.deepEqual(registry.descriptors, []);
});

Deno.test("createRegistry() describes a tool's input as a JSON Schema object", () => {
  const [descriptor] = createRegistry([topCustomers]).descriptors;
  assert.equal(descriptor.name, "get_top_customers");
  assert.equal(descriptor.description, "Lists the customers with the highest spend.");
  const schema = descriptor.inputSchema;
  assert.equal(schema.type, "object");
  assert.equal("$schema" in schema, false);
  // Fields with a default and optional fields are not required.
  assert.deepEqual(schema.required, ["since"]);
  assert.equal(schema.additionalProperties, false);
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(properties).sort(), ["limit", "region", "since"]);
  assert.equal(properties.limit.type, "integer");
  assert.equal(properties.limit.default, 10);
  assert.equal(properties.limit.minimum, 1);
  assert.equal(properties.limit.maximum, 100);
  assert.equal(properties.since.type, "string");
});

Deno.test("createRegistry() describes output schema and annotations when given", () => {
  const [withOutput, without] = createRegistry([topCustomers, ping]).descriptors;
  assert.ok(withOutput.outputSchema);
  assert.equal(withOutput.outputSchema.type, "object");
  assert.equal("$schema" in withOutput.outputSchema, false);
  assert.deepEqual(withOutput.outputSchema.required, ["customers"]);
  assert.deepEqual(withOutput.annotations, { title: "Top customers", readOnlyHint: true });
  assert.equal("outputSchema" in without, false);
  assert.equal("annotations" in without, false);
  assert.equal(without.inputSchema.type, "object");
  assert.equal("$schema" in without.inputSchema, false);
});

Deno.test("createRegistry() returns frozen descriptors", () => {
  const [descriptor] = createRegistry([topCustomers]).descriptors;
  assert.ok(Object.isFrozen(descriptor));
});

Deno.test("createRegistry() builds descriptors once, not per access", () => {
  const registry = createRegistry([topCustomers]);
  assert.equal(registry.descriptors, registry.descriptors);
  assert.equal(registry.descriptors[0], registry.descriptors[0]);
});

Deno.test("createRegistry() refuses a duplicate name, naming the tool", () => {
  const message = registryError([tool({ name: "dup_tool" }), ping, tool({ name: "dup_tool" })]);
  assert.ok(message.includes('"dup_tool"'), message);
  assert.ok(message.includes("already registered"), message);
});

const BAD_NAMES: readonly [string, string][] = [
  ["uppercase", "GetCustomers"],
  ["a leading digit", "1tool"],
  ["a dash", "get-customers"],
  ["65 characters", "a".repeat(65)],
  ["the empty string", ""],
  ["a newline", "tool\nname"],
  ["a trailing newline", "tool\n"],
  ["a leading underscore", "_tool"],
  ["a space", "get customers"],
  ["a dot", "get.customers"],
  ["a slash", "v1/tool"],
  ["a non-ASCII letter", "tööl"],
];

for (const [what, name] of BAD_NAMES) {
  Deno.test(`createRegistry() refuses a tool name with ${what}`, () => {
    const message = registryError([tool({ name })]);
    assert.ok(message.startsWith("Cannot register tool"), message);
    assert.ok(message.includes(TOOL_NAME_PATTERN.source), message);
  });
}

Deno.test("createRegistry() accepts names at the edges of the rule", () => {
  const names = ["a", "a".repeat(64), "x_1", "tool_2_b"];
  const registry = createRegistry(names.map((name) => tool({ name })));
  assert.deepEqual(registry.tools.map((t) => t.name), names);
});

Deno.test("createRegistry() keeps a huge bad name out of its message", () => {
  const message = registryError([tool({ name: "X".repeat(10_000) })]);
  assert.ok(message.length < 300, `message is ${message.length} characters`);
});

for (const description of ["", "   ", "\n\t"]) {
  Deno.test(`createRegistry() refuses the description ${JSON.stringify(description)}`, () => {
    const message = registryError([tool({ name: "no_desc", description })]);
    assert.equal(message, 'Cannot register tool "no_desc": a description is required');
  });
}

Deno.test("createRegistry() refuses a missing description", () => {
  const message = registryError([tool({ name: "no_desc", description: undefined })]);
  assert.ok(message.includes('"no_desc"') && message.includes("description"), message);
});

const NOT_OBJECTS: readonly [string, unknown][] = [
  ["a string schema", z.string()],
  ["an array schema", z.array(z.string())],
  ["an optional object", z.object({}).optional()],
  ["a union of objects", z.union([z.object({ a: z.string() }), z.object({ b: z.string() })])],
  ["a plain JSON Schema", { type: "object", properties: {} }],
  ["undefined", undefined],
];

for (const [what, input] of NOT_OBJECTS) {
  Deno.test(`createRegistry() refuses ${what} as input schema`, () => {
    const message = registryError([tool({ name: "bad_input", input })]);
    assert.equal(
      message,
      'Cannot register tool "bad_input": the input schema must be a zod object',
    );
  });
}

Deno.test("createRegistry() refuses a tool without a handler function", () => {
  const message = registryError([tool({ name: "no_handler", handler: "nope" })]);
  assert.ok(message.includes('"no_handler"') && message.includes("handler"), message);
});

for (const timeoutSeconds of [0, -1, 4000, 3600.5, Number.NaN, Number.POSITIVE_INFINITY]) {
  Deno.test(`createRegistry() refuses timeoutSeconds ${timeoutSeconds}`, () => {
    const message = registryError([tool({ name: "slow_tool", timeoutSeconds })]);
    assert.equal(message, 'Cannot register tool "slow_tool": timeoutSeconds must be in (0, 3600]');
  });
}

Deno.test("createRegistry() accepts timeoutSeconds in (0, 3600]", () => {
  const registry = createRegistry([
    tool({ name: "fast", timeoutSeconds: 0.001 }),
    tool({ name: "slow", timeoutSeconds: 3600 }),
    tool({ name: "default_timeout" }),
  ]);
  assert.deepEqual(registry.tools.map((t) => t.timeoutSeconds), [0.001, 3600, undefined]);
});

Deno.test("createRegistry() refuses the first bad tool even after good ones", () => {
  const message = registryError([ping, tool({ name: "Bad" })]);
  assert.ok(message.includes('"Bad"'), message);
});

Deno.test("createRegistry() copies the tool list", () => {
  const tools = [ping];
  const registry = createRegistry(tools);
  tools.push(tool());
  assert.equal(registry.tools.length, 1);
});

Deno.test("defineTool() returns a frozen copy of the definition", () => {
  const definition = {
    name: "frozen_tool",
    description: "A tool.",
    input: z.strictObject({}),
    handler: () => Promise.resolve(1),
  };
  const defined = defineTool(definition);
  assert.ok(Object.isFrozen(defined));
  assert.notEqual(defined as unknown, definition);
  assert.equal(defined.name, "frozen_tool");
  assert.equal(defined.input, definition.input);
  assert.equal(defined.handler as unknown, definition.handler);
});

Deno.test("createRegistry() builds the listing at its first use, once", () => {
  // Only the listing reads `output` (to convert it to JSON Schema): count those reads.
  let outputReads = 0;
  const watched = new Proxy(tool({ output: z.object({ text: z.string() }) }), {
    get(target, key, receiver) {
      if (key === "output") outputReads++;
      return Reflect.get(target, key, receiver);
    },
  });
  const registry = createRegistry([watched]);
  assert.equal(outputReads, 0, "converted at registration");
  const first = registry.descriptors;
  const reads = outputReads;
  assert.ok(reads > 0, "not converted at first use");
  assert.deepEqual(first[0].outputSchema, {
    type: "object",
    properties: { text: { type: "string" } },
    required: ["text"],
    additionalProperties: false,
  });
  assert.equal(registry.descriptors, first);
  assert.equal(registry.descriptorsFor({ id: "k" }), first);
  assert.equal(outputReads, reads, "converted again");
});
