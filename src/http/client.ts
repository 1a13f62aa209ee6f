/**
 * One GET of a JSON:API document from the Outreach API, with everything a request needs:
 * origin check (the bearer token never leaves the configured API origin), auth headers, the shared
 * rate budget, 401 → refresh once and replay, 429 → wait and replay, retries with full-jitter
 * backoff for 5xx, resets, timeouts and incomplete 2xx bodies (503 maintenance: as long as its
 * `Retry-After` says), and classified errors for the rest (outreach-api.md §7). Nothing here knows
 * about Airbyte messages.
 */
import fetch, { type Response } from "node-fetch";
import { AuthError, ConnectorError } from "../errors.js";
import { requestEvent, type RunEvents } from "../events.js";
import { backoffMs, withTimeout, type Clock } from "./clock.js";
import type { ResourceObject } from "../records.js";
import { CollectionScanner, type CollectionDocument, type ResourceMap } from "./collection-parser.js";
import { PageBudget } from "../page-budget.js";
import { UNREACHABLE_DELAYS_MS, UnreachableError, unreachable } from "./network.js";
import { retryAfterMs, type RateLimiter, type WaitHooks } from "./rate-limit.js";

export type { CollectionDocument, ResourceMap } from "./collection-parser.js";

/** 502/504 or a timeout on a page: the caller may retry the same position with a smaller page (§4.4, §9 #2). */
export class GatewayError extends ConnectorError {
  /** @param status the HTTP status, or 0 for a timeout */
  constructor(readonly status: number) {
    super(status === 0 ? "the request timed out (page too large or too slow)" : `Outreach answered ${status} (page too large or too slow)`, "transient_error");
    this.name = "GatewayError";
  }
}

/** Where access tokens come from (OAuthTokens). */
export interface TokenSource {
  /** A valid access token, refreshed first when it expires soon. */
  accessToken(): Promise<string>;
  /** After a 401 for `rejected`: a fresh token, one refresh shared by every caller that saw it. */
  renew(rejected: string): Promise<string>;
}

export interface ClientOptions {
  /** Configured API base; requests go only to its origin. */
  baseUrl: URL;
  tokens: TokenSource;
  limiter: RateLimiter;
  clock: Clock;
  log: (message: string) => void;
  signal?: AbortSignal;
  /** Per-request timeout, ms. Default 120 000. */
  timeoutMs?: number;
  /** Retries for 5xx, resets, timeouts and broken bodies. Default 5. */
  maxRetries?: number;
  /** Base of the full-jitter backoff, ms. Default 500 (then 1, 2, 4, 8 s; capped at 30 s). */
  backoffBaseMs?: number;
  /** Longest wait for a 503 maintenance window (max_rate_limit_wait_seconds), ms. Default: no limit. */
  maxWaitMs?: number;
  /** Per-stream hooks: log label and RATE_LIMITED reporting. */
  hooks?: WaitHooks;
  /** Where `request` and `retry` events go (the label of `hooks` names the stream). */
  events?: RunEvents;
  /**
   * Shared by every client derived with `withHooks`: once base_url proved unreachable, every
   * request fails at once with the same error. Created by the constructor when absent.
   */
  reachability?: { error?: UnreachableError };
  /** Shared by every client derived with `withHooks`: the record text of pages in flight (page-budget.ts). Created when absent. */
  pageBudget?: PageBudget;
}

const MAX_429_WAITS = 50;
/** Refreshes one request may trigger on 401: one for an expired token, one more if a concurrent refresh replaced it. */
const MAX_RENEWALS = 2;

/** Fetches JSON:API documents. */
export class OutreachClient {
  private readonly options: ClientOptions & { reachability: { error?: UnreachableError }; pageBudget: PageBudget };

  constructor(options: ClientOptions) {
    this.options = { ...options, reachability: options.reachability ?? {}, pageBudget: options.pageBudget ?? new PageBudget() };
  }

  /** The memory budget of pages in flight, shared by every reader of this run (page-budget.ts). */
  get pageBudget(): PageBudget {
    return this.options.pageBudget;
  }

  /** The run's event bus, if any (the reader reports page-size halvings on it). */
  get events(): RunEvents | undefined {
    return this.options.events;
  }

  /** The configured API base URL (ends with `/`). */
  get baseUrl(): URL {
    return this.options.baseUrl;
  }

  /** A client sharing this one's token source, budget and signal, with hooks of its own (one per stream). */
  withHooks(hooks: WaitHooks): OutreachClient {
    return new OutreachClient({ ...this.options, hooks: { ...this.options.hooks, ...hooks } });
  }

