/**
 * Rate limits against the replica (issue 3): 429 with Retry-After in seconds, as an HTTP date and
 * with only X-RateLimit-Reset — each waited out and the same request repeated, the streams
 * reported RATE_LIMITED meanwhile, long waits logged; a wait over max_rate_limit_wait_seconds
 * fails only that stream; max_requests_per_hour is never exceeded; a small API budget is paced.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { runCli } from "./helpers/cli.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";
import { apiRequests, assertAllRecords, assertClean, errorsOf, logsOf, rateLimitedOf, statusesOf } from "./helpers/resilience.js";

let r: Replica;
before(async () => {
  r = await replica({ records: 30 });
});
after(() => r.close());
beforeEach(() => r.control.reset());

test("429 with Retry-After seconds, an HTTP date or only X-RateLimit-Reset: waited out, the same request repeated, RATE_LIMITED reported", async () => {
  const streams = ["stages", "users", "teams", "duties"];
  r.control.addFaults(
    // On each stream's first request, so that the three waits overlap.
    { kind: "rate_limit", stream: "stages", retryAfter: "seconds", seconds: 6 },
    { kind: "rate_limit", stream: "users", retryAfter: "http_date", seconds: 2 },
    { kind: "rate_limit", stream: "teams", retryAfter: "reset_only", seconds: 2 },
  );
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10 }), catalog: catalogFor(streams) }));
  assert.equal(run.code, 0, run.stderr);
  assertClean(run, r);
  for (const s of streams) {
    assertAllRecords(run, r, s);
    assert.deepEqual([statusesOf(run, s)[0], statusesOf(run, s).at(-1)], ["STARTED", "COMPLETE"], s);
  }
  for (const [stream, seconds] of [["stages", 6], ["users", 2], ["teams", 2]] as const) {
    const log = apiRequests(r, stream);
    const i = log.findIndex((e) => e.status === 429);
    assert.equal(i, 0, `${stream}: the first request was refused`);
    assert.equal(log.filter((e) => e.status === 429).length, 1, `${stream}: one 429`);
    assert.equal(log[i + 1]!.query, log[i]!.query, `${stream}: the same request is repeated`);
    assert.equal(log[i + 1]!.status, 200);
    // http_date and reset_only carry whole seconds (rounded up), so they may wait one second less.
    const waited = log[i + 1]!.at - log[i]!.at;
    assert.ok(waited >= (stream === "stages" ? seconds * 1000 : (seconds - 1) * 1000), `${stream}: waited ${waited} ms`);
    // (A 429 of one stream also holds the others back, so a stream may report earlier waits too.)
    const limited = rateLimitedOf(run, stream).filter((m) => m.trace!.emitted_at >= log[i]!.at - 100);
    assert.ok(limited.length >= 1, `${stream}: RUNNING with a RATE_LIMITED reason while waiting`);
    const reset = limited[0]!.trace!.stream_status!.reasons![0]!.rate_limited!.quota_reset!;
    assert.ok(Number.isInteger(reset) && reset >= log[i]!.at + (seconds - 1) * 1000 && reset <= log[i]!.at + (seconds + 3) * 1000, `${stream}: quota_reset ${reset - log[i]!.at} ms after the 429`);
    const statuses = statusesOf(run, stream);
    assert.ok(statuses.slice(1, -1).every((s) => s === "RUNNING") && statuses.length >= 4, `${stream}: ${statuses.join(",")}`);
  }
  // The 6-second wait is logged with its length and reason; the short ones are not.
  const waits = logsOf(run).filter((l) => /Rate limit: waiting/.test(l));
  assert.ok(waits.some((l) => /^stages: Rate limit: waiting [67] s because Outreach answered 429 Too Many Requests \(Retry-After: 6\)\.$/.test(l)), waits.join("\n"));
  assert.ok(!waits.some((l) => /waiting [0-4] s/.test(l)), waits.join("\n"));
});

test("a rate-limit wait over max_rate_limit_wait_seconds fails that stream with a transient error; the others complete", async () => {
  r.control.addFaults({ kind: "rate_limit", stream: "stages", retryAfter: "seconds", seconds: 120, after: 1 });
  const streams = ["stages", "users", "teams"];
  const t0 = Date.now();
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10, max_rate_limit_wait_seconds: 30 }), catalog: catalogFor(streams, "full_refresh") }));
  assert.ok(Date.now() - t0 < 15_000, "no long sleep");
  assert.equal(run.code, 1);
  assertClean(run, r);
  assert.equal(statusesOf(run, "stages").at(-1), "INCOMPLETE");
  const [error] = errorsOf(run, "stages");
  assert.equal(error?.failure_type, "transient_error");
  assert.match(error!.message, /^Stream stages failed: Rate limit: a wait of 120 s \(Outreach answered 429 Too Many Requests \(Retry-After: 120\)\) exceeds max_rate_limit_wait_seconds \(30 s\)/);
  assert.equal(apiRequests(r, "stages").length, 2, "the refused request is not repeated");
  for (const s of ["users", "teams"]) {
    assert.equal(statusesOf(run, s).at(-1), "COMPLETE", s);
    assertAllRecords(run, r, s);
  }
  // The records read before the failure are covered by a state.
  const stagesStates = run.messages.filter((m) => m.type === "STATE" && m.state!.stream!.stream_descriptor.name === "stages");
  assert.equal(stagesStates.at(-1)!.state!.sourceStats!.recordCount, 10);
  const final = errorsOf(run, null);
  assert.equal(final.length, 1);
  assert.match(final[0]!.message, /1 failed stream\(s\): stages/);
  assert.equal(final[0]!.failure_type, "transient_error");
});

test("max_requests_per_hour: the replica never sees more requests than the cap; the streams that would exceed it fail", async () => {
  const streams = ["stages", "users", "teams"];
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 5, max_requests_per_hour: 10, max_rate_limit_wait_seconds: 60 }), catalog: catalogFor(streams) }));
  assertClean(run, r);
  const api = r.requests.entries.filter((e) => e.path.startsWith("/api/"));
  assert.equal(api.length, 10, "exactly the cap");
  assert.equal(run.code, 1);
  const failed = streams.filter((s) => statusesOf(run, s).at(-1) === "INCOMPLETE");
  assert.ok(failed.length >= 1);
  for (const s of failed) {
    const [error] = errorsOf(run, s);
    assert.equal(error?.failure_type, "transient_error");
    assert.match(error!.message, /max_requests_per_hour \(10\) requests were sent in the last hour\) exceeds max_rate_limit_wait_seconds \(60 s\)/);
  }
});

test("a small API budget (X-RateLimit headers) is paced: every record read, the window never overrun", async () => {
  r.control.set({ rateBudget: 15, rateWindowSec: 2 });
  const streams = ["stages", "users", "teams", "duties"];
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 3 }), catalog: catalogFor(streams) }));
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assertClean(run, r);
  for (const s of streams) assertAllRecords(run, r, s);
  const api = r.requests.entries.filter((e) => e.path.startsWith("/api/"));
  assert.ok(api.length > 30, `${api.length} requests span several windows`);
  const perWindow = new Map<number, number>();
  for (const e of api) if (e.status === 200) perWindow.set(Math.floor(e.at / 2000), (perWindow.get(Math.floor(e.at / 2000)) ?? 0) + 1);
  assert.ok([...perWindow.values()].every((n) => n <= 15));
  const refused = api.filter((e) => e.status === 429).length;
  assert.ok(refused <= 2, `${refused} requests ran into the spent budget`);
});
