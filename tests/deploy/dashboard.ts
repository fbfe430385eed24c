/**
 * Reads `deploy/grafana-dashboard.json` for the tests: its panels, their
 * PromQL with Grafana's variables filled in (so Prometheus can parse it), and
 * the metric names an expression reads.
 *
 * @module
 */

/** One query of one panel. */
export interface PanelQuery {
  readonly panel: string;
  readonly refId: string;
  /** As written in the dashboard, with `$variables`. */
  readonly raw: string;
  /** With every variable replaced: what Prometheus receives for "All" over the last minute. */
  readonly expr: string;
}

// deno-lint-ignore no-explicit-any
export type Dashboard = Record<string, any>;

export const DASHBOARD_URL = new URL("../../deploy/grafana-dashboard.json", import.meta.url);

export async function loadDashboard(): Promise<Dashboard> {
  return JSON.parse(await Deno.readTextFile(DASHBOARD_URL));
}

/** Every panel, rows' nested panels included. */
export function panelsOf(dashboard: Dashboard): Dashboard[] {
  const top: Dashboard[] = dashboard.panels ?? [];
  return top.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Grafana's built-in interval variables, as a one-minute window. */
const BUILTIN_INTERVALS =
  /\$(?:__rate_interval|__interval|__range)\b|\$\{(?:__rate_interval|__interval|__range)\}/g;
/** A template variable: `$name`, `${name}`, `${name:format}` or `[[name]]`. */
const VARIABLE = /\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g;

/**
 * Replaces Grafana's variables with what "All" sends: intervals become `1m`,
 * template variables `.*` (their `allValue`). Throws on a variable the
 * dashboard does not define, or one used outside a regex matcher (where `.*`
 * would match literally).
 */
export function substitute(raw: string, variables: ReadonlySet<string>): string {
  const intervals = raw.replace(BUILTIN_INTERVALS, "1m");
  for (const m of intervals.matchAll(/(=~|!~|!=|=)\s*"[^"]*\$\{?(\w+)/g)) {
    if (m[1] !== "=~" && m[1] !== "!~") {
      throw new Error(`Variable "${m[2]}" used with ${m[1]}, not a regex matcher: ${raw}`);
    }
  }
  const expr = intervals.replace(VARIABLE, (_all, a, b, c) => {
    const name = a ?? b ?? c;
    if (!variables.has(name)) throw new Error(`Unknown variable "${name}" in: ${raw}`);
    return ".*";
  });
  if (expr.includes("$")) throw new Error(`Unreplaced "$" in: ${expr}`);
  return expr;
}

/** The names of the dashboard's template variables. */
export function variablesOf(dashboard: Dashboard): Set<string> {
  return new Set((dashboard.templating?.list ?? []).map((v: Dashboard) => v.name as string));
}

/** Every panel query, variables filled in. */
export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  const variables = variablesOf(dashboard);
  return panelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((t: Dashboard) => ({
      panel: panel.title as string,
      refId: t.refId as string,
      raw: t.expr as string,
      expr: substitute(t.expr as string, variables),
    }))
  );
}

/** PromQL words that look like names but are not series. */
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
]);

/**
 * The metric names an expression selects: every identifier left once string
 * literals, label matchers, range brackets and label lists are removed, that
 * is not a function call, a keyword or part of a number or duration.
 */
export function metricNames(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.])[A-Za-z_:][\w:]*/g)) {
    const rest = stripped.slice(m.index + m[0].length).trimStart();
    if (rest.startsWith("(") || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return names;
}

/** The metric a template variable's `label_values(metric, label)` reads, if any. */
export function variableMetrics(dashboard: Dashboard): string[] {
  return (dashboard.templating?.list ?? []).flatMap((v: Dashboard) => {
    const definition = typeof v.query === "string" ? v.query : v.query?.query ?? v.definition;
    const m = /^label_values\(\s*([A-Za-z_:][\w:]*)/.exec(definition ?? "");
    return m ? [m[1]] : [];
  });
}
