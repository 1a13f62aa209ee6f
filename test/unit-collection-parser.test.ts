import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectorError } from "../src/errors.js";
import { parseCollection } from "../src/http/collection-parser.js";
import { recordJson, recordShape } from "../src/records.js";
import { findStream } from "../src/streams.js";

const parse = (text: string) => parseCollection(Buffer.from(text, "utf8"));
const resources = (text: string): unknown[] => {
  const document = parse(text);
  assert.ok(document, `a collection: ${text.slice(0, 80)}`);
  return Array.from({ length: document.data.length }, (_, i) => document.data.at(i));
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
  for (let i = 0; i < data.length; i++) assert.equal(recordJson(document.data.at(i), shape), recordJson(structuredClone(data[i]!), shape));
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
  for (let end = 0; end < bytes.length; end++) assert.equal(parseCollection(bytes.subarray(0, end)), undefined, `cut after ${end} bytes`);
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

test("a resource that is not valid JSON inside a complete body throws system_error when read", () => {
  const document = parse('{"data":[{"type":"prospect","id":1},{"type":"prospect","id":2,}],"links":{}}');
  assert.ok(document);
  assert.equal(document.data.length, 2);
  assert.deepEqual(document.data.at(0), { type: "prospect", id: 1 });
  assert.throws(() => document.data.at(1), (e: unknown) => e instanceof ConnectorError && e.failureType === "system_error" && /resource 2 is not valid JSON/.test(e.message));
});

test("a later duplicate member wins, as with JSON.parse", () => {
  const document = parse('{"links":{"next":"a"},"data":[{"id":1}],"links":{"next":"b"}}')!;
  assert.equal(document.links?.next, "b");
  assert.deepEqual(resources('{"data":[{"id":1}],"data":[{"id":2},{"id":3}]}'), [{ id: 2 }, { id: 3 }]);
});
