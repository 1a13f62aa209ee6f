/** DeleteCheck (src/delete-check.ts) against a scripted client: what the listing saves as progress. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DeleteCheck, LISTING_STATE_EVERY_PAGES } from "../src/delete-check.js";
import type { OutreachClient } from "../src/http/client.js";
import { IdSet } from "../src/id-set.js";
import { findStream } from "../src/streams.js";

const stream = findStream("calls")!;
const base = new URL("http://127.0.0.1:9/api/v2/");

/** A client that serves the given pages of ids in order, each linking to the next. */
function clientOf(pages: number[][]): OutreachClient {
  let served = 0;
  const client = {
    baseUrl: base,
    getCollection: async (_url: URL, _gatewayRetries: boolean, map: (resource: { type: string; id: number }, index: number) => unknown) => {
      const ids = pages[served++]!;
      const next = served < pages.length ? `${base.href}calls?page%5Bafter%5D=${served}` : undefined;
      return { data: ids.map((id, i) => map({ type: stream.type, id }, i)), ...(next ? { links: { next } } : {}) };
    },
  };
  return client as unknown as OutreachClient;
}

const pagesOf = (first: number, count: number): number[][] => Array.from({ length: count }, (_, p) => [first + 2 * p, first + 2 * p + 1]);

test("listing progress is saved every few pages while ids arrive in ascending order", async () => {
  const check = new DeleteCheck(stream, undefined, "state.json", 0, Date.now());
  const saved: unknown[] = [];
  const result = await check.list(clientOf(pagesOf(1, LISTING_STATE_EVERY_PAGES + 1)), async () => void saved.push(check.stateValue().listing), new AbortController().signal);
  assert.equal(result.listed.size, 2 * (LISTING_STATE_EVERY_PAGES + 1));
  assert.equal(saved.length, 1);
  assert.equal((saved[0] as { after: number }).after, 2 * LISTING_STATE_EVERY_PAGES);
});

test("ids out of order (sort=id not honoured): no progress is saved, so a resume cannot skip ids; the listing is still whole", async () => {
  const pages = pagesOf(1, LISTING_STATE_EVERY_PAGES + 1);
  pages[1] = [100, 2]; // a lower id after a higher one
  const previous = new IdSet();
  for (const id of [2, 100, 7777]) previous.add(id);
  const check = new DeleteCheck(stream, { deletes: { checkedAt: "2026-01-01T00:00:00.000Z", ids: previous.encode() } }, "state.json", 0, Date.now());
  const saved: unknown[] = [];
  const result = await check.list(clientOf(pages), async () => void saved.push(check.stateValue()), new AbortController().signal);
  assert.deepEqual(saved, [], "no progress STATE");
  assert.equal(check.stateValue().listing, undefined);
  assert.ok(result.listed.has(2) && result.listed.has(100));
  assert.deepEqual(check.commit(result).map((t) => JSON.parse(t).id), [7777]);
});
