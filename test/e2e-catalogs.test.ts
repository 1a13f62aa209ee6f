/**
 * The same data whatever catalog arrives (issue 12): `read` with our discovered catalog, with a
 * column-selected one, and with the schemas a connection stores while it runs Airbyte's own
 * Outreach connector (property names in test/fixtures/), in both record formats; discover in
 * `record_format: airbyte_v1`; no attribute the replica serves is ever overwritten.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { ReplicaClient } from "../integration_tests/replica/client.js";
import { attributeNames, type RecordFormat } from "../src/record-format.js";
import { findStream, STREAMS } from "../src/streams.js";
import { ofType, recordsOf, ROOT, runCli, tempDir, writeJsonFiles, type CliRun } from "./helpers/cli.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";

type Schema = { properties: Record<string, Record<string, unknown>> } & Record<string, unknown>;

/** Airbyte's 17 streams and the property names of their stored schemas. */
const AIRBYTE: Record<string, string[]> = JSON.parse(
  readFileSync(join(ROOT, "test/fixtures/airbyte-source-outreach-1.1.15-properties.json"), "utf8"),
).streams;

let r: Replica;
const discovered = new Map<RecordFormat, Map<string, Schema>>();
const baseline = new Map<RecordFormat, CliRun>();

const config = (format: RecordFormat): Record<string, unknown> => configFor(r, { record_format: format });

async function discover(format: RecordFormat): Promise<Map<string, Schema>> {
  const paths = await writeJsonFiles(await tempDir(), { config: config(format) });
  const run = await runCli(["discover", "--config", paths.config!]);
  assert.equal(run.code, 0, run.stderr);
  const streams = ofType(run, "CATALOG")[0]!.catalog!.streams;
  return new Map(streams.map((s) => [s.name, s.json_schema as Schema]));
}

/** A configured catalog of the streams with the given json_schema each. */
function catalogWith(schemas: Map<string, unknown>): Record<string, unknown> {
  const catalog = catalogFor([...schemas.keys()]) as { streams: { stream: { name: string; json_schema: unknown } }[] };
  for (const s of catalog.streams) s.stream.json_schema = schemas.get(s.stream.name);
  return catalog;
}

/** The schema Airbyte's connector stored: its property names, its shapes (no descriptions, relationships as id arrays). */
function airbyteStoredSchema(name: string): Schema {
  const ours = discovered.get("ids")!.get(name)!.properties;
  const attributes = attributeNames(findStream(name)!);
  const properties: Schema["properties"] = {};
  for (const p of AIRBYTE[name]!) {
    if (p === "id") properties[p] = { type: "integer" };
    else if (attributes.has(p)) {
      const { description: _d, airbyte_type: _a, ...shape } = ours[p]!;
      properties[p] = shape;
    } else properties[p] = { type: ["null", "array"], items: { type: ["null", "integer"] } };
  }
  return { type: "object", $schema: "http://json-schema.org/draft-07/schema#", properties, additionalProperties: true };
}

async function read(format: RecordFormat, catalog: unknown): Promise<CliRun> {
  r.requests.clear();
  const run = await runCli(await readArgs(r, { config: config(format), catalog }));
  assert.equal(run.code, 0, run.stderr);
  return run;
}

const byId = (run: CliRun, stream: string): Map<unknown, Record<string, unknown>> => new Map(recordsOf(run, stream).map((x) => [x.id, x]));
const infos = (run: CliRun): string[] => ofType(run, "LOG").map((m) => m.log!.message).filter((t) => t.includes("requesting all fields"));
const sparseQueries = (): string[] => r.requests.entries.map((e) => e.query).filter((q) => q.includes("fields%5B") || q.includes("fields["));

/**
 * Every field was requested: no sparse fieldset, except on prospects, whose `contactHistogram` the
 * API sends only when named (outreach-api.md §3.3): there every attribute and relationship is named.
 */
function assertEveryFieldRequested(): void {
  const prospect = findStream("prospects")!;
  const everything = [...attributeNames(prospect), ...prospect.relationships.map((x) => x.name)].sort();
  const sparse = r.requests.entries.filter((e) => new URLSearchParams(e.query).has("fields[prospect]") || sparseQueries().includes(e.query));
  for (const e of sparse) {
    assert.equal(e.path, "/api/v2/prospects", `only prospects get a fieldset: ${e.path}?${e.query}`);
    assert.deepEqual(new URLSearchParams(e.query).get("fields[prospect]")!.split(",").sort(), everything);
  }
}

/** Same streams, same records, same fields and values. */
function assertSameRecords(run: CliRun, reference: CliRun, streams: readonly string[]): void {
  for (const s of streams) {
    const want = byId(reference, s);
    assert.ok(want.size > 0, s);
    assert.deepEqual(byId(run, s), want, `${s}: records differ from the read with our discovered catalog`);
  }
}

before(async () => {
  r = await replica();
  for (const format of ["ids", "airbyte_v1"] as const) {
    discovered.set(format, await discover(format));
    baseline.set(format, await read(format, catalogWith(discovered.get(format)!)));
  }
});
after(() => r.close());

