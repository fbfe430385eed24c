/**
 * Reading a JSON request body with a size cap, without buffering more than
 * the cap however large the body claims or turns out to be, and with a
 * deadline (`HTTP_BODY_TIMEOUT_SECONDS`): a body that arrives a byte now and
 * then would otherwise hold its handler, its buffer and its place in the
 * rate limit for as long as the client likes (`Deno.serve` has no body
 * timeout of its own).
 *
 * @module
 */
import { readCapped } from "../streams/read_capped.ts";
import type { DeadlineQueue } from "../timing/deadlines.ts";
import { ToolError } from "../tools/errors.ts";

/** How long a body may take to arrive, on the app's one deadline timer. */
export interface BodyDeadline {
  readonly queue: DeadlineQueue;
  readonly timeoutMs: number;
}

/** Stateless without `stream: true`, so one decoder of each kind serves every request. */
const UTF8 = new TextDecoder();
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true });

/**
 * `bytes` as UTF-8 text, or undefined when they are not valid UTF-8. The
 * lenient decoder first, and the strict one only when the text holds a
 * U+FFFD (what invalid bytes become, or a real one): Deno's fatal decoding
 * takes a slower path (~0.4 µs a request body here).
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  const text = UTF8.decode(bytes);
  if (!text.includes("\uFFFD")) return text;
  try {
    return UTF8_STRICT.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Whether a `Content-Type` value names JSON (`application/json`, `application/*+json`). */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  const mediaType = value.split(";", 1)[0].trim().toLowerCase();
  return mediaType === "application/json" ||
    (mediaType.startsWith("application/") && mediaType.endsWith("+json"));
}

/**
 * Reads the body, at most `maxBytes` of it; `undefined` when it is larger.
 * With `deadline`, a body still arriving when it passes is a 408
 * `ToolError`: the read is cancelled and the handler moves on. (Deno keeps
 * the socket itself until the client ends the body or goes away: see
 * docs/DEPLOYMENT.md, "Timeouts and connection limits".)
 *
 * With a declared `Content-Length` within the cap the body is read in one
 * native call: for requests from the network the HTTP layer delivers exactly
 * that many bytes, never more (tested over a raw socket).
 * (Pulling it chunk by chunk through a stream reader cost ~25 µs per request
 * here, a third of a no-op tool call.) Without one (chunked), it is read
 * chunk by chunk and the read stops as soon as it passes the cap.
 */
export async function readBodyBytes(
  req: Request,
  maxBytes: number,
  deadline?: BodyDeadline,
): Promise<Uint8Array | undefined> {
  if (deadline === undefined) return await readRequestCapped(req, maxBytes, {});
  const read: ReadState = {};
  let expire!: (error: ToolError) => void;
  const expired = new Promise<never>((_, reject) => expire = reject);
  // The app's deadline queue, not a setTimeout per request (see timing/deadlines.ts).
  const pending = deadline.queue.add(deadline.timeoutMs, () => {
    expire(bodyTimeout(deadline.timeoutMs));
    // A chunked read stops at once; a Content-Length read cannot be
    // cancelled and ends when the connection does.
    read.reader?.cancel().catch(() => {});
  });
  const reading = readRequestCapped(req, maxBytes, read);
  // Once the deadline has answered, a read that fails later is nobody's business.
  reading.catch(() => {});
  try {
    return await Promise.race([reading, expired]);
  } finally {
    deadline.queue.cancel(pending);
  }
}

/** What the deadline needs of a read in progress. */
interface ReadState {
  reader?: ReadableStreamDefaultReader<Uint8Array>;
}

function bodyTimeout(timeoutMs: number): ToolError {
  return new ToolError(
    "invalid_input",
    `Request body timeout: the body did not arrive within ${timeoutMs / 1000} seconds`,
    { httpStatus: 408 },
  );
}

async function readRequestCapped(
  req: Request,
  maxBytes: number,
  state: ReadState,
): Promise<Uint8Array | undefined> {
  const declared = req.headers.get("content-length");
  if (declared !== null) {
    const length = Number(declared);
    if (length > maxBytes) {
      await req.body?.cancel().catch(() => {});
      return undefined;
    }
    if (/^\d+$/.test(declared)) {
      // From the network the HTTP layer frames the body by Content-Length, so
      // this is at most `length` bytes. A Request built in-process could lie;
      // it is still refused, once read. `req.body` is not touched first: the
      // getter builds a ReadableStream, and bytes() then collects through it
      // instead of taking the whole body in one native call (~10 % of a
      // no-op call's JavaScript time under load).
      const bytes = await req.bytes();
      return bytes.byteLength > maxBytes ? undefined : bytes;
    }
  }
  return await readCapped(req.body, maxBytes, state);
}

/**
 * Reads and parses the body. An empty body is `{}` (a call with all-default
 * input). Errors: 413 over `maxBytes` (refused on `Content-Length` before
 * reading, or as soon as the stream passes the cap), 408 past `deadline`, 415
 * when a non-empty body is not declared as JSON, 400 when it is not UTF-8 JSON.
 */
export async function readJsonBody(
  req: Request,
  maxBytes: number,
  deadline?: BodyDeadline,
): Promise<unknown> {
  const tooLarge = () =>
    new ToolError("invalid_input", `Request body too large: the limit is ${maxBytes} bytes`, {
      httpStatus: 413,
    });
  const bytes = await readBodyBytes(req, maxBytes, deadline);
  if (bytes === undefined) throw tooLarge();
  const received = bytes.byteLength;
  if (received === 0) return {};
  if (!isJsonContentType(req.headers.get("content-type"))) {
    throw new ToolError(
      "invalid_input",
      "Unsupported media type: send Content-Type: application/json",
      {
        httpStatus: 415,
      },
    );
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    throw new ToolError("invalid_input", "Malformed request body: not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ToolError("invalid_input", "Malformed request body: not valid JSON");
  }
}
