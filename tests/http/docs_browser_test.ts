/**
 * `/docs` in a real browser (Debian's chromium driven by playwright-core):
 * the page lists every tool, "Authorize" + "Try it out" reach the real tool,
 * a wrong key shows 401, and the page asks nothing of any other host.
 *
 * The test serves the real app on loopback in-process; the browser is driven
 * by this same file run as a child (`deno run -A <this file> drive <url>
 * <key>`), because playwright-core cannot even be imported under the test
 * task's permissions (it reads `/proc/sys/fs/binfmt_misc/WSLInterop`, which
 * Deno grants only with `--allow-all`). The child reports what the page
 * showed and loaded as one JSON line; the assertions are here.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { isLoopbackHost } from "../../src/http/middleware/host_origin.ts";
import { createTestApp, PRIMARY_KEY, serveOnLoopback } from "../harness.ts";
import { commandUnavailable, DEV_CONFIG, runDeno, toolchainEnv } from "../process.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];
const WRONG_KEY = "wrong-key-0123456789abcdef";

/** What the driver saw, for the test to judge. */
interface Report {
  readonly status: number | undefined;
  readonly title: string;
  /** The `data-path` of every operation on the page. */
  readonly operations: string[];
  readonly right: { readonly status: string; readonly body: string };
  readonly wrong: { readonly status: string; readonly body: string };
  /** Every URL the page requested. */
  readonly requested: string[];
  /** Requests to any host but loopback (refused before leaving). */
  readonly external: string[];
  /** Console errors and uncaught page errors (a CSP violation is one). */
  readonly problems: string[];
}

if (import.meta.main && Deno.args[0] === "drive") {
  console.log(JSON.stringify(await drive(Deno.args[1], Deno.args[2])));
  Deno.exit(0);
}

const noChromium = await commandUnavailable(CHROMIUM, "Debian package chromium");
if (noChromium) console.log(`Skipping the /docs browser test: ${noChromium}`);

Deno.test({
  name: "/docs in chromium: every tool listed, Try it out calls the tool, a wrong key shows 401",
  ignore: noChromium !== undefined,
  async fn() {
    const app = await createTestApp();
    const server = serveOnLoopback(app);
    try {
      const out = await runDeno([
        "run",
        "-A",
        "--config",
        DEV_CONFIG,
        new URL(import.meta.url).pathname,
        "drive",
        server.url,
        PRIMARY_KEY,
      ], toolchainEnv());
      assert.equal(out.code, 0, `driver failed:\n${out.stderr}\n${out.stdout}`);
      const report: Report = JSON.parse(out.stdout.trim().split("\n").at(-1)!);

      assert.equal(report.status, 200);
      assert.equal(report.title, "mcp-tool-server API");
      // Every tool of the registry is an operation on the page.
      const tools = app.registry.descriptors.map((t) => t.name);
      assert.ok(tools.includes("lookup_customer"), tools.join(", "));
      for (const tool of tools) {
        assert.ok(report.operations.includes(`/v1/mcp/${tool}`), `${tool}: ${report.operations}`);
      }
      // The right key: the tool's real result.
      assert.equal(report.right.status, "200", report.right.body);
      assert.deepEqual(JSON.parse(report.right.body), {
        id: 42,
        name: "Alan Carter",
        email: "customer42@example.com",
      });
      // A wrong key: the server's 401, shown on the page.
      assert.equal(report.wrong.status, "401", report.wrong.body);
      assert.equal(JSON.parse(report.wrong.body).status, "unauthorized");

      // What the page loaded: our own files, the document, the calls; nothing from elsewhere.
      assert.deepEqual(report.external, []);
      const urls = report.requested.map((url) => new URL(url));
      for (const url of urls) assert.equal(url.origin, server.url, url.href);
      const paths = new Set(urls.map((url) => url.pathname));
      for (
        const path of [
          "/docs",
          "/docs/swagger-ui-bundle.js",
          "/docs/swagger-ui.css",
          "/docs/init.js",
          "/openapi.json",
          "/v1/mcp/lookup_customer",
        ]
      ) {
        assert.ok(paths.has(path), `${path} not requested: ${[...paths]}`);
      }
      // The 401 is the one expected console error: no CSP violation, no script error.
      assert.deepEqual(report.problems.filter((p) => !/status of 401/.test(p)), []);
    } finally {
      await server.stop();
      await app.close();
    }
  },
});

/** Drives chromium through the docs page at `baseUrl` (runs in the child). */
async function drive(baseUrl: string, key: string): Promise<Report> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext();
    const requested: string[] = [];
    const external: string[] = [];
    const problems: string[] = [];
    context.on("request", (request) => {
      requested.push(request.url());
    });
    // Refuse anything not on loopback, so nothing leaves the machine even if the page tried.
    await context.route(
      (url) =>
        (url.protocol === "http:" || url.protocol === "https:") &&
        !isLoopbackHost(url.hostname),
      (route) => {
        external.push(route.request().url());
        return route.abort();
      },
    );
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));

    const res = await page.goto(`${baseUrl}/docs`);
    await page.locator(".opblock").first().waitFor();
    const operations = await page.locator(".opblock-summary-path").evaluateAll((nodes) =>
      nodes.map((n) => n.getAttribute("data-path") ?? "")
    );

    await authorize(page, key);
    const op = page.locator("#operations-default-lookup_customer");
    await op.locator(".opblock-summary-control").click();
    await op.locator(".try-out__btn").click();
    await op.locator("textarea.body-param__text").fill('{"id": 42}');
    const right = await execute(page, op);

    await authorize(page, WRONG_KEY);
    const wrong = await execute(page, op);

    const title = await page.title();
    await context.close();
    return {
      status: res?.status(),
      title,
      operations,
      right,
      wrong,
      requested,
      external,
      problems,
    };
  } finally {
    await browser.close();
  }
}

/** Opens "Authorize", replaces any key with `key`, and closes the dialog. */
async function authorize(page: Page, key: string): Promise<void> {
  await page.locator(".scheme-container button.authorize").click();
  const dialog = page.locator(".modal-ux");
  const logout = dialog.locator("button", { hasText: "Logout" });
  if (await logout.count() > 0) await logout.click();
  await dialog.locator("input").fill(key);
  await dialog.locator("button.authorize").click();
  await dialog.locator("button.btn-done").click();
  await dialog.waitFor({ state: "detached" });
}

/** Clicks Execute and reads the live response's status and body once the call ends. */
async function execute(
  page: Page,
  op: ReturnType<Page["locator"]>,
): Promise<{ status: string; body: string }> {
  const call = page.waitForResponse((r) => new URL(r.url()).pathname.startsWith("/v1/mcp/"));
  await op.locator("button.execute").click();
  await call;
  const live = op.locator(".live-responses-table .response").first();
  await live.locator(".response-col_description .microlight").first().waitFor();
  return {
    status: (await live.locator(".response-col_status").innerText()).trim(),
    body: await live.locator(".response-col_description .microlight").first().innerText(),
  };
}
