/**
 * Retries against the replica (issue 3): 500, connection resets, truncated 2xx bodies and
 * timeouts are retried with full-jitter backoff, a bounded number of times; 503 maintenance waits
 * as its ISO Retry-After says; 400/403/404/422 are not retried.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { OAuthTokens } from "../src/http/auth.js";
import { OutreachClient } from "../src/http/client.js";
import { backoffMs } from "../src/http/clock.js";
import { RateLimiter } from "../src/http/rate-limit.js";
import { ConnectorError } from "../src/errors.js";
import { runCli } from "./helpers/cli.js";
import { FakeClock } from "./helpers/clock.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";
import { apiRequests, assertAllRecords, assertClean, errorsOf, logsOf, statusesOf } from "./helpers/resilience.js";

let r: Replica;
before(async () => {
  r = await replica({ records: 30 });
});
after(() => r.close());
beforeEach(() => r.control.reset());

test("500, connection reset, truncated 200 body and 503 maintenance: retried, the same request repeated, nothing lost", async () => {
  const streams = ["stages", "users", "teams", "duties", "roles"];
  r.control.addFaults(
    { kind: "http_error", status: 500, stream: "stages", after: 1 },
    { kind: "connection_reset", stream: "users", after: 1 },
    { kind: "truncated_body", stream: "teams", after: 1 },
    { kind: "http_error", status: 503, seconds: 2, stream: "duties", after: 1 },
  );
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10 }), catalog: catalogFor(streams, "full_refresh") })); // one window per stream: its requests in order
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assertClean(run, r);
  for (const s of streams) {
    assertAllRecords(run, r, s);
    assert.equal(statusesOf(run, s).at(-1), "COMPLETE");
  }
  for (const [stream, status] of [["stages", 500], ["users", 0], ["teams", 200], ["duties", 503]] as const) {
    const log = apiRequests(r, stream);
    assert.deepEqual([log[1]!.status, log[2]!.status], [status, 200], stream);
    assert.equal(log[2]!.query, log[1]!.query, `${stream}: the same page is asked for again`);
    assert.equal(log.length, apiRequests(r, "roles").length + 1, `${stream}: one request more than an undisturbed stream of the same size`);
  }
  // Retry-After of the maintenance 503 is an ISO timestamp 2 s ahead (rounded up to the second).
  const duties = apiRequests(r, "duties");
  assert.ok(duties[2]!.at - duties[1]!.at >= 1000, `waited ${duties[2]!.at - duties[1]!.at} ms for maintenance`);
  const logs = logsOf(run);
  assert.ok(logs.some((l) => /^duties: Retrying in \d+\.\d s as Retry-After says \(attempt 2 of 6\): HTTP 503: scheduledServerMaintenance/.test(l)), logs.join("\n"));
  assert.ok(logs.some((l) => /^stages: Retrying in 0\.\d s \(attempt 2 of 6\): HTTP 500: internalServerError/.test(l)), logs.join("\n"));
  assert.ok(logs.some((l) => /^users: Retrying in 0\.\d s \(attempt 2 of 6\): request failed: /.test(l)), logs.join("\n"));
  assert.ok(logs.some((l) => /^teams: Retrying in 0\.\d s \(attempt 2 of 6\): HTTP 200 with an incomplete or non-JSON:API body/.test(l)), logs.join("\n"));
});

test("400, 403, 404 and 422 are not retried: one request, the stream fails with the right failure_type, others complete", async () => {
  const cases = [
    ["stages", 400, "system_error", /Outreach answered 400 for \/api\/v2\/stages: filterParameter\.invalidDatetimeFormat/],
    ["users", 403, "config_error", /Outreach refused access to \/api\/v2\/users \(403\): unauthorizedRequest/],
    ["teams", 404, "config_error", /Outreach has no \/api\/v2\/teams \(404: routeNotFound/],
    ["duties", 422, "system_error", /Outreach answered 422 for \/api\/v2\/duties: validationError/],
  ] as const;
  for (const [stream, status] of cases) r.control.addFaults({ kind: "http_error", status, stream, after: 1 });
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10 }), catalog: catalogFor([...cases.map((c) => c[0]), "roles"], "full_refresh") }));
  assert.equal(run.code, 1);
  assertClean(run, r);
  for (const [stream, status, failureType, message] of cases) {
    const log = apiRequests(r, stream);
    assert.deepEqual(log.map((e) => e.status), [200, status], `${stream}: exactly one refused request`);
    assert.equal(statusesOf(run, stream).at(-1), "INCOMPLETE");
    const [error] = errorsOf(run, stream);
    assert.equal(error!.failure_type, failureType, stream);
    assert.match(error!.message, message);
  }
  assert.equal(statusesOf(run, "roles").at(-1), "COMPLETE");
  assertAllRecords(run, r, "roles");
  assert.ok(!logsOf(run).some((l) => /Retrying/.test(l)));
});

/** An in-process client on the replica whose sleeps are instant (a FakeClock). */
function client(clock: FakeClock, extra: { timeoutMs?: number; maxWaitMs?: number } = {}): { client: OutreachClient; logs: string[] } {
  const logs: string[] = [];
  const log = (m: string): void => void logs.push(m);
  const tokens = new OAuthTokens({
    tokenUrl: new URL(r.tokenUrl),
    clientId: r.clientId,
    clientSecret: r.clientSecret,
    refreshToken: r.refreshToken,
    clock,
    maxWaitMs: 60_000,
    log,
    onSecret: () => {},
    onTokens: async () => {},
  });
  const limiter = new RateLimiter({ clock, maxWaitMs: 60_000, log });
  return { client: new OutreachClient({ baseUrl: new URL(r.apiBase), tokens, limiter, clock, log, ...extra }), logs };
}

