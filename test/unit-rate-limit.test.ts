import assert from "node:assert/strict";
import { test } from "node:test";
import { intHeader, parseResetMs, RateLimiter, retryAfterMs } from "../src/http/rate-limit.js";
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

test("odd but real header formats: fractions, spaces, repeats joined by a proxy, thousands separators, other zones", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const epoch = now / 1000 + 60;
  assert.equal(parseResetMs(`${epoch}.25`, now), now + 60_250);
  assert.equal(parseResetMs(`  ${epoch}  `, now), now + 60_000);
  assert.equal(parseResetMs(`${epoch}, ${epoch}`, now), now + 60_000, "a header repeated by a proxy");
  assert.equal(parseResetMs("0", now), now);
  assert.equal(parseResetMs("2026-01-01 12:01:00", now), now + 60_000);
  assert.equal(parseResetMs("2026-01-01T13:01:00+01:00", now), now + 60_000);
  assert.equal(parseResetMs("Thu, 01 Jan 2026 12:01:00 GMT", now), now + 60_000);
  for (const bad of ["", "   ", "-5", "5 minutes", "later", "0x10", "null"]) assert.equal(parseResetMs(bad, now), undefined, JSON.stringify(bad));
  assert.equal(parseResetMs(null, now), undefined);

  assert.equal(retryAfterMs("120", now), 120_000);
  assert.equal(retryAfterMs("120, 120", now), 120_000);
  assert.equal(retryAfterMs("2026-01-01T12:10:00.000Z", now), 600_000, "503 maintenance: ISO timestamp");
  assert.equal(retryAfterMs("2026-01-01T12:10:00", now), 600_000);
  assert.equal(retryAfterMs("Sunday, 01-Jan-26 12:00:10 GMT", now), 10_000, "RFC 850 date");
  assert.equal(retryAfterMs("Thu, 01 Jan 2026 11:00:00 GMT", now), 0, "a moment in the past: no wait");
  for (const bad of ["-1", "soon", "1 hour", ""]) assert.equal(retryAfterMs(bad, now), undefined, JSON.stringify(bad));

  const h = (v: string): number | undefined => intHeader(headers({ "X-RateLimit-Remaining": v }), "x-ratelimit-remaining");
  assert.deepEqual(["9998", " 9998 ", "9,998", "9998.0", "9998, 9998", "0"].map(h), [9998, 9998, 9998, 9998, 9998, 0]);
  assert.deepEqual(["-1", "many", ""].map(h), [undefined, undefined, undefined]);
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

test("max_requests_per_hour: a rolling window, not clock hours; a wait over the maximum names the cap", async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 59, 0));
  const logs: string[] = [];
  const limiter = new RateLimiter({ clock, maxRequestsPerHour: 3, maxWaitMs: 2 * HOUR, log: (m) => logs.push(m) });
  for (let i = 0; i < 3; i++) await limiter.acquire();
  clock.ms += 120_000; // past the top of the hour: a clock-hour budget would start again here
  const limited: number[] = [];
  await limiter.acquire(undefined, { label: "prospects", onRateLimited: (until) => limited.push(until) });
  assert.equal(clock.now(), Date.UTC(2026, 0, 1, 13, 59, 0), "the 4th request waits until the 1st is an hour old");
  assert.deepEqual(limited, [clock.now()]);
  assert.deepEqual(logs, ["prospects: Rate limit: waiting 3480 s because max_requests_per_hour (3) requests were sent in the last hour."]);
  const strict = new RateLimiter({ clock, maxRequestsPerHour: 1, maxWaitMs: 60_000, log: () => {} });
  await strict.acquire();
  await assert.rejects(strict.acquire(), (e: unknown) => e instanceof ConnectorError && e.failureType === "transient_error" && /max_requests_per_hour \(1\)/.test(e.message) && /exceeds max_rate_limit_wait_seconds \(60 s\)/.test(e.message));
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
  assert.ok(logs.some((l) => /Rate limit: waiting \d+ s because the Outreach request budget/.test(l)), logs.join("\n"));
});

