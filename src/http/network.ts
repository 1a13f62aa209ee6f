/**
 * Network errors that mean "this URL cannot be reached": no answer will come however long one
 * retries, so callers retry briefly (UNREACHABLE_DELAYS_MS) and then stop the whole read with one
 * error naming the configured URL, instead of the long 5xx/timeout policy (outreach-api.md §7).
 */
import { ConnectorError, type FailureType } from "../errors.js";

/** Sleeps between the attempts at an unreachable host, ms: 3 attempts in about 3 s. */
export const UNREACHABLE_DELAYS_MS = [1_000, 2_000];

/** Error codes of a TLS handshake that cannot succeed (certificate problems, a non-TLS peer). */
const TLS_CODES = /^(EPROTO|ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_)/;

/** Why a host cannot be reached, in words, and what kind of failure that is. */
export interface Unreachable {
  /** e.g. "the connection was refused (ECONNREFUSED)" */
  what: string;
  /**
   * config_error when the configured URL is most likely wrong (no such host, nothing listening,
   * TLS spoken to a plain-http port or a bad certificate); transient_error for network outages
   * (a DNS server not answering, no route to the host).
   */
  failureType: FailureType;
}

/**
 * Classifies a `fetch` rejection (node-fetch FetchError with a Node system error `code`).
 * @returns undefined when the error is not one of "cannot reach" (e.g. a reset mid-response, a timeout)
 */
export function unreachable(error: unknown): Unreachable | undefined {
  const code = String((error as { code?: unknown })?.code ?? "");
  const message = (error as Error)?.message ?? "";
  if (code === "ECONNREFUSED") return { what: "the connection was refused (ECONNREFUSED): nothing listens on that port", failureType: "config_error" };
  if (code === "ENOTFOUND") return { what: "the host name does not resolve (ENOTFOUND)", failureType: "config_error" };
  if (code === "EAI_AGAIN") return { what: "the host name could not be resolved now (EAI_AGAIN: DNS did not answer)", failureType: "transient_error" };
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return { what: `there is no route to the host (${code})`, failureType: "transient_error" };
  if (/wrong version number|packet length too long|http request/i.test(message)) {
    return { what: "the TLS handshake failed: the server answers plain HTTP, not https (check the scheme and port)", failureType: "config_error" };
  }
  if (TLS_CODES.test(code)) return { what: `the TLS handshake failed (${code})`, failureType: "config_error" };
  return undefined;
}

/** The error that stops a read when a configured URL cannot be reached: no stream starts after it. */
export class UnreachableError extends ConnectorError {
  /**
   * @param field the config field holding the URL (`base_url`, `token_url`)
   * @param url the URL as configured
   */
  constructor(field: string, url: URL, cause: Unreachable, attempts: number) {
    super(
      `Cannot reach ${field} ${url.href}: ${cause.what}; gave up after ${attempts} attempts. Check ${field} and the network.`,
      cause.failureType,
    );
    this.name = "UnreachableError";
  }
}
