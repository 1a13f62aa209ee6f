import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectorError } from "../src/errors.js";
import { CollectionScanner, parseCollection, type CollectionDocument } from "../src/http/collection-parser.js";
import { recordJson, recordShape } from "../src/records.js";
import { findStream } from "../src/streams.js";

/** Scans `bytes` fed in chunks of `size` bytes (the body as the network delivers it). */
const scanChunks = (bytes: Buffer, size: number): CollectionDocument | undefined => {
  const scanner = new CollectionScanner((r) => r);
  for (let i = 0; i < bytes.length; i += size) scanner.write(bytes.subarray(i, i + size));
  return scanner.end();
};
/** The body whole, then in chunks of 1, 7 and 64 bytes: every chunking gives the same answer (asserted). */
const parse = (text: string): CollectionDocument | undefined => {
  const bytes = Buffer.from(text, "utf8");
  const whole = parseCollection(bytes);
  for (const size of [1, 7, 64]) assert.deepEqual(scanChunks(bytes, size), whole, `chunks of ${size}: ${text.slice(0, 80)}`);
  return whole;
};
const resources = (text: string): unknown[] => {
  const document = parse(text);
  assert.ok(document, `a collection: ${text.slice(0, 80)}`);
  return document.data;
};

/** Strings that end a naive scan early: quotes, backslashes before quotes, brackets, multi-byte UTF-8. */
const TRICKY = ['"', '\\', '\\"', '{', '}', '[', ']', '","data":[', 'é', '日本', '😀', '\u2028', '\u0000', ''];

const prospect = (id: number, value: string) => ({
  type: "prospect",
  id,
  attributes: { firstName: value, tags: [value, { nested: [value] }], score: -1.5e3, optedOut: false, custom1: null, updatedAt: "2024-08-02T09:56:52.000Z" },
  relationships: { account: { data: { type: "account", id: id + 1 } }, owner: { data: null } },
});

test("each resource of data is parsed alone, equal to JSON.parse of the whole body, members before and after data kept", () => {
  const whole = { meta: { count: 14, count_truncated: false }, data: TRICKY.map((v, i) => prospect(i + 1, v)), links: { next: "https://api.outreach.io/api/v2/prospects?page%5Bafter%5D=x" } };
  for (const text of [JSON.stringify(whole), JSON.stringify(whole, null, 2), JSON.stringify(whole, null, "\t").replace(/\n/g, "\r\n")]) {
    assert.deepEqual(resources(text), whole.data);
    const document = parse(text)!;
    assert.equal(document.links?.next, whole.links.next, "links.next after data");
    assert.deepEqual(document.meta, whole.meta, "meta before data");
  }
});

test("records are byte-identical to those of the whole parsed page", () => {
  const data = TRICKY.map((v, i) => prospect(i + 1, v));
  const document = parse(JSON.stringify({ data }))!;
  const shape = recordShape(findStream("prospects")!);
  for (let i = 0; i < data.length; i++) assert.equal(recordJson(document.data[i]!, shape), recordJson(structuredClone(data[i]!), shape));
});

test("random resources survive the split, compact and indented", () => {
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 3 || r < 0.3) return TRICKY[Math.floor(random() * TRICKY.length)]! + String.fromCharCode(Math.floor(random() * 0x3000));
    if (r < 0.4) return random() < 0.5 ? null : random() * 1e6 - 5e5;
    if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`k${i}${TRICKY[i]}`, value(depth + 1)]));
  };
  for (let round = 0; round < 50; round++) {
    const data = Array.from({ length: Math.floor(random() * 6) }, (_, i) => ({ type: "prospect", id: i, attributes: value(0) }));
    assert.deepEqual(resources(JSON.stringify({ data, links: {} }, null, round % 2 ? 1 : undefined)), data);
  }
});

test("an empty data array is a collection of no resources", () => {
  assert.equal(parse('{"data":[],"links":{}}')!.data.length, 0);
  assert.equal(parse(' { "data" : [ ] } \n')!.data.length, 0);
});

