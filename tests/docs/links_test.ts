/**
 * README.md and docs/*.md cannot point at nothing: every relative link names
 * a file or folder that exists, and every `#anchor` one of the target page's
 * headings (as GitHub spells heading anchors).
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** The pages checked: the README and every Markdown file in docs/. */
async function pages(): Promise<string[]> {
  const out = ["README.md"];
  for await (const entry of Deno.readDir(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) out.push(`docs/${entry.name}`);
  }
  return out.sort();
}

/** The text outside fenced code blocks and inline code spans. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "")
    .replace(/``[^`\n]+``|`[^`\n]+`/g, "");
}

/** Targets of inline links and images: `[text](target)` and `![alt](target "title")`. */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) =>
    m[1]
  );
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replaceAll(" ", "-");
}

/** Every anchor a page's headings define (a repeated heading gets `-1`, `-2`, …). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const m of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("slug() spells anchors as GitHub does", () => {
  assert.equal(slug("Permissions: the sandbox"), "permissions-the-sandbox");
  assert.equal(
    slug("Several cores in one process: `WORKERS`"),
    "several-cores-in-one-process-workers",
  );
  assert.equal(slug("`sql_query` (opt-in)"), "sql_query-opt-in");
  assert.equal(slug("Binary / VM"), "binary--vm");
});

Deno.test("every relative link in README.md and docs/*.md points at a file and heading that exist", async () => {
  const broken: string[] = [];
  let checked = 0;
  for (const page of await pages()) {
    const pageUrl = new URL(page, ROOT);
    const text = await Deno.readTextFile(pageUrl);
    for (const target of linkTargets(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      checked++;
      const [path, anchor] = target.split("#", 2);
      const url = path === "" ? pageUrl : new URL(decodeURIComponent(path), pageUrl);
      if (!url.href.startsWith(ROOT.href) || !(await exists(url))) {
        broken.push(`${page}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && url.pathname.endsWith(".md")) {
        const headings = anchors(path === "" ? text : await Deno.readTextFile(url));
        if (!headings.has(anchor)) broken.push(`${page}: ${target} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked > 20, `only ${checked} relative links found: is the parser still right?`);
});
