/**
 * The hourly request budget (outreach-api.md §6): a fixed window aligned to the clock (the top of
 * each hour by default), `X-RateLimit-Limit/-Remaining/-Reset` on every API response, and 429
 * `rateLimitExceeded` with `Retry-After` (seconds) once the budget is spent.
 */
import { rateLimitExceeded, type Reply } from "./errors.js";

/** Fixed-window request budget. */
export class RateLimiter {
  private windowStart = 0;
  private used = 0;

  /**
   * @param budget requests allowed per window (Outreach: 10,000 per hour per user)
   * @param windowSec window length in seconds; windows start at multiples of it (3600 = clock hours)
   */
  constructor(public budget: number, public windowSec: number) {}

  private roll(nowSec: number): void {
    const start = Math.floor(nowSec / this.windowSec) * this.windowSec;
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used = 0;
    }
  }

  /** Epoch second at which the current window ends (the `X-RateLimit-Reset` value). */
  resetAt(nowSec = Date.now() / 1000): number {
    this.roll(nowSec);
    return this.windowStart + this.windowSec;
  }

  /** Counts one request; returns the 429 reply if the budget was already spent. */
  take(nowSec = Date.now() / 1000): Reply | null {
    this.roll(nowSec);
    if (this.used >= this.budget) {
      const reset = this.windowStart + this.windowSec;
      const reply = rateLimitExceeded(this.budget, reset);
      reply.headers["retry-after"] = String(Math.max(1, Math.ceil(reset - nowSec)));
      return reply;
    }
    this.used++;
    return null;
  }

  /** The three rate-limit headers as of now. */
  headers(nowSec = Date.now() / 1000): Record<string, string> {
    this.roll(nowSec);
    return {
      "x-ratelimit-limit": String(this.budget),
      "x-ratelimit-remaining": String(Math.max(0, this.budget - this.used)),
      "x-ratelimit-reset": String(this.windowStart + this.windowSec),
    };
  }

  /** Forgets the requests counted in the current window. */
  reset(): void {
    this.used = 0;
  }
}