test("every truncation of a body is not a collection (the client retries it)", () => {
  const text = JSON.stringify({ data: [prospect(1, 'a"b\\'), prospect(2, "日本")], links: { next: "https://x/y" } });
  const bytes = Buffer.from(text);
  for (let end = 0; end < bytes.length; end++) {
    assert.equal(parseCollection(bytes.subarray(0, end)), undefined, `cut after ${end} bytes`);
    assert.equal(scanChunks(bytes.subarray(0, end), 5), undefined, `cut after ${end} bytes, in chunks of 5`);
  }
  assert.ok(parseCollection(bytes));
});

test("non-JSON bodies, error documents and other shapes are not collections", () => {
  for (const text of [
    "",
    "<html><body>502 Bad Gateway</body></html>",
    "null",
    "[1,2]",
    '"data"',
    "{}",
    '{"errors":[{"id":"badRequest","title":"Bad request"}]}',
    '{"data":null}',
    '{"data":{"type":"prospect","id":1}}',
    '{"data":[{"id":1}]} trailing',
    '{"data":[{"id":1}]}}',
    '{"data":[{"id":1}] "links":{}}',
    '{"data":[{"id":1} {"id":2}]}',
    '{"data":[{"id":1},]}',
    '{"data":[],"links":{next}}',
    '{"data":[],}',
    '{data:[]}',
    '{"data":[] ,"meta": }',
  ]) {
    assert.equal(parse(text), undefined, text);
  }
});

test("a resource that is not valid JSON inside a complete body throws system_error; in a truncated body it is a retry", () => {
  const text = '{"data":[{"type":"prospect","id":1},{"type":"prospect","id":2,}],"links":{}}';
  for (const size of [1, 3, text.length]) {
    assert.throws(() => scanChunks(Buffer.from(text), size), (e: unknown) => e instanceof ConnectorError && e.failureType === "system_error" && /resource 2 is not valid JSON/.test(e.message));
    assert.equal(scanChunks(Buffer.from(text.slice(0, -1)), size), undefined);
  }
});

test("what the map throws is thrown once the body is complete, and the map sees no resource after it", () => {
  const seen: number[] = [];
  const scanner = new CollectionScanner((r: { id?: unknown }, index) => {
    seen.push(index);
    if (r.id === 2) throw new Error("wrong type");
    return r.id;
  });
  scanner.write(Buffer.from('{"data":[{"id":1},{"id":2},{"id":3}],"links":{"next":"x"}}'));
  assert.throws(() => scanner.end(), /wrong type/);
  assert.deepEqual(seen, [0, 1]);
  const truncated = new CollectionScanner(() => {
    throw new Error("wrong type");
  });
  truncated.write(Buffer.from('{"data":[{"id":1}],"links":{"ne'));
  assert.equal(truncated.end(), undefined, "an incomplete body is retried, not failed");
});

test("each resource is mapped as soon as its last byte arrives; every split of the body in two gives the same document", () => {
  const mapped: unknown[] = [];
  const scanner = new CollectionScanner((r: { id?: unknown }) => (mapped.push(r.id), r.id));
  scanner.write(Buffer.from('{"meta":{"count":null},"data":[{"id":1,"a":"x\\\\"},{"id":2'));
  assert.deepEqual(mapped, [1]);
  scanner.write(Buffer.from('}],"links":{"next":"https://x/y?a=\\"b"}}'));
  assert.deepEqual(mapped, [1, 2]);
  assert.deepEqual(scanner.end(), { meta: { count: null }, data: [1, 2], links: { next: 'https://x/y?a="b' } });
  // Backslash runs, quotes and multi-byte characters cut at every byte.
  const body = Buffer.from(JSON.stringify({ data: [prospect(1, 'a\\\\"b\\'), prospect(2, '日"本\\"😀')], links: { next: "n\\" } }));
  const expected = JSON.parse(body.toString()) as unknown;
  for (let cut = 0; cut <= body.length; cut++) {
    const split = new CollectionScanner((r) => r);
    split.write(body.subarray(0, cut));
    split.write(body.subarray(cut));
    assert.deepEqual(split.end(), expected, `split at ${cut}`);
  }
});

test("a later duplicate member wins, as with JSON.parse", () => {
  const document = parse('{"links":{"next":"a"},"data":[{"id":1}],"links":{"next":"b"}}')!;
  assert.equal(document.links?.next, "b");
  assert.deepEqual(resources('{"data":[{"id":1}],"data":[{"id":2},{"id":3}]}'), [{ id: 2 }, { id: 3 }]);
});