test("no pacing while the budget is ample; the local count of requests in flight is not undone by an older response", async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ clock, maxWaitMs: 2 * HOUR, log: () => {} });
  const reset = String(Math.floor((clock.now() + 1_000_000) / 1000));
  limiter.observe(headers({ "X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "9000", "X-RateLimit-Reset": reset }));
  for (let i = 0; i < 100; i++) await limiter.acquire();
  assert.deepEqual(clock.sleeps, []);
  // 60 left of 1000 (pacing starts at 50): 20 requests bring the local count to 40, and pacing on.
  limiter.observe(headers({ "X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "60", "X-RateLimit-Reset": reset }));
  for (let i = 0; i < 20; i++) await limiter.acquire();
  assert.ok(clock.sleeps.length > 0, "paced below the reserve");
  // A response sent before those requests still says 60: the local 40 stands, so pacing goes on.
  limiter.observe(headers({ "X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "60", "X-RateLimit-Reset": reset }));
  const before = clock.sleeps.length;
  await limiter.acquire();
  await limiter.acquire();
  assert.ok(clock.sleeps.length > before, "still paced");
  // A new window (another reset) takes the API's figure.
  limiter.observe(headers({ "X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "1000", "X-RateLimit-Reset": String(Number(reset) + 3600) }));
  clock.ms += 1_000_000;
  const after = clock.sleeps.length;
  for (let i = 0; i < 10; i++) await limiter.acquire();
  assert.equal(clock.sleeps.length, after);
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

test("429: Retry-After, else X-RateLimit-Reset, else backoff; the other streams are held back and reported too", async () => {
  const clock = new FakeClock();
  const logs: string[] = [];
  const limiter = new RateLimiter({ clock, maxWaitMs: HOUR, log: (m) => logs.push(m) });
  const now = clock.now();
  const mine: number[] = [];
  await limiter.afterTooManyRequests(headers({ "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": String(now / 1000 + 20) }), 1, undefined, { label: "calls", onRateLimited: (u) => mine.push(u) });
  assert.ok(clock.sleeps[0]! >= 20_000 && clock.sleeps[0]! < 21_000, "reset_only: until X-RateLimit-Reset");
  assert.equal(mine.length, 1);
  assert.ok(logs[0]!.startsWith("calls: Rate limit: waiting 2"), logs[0]);
  assert.match(logs[0]!, /because Outreach answered 429 Too Many Requests \(as X-RateLimit-Reset says\)\.$/);

  // Without any header: exponential backoff from one second, full jitter.
  const bare = new RateLimiter({ clock: new FakeClock(), maxWaitMs: HOUR, log: () => {} });
  await bare.afterTooManyRequests(headers({}), 3);
  assert.ok((bare as unknown as { options: { clock: FakeClock } }).options.clock.sleeps[0]! < 8000 + 1000, "backoff: at most 1 s · 2^3, plus jitter");

  // A 429 seen by one stream holds back another stream's next request, which reports RATE_LIMITED.
  // (A clock whose sleeps end on the next turn of the event loop, so both callers wait at once.)
  let t = Date.UTC(2026, 0, 1);
  const steps = { now: () => t, sleep: (ms: number) => new Promise<void>((res) => setImmediate(() => ((t = Math.max(t, t + ms)), res()))) };
  const shared = new RateLimiter({ clock: steps, maxWaitMs: HOUR, log: () => {} });
  const t0 = steps.now();
  const a = shared.afterTooManyRequests(headers({ "Retry-After": "2" }), 1, undefined, { label: "a" });
  const other: number[] = [];
  const b = shared.acquire(undefined, { label: "b", onRateLimited: (u) => other.push(u) });
  await Promise.all([a, b]);
  assert.equal(other.length, 1, "the other stream reports the wait, short as it is");
  assert.ok(other[0]! >= t0 + 2000);
});

test("a 429 wait over the maximum fails only its caller: the shared budget stays open", async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ clock, maxWaitMs: 60_000, log: () => {} });
  const now = clock.now();
  await assert.rejects(limiter.afterTooManyRequests(headers({ "Retry-After": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": String(now / 1000 + 600) }), 1));
  await limiter.acquire();
  assert.deepEqual(clock.sleeps, [], "another stream goes on at once");
});

test("waits of a few seconds are not logged; longer ones are, with length and reason", async () => {
  const clock = new FakeClock();
  const logs: string[] = [];
  const limiter = new RateLimiter({ clock, maxWaitMs: HOUR, log: (m) => logs.push(m) });
  await limiter.afterTooManyRequests(headers({ "Retry-After": "3" }), 1);
  assert.deepEqual(logs, []);
  await limiter.afterTooManyRequests(headers({ "Retry-After": "42" }), 1, undefined, { label: "tasks" });
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /^tasks: Rate limit: waiting 4[23] s because Outreach answered 429 Too Many Requests \(Retry-After: 42\)\.$/);
});