test("our discovered catalog reads every field, with no sparse fieldset and no INFO line", async () => {
  const run = await read("ids", catalogFor()); // json_schema {} as CAT sends: every field
  assertEveryFieldRequested();
  assert.equal(infos(baseline.get("ids")!).length, 0);
  assertSameRecords(baseline.get("ids")!, run, STREAMS.map((s) => s.name));
  r.requests.clear();
  await read("ids", catalogWith(discovered.get("ids")!));
  assertEveryFieldRequested();
  assert.equal(sparseQueries().length, r.requests.entries.filter((e) => e.path === "/api/v2/prospects").length);
});

test("prospects carry contactHistogram, which the API sends only when a fieldset names it (§3.3)", async () => {
  const prospects = recordsOf(baseline.get("ids")!, "prospects");
  assert.ok(prospects.length > 0);
  for (const p of prospects) assert.ok(Array.isArray(p.contactHistogram) && p.contactHistogram.length > 0, `prospect ${p.id}: ${JSON.stringify(p.contactHistogram)}`);
  const client = new ReplicaClient(r);
  const plain = (await client.page("prospects?page[size]=5&count=false")) as unknown as { data: { attributes: Record<string, unknown> }[] };
  assert.equal(plain.data.length, 5);
  assert.ok(plain.data.every((x) => !("contactHistogram" in x.attributes) && "firstName" in x.attributes), "not in the default payload");
});

test("a fieldset the API refuses (400 unknownResourceField): one WARN, every default field read, nothing lost", async () => {
  r.control.addFaults({ kind: "unknown_field", stream: "prospects", field: "companyType" });
  try {
    const run = await read("ids", catalogWith(discovered.get("ids")!));
    const warns = ofType(run, "LOG").filter((m) => m.log!.level === "WARN").map((m) => m.log!.message);
    assert.equal(warns.length, 1, warns.join("\n"));
    assert.match(warns[0]!, /^prospects: Outreach refused the sparse fieldset \(.*fieldsParameter\.unknownResourceField.*\); reading every field it sends by default instead\.$/);
    const want = byId(baseline.get("ids")!, "prospects");
    const got = byId(run, "prospects");
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [id, rec] of got) {
      const { contactHistogram: _c, ...rest } = want.get(id)!;
      assert.deepEqual(rec, rest, `prospect ${id}: the default payload, without contactHistogram`);
    }
  } finally {
    r.control.clearFaults();
  }
});

for (const format of ["ids", "airbyte_v1"] as const) {
  test(`Airbyte's stored schemas as the catalog (record_format ${format}): the same records as our catalog, one INFO line per stream`, async () => {
    const names = Object.keys(AIRBYTE);
    assert.equal(names.length, 17);
    const run = await read(format, catalogWith(new Map(names.map((n) => [n, airbyteStoredSchema(n)]))));
    assertEveryFieldRequested();
    assertSameRecords(run, baseline.get(format)!, names);
    const lines = infos(run);
    assert.equal(lines.length, 17, lines.join("\n"));
    assert.ok(lines.every((l) => l.includes("not a subset of the one discover offers")), lines[0]);
    const task = recordsOf(run, "tasks").find((t) => "owner" in t || "ownerId" in t)!;
    if (format === "ids") assert.equal(typeof task.ownerId, "number");
    else assert.ok(Array.isArray(task.owner) && !("ownerId" in task), JSON.stringify(task));
  });
}

test("a column-selected catalog from discover requests exactly the selected attributes and relationships", async () => {
  const selected = ["id", "firstName", "accountId", "emailAddressesIds", "updaterId", "updatedAt"];
  const prospects = discovered.get("ids")!.get("prospects")!;
  const schema = { ...prospects, properties: Object.fromEntries(selected.map((p) => [p, prospects.properties[p]])) };
  const run = await read("ids", catalogWith(new Map([["prospects", schema]])));
  assert.equal(infos(run).length, 0);
  const q = new URLSearchParams(r.requests.entries.filter((e) => e.path === "/api/v2/prospects").at(-1)!.query);
  // updaterId is an attribute and repeats relationship updater: both are requested.
  assert.deepEqual(q.get("fields[prospect]")?.split(",").sort(), ["account", "emailAddresses", "firstName", "updatedAt", "updater", "updaterId"]);
  const full = byId(baseline.get("ids")!, "prospects");
  const got = recordsOf(run, "prospects");
  assert.equal(got.length, full.size);
  for (const rec of got) {
    const want = full.get(rec.id)!;
    assert.deepEqual(rec, Object.fromEntries(Object.entries(want).filter(([k]) => selected.includes(k))), `prospect ${rec.id}`);
  }
});

