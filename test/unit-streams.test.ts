import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { generate, loadInputs, OPENAPI_PATH, ROOT, SAMPLES_DIR } from "../scripts/generate.js";
import { attributeNames } from "../src/record-format.js";
import { findStream, readOrder, STREAMS } from "../src/streams.js";

test("every readable collection is a stream (47 GET collections in the OpenAPI)", () => {
  assert.equal(STREAMS.length, 47);
  assert.equal(new Set(STREAMS.map((s) => s.name)).size, 47);
});

test("stream → path → JSON:API type, irregular singulars included (outreach-api.md §2.1, §9 #5)", () => {
  const cases: [string, string, string][] = [
    ["call_dispositions", "/callDispositions", "callDisposition"],
    ["sequence_states", "/sequenceStates", "sequenceState"],
    ["sequence_steps", "/sequenceSteps", "sequenceStep"],
    ["opportunities", "/opportunities", "opportunity"],
    ["content_categories", "/contentCategories", "contentCategory"],
    ["duties", "/duties", "duty"],
    ["mailboxes", "/mailboxes", "mailbox"],
    ["mail_aliases", "/mailAliases", "mailAlias"],
    ["task_priorities", "/taskPriorities", "taskPriority"],
    ["kaia_recordings", "/kaiaRecordings", "kaiaRecording"],
  ];
  for (const [name, p, type] of cases) {
    const s = findStream(name);
    assert.ok(s, name);
    assert.equal(s.path, p);
    assert.equal(s.type, type);
  }
});

test("cursors: updatedAt where filterable and sortable, createdAt for events and notes, none for the rest", () => {
  const cursor = (n: string): string | null | undefined => findStream(n)?.cursorField;
  assert.equal(cursor("prospects"), "updatedAt");
  assert.equal(cursor("events"), "createdAt");
  assert.equal(cursor("account_notes"), "createdAt");
  assert.equal(cursor("prospect_notes"), "createdAt");
  for (const n of ["batches", "batch_items", "compliance_requests", "duties", "recipients", "sequence_templates", "webhooks"]) {
    assert.equal(cursor(n), null, n);
    assert.deepEqual(findStream(n)?.syncModes, ["full_refresh"]);
  }
  assert.equal(STREAMS.filter((s) => s.cursorField === "updatedAt").length, 36);
  for (const s of STREAMS) assert.equal(s.syncModes[0], "full_refresh");
});

test("relationships know their shape and target stream", () => {
  const calls = findStream("calls")!;
  const disposition = calls.relationships.find((r) => r.name === "callDisposition");
  assert.deepEqual(disposition, {
    name: "callDisposition",
    kind: "to_one",
    types: ["callDisposition"],
    stream: "call_dispositions",
    field: "callDispositionId",
    typeField: null,
  });
  const subject = findStream("tasks")!.relationships.find((r) => r.name === "subject");
  assert.equal(subject?.typeField, "subjectType");
  const mailings = findStream("prospects")!.relationships.find((r) => r.name === "mailings");
  assert.equal(mailings?.kind, "links_only");
  assert.equal(mailings?.field, null);
});

test("read order puts parents before children", () => {
  const order = readOrder(STREAMS.map((s) => s.name));
  assert.equal(order.length, 47);
  const at = (n: string): number => order.indexOf(n);
  assert.ok(at("call_dispositions") < at("calls"));
  assert.ok(at("call_purposes") < at("calls"));
  assert.ok(at("sequences") < at("sequence_steps"));
  assert.ok(at("prospects") < at("sequence_states"));
  assert.deepEqual(readOrder(["calls", "call_purposes"]), ["call_purposes", "calls"]);
});

test("generated files are up to date with the OpenAPI document and spec.json", async (t) => {
  if (!existsSync(OPENAPI_PATH)) {
    t.skip(`OpenAPI document not found at ${OPENAPI_PATH} (it lives in ../shared beside the repository)`);
    return;
  }
  const inputs = await loadInputs();
  if (!inputs) {
    t.skip("generator inputs in ../shared are absent");
    return;
  }
  const files = await generate(inputs);
  for (const [rel, content] of files) {
    const onDisk = await readFile(path.join(ROOT, rel), "utf8").catch(() => "(missing)");
    assert.ok(onDisk === content, `${rel} is stale: run npm run generate`);
  }
});

test("every attribute of observed-attributes.json is declared as an attribute of its stream", async (t) => {
  const file = path.join(SAMPLES_DIR, "observed-attributes.json");
  if (!existsSync(file)) return void t.skip(`${file} is absent (it lives in ../shared beside the repository)`);
  const observed = JSON.parse(await readFile(file, "utf8")).types as Record<string, Record<string, unknown>>;
  let n = 0;
  for (const [type, attrs] of Object.entries(observed)) {
    const stream = STREAMS.find((s) => s.type === type)!;
    const declared = attributeNames(stream);
    for (const a of Object.keys(attrs)) {
      assert.ok(declared.has(a), `${stream.name}.${a}`);
      n++;
    }
  }
  assert.equal(n, 76);
});
