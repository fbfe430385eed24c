/**
 * A tiny OTLP/HTTP receiver for tests: listens on a free loopback port and
 * keeps every span posted to `/v1/traces` as `http/json`
 * (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`). Logs and metrics are accepted
 * and counted, not kept. A protobuf body is refused with 415, so a test
 * that forgot the protocol fails instead of waiting.
 *
 * @module
 */

/** One received span, flattened from OTLP JSON. */
export interface ReceivedSpan {
  readonly service: string | undefined;
  readonly scope: string;
  readonly name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly statusMessage: string;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Requests per path (`/v1/traces`, `/v1/logs`, `/v1/metrics`). */
  readonly posts: Record<string, number>;
  /** Resolves with the first span matching `predicate`, polling until `timeoutMs`. */
  waitForSpan(
    predicate: (span: ReceivedSpan) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedSpan>;
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

function valueOf(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return v;
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
}

/** Starts a receiver on `127.0.0.1`, on a port the OS picks. */
export function startOtlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const posts: Record<string, number> = {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    posts[path] = (posts[path] ?? 0) + 1;
    if (!req.headers.get("content-type")?.startsWith("application/json")) {
      await req.body?.cancel();
      return new Response("only http/json here", { status: 415 });
    }
    const body = await req.json();
    if (path === "/v1/traces") {
      for (const rs of body.resourceSpans ?? []) {
        const service = attributesOf(rs.resource?.attributes)["service.name"] as string | undefined;
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              scope: ss.scope?.name ?? "",
              name: s.name,
              kind: s.kind,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? "",
              attributes: attributesOf(s.attributes),
              statusCode: s.status?.code ?? 0,
              statusMessage: s.status?.message ?? "",
            });
          }
        }
      }
    }
    return Response.json({});
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    spans,
    posts,
    async waitForSpan(predicate, timeoutMs = 10_000) {
      const until = performance.now() + timeoutMs;
      for (;;) {
        const found = spans.find(predicate);
        if (found) return found;
        if (performance.now() > until) {
          throw new Error(
            `No matching span within ${timeoutMs} ms; received: ${
              JSON.stringify(spans.map((s) => `${s.scope}:${s.name}`))
            }`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => server.shutdown(),
  };
}
