import assert from "node:assert/strict";
import { test } from "node:test";
import { WindowCheckpointer, type Checkpoint } from "../src/state.js";
import { random } from "./helpers/random.js";

const ms = (s: number): number => Date.UTC(2024, 0, 1, 0, 0, s);
const t = (s: number): string => new Date(ms(s)).toISOString();

/** Writes one page of the window at `lo` the way `read` does; returns the value of the state emitted before it. */
function page(c: WindowCheckpointer, lo: number, values: string[], out: [string | undefined, number][]): void {
  const cp = c.beforePage(values);
  if (cp) out.push([cp.streamState.updatedAt, cp.recordCount]);
  c.afterPage(lo, values);
}

test("one window: checkpoints only when a later page moves past the cursor, so consecutive states always differ", () => {
  const c = new WindowCheckpointer("updatedAt");
  const states: [string | undefined, number][] = [];
  for (const p of [[t(1), t(2), t(3)], [t(3), t(3), t(3)], [t(3), t(4), t(5)], [t(5), t(5)]]) page(c, -Infinity, p, states);
  c.finish(-Infinity);
  const final = c.final();
  states.push([final.streamState.updatedAt, final.recordCount]);
  assert.deepEqual(states, [
    [t(3), 6],
    [t(5), 5],
  ]);
});

test("compares instants, not strings, and keeps the value as the API wrote it", () => {
  const c = new WindowCheckpointer("updatedAt", ms(5), "2024-01-01T00:00:05Z");
  c.afterPage(ms(5), ["2024-01-01T00:00:04.000Z", "2024-01-01T00:00:05.000Z"]);
  c.finish(ms(5));
  assert.deepEqual(c.final().streamState, { updatedAt: "2024-01-01T00:00:05Z" });
});

test("an empty read re-emits the input state with a zero count", () => {
  const a = new WindowCheckpointer("createdAt", ms(9), t(9));
  a.finish(ms(9));
  assert.deepEqual(a.final(), { streamState: { createdAt: t(9) }, recordCount: 0 });
  const b = new WindowCheckpointer("createdAt");
  b.finish(-Infinity);
  assert.deepEqual(b.final(), { streamState: {}, recordCount: 0 });
});

test("a failure after some pages checkpoints what was written, once", () => {
  const c = new WindowCheckpointer("updatedAt");
  c.afterPage(-Infinity, [t(1), t(2)]);
  assert.deepEqual(c.partial(), { streamState: { updatedAt: t(2) }, recordCount: 2 });
  assert.equal(c.partial(), undefined);
});

test("final refuses while a window is open", () => {
  const c = new WindowCheckpointer("updatedAt");
  c.split(-Infinity, ms(10));
  c.finish(-Infinity);
  assert.throws(() => c.final(), /windows open/);
});

test("two windows: the mark waits for the lower window, then jumps to the upper one's position", () => {
  const c = new WindowCheckpointer("updatedAt", ms(0));
  const states: [string | undefined, number][] = [];
  page(c, ms(0), [t(1), t(2)], states);
  c.split(ms(0), ms(50));
  page(c, ms(50), [t(50), t(60)], states); // mark = t(2) (lower window's position); t(60) lies beyond it
  page(c, ms(50), [t(61), t(70)], states); // mark still t(2): nothing emitted
  page(c, ms(0), [t(3), t(4)], states); // mark t(2) was emitted already
  c.finish(ms(0));
  page(c, ms(50), [t(71)], states); // lower window done: mark = t(70)
  assert.equal(c.partial()?.streamState.updatedAt, t(71));
  assert.deepEqual(states, [
    [t(2), 2],
    [t(70), 6],
  ]);
});

test("a lower window done before the upper one has read anything: the mark is the upper window's lower bound", () => {
  const c = new WindowCheckpointer("updatedAt");
  c.afterPage(-Infinity, [t(1), t(2)]);
  c.split(-Infinity, ms(30));
  c.split(ms(30), ms(60));
  c.afterPage(ms(60), [t(61)]);
  c.finish(-Infinity);
  assert.deepEqual(c.beforePage([t(31)]), { streamState: { updatedAt: t(30) }, recordCount: 3 });
});

test("split refuses points inside what a window already read, or outside it", () => {
  const c = new WindowCheckpointer("updatedAt", ms(0));
  c.afterPage(ms(0), [t(5)]);
  assert.throws(() => c.split(ms(0), ms(5)));
  assert.throws(() => c.split(ms(0), ms(0)));
  c.split(ms(0), ms(20));
  assert.throws(() => c.split(ms(0), ms(25)), "beyond the next window");
  assert.throws(() => c.split(ms(7), ms(9)), "no such window");
});