  /**
   * GETs one collection document.
   * @param url absolute URL on the configured origin (a first page, or a `links.next` verbatim)
   * @param gatewayRetries false: throw GatewayError on 502/504 or a timeout at once (the reader halves the page);
   *   true: retry them like other 5xx
   * @param map what `data` keeps of each resource, called as each resource of a 2xx body arrives
   *   (collection-parser.ts; an attempt that fails is read again with a fresh `data`); default the
   *   resource itself. What it throws is thrown once the body is complete.
   * @throws ConnectorError config_error (401 after a refresh, 403 scope, 404 path), transient_error
   *   (retries exhausted, rate-limit wait too long), system_error (other 4xx, a foreign origin);
   *   UnreachableError after three attempts about 3 s apart when base_url cannot be reached
   *   (refused, unknown host, TLS failure; network.ts), and at once for every later request
   */
  async getCollection<R = ResourceObject>(url: URL, gatewayRetries = true, map: ResourceMap<R> = (r) => r as R): Promise<CollectionDocument<R>> {
    const { baseUrl, signal } = this.options;
    const hooks = this.options.hooks ?? {};
    if (url.origin !== baseUrl.origin) {
      throw new ConnectorError(
        `Refusing to follow a link to ${url.origin}: only ${baseUrl.origin} (base_url) receives the access token.`,
        "system_error",
        `links.next pointed to ${url.origin}${url.pathname}`,
      );
    }
    const maxRetries = this.options.maxRetries ?? 5;
    let failures = 0;
    let waits429 = 0;
    let renewals = 0;
    let unanswered = 0;
    const reachability = this.options.reachability;
    for (;;) {
      signal?.throwIfAborted();
      if (reachability.error) throw reachability.error;
      await this.options.limiter.acquire(signal, hooks);
      // Checked before every request, links.next ones included (outreach-api.md §9 #1).
      const token = await this.options.tokens.accessToken();
      let response: Response;
      let body: CollectionScanner<R> | Buffer;
      let bytes = 0;
      const startedMs = performance.now();
      const request = { ...(hooks.label ? { stream: hooks.label } : {}), method: "GET", path: url.pathname + url.search } as const;
      try {
        [response, body] = await withTimeout(this.options.timeoutMs ?? 120_000, signal, async (timeoutSignal) => {
          const r = await fetch(url.href, {
            headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.api+json", Accept: "application/vnd.api+json" },
            signal: timeoutSignal,
            redirect: "manual",
          });
          if (r.status < 200 || r.status >= 300) {
            const whole = Buffer.from(await r.arrayBuffer()); // an error document: small
            bytes = whole.length;
            return [r, whole] as const;
          }
          // Scanned as the chunks arrive: the page is never held as one Buffer (collection-parser.ts).
          const scanner = new CollectionScanner(map);
          for await (const chunk of (r.body ?? []) as AsyncIterable<Buffer>) {
            bytes += chunk.length;
            scanner.write(chunk);
          }
          return [r, scanner] as const;
        });
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error;
        this.options.events?.emit("request", requestEvent(request, startedMs));
        const cause = unreachable(error);
        if (cause) {
          if (reachability.error) throw reachability.error;
          if (unanswered >= UNREACHABLE_DELAYS_MS.length) throw (reachability.error = new UnreachableError("base_url", baseUrl, cause, unanswered + 1));
          const delayMs = UNREACHABLE_DELAYS_MS[unanswered++]!;
          await this.sleepBeforeRetry(delayMs, `(attempt ${unanswered + 1} of ${UNREACHABLE_DELAYS_MS.length + 1}): cannot reach base_url: ${cause.what}`);
          continue;
        }
        const timedOut = (error as Error).name === "TimeoutError" || (error as Error).name === "AbortError";
        if (timedOut && !gatewayRetries) throw new GatewayError(0);
        const what = timedOut ? "the request timed out" : `request failed: ${(error as Error).message}`;
        failures = await this.retry(failures, maxRetries, what);
        continue;
      }
      this.options.events?.emit("request", requestEvent(request, startedMs, response.status, bytes));
      this.options.limiter.observe(response.headers);
      const status = response.status;
      if (body instanceof CollectionScanner) {
        const document = body.end();
        if (document) return document;
        failures = await this.retry(failures, maxRetries, `HTTP ${status} with an incomplete or non-JSON:API body`);
        continue;
      }
      const text = body.toString("utf8");
      if (status === 401) {
        if (renewals >= MAX_RENEWALS) {
          throw new AuthError("Outreach rejected a freshly refreshed access token (401). Re-authorize the connection.", describe(text));
        }
        renewals++;
        await this.options.tokens.renew(token);
        continue;
      }
      if (status === 429) {
        if (++waits429 > MAX_429_WAITS) throw new ConnectorError("Outreach keeps answering 429 Too Many Requests.", "transient_error");
        await this.options.limiter.afterTooManyRequests(response.headers, waits429, signal, hooks);
        continue;
      }
      if ((status === 502 || status === 504) && !gatewayRetries) throw new GatewayError(status);
      if (status >= 500) {
        const detail = describe(text);
        failures = await this.retry(failures, maxRetries, `HTTP ${status}${detail ? `: ${detail}` : ""}`, response.headers.get("retry-after"));
        continue;
      }
      throw clientError(status, text, url);
    }
  }

