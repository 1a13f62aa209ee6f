/**
 * Big pages and paging safety against the replica (issue 3): a mailings page over the gateway's
 * size limit halves the page size and repeats the same position, later pages keep the smaller
 * size, nothing is lost or repeated; a `links.next` on another origin is never requested (the
 * token stays home); a `links.next` loop ends the stream instead of spinning. The halved size is
 * kept in the state for the next sync and grows back after a run of good pages (issue 13).
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, test } from "node:test";
import { ConnectorError } from "../src/errors.js";
import { OAuthTokens } from "../src/http/auth.js";
import { OutreachClient } from "../src/http/client.js";
import { PageBudget } from "../src/page-budget.js";
import { RateLimiter } from "../src/http/rate-limit.js";
import { GROW_AFTER_PAGES, MIN_PAGE_SIZE, readPages } from "../src/reader.js";
import { findStream } from "../src/streams.js";
import { lastStates, recordsOf, runCli } from "./helpers/cli.js";
import { FakeClock } from "./helpers/clock.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";
import { apiRequests, assertAllRecords, assertClean, errorsOf, logsOf, param, statusesOf } from "./helpers/resilience.js";

let r: Replica;
before(async () => {
  r = await replica({ records: { mailings: 160, stages: 30, users: 30, teams: 30 } });
});
after(() => r.close());
beforeEach(() => r.control.reset());

test("body_limit on mailings: the page size halves, the same page[after] is repeated, later pages keep the smaller size", async () => {
  // ~6.8 kB per mailing: 60 per page (≈410 kB) is over the limit, 30 (≈210 kB) is under it.
  // The first page passes (after: 1), so the halving happens in the middle of the stream.
  r.control.addFaults({ kind: "body_limit", maxBytes: 250_000, stream: "mailings", after: 1 });
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 60 }), catalog: catalogFor(["mailings", "stages"], "full_refresh") }));
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assertClean(run, r);
  assertAllRecords(run, r, "mailings");
  assertAllRecords(run, r, "stages");
  const log = apiRequests(r, "mailings");
  assert.deepEqual(
    log.map((e) => [e.status, param(e, "page[size]")]),
    [[200, "60"], [502, "60"], [200, "30"], [200, "30"], [200, "30"], [200, "30"]],
    "1 page of 60, one refused, then 100 records in pages of 30",
  );
  assert.ok(param(log[1]!, "page[after]"), "the refused request is a links.next page");
  assert.equal(param(log[2]!, "page[after]"), param(log[1]!, "page[after]"), "the same position is asked for again");
  assert.ok(logsOf(run).includes("mailings: HTTP 502 at page size 60; retrying the same page at 30."), logsOf(run).join("\n"));
});

test("a halved page size is remembered in the state and used by the next sync (no 502 again)", async () => {
  r.control.addFaults({ kind: "body_limit", maxBytes: 250_000, stream: "mailings" });
  const config = configFor(r, { page_size: 60, concurrency: 1 });
  const first = await runCli(await readArgs(r, { config, catalog: catalogFor(["mailings"]) }));
  assert.equal(first.code, 0, JSON.stringify(errorsOf(first)));
  assertAllRecords(first, r, "mailings");
  const state = lastStates(first)[0]!;
  assert.equal((state.stream!.stream_state as { pageSize?: number }).pageSize, 30, JSON.stringify(state));
  assert.ok((state.stream!.stream_state as { updatedAt?: string }).updatedAt);
  r.control.updateRecords("mailings", r.control.listIds("mailings").ids!.slice(0, 70));
  r.requests.clear();
  const second = await runCli(await readArgs(r, { config: configFor(r, { page_size: 60, concurrency: 1 }), catalog: catalogFor(["mailings"]), state: [state] }));
  assert.equal(second.code, 0, JSON.stringify(errorsOf(second)));
  assertClean(second, r);
  const log = apiRequests(r, "mailings").map((e) => [e.status, param(e, "page[size]")]);
  assert.ok(recordsOf(second, "mailings").length >= 70);
  assert.deepEqual(log, log.map(() => [200, "30"]), "every request of the second sync at the remembered size");
  assert.ok(log.length >= 3);
  // Without the remembered size, the same sync pays the 502 again.
  r.requests.clear();
  const cursorOnly = { ...state, stream: { ...state.stream!, stream_state: { updatedAt: (state.stream!.stream_state as { updatedAt: string }).updatedAt } } };
  await runCli(await readArgs(r, { config: configFor(r, { page_size: 60, concurrency: 1 }), catalog: catalogFor(["mailings"]), state: [cursorOnly] }));
  assert.deepEqual(apiRequests(r, "mailings")[0]!.status, 502);
});

test("after a run of good pages the page size doubles back up to page_size", async () => {
  // One 502 (the first request, at 8 mailings per page), then no limit: GROW_AFTER_PAGES pages of 4, then pages of 8 again.
  r.control.addFaults({ kind: "body_limit", maxBytes: 40_000, stream: "mailings", times: 1 });
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 8 }), catalog: catalogFor(["mailings"], "full_refresh") }));
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assertAllRecords(run, r, "mailings");
  const sizes = apiRequests(r, "mailings").map((e) => `${e.status}:${param(e, "page[size]")}`);
  assert.deepEqual(sizes.slice(0, GROW_AFTER_PAGES + 3), ["502:8", ...Array(GROW_AFTER_PAGES).fill("200:4"), "200:8", "200:8"]);
  assert.equal((lastStates(run)[0]!.stream!.stream_state as { pageSize?: number }).pageSize, undefined, "back at page_size: nothing to remember");
});

test("body_limit below one record: halved down to 1, then bounded retries and a transient error", async () => {
  // In process, with instant sleeps: five backoffs would otherwise take up to 15 s.
  r.control.addFaults({ kind: "body_limit", maxBytes: 1_000, stream: "mailings" });
  const clock = new FakeClock();
  const log = (): void => {};
  const tokens = new OAuthTokens({
    tokenUrl: new URL(r.tokenUrl), clientId: r.clientId, clientSecret: r.clientSecret, refreshToken: r.refreshToken,
    clock, maxWaitMs: 60_000, log, onSecret: () => {}, onTokens: async () => {},
  });
  const client = new OutreachClient({ baseUrl: new URL(r.apiBase), tokens, limiter: new RateLimiter({ clock, maxWaitMs: 60_000, log }), clock, log });
  const pages: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const page of readPages(client, { stream: findStream("mailings")!, pageSize: 100 }, log)) pages.push(page.records.length);
    })(),
    (e: unknown) => e instanceof ConnectorError && e.failureType === "transient_error" && /failed after 6 attempts: HTTP 502/.test(e.message),
  );
  assert.deepEqual(pages, []);
  const sizes = apiRequests(r, "mailings").map((e) => param(e, "page[size]"));
  assert.deepEqual(sizes, ["100", "50", "25", "12", "6", "3", "1", "1", "1", "1", "1", "1"], "halved to the floor, then five retries");
  assert.equal(MIN_PAGE_SIZE, 1);
});

test("a page budget smaller than one page: readers take turns, none is stuck, each reads every record once", async () => {
  const clock = new FakeClock();
  const log = (): void => {};
  const tokens = new OAuthTokens({
    tokenUrl: new URL(r.tokenUrl), clientId: r.clientId, clientSecret: r.clientSecret, refreshToken: r.refreshToken,
    clock, maxWaitMs: 60_000, log, onSecret: () => {}, onTokens: async () => {},
  });
  const budget = new PageBudget(1);
  let held = 0;
  let peak = 0;
  const reserve = budget.reserve.bind(budget);
  budget.reserve = async (stream, pageSize) => {
    const release = await reserve(stream, pageSize);
    const counted = (budget as unknown as { used: number }).used > 0; // a page whose size is known
    if (counted) peak = Math.max(peak, ++held);
    return () => {
      if (counted) held--;
      release();
    };
  };
  const client = new OutreachClient({ baseUrl: new URL(r.apiBase), tokens, limiter: new RateLimiter({ clock, maxWaitMs: 60_000, log }), clock, log, pageBudget: budget });
  const read = async (): Promise<string[]> => {
    const ids: string[] = [];
    for await (const page of readPages(client, { stream: findStream("mailings")!, pageSize: 20 }, log)) {
      for (const record of page.records) ids.push(String((JSON.parse(record) as { id: unknown }).id));
    }
    return ids;
  };
  const reads = await Promise.all([read(), read(), read()]);
  for (const ids of reads) {
    assert.equal(ids.length, 160);
    assert.equal(new Set(ids).size, 160, "each record once");
  }
  assert.equal(peak, 1, "one page of known size in flight at a time");
});

test("a links.next on another origin fails the stream; nothing is ever sent there", async () => {
  const seen: IncomingMessage[] = [];
  const trap = createServer((req, res) => {
    seen.push(req);
    res.end("{}");
  });
  await new Promise<void>((resolve) => trap.listen(0, "127.0.0.1", resolve));
  const foreign = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  try {
    r.control.addFaults({ kind: "foreign_next", stream: "stages", origin: foreign });
    const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10 }), catalog: catalogFor(["stages", "users", "teams"]) }));
    assert.equal(run.code, 1);
    assertClean(run, r);
    assert.equal(seen.length, 0, "no request reached the foreign origin");
    assert.equal(apiRequests(r, "stages").length, 1);
    assert.equal(statusesOf(run, "stages").at(-1), "INCOMPLETE");
    const [error] = errorsOf(run, "stages");
    assert.equal(error!.failure_type, "system_error");
    assert.equal(error!.message, `Stream stages failed: Refusing to follow a link to ${foreign}: only ${r.origin} (base_url) receives the access token.`);
    // The first page was written, and a state covers it.
    assert.equal(run.messages.filter((m) => m.type === "RECORD" && m.record!.stream === "stages").length, 10);
    const states = run.messages.filter((m) => m.type === "STATE" && m.state!.stream!.stream_descriptor.name === "stages");
    assert.equal(states.at(-1)!.state!.sourceStats!.recordCount, 10);
    for (const s of ["users", "teams"]) assertAllRecords(run, r, s);
  } finally {
    await new Promise<void>((resolve) => trap.close(() => resolve()));
  }
});

test("a links.next loop fails the stream after a bounded number of requests", async () => {
  r.control.addFaults({ kind: "next_loop", stream: "stages" });
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10 }), catalog: catalogFor(["stages", "users"]) }));
  assert.equal(run.code, 1);
  assertClean(run, r);
  const requests = apiRequests(r, "stages").length;
  assert.ok(requests >= 1 && requests <= 3, `${requests} requests`);
  assert.equal(statusesOf(run, "stages").at(-1), "INCOMPLETE");
  const [error] = errorsOf(run, "stages");
  assert.equal(error!.failure_type, "system_error");
  assert.match(error!.message, /links\.next that repeats an earlier page \(a paging loop\)/);
  assertAllRecords(run, r, "users");
});