test("retries are bounded: six attempts with full-jitter backoff, then a transient error", async () => {
  r.control.addFaults({ kind: "http_error", status: 500, stream: "stages", times: "always" });
  const clock = new FakeClock();
  const { client: c } = client(clock);
  await assert.rejects(c.getCollection(new URL(`${r.apiBase}stages?page%5Bsize%5D=5&count=false`)), (e: unknown) => {
    assert.ok(e instanceof ConnectorError);
    assert.equal(e.failureType, "transient_error");
    assert.match(e.message, /^Outreach request failed after 6 attempts: HTTP 500: internalServerError/);
    return true;
  });
  assert.equal(apiRequests(r, "stages").length, 6);
  assert.equal(clock.sleeps.length, 5);
  clock.sleeps.forEach((ms, k) => assert.ok(ms >= 0 && ms < 500 * 2 ** k, `sleep ${k}: ${ms} ms within [0, ${500 * 2 ** k})`));
});

test("a maintenance window longer than max_rate_limit_wait_seconds: a transient error at once, no sleep", async () => {
  r.control.addFaults({ kind: "http_error", status: 503, seconds: 600, stream: "stages" });
  const clock = new FakeClock(Date.now()); // Retry-After is a wall-clock time
  await assert.rejects(client(clock, { maxWaitMs: 60_000 }).client.getCollection(new URL(`${r.apiBase}stages?page%5Bsize%5D=5&count=false`)), (e: unknown) => {
    assert.ok(e instanceof ConnectorError && e.failureType === "transient_error");
    assert.match(e.message, /^Outreach asks to retry after \d{4}-\d\d-\d\dT[\d:.]+Z \((599|600|601) s\), longer than max_rate_limit_wait_seconds \(60 s\)\. Run the sync later\. \(HTTP 503: scheduledServerMaintenance: /);
    return true;
  });
  assert.equal(apiRequests(r, "stages").length, 1);
  assert.deepEqual(clock.sleeps, []);
});

test("502/504 are retried like other 5xx when the reader asks for it (page size at its floor)", async () => {
  r.control.addFaults({ kind: "http_error", status: 502, stream: "stages" }, { kind: "http_error", status: 504, stream: "stages", after: 1 });
  const clock = new FakeClock();
  const doc = await client(clock).client.getCollection(new URL(`${r.apiBase}stages?page%5Bsize%5D=5&count=false`), true);
  assert.equal(doc.data.length, 5);
  assert.deepEqual(apiRequests(r, "stages").map((e) => e.status), [502, 504, 200]);
});

test("a request that times out is retried", async () => {
  r.control.addFaults({ kind: "latency", ms: 1500, stream: "stages", times: 1 });
  const clock = new FakeClock();
  const { client: c, logs } = client(clock, { timeoutMs: 300 });
  const doc = await c.getCollection(new URL(`${r.apiBase}stages?page%5Bsize%5D=5&count=false`));
  assert.equal(doc.data.length, 5);
  assert.equal(apiRequests(r, "stages").filter((e) => e.status === 200).length, 1, "the retry was answered (the slow answer comes later)");
  assert.ok(logs.some((l) => /Retrying in \d+\.\d s \(attempt 2 of 6\): the request timed out/.test(l)), logs.join("\n"));
});

test("full jitter: each delay is uniform in [0, min(cap, base·2^attempt))", () => {
  for (let attempt = 0; attempt < 8; attempt++) {
    const cap = Math.min(30_000, 500 * 2 ** attempt);
    const samples = Array.from({ length: 2000 }, () => backoffMs(attempt));
    assert.ok(samples.every((ms) => ms >= 0 && ms < cap));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    assert.ok(Math.abs(mean - cap / 2) < cap * 0.05, `attempt ${attempt}: mean ${mean} ≈ ${cap / 2}`);
    assert.ok(samples.some((ms) => ms < cap * 0.1) && samples.some((ms) => ms > cap * 0.9), "spread over the whole range");
  }
});
