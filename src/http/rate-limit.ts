/**
 * One request budget shared by every stream of a run (outreach-api.md §6):
 * - the API's own budget from `X-RateLimit-Limit/-Remaining/-Reset` (10,000 per user per hour),
 *   paced so it is spread over the time left instead of spent and then waited out;
 * - the user's `max_requests_per_hour` cap over any rolling hour;
 * - waits after a 429 from `Retry-After`, else the reset, else exponential backoff (plus jitter);
 *   a 429 also holds back the other streams until the same moment (the budget is per user).
 * Every wait over a few seconds is reported through `log` with its length and reason; a wait
 * longer than `maxWaitMs` throws a transient ConnectorError instead of sleeping, and then leaves
 * the shared budget alone, so the other streams go on.
 */
import { ConnectorError } from "../errors.js";
import type { RunEvents } from "../events.js";
import { backoffMs, type Clock } from "./clock.js";

const HOUR_MS = 3_600_000;
/** Waits longer than this are logged (and reported as RATE_LIMITED). */
export const LOG_WAIT_MS = 5_000;

/** Response headers the limiter reads. */
export interface HeaderSource {
  get(name: string): string | null;
}

export interface RateLimiterOptions {
  clock: Clock;
  maxRequestsPerHour?: number;
  maxWaitMs: number;
  log: (message: string) => void;
  /** Where `wait` events go (every wait, however short; `hooks.label` names the stream). */
  events?: RunEvents;
}

/** Per-caller (per-stream) hooks of a wait. */
export interface WaitHooks {
  /** Prefix of log lines, e.g. the stream name. */
  label?: string;
  /**
   * Called before a rate-limit wait worth reporting (after a 429, or any wait over LOG_WAIT_MS)
   * with the epoch ms at which the wait ends (the `quota_reset` of a RATE_LIMITED stream status).
   */
  onRateLimited?: (untilMs: number) => void;
}

/**
 * The first value of a header that a proxy may have repeated (`fetch` joins repeats with ", ").
 * Thousands separators ("9,998") stay inside the value.
 */
function firstValue(raw: string): string {
  return raw.split(/,\s+/)[0]!.trim();
}

/**
 * Milliseconds to wait from a `Retry-After` value: delta seconds, an HTTP date or an ISO timestamp
 * (Outreach's 503 maintenance uses ISO, and a zone-less ISO time is UTC; outreach-api.md §6, §7).
 * Undefined when absent or unreadable (negative numbers, free text); 0 for a moment in the past.
 */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(firstValue(v))) return Number(firstValue(v)) * 1000;
  let at: number;
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/i.test(v)) at = Date.parse(`${v.replace(" ", "T")}Z`); // zone-less ISO = UTC
  else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i.test(v)) at = Date.parse(v.replace(" ", "T"));
  // HTTP dates (IMF-fixdate, RFC 850, asctime): a weekday or month name and a time of day.
  else if (/[A-Za-z]{3}/.test(v) && /\b\d{1,2}:\d{2}:\d{2}\b/.test(v) && /\b\d{2,4}\b/.test(v)) at = Date.parse(v);
  else return undefined;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Reads `X-RateLimit-Reset` in every form seen or guessed (§6, §11): epoch seconds (> 10^9,
 * fractions allowed), epoch ms (> 10^12), seconds from now (small numbers), or an ISO/HTTP date;
 * a header repeated by a proxy counts once. Returns epoch ms, or undefined when unreadable.
 */
export function parseResetMs(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const v = /^\d/.test(value.trim()) && /,\s/.test(value) && !/[A-Za-z]/.test(value) ? firstValue(value) : value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) {
    const n = Number(v);
    if (n > 1e12) return Math.round(n);
    if (n > 1e9) return Math.round(n * 1000);
    return nowMs + Math.round(n * 1000);
  }
  const wait = retryAfterMs(v, nowMs);
  return wait === undefined ? undefined : nowMs + wait;
}

/** A non-negative integer header ("9998", " 9998 ", "9,998", "9998.0", "9998, 9998"), else undefined. */
export function intHeader(headers: HeaderSource, name: string): number | undefined {
  const raw = headers.get(name);
  if (raw === null) return undefined;
  const text = firstValue(raw).replace(/[,_]/g, "");
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  return Math.floor(Number(text));
}

/** The shared request budget. */
export class RateLimiter {
  private readonly sent: number[] = [];
  private head = 0;
  private remaining: number | undefined;
  private limit: number | undefined;
  private resetAtMs: number | undefined;
  private nextSlotMs = 0;
  /** Until when a 429 holds every stream back. */
  private blockedUntilMs = 0;

  constructor(private readonly options: RateLimiterOptions) {}

  /**
   * Waits until one more request may be sent, and counts it.
   * @throws ConnectorError (transient_error) when the wait would exceed the configured maximum
   */
  async acquire(signal?: AbortSignal, hooks: WaitHooks = {}): Promise<void> {
    const { clock } = this.options;
    for (;;) {
      signal?.throwIfAborted();
      const now = clock.now();
      const cap = this.capWaitMs(now);
      const api = this.apiWaitMs(now);
      const blocked = this.blockedUntilMs - now;
      const waitMs = Math.max(cap, api, blocked);
      if (waitMs <= 0) break;
      let reason: string;
      if (waitMs === blocked) reason = "Outreach answered 429 Too Many Requests to another request";
      else if (waitMs === cap) reason = `max_requests_per_hour (${this.options.maxRequestsPerHour}) requests were sent in the last hour`;
      else if (this.remaining === 0) reason = `the Outreach request budget${this.limit ? ` (${this.limit} per window)` : ""} is spent until X-RateLimit-Reset`;
      else reason = `the Outreach request budget is nearly spent (${this.remaining} of ${this.limit} left), so requests are spread until X-RateLimit-Reset`;
      await this.wait(waitMs, reason, signal, hooks, waitMs === blocked);
    }
    const now = clock.now();
    this.sent.push(now);
    if (this.remaining !== undefined) this.remaining = Math.max(0, this.remaining - 1);
    this.nextSlotMs = now + this.paceMs(now);
  }

