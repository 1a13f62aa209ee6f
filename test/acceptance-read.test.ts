/**
 * Offline acceptance suite, part 3: CAT's `basic_read` suite (test_read with each of its
 * validations, test_airbyte_trace_message_on_failure) and `full_refresh` suite
 * (test_sequential_reads), airbyte-contract.md §7.4, §7.5, against the built CLI and the replica.
 * The map of every CAT test to the test that imitates it is at the top of
 * test/acceptance-spec.test.ts.
 *
 * basic_read builds its catalog the high-strictness way (from `discover`, minus `empty_streams`,
 * `sync_mode = supported_sync_modes[0]`, `cursor_field = default_cursor_field`, null for
 * full-refresh streams: catRun writes it as CAT's pydantic models do) and reads all 47 streams once; each of test_read's validations is its own test over that read.
 * `validate_data_points` is off by default in CAT and not set in the yml, so it is not imitated.
 * test/e2e-read.test.ts checks the same per-stream message discipline on an incremental catalog;
 * here it is checked on CAT's own catalog.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, test } from "node:test";
import type { AirbyteStream } from "../src/generated/protocol.js";
import { ROOT, type CliRun } from "./helpers/cli.js";
import {
  baseFile, catalogFromDiscovered, catalogFromFile, catConfig, catDateTime, catRecordValidator, catRun, discoveredCatalog, errorTraces,
  filterOutput, fullRefreshOnly, objectPaths, records, schemaPaths, states, strictRecords, suiteTests, valueAt, type ConfiguredCatalog,
} from "./helpers/cat.js";
import { replica, type Replica } from "./helpers/replica.js";
import { assertStateCounts } from "./helpers/resilience.js";

const [basicRead] = suiteTests("basic_read");
const [fullRefresh] = suiteTests("full_refresh");

let r: Replica;
let discovered: Map<string, AirbyteStream>;
let catalog: ConfiguredCatalog;
let read: CliRun;

const emptyStreams = (): string[] => ((basicRead!.empty_streams ?? []) as { name: string }[]).map((e) => e.name);
const pkOf = (stream: string, data: unknown): string =>
  JSON.stringify((discovered.get(stream)!.source_defined_primary_key ?? []).map((p) => valueAt(data, p)));

before(async () => {
  r = await replica();
  discovered = discoveredCatalog(await catRun("discover", { config: catConfig(r, basicRead!.config_path) }));
  catalog = catalogFromDiscovered(discovered, emptyStreams());
  read = await catRun("read", { config: catConfig(r, basicRead!.config_path), catalog });
});
after(() => r.close());

test("basic_read: test_read — at least one RECORD (exit 0 and no error: beyond CAT)", () => {
  assert.equal(catalog.streams.length, 47 - emptyStreams().length);
  assert.ok(catalog.streams.every((s) => s.sync_mode === "full_refresh"), "high strictness: supported_sync_modes[0]");
  assert.equal(read.code, 0, read.stderr);
  assert.deepEqual(errorTraces(read), []);
  assert.ok(records(read).length > 0);
});

test("basic_read: test_read — every configured stream has records (no empty_streams declared; every replica record: beyond CAT)", () => {
  const withRecords = new Set(records(read).map((m) => m.stream));
  assert.deepEqual(catalog.streams.map((s) => s.stream.name).filter((n) => !withRecords.has(n)), []);
  for (const s of catalog.streams) {
    assert.equal(records(read).filter((m) => m.stream === s.stream.name).length, r.control.listIds(s.stream.name).count, `${s.stream.name}: every record`);
  }
});

test("basic_read: test_read — validate_schema: draft-07, strict integers, CAT's date-time, a field in common, no extra columns (beyond CAT 3.8.5)", () => {
  assert.notEqual(basicRead!.validate_schema, false, "validate_schema is on (high strictness demands it)");
  const failOnExtraColumns = basicRead!.fail_on_extra_columns ?? true;
  const byStream = new Map(catalog.streams.map((s) => [s.stream.name, s.stream.json_schema]));
  const expectedPaths = new Map([...byStream].map(([n, s]) => [n, new Set(schemaPaths(s))]));
  const errors = new Map<string, string>();
  for (const rec of strictRecords(read)) {
    const schema = byStream.get(rec.stream)!;
    const validate = catRecordValidator(schema, failOnExtraColumns);
    if (!validate(rec.data) && !errors.has(rec.stream)) errors.set(rec.stream, `#${(rec.data as { id: unknown }).id}: ${JSON.stringify(validate.errors!.slice(0, 3))}`);
    assert.ok(objectPaths(rec.data).some((p) => expectedPaths.get(rec.stream)!.has(p)), `${rec.stream}: a record shares no field with its schema`);
  }
  assert.deepEqual(Object.fromEntries(errors), {}, "schema errors per stream (first record each)");
  // The checks bite: a whole float in an integer field, a date-only or impossible date-time, an extra column.
  const prospects = byStream.get("prospects")!;
  const fake = { run: { lines: ['{"type":"RECORD","record":{"stream":"prospects","data":{"id":3.0,"note":"1.0"},"emitted_at":1}}'] } };
  const strict = strictRecords(fake.run as CliRun)[0]!.data as { id: number; note: string };
  assert.equal(strict.note, "1.0");
  assert.equal(catRecordValidator(prospects)({ id: strict.id }), false, "3.0 is not an integer for CAT");
  for (const bad of ["2023-01-09", "2023-02-30T10:00:00Z", "2023-01-09T25:00:00Z", "2023-01-09T10:00:00 later"]) assert.equal(catDateTime(bad), false, bad);
  for (const good of ["2023-01-09T10:30:24.000Z", "2023-01-09 10:30:24+02:00", "2023-01-09T10:30:24"]) assert.equal(catDateTime(good), true, good);
  assert.equal(catRecordValidator(prospects)({ id: 1, notInTheSchema: 1 }), false, "fail_on_extra_columns");
});

test("basic_read: test_read — validate_primary_keys_data_type: key values are scalars, not all null", () => {
  for (const rec of records(read)) {
    const keys = (discovered.get(rec.stream)!.source_defined_primary_key ?? []).map((p) => valueAt(rec.data, p));
    assert.ok(keys.length > 0, rec.stream);
    assert.ok(keys.every((k) => k === null || k === undefined || typeof k !== "object"), `${rec.stream}: ${JSON.stringify(keys)}`);
    assert.ok(keys.some((k) => k !== null && k !== undefined), `${rec.stream}: a key part is non-null`);
  }
});

test("basic_read: test_read — expect_records: every expected record is read (by primary key), with equal data (beyond CAT 3.8.5, which compares keys only)", () => {
  const config = basicRead!.expect_records as { path: string; exact_order?: boolean };
  assert.equal(config.exact_order ?? false, false);
  const expected = readFileSync(path.join(ROOT, config.path), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { stream: string; data: Record<string, unknown> });
  assert.ok(expected.length > 0);
  const ignored = (basicRead!.ignored_fields ?? {}) as Record<string, { name: string }[]>;
  const strip = (stream: string, data: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(data).filter(([k]) => !(ignored[stream] ?? []).some((f) => f.name === k)));
  const actual = new Map(records(read).map((m) => [`${m.stream} ${pkOf(m.stream, m.data)}`, m.data as Record<string, unknown>]));
  for (const e of expected) {
    const got = actual.get(`${e.stream} ${pkOf(e.stream, e.data)}`);
    assert.ok(got, `${e.stream} ${pkOf(e.stream, e.data)}: expected primary key not found`);
    assert.deepEqual(strip(e.stream, got), strip(e.stream, e.data), `${e.stream} ${pkOf(e.stream, e.data)}: same data`);
  }
});

test("basic_read: test_read — validate_stream_statuses: STARTED, RUNNING…, COMPLETE for every configured stream (CAT 3.8.5 runs it only when the yml sets it or the connector is certified)", () => {
  const statuses = new Map<string, string[]>();
  for (const m of filterOutput(read, "TRACE").filter((x) => x.trace!.type === "STREAM_STATUS")) {
    const d = m.trace!.stream_status!.stream_descriptor;
    const key = `${d.namespace ?? ""}-${d.name}`;
    statuses.set(key, [...(statuses.get(key) ?? []), m.trace!.stream_status!.status]);
  }
  assert.deepEqual([...statuses.keys()].sort(), catalog.streams.map((s) => `-${s.stream.name}`).sort(), "every stream, and only those, emits statuses");
  for (const [stream, list] of statuses) {
    assert.ok(list.length >= 3, `${stream}: ${list}`);
    assert.equal(list[0], "STARTED", stream);
    assert.equal(list.at(-1), "COMPLETE", stream);
    assert.ok(list.slice(1, -1).every((s) => s === "RUNNING"), `${stream}: ${list}`);
  }
});

test("basic_read: test_read — validate_state_messages: a STATE per stream, STREAM type (never LEGACY), sourceStats (with recordCount: beyond CAT)", () => {
  const all = states(read);
  assert.ok(all.length >= catalog.streams.length, `${all.length} states for ${catalog.streams.length} streams`);
  for (const s of all) {
    assert.equal(s.type, "STREAM", "STREAM states only (absent type means LEGACY)");
    assert.ok(s.stream?.stream_descriptor.name, "read through state.stream.stream_descriptor.name");
    assert.equal(typeof s.sourceStats?.recordCount, "number", `${s.stream?.stream_descriptor.name}: sourceStats.recordCount`);
  }
  for (const c of catalog.streams) assert.ok(states(read, c.stream.name).length >= 1, `${c.stream.name}: at least one STATE`);
});

test("basic_read: state recordCount adds up to the records, no identical consecutive states with records between (airbyte-contract.md §4.2)", () => {
  assertStateCounts(read);
});

test("basic_read: test_airbyte_trace_message_on_failure — an invalid catalog gives a TRACE ERROR (non-zero exit, config_error naming the field: beyond CAT)", async () => {
  assert.notEqual(basicRead!.expect_trace_message_on_failure, false);
  const invalid = {
    streams: [
      {
        stream: { name: "__AIRBYTE__stream_that_does_not_exist", json_schema: { type: "object", properties: { f1: { type: "string" } } }, supported_sync_modes: ["full_refresh"] },
        sync_mode: "INVALID",
        destination_sync_mode: "INVALID",
      },
    ],
  };
  const run = await catRun("read", { config: catConfig(r, basicRead!.config_path), catalog: invalid });
  const errors = errorTraces(run);
  assert.ok(errors.length >= 1, "at least one TRACE ERROR");
  assert.notEqual(run.code, 0);
  assert.deepEqual(records(run), []);
  assert.equal(errors[0]!.trace!.error!.failure_type, "config_error");
  assert.match(errors[0]!.trace!.error!.message, /catalog\.json: streams\[0\]\.stream\.name: unknown stream "__AIRBYTE__stream_that_does_not_exist"/, "the message names the file and the field");
});

test("full_refresh: test_sequential_reads — two reads 0.1 s apart: records, later emitted_at (the same records: beyond CAT 3.8.5)", async () => {
  const frCatalog = fullRefreshOnly(catalogFromFile(fullRefresh!.configured_catalog_path, discovered));
  assert.equal(frCatalog.streams.length, 47);
  const first = await catRun("read", { config: catConfig(r, fullRefresh!.config_path), catalog: frCatalog });
  await sleep(100);
  const second = await catRun("read", { config: catConfig(r, fullRefresh!.config_path), catalog: frCatalog });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(second.code, 0, second.stderr);
  const r1 = records(first);
  const r2 = records(second);
  assert.ok(r1.length > 0, "the first read has records");
  assert.ok(r2.length > 0, "the second read has records");
  const max1 = Math.max(...r1.map((m) => m.emitted_at));
  const min2 = Math.min(...r2.map((m) => m.emitted_at));
  assert.ok(max1 < min2, `emitted_at increases: ${max1} < ${min2}`);
  // Deterministic output: read 1 ⊆ read 2 by primary key (older CAT), and here equal, data included.
  const ignored = (fullRefresh!.ignored_fields ?? {}) as Record<string, { name: string }[]>;
  const byKey = (rs: typeof r1): Map<string, string> =>
    new Map(rs.map((m) => {
      const data = Object.fromEntries(Object.entries(m.data).filter(([k]) => !(ignored[m.stream] ?? []).some((f) => f.name === k)));
      return [`${m.stream} ${pkOf(m.stream, m.data)}`, JSON.stringify(data)];
    }));
  const k1 = byKey(r1);
  const k2 = byKey(r2);
  assert.deepEqual([...k1.keys()].filter((k) => !k2.has(k)), [], "every record of read 1 is in read 2");
  assert.equal(k1.size, r1.length, "no duplicate keys in read 1");
  assert.deepEqual([...k2.keys()].sort(), [...k1.keys()].sort());
  for (const [k, v] of k1) assert.equal(k2.get(k), v, `${k}: same data`);
  assert.equal(baseFile<ConfiguredCatalog>(fullRefresh!.configured_catalog_path).streams.length, frCatalog.streams.length);
});