test("a selected property that is neither attribute nor relationship, a foreign schema, or empty properties requests all fields and says so", async () => {
  const prospects = discovered.get("ids")!.get("prospects")!;
  const unknown = {
    ...prospects,
    properties: { id: prospects.properties.id!, firstName: prospects.properties.firstName!, contactHistogram: prospects.properties.contactHistogram!, mysteryField: { type: "string" } },
  };
  const foreign = { type: "object", properties: { id: {}, firstName: {}, accountId: {} } };
  const empty = { type: "object", properties: {} };
  for (const [schema, says] of [
    [unknown, "neither attributes nor relationships of prospect: mysteryField"],
    [foreign, "not a subset of the one discover offers for record_format ids (firstName, accountId differ"],
    [empty, "json_schema.properties is empty (it names no column)"],
  ] as const) {
    const run = await read("ids", catalogWith(new Map([["prospects", schema]])));
    const lines = infos(run);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.ok(lines[0]!.startsWith("prospects: requesting all fields because the catalog") && lines[0]!.includes(says), lines[0]);
    if (schema === foreign || schema === empty) {
      assertEveryFieldRequested();
      assertSameRecords(run, baseline.get("ids")!, ["prospects"]);
      continue;
    }
    // mysteryField may be an attribute the API sends undeclared: the default payload keeps it, so no fieldset.
    assert.deepEqual(sparseQueries(), []);
    assert.ok(lines[0]!.endsWith("(without a fieldset the API does not send contactHistogram: those stay empty)."), lines[0]);
    const want = byId(baseline.get("ids")!, "prospects");
    for (const rec of recordsOf(run, "prospects")) {
      const { contactHistogram: _c, ...rest } = want.get(rec.id)!;
      assert.deepEqual(rec, rest);
    }
  }
});

test("discover with record_format airbyte_v1 offers every property of Airbyte's schemas, relationships as id arrays", () => {
  const v1 = discovered.get("airbyte_v1")!;
  for (const [name, props] of Object.entries(AIRBYTE)) {
    const offered = v1.get(name)!.properties;
    assert.deepEqual(props.filter((p) => !(p in offered)), [], `${name}: Airbyte properties we do not offer`);
    for (const rel of findStream(name)!.relationships) {
      assert.deepEqual(offered[rel.name]?.type, ["null", "array"], `${name}.${rel.name}`);
      assert.ok(!(`${rel.name}Id` in offered) || attributeNames(findStream(name)!).has(`${rel.name}Id`), `${name}: no ${rel.name}Id field`);
    }
  }
  const tasks = v1.get("tasks")!.properties;
  assert.ok("owner" in tasks && !("ownerId" in tasks) && !("subjectType" in tasks));
  // Attributes are the same in both formats.
  for (const s of STREAMS) {
    for (const a of attributeNames(s)) assert.deepEqual(v1.get(s.name)!.properties[a], discovered.get("ids")!.get(s.name)!.properties[a], `${s.name}.${a}`);
  }
});

test("airbyte_v1 records are valid against the airbyte_v1 schemas and declare every field they carry", () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  (addFormatsModule as unknown as (a: Ajv) => Ajv)(ajv);
  const run = baseline.get("airbyte_v1")!;
  for (const s of STREAMS) {
    const schema = discovered.get("airbyte_v1")!.get(s.name)!;
    const validate = ajv.compile(schema);
    const records = recordsOf(run, s.name);
    assert.ok(records.length > 0, s.name);
    for (const rec of records) {
      assert.ok(validate(rec), `${s.name} ${rec.id}: ${JSON.stringify(validate.errors?.slice(0, 2))}`);
      assert.deepEqual(Object.keys(rec).filter((k) => !(k in schema.properties)), [], `${s.name} ${rec.id}: undeclared fields`);
      for (const r of s.relationships) if (r.name in rec) assert.ok(Array.isArray(rec[r.name]) && (rec[r.name] as unknown[]).length > 0, `${s.name}.${r.name}`);
    }
  }
});

test("no attribute the replica serves is overwritten; a relationship value that differs keeps the clash name", async () => {
  const client = new ReplicaClient(r);
  const records = byId(baseline.get("ids")!, "mailboxes");
  for (const s of STREAMS) {
    const got = byId(baseline.get("ids")!, s.name);
    for (const resource of (await client.page(`${s.path.slice(1)}?page[size]=50`)).data) {
      for (const [k, v] of Object.entries(resource.attributes ?? {})) assert.deepEqual(got.get(resource.id)?.[k], v, `${s.name} ${resource.id}: ${k}`);
    }
  }
  const mailbox = [...records.values()].find((m) => typeof m.userId === "number")!;
  assert.ok(!("userRelationshipId" in mailbox), "equal values: the relationship's is dropped");
  r.control.updateRecords("mailboxes", [mailbox.id as number], { userId: 999_999 });
  try {
    const run = await read("ids", catalogFor(["mailboxes"]));
    const updated = byId(run, "mailboxes").get(mailbox.id)!;
    assert.equal(updated.userId, 999_999, "the API's attribute, as sent");
    assert.equal(updated.userRelationshipId, mailbox.userId, "the relationship's id under the clash name");
  } finally {
    r.control.reset();
  }
});
