/**
 * Tests of the Outreach API replica: document shapes, paging, filters, sort, sparse fieldsets
 * and the data control surface. Offline, 127.0.0.1 only.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { STREAMS } from "../src/streams.js";
import { ReplicaClient } from "../integration_tests/replica/client.js";
import { startReplica } from "../integration_tests/replica/server.js";
import { ROOT } from "./helpers/cli.js";
import { replicaFixture } from "./helpers/replica.js";

const fixture = replicaFixture();

const INCREMENTAL = "count=false&newFilterSyntax=true&filter[updatedAt][gte]=2000-01-01T00:00:00.000Z&sort=updatedAt";
const ids = (docs: { data: { id: number }[] }[]): number[] => docs.flatMap((d) => d.data.map((r) => r.id));

test("every stream answers with records of its type, integer ids, sorted attribute keys and self links", async () => {
  for (const s of STREAMS) {
    const doc = await fixture.client.page(`${s.path.slice(1)}?page[size]=5&count=true`);
    assert.ok(doc.data.length > 0, `${s.name} is empty`);
    assert.ok((doc.meta?.count ?? 0) >= 25, s.name);
    for (const r of doc.data) {
      assert.equal(r.type, s.type);
      assert.ok(Number.isInteger(r.id));
      const keys = Object.keys(r.attributes ?? {});
      assert.deepEqual(keys, [...keys].sort(), `${s.name}: attribute keys sorted`);
      assert.equal(r.links?.self, `${fixture.replica.apiBase}${s.path.slice(1)}/${r.id}`);
      if (s.cursorField) assert.match(String(r.attributes?.[s.cursorField]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    }
  }
});

test("records look like Outreach's: customN all present, undeclared attributes, clashes, relationship shapes", async () => {
  const { data } = await fixture.client.page("prospects?page[size]=120");
  const a = data[0]?.attributes ?? {};
  for (let k = 1; k <= 150; k++) assert.ok(`custom${k}` in a, `custom${k}`);
  for (const k of ["updaterId", "updaterType", "accountName", "emailContacts", "engagedScore"]) assert.ok(k in a, k);
  const customs = data.flatMap((r) => Object.entries(r.attributes ?? {}).filter(([k]) => /^custom\d+$/.test(k)).map(([, v]) => v));
  assert.ok(customs.filter((v) => v === null).length > customs.length * 0.9);
  assert.ok(customs.includes(""));
  for (const r of data) {
    const rel = r.relationships as Record<string, { data?: { id: number } | null; links?: { related: string }; meta?: { count: number } }>;
    assert.equal(r.attributes?.updaterId, rel.updater?.data?.id ?? null, "updaterId repeats the updater relationship");
    assert.ok(rel.mailings?.links?.related.includes("filter%5Bprospect%5D%5Bid%5D="));
    assert.equal(rel.mailings?.data, undefined);
    assert.ok(Array.isArray(rel.emailAddresses?.data) && typeof rel.emailAddresses?.meta?.count === "number");
  }
  const names = data.map((r) => String(r.attributes?.firstName ?? ""));
  assert.ok(names.some((n) => /[^\x00-\x7f]/.test(n)) && names.some((n) => /[ \u00a0]$/.test(n)));
  const mailing = (await fixture.client.page("mailings?page[size]=1")).data[0];
  assert.ok(String(mailing?.attributes?.bodyHtml).length > 1500);
  const events = (await fixture.client.page("events?page[size]=50")).data;
  assert.ok(events.every((e) => !("updatedAt" in (e.attributes ?? {})) && "eventAt" in (e.attributes ?? {})));
});

test("cursor paging walks every record exactly once at page sizes 1, 7, 10 and 1000", async () => {
  const all = fixture.replica.control.listIds("prospects").ids ?? [];
  assert.equal(all.length, 120);
  for (const size of [1, 7, 10, 1000]) {
    const got = ids(await fixture.client.walk(`prospects?${INCREMENTAL}&page[size]=${size}`));
    assert.equal(got.length, all.length, `size ${size}`);
    assert.deepEqual([...got].sort((x, y) => x - y), all);
  }
  for (const s of STREAMS.filter((x) => x.cursorField)) {
    const q = `newFilterSyntax=true&filter[${s.cursorField}][gte]=2000-01-01&sort=${s.cursorField}&page[size]=10`;
    const got = ids(await fixture.client.walk(`${s.path.slice(1)}?${q}`));
    assert.deepEqual([...got].sort((x, y) => x - y), fixture.replica.control.listIds(s.name).ids, s.name);
  }
});

test("timestamp ties straddle page boundaries at sizes 10 and 1000 and are ordered by id", async () => {
  const pages = await fixture.client.walk(`prospects?${INCREMENTAL}&page[size]=10`);
  const straddles = pages.slice(1).filter((p, k) => p.data[0]?.attributes?.updatedAt === pages[k]?.data.at(-1)?.attributes?.updatedAt);
  assert.ok(straddles.length >= 3, `only ${straddles.length} straddling ties`);
  const big = await startReplica({ records: { prospects: 1500 } });
  try {
    const c = new ReplicaClient(big);
    const walked = await c.walk(`prospects?${INCREMENTAL}&page[size]=1000`);
    assert.equal(walked.length, 2);
    assert.equal(walked[1]?.data[0]?.attributes?.updatedAt, walked[0]?.data.at(-1)?.attributes?.updatedAt);
    const rows = walked.flatMap((p) => p.data);
    assert.equal(new Set(rows.map((r) => r.id)).size, 1500);
    for (let k = 1; k < rows.length; k++) {
      const [p, q] = [rows[k - 1], rows[k]];
      const c0 = String(p?.attributes?.updatedAt).localeCompare(String(q?.attributes?.updatedAt));
      assert.ok(c0 < 0 || (c0 === 0 && (p?.id ?? 0) < (q?.id ?? 0)));
    }
  } finally {
    await big.close();
  }
});

test("links: absolute next repeating every parameter sorted and encoded, opaque keyset, prev, last page, empty result", async () => {
  const first = await fixture.client.page(`prospects?sort=updatedAt&newFilterSyntax=true&filter[updatedAt][gte]=1990-01-01T00:00:00.000Z&count=false&page[size]=10`);
  const next = first.links?.next ?? "";
  assert.match(next, new RegExp(`^${fixture.replica.apiBase}prospects\\?count=false&filter%5BupdatedAt%5D%5Bgte%5D=1990-01-01T00%3A00%3A00.000Z&newFilterSyntax=true&page%5Bafter%5D=[A-Za-z0-9%]+&page%5Bsize%5D=10&sort=updatedAt$`));
  const token = decodeURIComponent(/page%5Bafter%5D=([^&]+)/.exec(next)?.[1] ?? "");
  const cursor = JSON.parse(Buffer.from(token, "base64").toString()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(cursor), ["cn", "sp", "sv", "id", "v"]);
  assert.equal(cursor.cn, "ApiV2::ProspectsController");
  assert.deepEqual(cursor.sv, [first.data[9]?.attributes?.updatedAt]);
  assert.equal(cursor.id, first.data[9]?.id);
  assert.equal(first.links?.prev, undefined);
  assert.equal(first.meta, undefined);
  const second = await fixture.client.page(next);
  assert.ok(second.links?.prev?.includes("page%5Bbefore%5D="));
  assert.deepEqual(ids([await fixture.client.page(second.links?.prev ?? "")]), ids([first]));
  const pages = await fixture.client.walk(next);
  assert.equal(pages.at(-1)?.links?.next, undefined);
  assert.ok(pages.at(-1)?.links?.first);
  const empty = await fixture.client.get("prospects?newFilterSyntax=true&filter[updatedAt][gte]=2099-01-01&page[size]=10&count=true");
  assert.deepEqual(empty.json, { data: [], meta: { count: 0, count_truncated: false } });
});

test("offset mode without page[size]: 50 rows, first/prev/next/last on page[offset]; limits are 400s", async () => {
  const doc = await fixture.client.page("prospects?count=true");
  assert.equal(doc.data.length, 50);
  assert.equal(doc.links?.next, `${fixture.replica.apiBase}prospects?count=true&page%5Boffset%5D=50`);
  assert.equal(doc.links?.last, `${fixture.replica.apiBase}prospects?count=true&page%5Boffset%5D=100`);
  const last = await fixture.client.page(doc.links?.last ?? "");
  assert.equal(last.data.length, 20);
  assert.equal(last.links?.next, undefined);
  assert.ok(last.links?.prev?.endsWith("page%5Boffset%5D=50"));
  for (const q of ["page[limit]=1001", "page[offset]=10001", "page[size]=1001", "page[size]=0", "page[size]=abc"]) {
    const got = await fixture.client.get(`prospects?${q}`);
    assert.equal(got.status, 400, q);
    assert.match(String((got.json as { errors: { id: string }[] }).errors[0]?.id), /^pageParameter\./);
  }
});

test("filters: legacy and new syntax agree; lists, ranges, nulls, relationship ids", async () => {
  const rows = (await fixture.client.page("prospects?page[size]=1000&sort=updatedAt")).data;
  const mid = String(rows[60]?.attributes?.updatedAt);
  const hi = String(rows[90]?.attributes?.updatedAt);
  const legacy = ids(await fixture.client.walk(`prospects?filter[updatedAt]=${mid}..${hi}&sort=updatedAt&page[size]=7`));
  const modern = ids(await fixture.client.walk(`prospects?newFilterSyntax=true&filter[updatedAt][gte]=${mid}&filter[updatedAt][lte]=${hi}&sort=updatedAt&page[size]=7`));
  assert.deepEqual(legacy, modern);
  assert.ok(legacy.length >= 31);
  assert.deepEqual(ids([await fixture.client.page(`prospects?filter[updatedAt]=${mid}..inf&page[size]=1000&sort=updatedAt`)]), ids([{ data: rows.slice(rows.findIndex((r) => r.attributes?.updatedAt === mid)) }]));
  assert.equal((await fixture.client.page(`prospects?filter[updatedAt]=neginf..${mid}&page[size]=1000`)).data.length, rows.findLastIndex((r) => r.attributes?.updatedAt === mid) + 1);
  assert.deepEqual(ids([await fixture.client.page("prospects?filter[id]=3,1,2&page[size]=10")]), [1, 2, 3]);
  assert.deepEqual(ids([await fixture.client.page("prospects?newFilterSyntax=true&filter[id][]=2&filter[id][]=4&page[size]=10")]), [2, 4]);
  const nulls = await fixture.client.page("prospects?filter[title]=__null__&page[size]=1000");
  const notNulls = await fixture.client.page("prospects?filter[title]=__notnull__&page[size]=1000");
  assert.equal(nulls.data.length + notNulls.data.length, 120);
  assert.ok(nulls.data.every((r) => r.attributes?.title === null) && notNulls.data.length > 0);
  const account = (rows.find((r) => (r.relationships?.account as { data: { id: number } | null }).data)?.relationships?.account as { data: { id: number } }).data.id;
  const byAccount = await fixture.client.page(`prospects?filter[account][id]=${account}&page[size]=1000`);
  assert.ok(byAccount.data.length > 0 && byAccount.data.every((r) => (r.relationships?.account as { data: { id: number } }).data.id === account));
  for (const ts of [mid.replace(".000Z", "Z"), mid]) {
    assert.equal((await fixture.client.page(`prospects?newFilterSyntax=true&filter[updatedAt][gte]=${ts}&page[size]=1000`)).data.length, rows.length - rows.findIndex((r) => r.attributes?.updatedAt === mid));
  }
  assert.ok((await fixture.client.page(`prospects?filter[updatedAt]=${mid.slice(0, 10)}..inf&page[size]=1000`)).data.length >= legacy.length);
});

test("filter, sort and fields errors are JSON:API 400s", async () => {
  const cases: [string, string][] = [
    ["prospects?newFilterSyntax=true&filter[updatedAt]=2024-01-01T00:00:00.000Z..inf", "filterParameter.invalidDatetimeFormat"],
    ["prospects?newFilterSyntax=true&filter[updatedAt][gte]=2024-01-01T00:00:00.000000Z", "filterParameter.invalidDatetimeFormat"],
    ["prospects?filter[updatedAt]=yesterday", "filterParameter.invalidDatetimeFormat"],
    ["prospects?filter[bogus]=1", "filterParameter.unknownFilterField"],
    ["prospects?filter[company]=x", "filterParameter.unknownFilterField"],
    ["prospects?filter[updatedAt][gte]=2024-01-01", "filterParameter.unknownFilterField"],
    ["prospects?newFilterSyntax=true&filter[updatedAt][gt]=2024-01-01", "filterParameter.invalidOperator"],
    ["prospects?sort=company", "sortParameter.invalidSortField"],
    ["prospects?fields[prospect]=firstName,bogus", "fieldsParameter.unknownResourceField"],
  ];
  for (const [q, id] of cases) {
    const got = await fixture.client.get(q);
    assert.equal(got.status, 400, q);
    assert.equal(got.headers.get("content-type"), "application/vnd.api+json");
    assert.equal((got.json as { errors: { id: string }[] }).errors[0]?.id, id, q);
  }
});

test("sort: descending, several keys, ties by id; sparse fieldsets", async () => {
  const desc = (await fixture.client.page("prospects?sort=-updatedAt&page[size]=1000")).data;
  for (let k = 1; k < desc.length; k++) assert.ok(String(desc[k - 1]?.attributes?.updatedAt) >= String(desc[k]?.attributes?.updatedAt));
  assert.deepEqual(ids(await fixture.client.walk("prospects?sort=id&page[size]=7")), fixture.replica.control.listIds("prospects").ids);
  const walked = ids(await fixture.client.walk("prospects?sort=lastName,-updatedAt&page[size]=9"));
  assert.deepEqual(walked, ids([await fixture.client.page("prospects?sort=lastName,-updatedAt&page[size]=1000")]));
  const sparse = await fixture.client.page("users?fields[user]=email,firstName,creator&page[size]=3");
  assert.deepEqual(Object.keys(sparse.data[0]?.attributes ?? {}), ["email", "firstName"]);
  assert.deepEqual(Object.keys(sparse.data[0]?.relationships ?? {}), ["creator"]);
  const full = await fixture.client.page("prospects?page[size]=5");
  const every = new Set(full.data.flatMap((r) => [...Object.keys(r.attributes ?? {}), ...Object.keys(r.relationships ?? {})]));
  assert.deepEqual((await fixture.client.page(`prospects?page[size]=5&fields[prospect]=${[...every].join(",")}`)).data, full.data, "fieldset path renders like the fast path");
  assert.ok(!every.has("contactHistogram"), "contactHistogram is not in the default payload (§3.3)");
  const histograms = (await fixture.client.page("prospects?page[size]=5&fields[prospect]=contactHistogram")).data.map((r) => r.attributes?.contactHistogram);
  assert.ok(histograms.length === 5 && histograms.every((h) => Array.isArray(h) && h.length > 0), JSON.stringify(histograms));
  const bare = await fixture.client.page("users?page[size]=1&count=false&fields[user]=");
  assert.deepEqual(Object.keys(bare.data[0] ?? {}).filter((k) => k !== "links"), ["type", "id"]);
});

test("control: added and updated records come last in an incremental read; ids list; fast and slow paths agree", async () => {
  const before = (await fixture.client.page("prospects?sort=-updatedAt&page[size]=1")).data[0]?.attributes?.updatedAt;
  const added = fixture.replica.control.addRecords("prospects", { count: 2, attributes: { firstName: "Neue" } });
  const updated = fixture.replica.control.updateRecords("prospects", [5, 7]);
  assert.equal(added[0]?.attributes?.firstName, "Neue");
  assert.ok(String(updated[0]?.attributes?.updatedAt) > String(before) && String(updated[0]?.attributes?.updatedAt) > String(added[0]?.attributes?.updatedAt));
  assert.match(String(updated[0]?.attributes?.name), /Updated record/);
  const all = fixture.replica.control.listIds("prospects");
  assert.equal(all.count, 122);
  const walk = ids(await fixture.client.walk(`prospects?${INCREMENTAL}&page[size]=10`));
  assert.deepEqual(walk.slice(-4), [...added.map((r) => r.id), 5, 7]);
  assert.deepEqual([...walk].sort((x, y) => x - y), all.ids);
  const slow = ids(await fixture.client.walk(`prospects?${INCREMENTAL}&filter[id][gte]=0&page[size]=10`));
  assert.deepEqual(slow, walk);
  const since = ids([await fixture.client.page(`prospects?newFilterSyntax=true&filter[updatedAt][gte]=${String(updated[0]?.attributes?.updatedAt)}&sort=updatedAt&page[size]=100`)]);
  assert.deepEqual(since, [5, 7]);
  const res = await fetch(`${fixture.replica.controlUrl}streams/stages/records`, { method: "POST", body: JSON.stringify({ count: 1 }) });
  assert.equal(((await res.json()) as { data: unknown[] }).data.length, 1);
  const idList = (await (await fetch(`${fixture.replica.controlUrl}streams/stages/ids`)).json()) as { count: number; ids: number[] };
  assert.equal(idList.ids.length, idList.count);
  const one = await fixture.client.get("prospects/5");
  assert.equal((one.json as { data: { id: number } }).data.id, 5);
  assert.equal((await fixture.client.get("prospects/6")).status, 404);
});

test("control: deleted records leave every collection, the id list and single reads; their ids are not reused", async () => {
  const c = fixture.replica.control;
  const all = c.listIds("prospects").ids!;
  const gone = [all[0]!, all[1]!, all[40]!, all.at(-1)!];
  const [updated] = c.updateRecords("prospects", [all[50]!]);
  c.deleteRecords("prospects", [...gone.slice(0, 3), updated!.id]);
  const res = await fetch(`${fixture.replica.controlUrl}streams/prospects/deletions`, { method: "POST", body: JSON.stringify({ ids: [gone[3]] }) });
  assert.deepEqual(((await res.json()) as { deleted: number[] }).deleted, [gone[3]]);
  const left = all.filter((id) => !gone.includes(id) && id !== updated!.id);
  assert.deepEqual(c.listIds("prospects"), { count: left.length, ids: left });
  for (const query of [INCREMENTAL, "sort=id", "sort=id&filter[id]=1..inf", `sort=id&filter[id]=${all[30]}..inf`, "sort=-updatedAt", "sort=firstName"]) {
    const walked = ids(await fixture.client.walk(`prospects?${query}&page[size]=7&fields[prospect]=`));
    const expected = query.includes(`${all[30]}..`) ? left.filter((id) => id >= all[30]!) : left;
    assert.deepEqual([...walked].sort((x, y) => x - y), expected, query);
  }
  const bare = await fixture.client.page("prospects?sort=id&page[size]=2&fields[prospect]=");
  assert.deepEqual(bare.data.map((r) => Object.keys(r).sort()), [["id", "links", "type"], ["id", "links", "type"]], "an empty fieldset: type and id only");
  assert.equal((await fixture.client.get(`prospects/${gone[0]}`)).status, 404);
  assert.throws(() => c.updateRecords("prospects", [gone[0]!]), /no record with id/);
  assert.throws(() => c.deleteRecords("prospects", [gone[0]!]), /no record with id/);
  const [again] = c.addRecords("prospects");
  assert.ok(again!.id > Math.max(...all), "a new record gets a new id");
});

test("data is deterministic per seed", async () => {
  const other = await startReplica();
  try {
    const a = await fixture.client.page("mailings?page[size]=5");
    const b = await new ReplicaClient(other).page("mailings?page[size]=5");
    assert.equal(JSON.stringify(b.data).replaceAll(other.apiBase, fixture.replica.apiBase), JSON.stringify(a.data));
  } finally {
    await other.close();
  }
});

test("a million-record stream is served lazily: binary-searched pages, id count only", async () => {
  const big = await startReplica({ records: { prospects: 1_000_000 } });
  try {
    const c = new ReplicaClient(big);
    assert.deepEqual(big.control.listIds("prospects"), { count: 1_000_000 });
    const first = await c.page(`prospects?${INCREMENTAL}&page[size]=1000`);
    const newest = await c.walk("prospects?sort=-updatedAt&page[size]=3&count=true", 2);
    assert.equal(newest[0]?.meta?.count, 1_000_000);
    assert.equal(newest[0]?.data[0]?.id, 1_199_999);
    const desc = newest.flatMap((p) => p.data.map((r) => [String(r.attributes?.updatedAt), r.id] as const));
    for (let k = 1; k < desc.length; k++) assert.ok(desc[k - 1]! > desc[k]!, "descending by (updatedAt, id)");
    const midTs = String(((await c.get("prospects/600001")).json as { data: { attributes: { updatedAt: string } } }).data.attributes.updatedAt);
    const mid = await c.page(`prospects?newFilterSyntax=true&filter[updatedAt][gte]=${midTs}&sort=updatedAt&page[size]=1000&count=true`);
    assert.equal(mid.data[0]?.attributes?.updatedAt, midTs);
    assert.ok((mid.meta?.count ?? 0) > 400_000 && (mid.meta?.count ?? 0) < 600_000);
    const second = await c.page(first.links?.next ?? "");
    assert.equal(second.data.length, 1000);
    assert.ok((second.data[0]?.id ?? 0) > (first.data.at(-1)?.id ?? 0));
    assert.deepEqual(ids([await c.page("prospects?filter[id]=600002,600001,6&page[size]=5")]), [600001, 600002]);
    assert.deepEqual(ids(await c.walk("prospects?filter[id]=999990..1000000&page[size]=3")), [999991, 999992, 999993, 999994, 999995, 999997, 999998, 999999, 1000000]);
    const slow = await c.get("prospects?sort=lastName&page[size]=10");
    assert.equal(slow.status, 400, "unsupported slow query on a huge stream is refused, not hung");
  } finally {
    await big.close();
  }
});

test("the replica's command line: --help prints its options and where its control API is described; a bad option points to it", () => {
  const main = path.join(ROOT, "dist/integration_tests/replica/main.js");
  const help = spawnSync(process.execPath, [main, "--help"], { encoding: "utf8" });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: node dist\/integration_tests\/replica\/main\.js \[options\]/);
  for (const option of ["--port", "--records", "--prospects", "--latency-ms", "--seed", "--min-mint-interval", "--token-lifetime"]) assert.ok(help.stdout.includes(option), option);
  assert.ok(help.stdout.includes("integration_tests/replica/README.md"));
  const bad = spawnSync(process.execPath, [main, "--bogus"], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, "replica: Unknown option '--bogus' (see --help)\n");
});
