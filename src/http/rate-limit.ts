/**
 * One request budget shared by every stream of a run (outreach-api.md §6):
 * - the API's own budget from `X-RateLimit-Limit/-Remaining/-Reset` (10,000 per user per hour),
 *   paced so it is spread over the time left instead of spent and then waited out;
 * - the user's `max_requests_per_hour` cap over any rolling hour;
 * - waits after a 429 from `Retry-After`, else the reset, else exponential backoff.
 * Every wait over a few seconds is reported through `log`; a wait longer than `maxWaitMs` throws a
 * transient ConnectorError instead of sleeping.
 */
import { ConnectorError } from "../errors.js";
import { retryAfterMs } from "./auth.js";
import { backoffMs, type Clock } from "./clock.js";

const HOUR_MS = 3_600_000;
/** Waits longer than this are logged. */
const LOG_WAIT_MS = 5_000;

/** Response headers the limiter reads. */
export interface HeaderSource {
  get(name: string): string | null;
}

export interface RateLimiterOptions {
  clock: Clock;
  maxRequestsPerHour?: number;
  maxWaitMs: number;
  log: (message: string) => void;
  /** Called before a rate-limit wait with the epoch ms at which the quota resets (for STREAM_STATUS reasons). */
  onWait?: (resetAtMs: number) => void;
}

/**
 * Reads `X-RateLimit-Reset` in every form seen or guessed (§6, §11): epoch seconds (> 10^9), epoch
 * ms (> 10^12), seconds from now (small numbers), or an ISO/HTTP date. Returns epoch ms or undefined.
 */
export function parseResetMs(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) {
    const n = Number(v);
    if (n > 1e12) return n;
    if (n > 1e9) return n * 1000;
    return nowMs + n * 1000;
  }
  const wait = retryAfterMs(v, nowMs);
  return wait === undefined ? undefined : nowMs + wait;
}

function intHeader(headers: HeaderSource, name: string): number | undefined {
  const raw = headers.get(name);
  if (raw === null) return undefined;
  const n = Number.parseInt(raw.trim(), 10);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The shared request budget. */
export class RateLimiter {
  private readonly sent: number[] = [];
  private head = 0;
  private remaining: number | undefined;
  private limit: number | undefined;
  private resetAtMs: number | undefined;
  private nextSlotMs = 0;

  constructor(private readonly options: RateLimiterOptions) {}

  /** Waits until one more request may be sent, and counts it. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const { clock } = this.options;
    for (;;) {
      const now = clock.now();
      const waitMs = Math.max(this.capWaitMs(now), this.apiWaitMs(now));
      if (waitMs <= 0) break;
      await this.wait(waitMs, "the request budget is nearly spent", signal);
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
    if (remaining !== undefined) this.remaining = remaining;
    const limit = intHeader(headers, "x-ratelimit-limit");
    if (limit !== undefined) this.limit = limit;
    const reset = parseResetMs(headers.get("x-ratelimit-reset"), now);
    if (reset !== undefined) this.resetAtMs = reset;
  }

  /**
   * After a 429: waits as `Retry-After`, else `X-RateLimit-Reset`, else backoff says (plus jitter).
   * @throws ConnectorError (transient_error) when the wait would exceed the configured maximum
   */
  async afterTooManyRequests(headers: HeaderSource, attempt: number, signal?: AbortSignal): Promise<void> {
    const now = this.options.clock.now();
    this.observe(headers);
    const fromRetryAfter = retryAfterMs(headers.get("retry-after"), now);
    const fromReset = this.resetAtMs !== undefined && this.resetAtMs > now ? this.resetAtMs - now : undefined;
    const base = fromRetryAfter ?? fromReset ?? backoffMs(attempt, 1000, 60_000);
    this.remaining = 0;
    this.resetAtMs = now + base;
    await this.wait(base + Math.random() * 1000, "Outreach answered 429 Too Many Requests", signal);
  }

  private async wait(ms: number, reason: string, signal?: AbortSignal): Promise<void> {
    if (ms > this.options.maxWaitMs) {
      throw new ConnectorError(
        `Rate limit: a wait of ${Math.ceil(ms / 1000)} s (${reason}) exceeds max_rate_limit_wait_seconds (${Math.round(this.options.maxWaitMs / 1000)} s). Run the sync later or raise the maximum.`,
        "transient_error",
      );
    }
    if (ms > LOG_WAIT_MS) {
      this.options.log(`Rate limit: waiting ${Math.round(ms / 1000)} s because ${reason}.`);
      this.options.onWait?.(this.options.clock.now() + ms);
    }
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
