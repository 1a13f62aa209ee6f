/**
 * Windows within a stream (issue 13): the scheduler in isolation (slots, splits, what is never
 * split), and windowed reads against the replica — complete, each record once, equal to a
 * sequential read, also when the server ignores upper bounds.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { runWindows, splitPoint, splitPoints, type Window } from "../src/windows.js";
import { lastStates, runCli } from "./helpers/cli.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";
import { apiRequests, assertAllRecords, assertClean, idsOf, param, statusesOf } from "./helpers/resilience.js";

const S = 1000;
const win = (extra: Partial<Window<string>>): Window<string> => ({ stream: "s", lo: 0, hi: Infinity, position: 0, first: NaN, pages: 0, more: true, ...extra });

test("splitPoint: the midpoint between position and end; never before a page, after the last page, or in a narrow window", () => {
  assert.equal(splitPoint(win({ pages: 1, first: 0, position: 10 * S, hi: 110 * S }), 0), 60 * S);
  assert.equal(splitPoint(win({ pages: 1, first: 0, position: 10 * S }), 90 * S), 50 * S, "open end: the start of the read");
  assert.equal(splitPoint(win({ pages: 0 }), 90 * S), undefined, "no page read yet");
  assert.equal(splitPoint(win({ pages: 1, first: 0, position: 10 * S, more: false }), 90 * S), undefined, "last page read");
  assert.equal(splitPoint(win({ pages: 1, first: 0, position: 10 * S, hi: 11 * S }), 90 * S), undefined, "under MIN_SPLIT_MS left");
  assert.equal(splitPoint(win({ pages: 2, first: 0, position: 40 * S, hi: 70 * S }), 90 * S), undefined, "less than two pages' worth left");
  assert.equal(splitPoint(win({ pages: 1, first: 0, position: 100 * S }), 90 * S), undefined, "open end already passed");
});

test("splitPoints: equal parts between position and end, as many as asked, each at least a page's worth and MIN_SPLIT_MS / 2", () => {
  assert.deepEqual(splitPoints(win({ pages: 1, first: 0, position: 10 * S, hi: 110 * S }), 0, 4), [35 * S, 60 * S, 85 * S]);
  assert.deepEqual(splitPoints(win({ pages: 1, first: 0, position: 10 * S, hi: 110 * S }), 0, 2), [60 * S], "two parts: the midpoint");
  assert.deepEqual(splitPoints(win({ pages: 1, first: 0, position: 10 * S, hi: 110 * S }), 0, 1), [], "one part: no cut");
  assert.deepEqual(splitPoints(win({ pages: 2, first: 0, position: 40 * S, hi: 120 * S }), 0, 8), [60 * S, 80 * S, 100 * S], "20 s per page: 4 parts of 80 s");
  assert.deepEqual(splitPoints(win({ pages: 1, first: 10 * S, position: 10 * S, hi: 13 * S }), 0, 8), [11 * S, 12 * S], "3 s left: 3 parts of MIN_SPLIT_MS / 2");
  assert.deepEqual(splitPoints(win({ pages: 0 }), 90 * S, 4), [], "no page read yet");
});

/**
 * A simulated stream: records at cursor seconds 0..n-1, read `perPage` at a time with one tick
 * between pages; the scheduler's windows are checked against the slot limit.
 */
async function simulate(streams: { name: string; n: number; splittable: boolean }[], concurrency: number, perPage = 10) {
  const byName = new Map(streams.map((s) => [s.name, s]));
  let active = 0;
  let peak = 0;
  const read = new Map<string, number[]>(streams.map((s) => [s.name, []]));
  const starts: string[] = [];
  const windows = new Map<string, number>(streams.map((s) => [s.name, 1]));
  const ended: string[] = [];
  await runWindows(
    streams.map((s) => s.name),
    concurrency,
    byName.size ? Math.max(...streams.map((s) => s.n)) * S : 0,
    {
      start: (name) => (starts.push(name), 0),
      splittable: (name) => byName.get(name)!.splittable,
      split: (w) => windows.set(w.stream, windows.get(w.stream)! + 1),
      end: async (name, error) => {
        assert.equal(error, undefined);
        ended.push(name);
      },
      read: async (w, progress) => {
        peak = Math.max(peak, ++active);
        const n = byName.get(w.stream)!.n;
        let next = Math.ceil(Math.max(0, w.lo) / S);
        for (;;) {
          await new Promise((r) => setImmediate(r));
          const page: number[] = [];
          while (page.length < perPage && next < n && next * S < w.hi) page.push(next++);
          read.get(w.stream)!.push(...page);
          if (page.length > 0) {
            if (Number.isNaN(w.first)) w.first = page[0]! * S;
            w.position = page.at(-1)! * S;
          }
          w.pages++;
          w.more = next < n && next * S < w.hi;
          progress();
          if (!w.more) break;
        }
        active--;
      },
    },
  );
  return { peak, read, starts, windows, ended };
}

test("runWindows: a big incremental stream spreads over every slot, never more, and each record is read once", async () => {
  const { peak, read, windows, ended } = await simulate([{ name: "big", n: 2000, splittable: true }], 4);
  assert.equal(peak, 4);
  assert.ok(windows.get("big")! >= 4, `${windows.get("big")} windows`);
  assert.deepEqual([...read.get("big")!].sort((a, b) => a - b), Array.from({ length: 2000 }, (_, i) => i));
  assert.deepEqual(ended, ["big"]);
});

