/**
 * One GET of a JSON:API document from the Outreach API, with everything a request needs:
 * origin check (the bearer token never leaves the configured API origin), auth headers, the shared
 * rate budget, 401 → refresh once and replay, 429 → wait and replay, retries with full-jitter
 * backoff for 5xx, resets, timeouts and incomplete 2xx bodies, and classified errors for the rest
 * (outreach-api.md §7). Nothing here knows about Airbyte messages.
 */
import fetch, { type Response } from "node-fetch";
import { AuthError, ConnectorError } from "../errors.js";
import type { ResourceObject } from "../records.js";
import { retryAfterMs } from "./auth.js";
import { backoffMs, type Clock } from "./clock.js";
import type { RateLimiter } from "./rate-limit.js";

/** A JSON:API collection document (outreach-api.md §3.1). */
export interface CollectionDocument {
  data: ResourceObject[];
  links?: { next?: string | null; [key: string]: unknown };
  meta?: { count?: number | null; count_truncated?: boolean };
}

/** 502/504 on a page: the caller may retry the same position with a smaller page (§4.4). */
export class GatewayError extends ConnectorError {
  constructor(readonly status: number) {
    super(`Outreach answered ${status} (page too large or too slow)`, "transient_error");
    this.name = "GatewayError";
  }
}

export interface ClientOptions {
  /** Configured API base; requests go only to its origin. */
  baseUrl: URL;
  tokens: { accessToken(): Promise<string>; renew(rejected: string): Promise<string> };
  limiter: RateLimiter;
  clock: Clock;
  log: (message: string) => void;
  signal?: AbortSignal;
  /** Per-request timeout, ms. Default 120 000. */
  timeoutMs?: number;
  /** Retries for 5xx, resets, timeouts and broken bodies. Default 5. */
  maxRetries?: number;
}

const MAX_429_WAITS = 50;

/** Fetches JSON:API documents. */
export class OutreachClient {
  constructor(private readonly options: ClientOptions) {}

  /** The configured API base URL (ends with `/`). */
  get baseUrl(): URL {
    return this.options.baseUrl;
  }

  /**
   * GETs one collection document.
   * @param url absolute URL on the configured origin (a first page, or a `links.next` verbatim)
   * @param gatewayRetries false: throw GatewayError on 502/504 at once (the reader halves the page);
   *   true: retry them like other 5xx
   * @throws ConnectorError config_error (401 after a refresh, 403 scope, 404 path), transient_error
   *   (retries exhausted, rate-limit wait too long), system_error (unexpected 4xx or body shape)
   */
  async getCollection(url: URL, gatewayRetries = true): Promise<CollectionDocument> {
    const { baseUrl, clock, signal } = this.options;
    if (url.origin !== baseUrl.origin) {
      throw new ConnectorError(
        `Refusing to follow a link to ${url.origin}: only ${baseUrl.origin} (base_url) receives the access token.`,
        "system_error",
      );
    }
    const maxRetries = this.options.maxRetries ?? 5;
    let failures = 0;
    let waits429 = 0;
    let renewed = false;
    let token = await this.options.tokens.accessToken();
    for (;;) {
      signal?.throwIfAborted();
      await this.options.limiter.acquire(signal);
      if (!renewed) token = await this.options.tokens.accessToken();
      let response: Response;
      let text: string;
      try {
        response = await fetch(url.href, {
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.api+json", Accept: "application/vnd.api+json" },
          signal: anySignal(signal, AbortSignal.timeout(this.options.timeoutMs ?? 120_000)),
        });
        text = await response.text();
      } catch (error) {
        if (signal?.aborted) throw error;
        failures = await this.retry(failures, maxRetries, `request failed: ${(error as Error).message}`);
        continue;
      }
      this.options.limiter.observe(response.headers);
      const status = response.status;
      if (status >= 200 && status < 300) {
        const document = parseCollection(text);
        if (document) return document;
        failures = await this.retry(failures, maxRetries, `HTTP ${status} with an incomplete or non-JSON:API body`);
        continue;
      }
      if (status === 401) {
        if (renewed) {
          throw new AuthError("Outreach rejected a freshly refreshed access token (401). Re-authorize the connection.", describe(text));
        }
        renewed = true;
        token = await this.options.tokens.renew(token);
        continue;
      }
      if (status === 429) {
        if (++waits429 > MAX_429_WAITS) throw new ConnectorError("Outreach keeps answering 429 Too Many Requests.", "transient_error");
        await this.options.limiter.afterTooManyRequests(response.headers, waits429, signal);
        continue;
      }
      if ((status === 502 || status === 504) && !gatewayRetries) throw new GatewayError(status);
      if (status >= 500) {
        const wait = status === 503 ? retryAfterMs(response.headers.get("retry-after"), clock.now()) : undefined;
        failures = await this.retry(failures, maxRetries, `HTTP ${status}${describe(text) ? `: ${describe(text)}` : ""}`, wait);
        continue;
      }
      throw clientError(status, text, url);
    }
  }

  /** Sleeps before the next attempt, or throws when the retries are spent. Returns the new failure count. */
  private async retry(failures: number, maxRetries: number, reason: string, waitMs?: number): Promise<number> {
    if (failures >= maxRetries) {
      throw new ConnectorError(`Outreach request failed after ${maxRetries + 1} attempts: ${reason}`, "transient_error");
    }
    const ms = waitMs ?? backoffMs(failures);
    this.options.log(`Retrying in ${(ms / 1000).toFixed(1)} s (attempt ${failures + 2} of ${maxRetries + 1}): ${reason}`);
    await this.options.clock.sleep(ms, this.options.signal);
    return failures + 1;
  }
}

/** The document, or undefined when the body is not complete JSON with a `data` array. */
function parseCollection(text: string): CollectionDocument | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== "object" || !Array.isArray((body as CollectionDocument).data)) return undefined;
  return body as CollectionDocument;
}

/** `id: detail` of a JSON:API error body, or the OAuth gateway's `error: description`, or a snippet. */
function describe(text: string): string {
  try {
    const body = JSON.parse(text) as { errors?: { id?: string; title?: string; detail?: string; details?: string }[]; error?: string; description?: string };
    const e = body.errors?.[0];
    if (e) return [e.id, e.detail ?? e.details ?? e.title].filter(Boolean).join(": ");
    if (body.error) return [body.error, body.description].filter(Boolean).join(" ");
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}

function clientError(status: number, text: string, url: URL): ConnectorError {
  const detail = describe(text);
  if (status === 403) {
    const scope = /scope '([^']+)'/.exec(detail)?.[1];
    return new ConnectorError(
      scope
        ? `The Outreach token lacks the OAuth scope '${scope}'. Add it to the app and re-authorize the connection.`
        : `Outreach refused access (403): ${detail}`,
      "config_error",
      detail,
    );
  }
  if (status === 404) {
    return new ConnectorError(`Outreach has no ${url.pathname} (404: ${detail}). Check base_url.`, "config_error", detail);
  }
  return new ConnectorError(`Outreach answered ${status} for ${url.pathname}: ${detail}`, "system_error", detail);
}

function anySignal(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a ? AbortSignal.any([a, b]) : b;
}
