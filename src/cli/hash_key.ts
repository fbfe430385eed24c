/**
 * `mcp-tool-server hash-key`: prints the SHA-256 an `API_KEYS_FILE` entry
 * holds for a key read from stdin (one trailing newline dropped), so the key
 * itself never has to be written into the file or onto a command line, where
 * shell history and `ps` would keep it. With `--generate` it makes a new key
 * and prints the key and its hash.
 *
 * @module
 */
import { hashKey } from "../auth/key_ring.ts";
import { apiKeyProblem } from "../config/env.ts";
import { readCapped } from "../streams/read_capped.ts";
import { generateApiKey } from "./dev_key.ts";

/** A key longer than this is not a key; stop reading. */
const MAX_INPUT_BYTES = 4096;

/** What the command writes and its exit code. */
export interface HashKeyOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the command on `args` and the bytes of stdin (read only without `--generate`). */
export async function hashKeyCommand(
  args: readonly string[],
  /** stdin's bytes; `undefined` when it was too long to read whole. */
  stdin: () => Promise<Uint8Array | undefined>,
): Promise<HashKeyOutcome> {
  if (args.length === 1 && args[0] === "--generate") {
    const key = generateApiKey();
    return { code: 0, stdout: `key: ${key}\nsha256: ${hashKey(key)}\n`, stderr: "" };
  }
  if (args.length > 0) {
    return {
      code: 2,
      stdout: "",
      stderr: "usage: hash-key < key-file   (or: hash-key --generate)\n",
    };
  }
  const bytes = await stdin();
  if (bytes === undefined || bytes.length > MAX_INPUT_BYTES) {
    return { code: 2, stdout: "", stderr: "hash-key: the input is too long to be a key\n" };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { code: 2, stdout: "", stderr: "hash-key: the input is not UTF-8 text\n" };
  }
  const key = text.replace(/\r?\n$/, "");
  if (key === "") {
    return { code: 2, stdout: "", stderr: "hash-key: no key on stdin (pipe one in)\n" };
  }
  const problem = apiKeyProblem(key);
  if (problem) return { code: 2, stdout: "", stderr: `hash-key: not a usable key: ${problem}\n` };
  return { code: 0, stdout: `${hashKey(key)}\n`, stderr: "" };
}

/** Reads stdin; `undefined` once it is longer than `MAX_INPUT_BYTES` (reading stops there). */
export function readStdin(): Promise<Uint8Array | undefined> {
  return readCapped(Deno.stdin.readable, MAX_INPUT_BYTES);
}
