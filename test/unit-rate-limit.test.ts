import assert from "node:assert/strict";
import { test } from "node:test";
import { retryAfterMs } from "../src/http/auth.js";
import { parseResetMs, RateLimiter } from "../src/http/rate-limit.js";
import { ConnectorError } from "../src/errors.js";
import { FakeClock, headers } from "./helpers/clock.js";

const HOUR = 3_600_000;

test("X-RateLimit-Reset in every form: epoch s, epoch ms, delta s, ISO", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  assert.equal(parseResetMs(String(now / 1000 + 60), now), now + 60_000);
  assert.equal(parseResetMs(String(now + 60_000), now), now + 60_000);
  assert.equal(parseResetMs("60", now), now + 60_000);
  assert.equal(parseResetMs("2026-01-01T12:01:00.000Z", now), now + 60_000);
  assert.equal(parseResetMs("2026-01-01T12:01:00", now), now + 60_000); // ISO without zone = UTC (outreach-api.md §6)
  assert.equal(parseResetMs("soon", now), undefined);
  assert.equal(retryAfterMs("Thu, 01 Jan 2026 12:00:30 GMT", now), 30_000);
  assert.equal(retryAfterMs("2.5", now), 2500);
});

test("max_requests_per_hour: never more than the cap in any rolling hour", async () => {
  const clock = new FakeClock();
  const start = clock.now();
  const limiter = new RateLimiter({ clock, maxRequestsPerHour: 5, maxWaitMs: 2 * HOUR, log: () => {} });
  const sentAt: number[] = [];
  for (let i = 0; i < 12; i++) {
    await limiter.acquire();
    sentAt.push(clock.now());
    clock.ms += 1000;
  }
  for (let i = 5; i < sentAt.length; i++) assert.ok(sentAt[i]! - sentAt[i - 5]! >= HOUR, `request ${i} inside the hour`);
  assert.ok(clock.now() - start >= 2 * HOUR);
});

test("slows down before the API budget is gone and waits for the reset when it is", async () => {
  const clock = new FakeClock();
  const logs: string[] = [];
  const limiter = new RateLimiter({ clock, maxWaitMs: 2 * HOUR, log: (m) => logs.push(m) });
  const reset = String(Math.floor((clock.now() + 100_000) / 1000));
  limiter.observe(headers({ "X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "10", "X-RateLimit-Reset": reset }));
  await limiter.acquire();
  await limiter.acquire();
  assert.ok(clock.sleeps[0]! > 5_000, "paced: the time left is spread over the requests left");
  limiter.observe(headers({ "X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset }));
  await limiter.acquire();
  assert.ok(clock.now() >= Number(reset) * 1000);
  assert.ok(logs.some((l) => /Rate limit: waiting \d+ s/.test(l)));
});

test("429: waits Retry-After plus jitter; a wait over the maximum is a transient error", async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ clock, maxWaitMs: 60_000, log: () => {} });
  await limiter.afterTooManyRequests(headers({ "Retry-After": "30" }), 1);
  assert.ok(clock.sleeps[0]! >= 30_000 && clock.sleeps[0]! < 31_000);
  await assert.rejects(
    limiter.afterTooManyRequests(headers({ "Retry-After": "3600" }), 1),
    (e: unknown) => e instanceof ConnectorError && e.failureType === "transient_error" && /max_rate_limit_wait_seconds/.test(e.message),
  );
});
