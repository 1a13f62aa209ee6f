import assert from "node:assert/strict";
import { test } from "node:test";
import { PageBudget } from "../src/page-budget.js";

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test("a stream's first page reserves nothing; later pages reserve 2 bytes per character seen per record, up to the limit", async () => {
  const budget = new PageBudget(1000);
  const first = await budget.reserve("prospects", 100); // nothing known yet: granted, counts 0
  budget.learn("prospects", 10, 15); // 1.5 characters per record: 3 bytes
  const a = await budget.reserve("prospects", 100); // 300
  const b = await budget.reserve("prospects", 200); // 600: 900 in all
  let granted = false;
  const c = budget.reserve("prospects", 100).then((release) => ((granted = true), release)); // 300 more: waits
  await tick();
  assert.equal(granted, false, "over the limit: waits");
  first();
  await tick();
  assert.equal(granted, false, "the first page counted nothing, so its release makes no room");
  a();
  a(); // a second release is ignored
  await tick();
  assert.equal(granted, true, "granted once another page is written");
  let d = false;
  const pending = budget.reserve("prospects", 100).then((release) => ((d = true), release)); // 600 + 300 + 300 > 1000
  await tick();
  assert.equal(d, false, "a release given twice freed nothing more");
  b();
  await tick();
  assert.equal(d, true);
  (await c)();
  (await pending)();
});

test("a page bigger than the whole budget is granted when nothing else is reserved; waiters are served in order", async () => {
  const budget = new PageBudget(100);
  budget.learn("mailings", 1, 500); // 1000 bytes per record
  const big = await budget.reserve("mailings", 1);
  const order: string[] = [];
  const second = budget.reserve("mailings", 1).then((release) => (order.push("second"), release));
  budget.learn("calls", 1, 1); // 2 bytes per record: would fit, but waits its turn
  const third = budget.reserve("calls", 1).then((release) => (order.push("third"), release));
  await tick();
  assert.deepEqual(order, []);
  big();
  await tick();
  assert.deepEqual(order, ["second"], "the oversized second page alone");
  (await second)();
  await tick();
  assert.deepEqual(order, ["second", "third"]);
  (await third)();
});
