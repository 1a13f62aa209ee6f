import assert from "node:assert/strict";
import { test } from "node:test";
import { CursorCheckpointer } from "../src/state.js";

const t = (s: number): string => new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString();

test("checkpoints only when a later page moves past the cursor, so consecutive states always differ", () => {
  const c = new CursorCheckpointer("updatedAt");
  const pages = [
    [t(1), t(2), t(3)],
    [t(3), t(3), t(3)], // a tie straddling the boundary: no new checkpoint yet
    [t(3), t(4), t(5)],
    [t(5), t(5)],
  ];
  const states: [string | undefined, number][] = [];
  for (const page of pages) {
    const cp = c.beforePage(page);
    if (cp) states.push([cp.streamState.updatedAt, cp.recordCount]);
    c.afterPage(page);
  }
  const final = c.final();
  states.push([final.streamState.updatedAt, final.recordCount]);
  assert.deepEqual(states, [
    [t(3), 6],
    [t(5), 5],
  ]);
});

test("compares instants, not strings, and keeps the value as the API wrote it", () => {
  const c = new CursorCheckpointer("updatedAt", "2024-01-01T00:00:05Z");
  c.afterPage(["2024-01-01T00:00:04.000Z", "2024-01-01T00:00:05.000Z"]);
  assert.deepEqual(c.final().streamState, { updatedAt: "2024-01-01T00:00:05Z" });
});

test("an empty read re-emits the input state with a zero count", () => {
  assert.deepEqual(new CursorCheckpointer("createdAt", t(9)).final(), { streamState: { createdAt: t(9) }, recordCount: 0 });
  assert.deepEqual(new CursorCheckpointer("createdAt").final(), { streamState: {}, recordCount: 0 });
});

test("a failure after some pages checkpoints what was written", () => {
  const c = new CursorCheckpointer("updatedAt");
  c.afterPage([t(1), t(2)]);
  assert.deepEqual(c.partial(), { streamState: { updatedAt: t(2) }, recordCount: 2 });
  assert.equal(c.partial(), undefined);
});
