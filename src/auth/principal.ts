/**
 * Who is calling: the identity auth resolves a request to. It lives with
 * auth (not with tools) so that anything below tools, config included, can
 * name it without importing the tool layer.
 *
 * @module
 */

/** Who is calling: the key's id, never the key. */
export interface Principal {
  readonly id: string;
  /** The key's scopes; absent: it may call every tool. */
  readonly scopes?: ReadonlySet<string>;
  /** The key's own rate limit (keys file), ahead of `RATE_LIMIT_KEY_RPM` and `RATE_LIMIT_RPM`. */
  readonly rateLimitRpm?: number;
}
