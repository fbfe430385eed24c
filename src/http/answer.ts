/**
 * What a door's answer tells the kernel, carried by the answer itself (the
 * `Response`, or the error a door throws) instead of flags the door writes
 * back onto the request context: whether the app's headers are already in it
 * (`stamped`, see `answerHeaders` in responses.ts) and whether a tool call
 * already wrote its audit line (`audited`, so the kernel does not log the
 * request a second time).
 *
 * @module
 */

/** The facts an answer carries; absent ones are false. */
export interface AnswerFacts {
  /** `X-Request-ID` and `X-RateLimit-*` are in its headers already. */
  readonly stamped?: boolean;
  /** A tool call wrote the audit line for this request. */
  readonly audited?: boolean;
}

const FACTS = Symbol("answer facts");
const NONE: AnswerFacts = Object.freeze({});

/**
 * `answer` (a `Response` the door built) with `facts` added to what it carries.
 *
 * @example
 * ```ts
 * import { factsOf, tell } from "./answer.ts";
 * import assert from "node:assert/strict";
 *
 * const res = tell(new Response("{}"), { stamped: true });
 * assert.deepEqual(factsOf(tell(res, { audited: true })), { stamped: true, audited: true });
 * assert.deepEqual(factsOf(new Response("{}")), {});
 * ```
 */
export function tell(answer: Response, facts: AnswerFacts): Response {
  const carrier = answer as Response & { [FACTS]?: AnswerFacts };
  carrier[FACTS] = carrier[FACTS] ? { ...carrier[FACTS], ...facts } : facts;
  return answer;
}

/** What `answer` carries (nothing for anything a door did not mark). */
export function factsOf(answer: Response): AnswerFacts {
  return (answer as Response & { [FACTS]?: AnswerFacts })[FACTS] ?? NONE;
}