test("random schedules of splits and pages: every state covers all records below it, states increase, counts add up", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rand = random(seed);
    // Records with tied seconds, ascending.
    const cursor: number[] = [];
    for (let s = 0; cursor.length < 40 + Math.floor(rand() * 80); s += Math.floor(rand() * 3)) cursor.push(s);
    const c = new WindowCheckpointer("updatedAt", -Infinity);
    // Windows: [lo, hi) and the index of the next record to read.
    const windows: { lo: number; hi: number; next: number }[] = [{ lo: -Infinity, hi: Infinity, next: 0 }];
    const written = new Set<number>();
    const states: Checkpoint[] = [];
    const end = (w: { hi: number }): number => cursor.findIndex((v) => ms(v) >= w.hi);
    for (;;) {
      const open = windows.filter((w) => w.next >= 0 && w.next < (end(w) < 0 ? cursor.length : end(w)));
      for (const w of windows.filter((x) => !open.includes(x) && x.next >= 0)) {
        c.finish(w.lo);
        w.next = -1;
      }
      if (open.length === 0) break;
      const w = open[Math.floor(rand() * open.length)]!;
      const stop = end(w) < 0 ? cursor.length : end(w);
      if (rand() < 0.3 && w.next > 0 && w.next < stop) {
        const from = Math.max(w.lo, ms(cursor[w.next - 1]!));
        const to = Number.isFinite(w.hi) ? w.hi : ms(cursor[cursor.length - 1]! + 1);
        const at = from + 1 + Math.floor(rand() * Math.max(1, to - from - 1));
        if (at > from && at < to) {
          c.split(w.lo, at);
          const first = cursor.findIndex((v) => ms(v) >= at);
          const created = { lo: at, hi: w.hi, next: first < 0 ? cursor.length : first };
          w.hi = at;
          windows.splice(windows.indexOf(w) + 1, 0, created);
          continue;
        }
      }
      const n = 1 + Math.floor(rand() * 5);
      const take = Array.from({ length: Math.min(n, stop - w.next) }, (_, k) => w.next + k);
      const values = take.map((i) => t(cursor[i]!));
      const cp = c.beforePage(values);
      if (cp) {
        const mark = Date.parse(cp.streamState.updatedAt!);
        cursor.forEach((v, i) => {
          if (ms(v) < mark) assert.ok(written.has(i), `seed ${seed}: record ${i} (${v}) below the state ${cp.streamState.updatedAt} not written`);
        });
        states.push(cp);
      }
      c.afterPage(w.lo, values);
      for (const i of take) written.add(i);
      w.next += take.length;
    }
    states.push(c.final());
    const counted = states.reduce((a, s) => a + s.recordCount, 0);
    assert.equal(counted, cursor.length, `seed ${seed}: counts`);
    assert.equal(written.size, cursor.length);
    const values = states.map((s) => Date.parse(s.streamState.updatedAt!));
    for (let i = 1; i < values.length; i++) assert.ok(values[i]! > values[i - 1]!, `seed ${seed}: states increase`);
    assert.equal(states.at(-1)!.streamState.updatedAt, t(cursor[cursor.length - 1]!));
  }
});

test("now() (the delete check's progress STATE): at the mark, else the last emitted or input value, never backwards; countBeside() counts without moving", () => {
  const c = new WindowCheckpointer("updatedAt", ms(5), t(5));
  c.countBeside(3); // tombstones before any page: counted, not a cursor value
  assert.deepEqual(c.now(), { streamState: { updatedAt: t(5) }, recordCount: 3 }, "the input value before any page");
  const out: [string | undefined, number][] = [];
  page(c, ms(5), [t(6), t(7)], out);
  assert.deepEqual(c.now(), { streamState: { updatedAt: t(7) }, recordCount: 2 });
  c.split(ms(5), ms(20));
  page(c, ms(20), [t(21)], out);
  // The mark is still the first window's position (t7), equal to the last emitted value.
  assert.deepEqual(c.now(), { streamState: { updatedAt: t(7) }, recordCount: 1 });
  c.countBeside(2);
  page(c, ms(5), [t(8)], out);
  page(c, ms(5), [t(9)], out);
  assert.deepEqual(out, [[t(8), 3]], "the tombstones and the page before are counted in the next checkpoint");
  c.finish(ms(5));
  c.finish(ms(20));
  assert.deepEqual(c.final(), { streamState: { updatedAt: t(21) }, recordCount: 1 });
  const empty = new WindowCheckpointer("updatedAt");
  assert.deepEqual(empty.now(), { streamState: {}, recordCount: 0 }, "no value at all: no cursor");
});