test("runWindows: a stream's first page cuts it into one part per slot at once, from the top down", async () => {
  const cuts: [number, number][] = [];
  let pagesAtCut = -1;
  let pages = 0;
  await runWindows(["big"], 4, 2000 * S, {
    start: () => 0,
    splittable: () => true,
    split: (w, created) => {
      if (pagesAtCut < 0) pagesAtCut = pages;
      if (cuts.length < 3) cuts.push([w.lo, created.lo]);
    },
    end: async () => {},
    read: async (w, progress) => {
      for (let next = Math.ceil(Math.max(0, w.lo) / S); ; ) {
        await new Promise((r) => setImmediate(r));
        const end = Math.min(next + 10, 2000, Math.ceil(w.hi / S));
        if (Number.isNaN(w.first) && end > next) w.first = next * S;
        if (end > next) w.position = (end - 1) * S;
        next = end;
        w.pages++;
        pages++;
        w.more = next < 2000 && next * S < w.hi;
        progress();
        if (!w.more) break;
      }
    },
  });
  const left = 2000 * S - 9 * S; // after the first page of 10 records (0..9 s); the open end is nowMs
  const part = (k: number): number => 9 * S + Math.floor((left * k) / 4);
  assert.equal(pagesAtCut, 1, "cut after the first page");
  assert.deepEqual(cuts, [[0, part(3)], [0, part(2)], [0, part(1)]]);
});

test("runWindows: waiting streams start before any split; full-refresh and one-page streams are never split", async () => {
  const { read, starts, windows } = await simulate(
    [
      { name: "full", n: 500, splittable: false },
      { name: "one-page", n: 5, splittable: true },
      { name: "big", n: 800, splittable: true },
    ],
    2,
  );
  assert.deepEqual(starts, ["full", "one-page", "big"]);
  assert.equal(windows.get("full"), 1);
  assert.equal(windows.get("one-page"), 1);
  assert.ok(windows.get("big")! >= 2);
  for (const [name, ids] of read) assert.equal(new Set(ids).size, ids.length, `${name}: each record once`);
});

test("runWindows: one window failing ends its stream once, with the first error; other streams go on", async () => {
  const ended: [string, unknown][] = [];
  const boom = new Error("boom");
  await runWindows(["a", "b"], 2, 100 * S, {
    start: () => 0,
    splittable: () => true,
    split: () => {},
    end: async (name, error) => void ended.push([name, error]),
    read: async (w, progress) => {
      w.pages++;
      w.first = 0;
      w.position = 10 * S;
      progress();
      await new Promise((r) => setImmediate(r));
      if (w.stream === "a") throw boom;
      w.more = false;
    },
  });
  assert.deepEqual(ended.find(([n]) => n === "a"), ["a", boom]);
  assert.deepEqual(ended.find(([n]) => n === "b"), ["b", undefined]);
  assert.equal(ended.length, 2);
});

let r: Replica;
before(async () => {
  r = await replica({ records: { prospects: 600, calls: 300, stages: 3 } });
});
after(() => r.close());
beforeEach(() => r.control.reset());

const STREAMS = ["prospects", "calls", "stages"];

/** Requests of a stream that carried an upper bound (i.e. of a window split off another). */
const windowed = (stream: string): number => apiRequests(r, stream).filter((e) => param(e, "filter[updatedAt][lte]") !== null).length;

for (const ignore of [false, true]) {
  test(`a windowed read is complete, each record once, and equals a sequential read${ignore ? " — with the server ignoring upper bounds" : ""}`, async () => {
    if (ignore) r.control.addFaults({ kind: "ignore_upper_bound" });
    r.requests.clear();
    const config = configFor(r, { page_size: 20, concurrency: 4 });
    const windows = await runCli(await readArgs(r, { config, catalog: catalogFor(STREAMS) }));
    assert.equal(windows.code, 0, windows.stderr);
    assertClean(windows, r);
    for (const s of STREAMS) {
      assertAllRecords(windows, r, s);
      assert.deepEqual(statusesOf(windows, s), ["STARTED", "RUNNING", "COMPLETE"]);
    }
    const split = windowed("prospects") + windowed("calls");
    assert.ok(windowed("prospects") > 0 && windowed("calls") > 0, `windows were split (${split} bounded requests)`);
    assert.equal(windowed("stages"), 0, "a one-page stream is not split");
    const pages = (s: string): number => Math.ceil(r.control.listIds(s).count / 20);
    const requests = apiRequests(r, "prospects").length;
    if (!ignore) assert.ok(requests <= 1.05 * pages("prospects") + 2 * windowed("prospects") + 1, `${requests} requests`);
    // The same streams read sequentially (full refresh: one window each).
    const sequential = await runCli(await readArgs(r, { config: configFor(r, { page_size: 20, concurrency: 4 }), catalog: catalogFor(STREAMS, "full_refresh") }));
    assert.equal(sequential.code, 0, sequential.stderr);
    for (const s of STREAMS) assert.deepEqual(idsOf(windows, s), idsOf(sequential, s), `${s}: the same ids`);
    // The final state is the largest cursor value of the stream, as with one window.
    const last = lastStates(windows).find((m) => m!.stream!.stream_descriptor.name === "prospects")!;
    const newest = windows.messages
      .filter((m) => m.type === "RECORD" && m.record!.stream === "prospects")
      .map((m) => (m.record!.data as { updatedAt: string }).updatedAt)
      .reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
    assert.deepEqual(last!.stream!.stream_state, { updatedAt: newest });
  });
}
