/** IdSet (src/id-set.ts): membership, ranges, differences and the text form of the delete check's state. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { deflateRawSync } from "node:zlib";
import { IdSet, MAX_DECODED_IDS } from "../src/id-set.js";
import { random } from "./helpers/random.js";

const of = (ids: number[]): IdSet => {
  const s = new IdSet();
  for (const id of ids) s.add(id);
  return s;
};

test("IdSet: the empty set round-trips and has no ranges", () => {
  const empty = new IdSet();
  assert.deepEqual(empty.ranges(), []);
  const back = IdSet.decode(empty.encode());
  assert.equal(back.size, 0);
  assert.deepEqual(back.ranges(), []);
});

test("IdSet: ranges merge across words and chunks, in any insertion order", () => {
  const ids = [5, 3, 4, 0, 31, 32, 33, 65_535, 65_536, 65_537, 200_000, 1];
  const s = of(ids);
  assert.equal(s.size, ids.length);
  assert.deepEqual(s.ranges(), [[0, 1], [3, 5], [31, 33], [65_535, 65_537], [200_000, 200_000]]);
  s.add(4); // already there
  assert.equal(s.size, ids.length);
  assert.ok(s.has(65_536) && !s.has(2) && !s.has(-1) && !s.has(1.5));
});

test("IdSet: big ids (above 2^32, up to 2^53 - 1) round-trip", () => {
  const ids = [0, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 2 ** 40, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER];
  const back = IdSet.decode(of(ids).encode());
  assert.deepEqual(back.ranges().flatMap(([a, b]) => (a === b ? [a] : [a, b])), ids.slice(0, -2).concat([Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER]));
  assert.equal(back.size, ids.length);
  assert.throws(() => new IdSet().add(-1), RangeError);
  assert.throws(() => new IdSet().add(2 ** 53), RangeError);
});

test("IdSet: random sets round-trip; without() is the set difference; addAll the union", () => {
  const rand = random(14);
  for (let round = 0; round < 20; round++) {
    const a = new Set<number>();
    const b = new Set<number>();
    const span = 1 + Math.floor(rand() * 300_000);
    for (let i = 0; i < 3_000; i++) a.add(Math.floor(rand() * span));
    for (const x of a) if (rand() < 0.9) b.add(x);
    for (let i = 0; i < 100; i++) b.add(Math.floor(rand() * span));
    const sa = of([...a]);
    const sb = of([...b]);
    const back = IdSet.decode(sa.encode());
    assert.deepEqual(back.without(new IdSet()), [...a].sort((x, y) => x - y));
    assert.deepEqual(sa.without(sb), [...a].filter((x) => !b.has(x)).sort((x, y) => x - y));
    const union = sa.clone().addAll(sb);
    assert.equal(union.size, new Set([...a, ...b]).size);
    assert.equal(sa.size, a.size, "clone leaves the original alone");
  }
});

test("IdSet.decode: malformed texts are errors with a reason", () => {
  assert.throws(() => IdSet.decode("[1,2,3]" as string), /must be a string starting with "1:"/);
  assert.throws(() => IdSet.decode(42 as unknown as string), /must be a string/);
  assert.throws(() => IdSet.decode("1:!!!not base64 deflate"), /not a deflated/);
  // One range of MAX_DECODED_IDS + 1 ids (gap 0, length - 1 = MAX_DECODED_IDS) is refused before it is built.
  const bytes: number[] = [0];
  for (let n = MAX_DECODED_IDS; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      bytes.push(n);
      break;
    }
    bytes.push((n % 128) | 128);
  }
  assert.throws(() => IdSet.decode(`1:${deflateRawSync(Buffer.from(bytes)).toString("base64")}`), /more than 50000000 ids/);
  assert.throws(() => IdSet.decode(`1:${deflateRawSync(Buffer.from([0, 0x80])).toString("base64")}`), /ends inside a number/);
});