  /**
   * Sleeps before the next attempt — as `Retry-After` says when the response gave one (503
   * maintenance), else full-jitter backoff — or throws when the retries are spent.
   * @returns the new failure count
   */
  private async retry(failures: number, maxRetries: number, reason: string, retryAfter?: string | null): Promise<number> {
    if (failures >= maxRetries) {
      throw new ConnectorError(`Outreach request failed after ${maxRetries + 1} attempts: ${reason}`, "transient_error");
    }
    const told = retryAfterMs(retryAfter, this.options.clock.now());
    const attempt = `attempt ${failures + 2} of ${maxRetries + 1}`;
    if (told !== undefined) {
      const maxWaitMs = this.options.maxWaitMs ?? Infinity;
      if (told > maxWaitMs) {
        throw new ConnectorError(
          `Outreach asks to retry after ${retryAfter?.trim()} (${Math.ceil(told / 1000)} s), longer than max_rate_limit_wait_seconds (${Math.round(maxWaitMs / 1000)} s). Run the sync later. (${reason})`,
          "transient_error",
        );
      }
      await this.sleepBeforeRetry(told + Math.random() * 1000, `as Retry-After says (${attempt}): ${reason}`);
    } else {
      await this.sleepBeforeRetry(backoffMs(failures, this.options.backoffBaseMs ?? 500), `(${attempt}): ${reason}`);
    }
    return failures + 1;
  }

  /** Logs `<stream>: Retrying in N s <why>`, reports a `retry` event and sleeps `ms`. */
  private async sleepBeforeRetry(ms: number, why: string): Promise<void> {
    const { clock, signal, events } = this.options;
    const label = this.options.hooks?.label;
    this.options.log(`${label ? `${label}: ` : ""}Retrying in ${(ms / 1000).toFixed(1)} s ${why}`);
    events?.emit("retry", { ...(label ? { stream: label } : {}), reason: why, delayMs: ms });
    await clock.sleep(ms, signal);
  }
}

/** `id: detail` of a JSON:API error body, or the OAuth gateway's `error: description`, or a snippet. */
export function describe(text: string): string {
  try {
    const body = JSON.parse(text) as { errors?: { id?: string; title?: string; detail?: string; details?: string }[]; error?: string; description?: string };
    const e = body.errors?.[0];
    if (e) return [e.id, e.detail ?? e.details ?? e.title].filter(Boolean).join(": ");
    if (body.error) return [body.error, body.description].filter(Boolean).join(" ");
  } catch {
    // not JSON
  }
  return text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 200);
}

/** The OAuth scope a 403 body names (`unauthorizedOauthScope`), if any. */
export function scopeOf(detail: string): string | undefined {
  return /scope '([^']+)'/.exec(detail)?.[1];
}

function clientError(status: number, text: string, url: URL): ConnectorError {
  const detail = describe(text);
  if (status === 403) {
    const scope = scopeOf(detail);
    return new ConnectorError(
      scope
        ? `The Outreach token lacks the OAuth scope '${scope}'. Add it to the app and re-authorize the connection.`
        : `Outreach refused access to ${url.pathname} (403): ${detail}`,
      "config_error",
      detail,
    );
  }
  if (status === 404) {
    return new ConnectorError(`Outreach has no ${url.pathname} (404: ${detail}). Check base_url.`, "config_error", detail);
  }
  return new ConnectorError(`Outreach answered ${status} for ${url.pathname}: ${detail}`, "system_error", detail);
}