  /** Learns the API's budget from a response's headers. */
  observe(headers: HeaderSource): void {
    const now = this.options.clock.now();
    const remaining = intHeader(headers, "x-ratelimit-remaining");
    const reset = parseResetMs(headers.get("x-ratelimit-reset"), now);
    if (remaining !== undefined) {
      // Within one window the local count already includes requests still in flight, which a
      // response sent earlier does not: keep the lower figure. A new window takes the API's.
      const sameWindow = reset !== undefined && this.resetAtMs !== undefined && Math.abs(reset - this.resetAtMs) < 1500;
      this.remaining = sameWindow && this.remaining !== undefined ? Math.min(this.remaining, remaining) : remaining;
    }
    const limit = intHeader(headers, "x-ratelimit-limit");
    if (limit !== undefined && limit > 0) this.limit = limit;
    if (reset !== undefined) this.resetAtMs = reset;
  }

  /**
   * After a 429: waits as `Retry-After`, else `X-RateLimit-Reset`, else backoff says, plus up to
   * one second of jitter, and holds the other streams back until then.
   * @param attempt 1 for the first 429 of this request, 2 for the next, … (backoff without headers)
   * @throws ConnectorError (transient_error) when the wait would exceed the configured maximum;
   *   the shared budget is then left as it was, so other streams go on
   */
  async afterTooManyRequests(headers: HeaderSource, attempt: number, signal?: AbortSignal, hooks: WaitHooks = {}): Promise<void> {
    const now = this.options.clock.now();
    const retryAfter = headers.get("retry-after");
    const fromRetryAfter = retryAfterMs(retryAfter, now);
    const reset = parseResetMs(headers.get("x-ratelimit-reset"), now);
    const fromReset = reset !== undefined && reset > now ? reset - now : undefined;
    const base = fromRetryAfter ?? fromReset ?? backoffMs(attempt, 1000, 60_000);
    const source =
      fromRetryAfter !== undefined ? `Retry-After: ${retryAfter!.trim()}` : fromReset !== undefined ? "as X-RateLimit-Reset says" : "no Retry-After; backing off";
    const reason = `Outreach answered 429 Too Many Requests (${source})`;
    if (base > this.options.maxWaitMs) throw this.tooLong(base, reason);
    this.observe(headers);
    this.blockedUntilMs = Math.max(this.blockedUntilMs, now + base);
    await this.wait(base + Math.random() * 1000, reason, signal, hooks, true);
  }

  /**
   * Sleeps `ms` for a non-429 reason the caller names (e.g. 503 maintenance), with the same
   * logging, reporting and maximum as rate-limit waits.
   */
  async waitFor(ms: number, reason: string, signal?: AbortSignal, hooks: WaitHooks = {}): Promise<void> {
    await this.wait(ms, reason, signal, hooks, false);
  }

  private tooLong(ms: number, reason: string): ConnectorError {
    return new ConnectorError(
      `Rate limit: a wait of ${Math.ceil(ms / 1000)} s (${reason}) exceeds max_rate_limit_wait_seconds (${Math.round(this.options.maxWaitMs / 1000)} s). Run the sync later or raise the maximum.`,
      "transient_error",
    );
  }

  private async wait(ms: number, reason: string, signal: AbortSignal | undefined, hooks: WaitHooks, report: boolean): Promise<void> {
    if (ms > this.options.maxWaitMs) throw this.tooLong(ms, reason);
    const now = this.options.clock.now();
    if (ms > LOG_WAIT_MS) {
      this.options.log(`${hooks.label ? `${hooks.label}: ` : ""}Rate limit: waiting ${Math.round(ms / 1000)} s because ${reason}.`);
    }
    if (report || ms > LOG_WAIT_MS) hooks.onRateLimited?.(Math.round(now + ms));
    this.options.events?.emit("wait", { ...(hooks.label ? { stream: hooks.label } : {}), reason, ms });
    await this.options.clock.sleep(ms, signal);
  }

  /** ms until the user's rolling-hour cap allows another request. */
  private capWaitMs(now: number): number {
    const cap = this.options.maxRequestsPerHour;
    if (cap === undefined) return 0;
    while (this.head < this.sent.length && this.sent[this.head]! <= now - HOUR_MS) this.head++;
    if (this.head > 1024 && this.head * 2 > this.sent.length) {
      this.sent.splice(0, this.head);
      this.head = 0;
    }
    const inWindow = this.sent.length - this.head;
    return inWindow < cap ? 0 : this.sent[this.sent.length - cap]! + HOUR_MS - now;
  }

  /** ms until the API budget allows another request: none left → until reset; low → paced. */
  private apiWaitMs(now: number): number {
    if (this.remaining === undefined) return 0;
    if (this.remaining === 0 && this.resetAtMs !== undefined) return this.resetAtMs - now;
    return this.nextSlotMs - now;
  }

  /** Spacing between requests when the API budget runs low: the time left spread over what remains. */
  private paceMs(now: number): number {
    if (this.remaining === undefined || this.resetAtMs === undefined || this.limit === undefined) return 0;
    const reserve = Math.max(10, this.limit * 0.05);
    if (this.remaining > reserve) return 0;
    return Math.max(0, this.resetAtMs - now) / Math.max(1, this.remaining);
  }
}
