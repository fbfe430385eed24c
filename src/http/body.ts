/**
 * Reading a JSON request body with a size cap, without buffering more than
 * the cap however large the body claims or turns out to be.
 *
 * @module
 */
import { ToolError } from "../tools/errors.ts";

/** Whether a `Content-Type` value names JSON (`application/json`, `application/*+json`). */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  const mediaType = value.split(";", 1)[0].trim().toLowerCase();
  return mediaType === "application/json" ||
    (mediaType.startsWith("application/") && mediaType.endsWith("+json"));
}

/**
 * Reads and parses the body. An empty body is `{}` (a call with all-default
 * input). Errors: 413 over `maxBytes` (refused on `Content-Length` before
 * reading, or as soon as the stream passes the cap), 415 when a non-empty body
 * is not declared as JSON, 400 when it is not UTF-8 JSON.
 */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const tooLarge = () =>
    new ToolError("invalid_input", `Request body too large: the limit is ${maxBytes} bytes`, {
      httpStatus: 413,
    });
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (req.body === null) return {};

  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = req.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
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
  const bytes = chunks.length === 1 ? chunks[0] : concat(chunks, received);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ToolError("invalid_input", "Malformed request body: not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ToolError("invalid_input", "Malformed request body: not valid JSON");
  }
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
