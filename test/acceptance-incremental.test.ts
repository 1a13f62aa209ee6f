/**
 * Offline acceptance suite, part 4: CAT's `incremental` suite (airbyte-contract.md §7.6) and the
 * input-state half of issue 4's "protocol completeness" (§3), against the built CLI and the
 * replica. The map of every CAT test to the test that imitates it is at the top of
 * test/acceptance-spec.test.ts.
 *
 * The catalog is CAT's: `configured_catalog_path` from acceptance-test-config.yml with the
 * discovered stream definitions, reduced to the incremental streams (40), each `incremental` with
 * its cursor (written with its unset members null, as CAT's pydantic models write it).
 * test_read_sequential_slices reads each stream separately in CAT, with the test config as it is
 * (page_size 1000: against the replica each stream then yields one checkpoint to resume from,
 * expecting ≥ 0 records — 40 resumed reads in the real run); here the streams are read together (one first read, then
 * one read per sampled checkpoint index, each resuming every stream that has such a checkpoint) —
 * the streams are independent, so the per-stream counts are those of separate reads, at a
 * fraction of the runs — with page_size 10, so that every stream has several checkpoints and the
 * sampling really picks mid-stream ones (stricter than CAT's run).
 *
 * Input state shapes: `null`, `{}`, `[]`, an empty file and a missing file are tested here at the
 * CLI; a list of STREAM states, a legacy object and Meltano's `{"airbyte_state": […]}` at the CLI
 * in test/meltano.test.ts (and every shape, GLOBAL and LEGACY elements included, in
 * test/unit-inputs.test.ts); no --state in test/meltano.test.ts and test/e2e-read.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { AirbyteStream } from "../src/generated/protocol.js";
import type { CliRun } from "./helpers/cli.js";
import {
  baseFile, catalogFromFile, catConfig, catRun, discoveredCatalog, incrementalOnly, only, propertySchema, records, sequentialSliceCheckpoints,
  stateInput, states, suiteTests, type Checkpoint, type ConfiguredCatalog,
} from "./helpers/cat.js";
import { replica, type Replica } from "./helpers/replica.js";

const [incremental] = suiteTests("incremental");

let r: Replica;
let discovered: Map<string, AirbyteStream>;
let catalog: ConfiguredCatalog;
/** The first read of test_read_sequential_slices (page_size 10), reused by the every-checkpoint test. */
let sliced: CliRun | undefined;

const config = (extra: Record<string, unknown> = {}): Record<string, unknown> => catConfig(r, incremental!.config_path, extra);
const streamNames = (): string[] => catalog.streams.map((s) => s.stream.name);
const dataOf = (run: CliRun, stream?: string): string[] =>
  records(run).filter((m) => stream === undefined || m.stream === stream).map((m) => JSON.stringify(m.data));
const idsOf = (run: CliRun, stream: string): number[] => records(run).filter((m) => m.stream === stream).map((m) => (m.data as { id: number }).id);

before(async () => {
  r = await replica();
  discovered = discoveredCatalog(await catRun("discover", { config: config() }));
  catalog = incrementalOnly(catalogFromFile(incremental!.configured_catalog_path, discovered));
});
after(() => r.close());

test("incremental: the catalog is every incremental stream of configured_catalog.json, with its cursor", () => {
  assert.equal(catalog.streams.length, 40);
  for (const s of catalog.streams) assert.deepEqual(s.cursor_field, s.stream.default_cursor_field, s.stream.name);
});

test("incremental: test_two_sequential_reads — read 2 from read 1's last states gives other records", async () => {
  const first = await catRun("read", { config: config(), catalog });
  assert.equal(first.code, 0, first.stderr);
  assert.ok(states(first).length > 0, "read 1 yields a STATE");
  assert.ok(records(first).length > 0, "read 1 yields a RECORD");
  assert.equal(states(first).at(-1)!.type, "STREAM");
  // construct_latest_state_from_messages, sent back as bare STREAM states.
  const latest = new Map<string, unknown>();
  for (const s of states(first)) latest.set(s.stream!.stream_descriptor.name, s.stream!.stream_state ?? {});
  assert.deepEqual([...latest.keys()].sort(), [...streamNames()].sort(), "a state for every stream");
  const input = [...latest].map(([name, stream_state]) => ({ type: "STREAM", stream: { stream_descriptor: { name }, stream_state } }));
  const second = await catRun("read", { config: config(), catalog, state: input });
  assert.equal(second.code, 0, second.stderr);
  // naive_diff_records: the multisets of record data must differ.
  const a = dataOf(first).sort();
  const b = dataOf(second).sort();
  assert.notDeepEqual(b, a, "records change between reads");
  assert.ok(b.length < a.length, `read 2 reads less (${b.length} of ${a.length}): only records at the saved cursor`);
  for (const s of catalog.streams) {
    const name = s.stream.name;
    const cursor = s.cursor_field![0]!;
    const saved = (latest.get(name) as Record<string, string>)[cursor]!;
    for (const rec of records(second).filter((m) => m.stream === name)) {
      assert.ok(Date.parse(rec.data[cursor] as string) >= Date.parse(saved), `${name}: ${rec.data[cursor]} ≥ saved ${saved}`);
    }
  }
});

test("incremental: test_read_sequential_slices — resuming from sampled checkpoints gives at least the records that followed them", async (t) => {
  assert.notEqual(incremental!.skip_comprehensive_incremental_tests, true);
  // The selection is CAT's: duplicates merged, zero counts dropped, first and last never resumed from.
  const mk = (u: number, recordCount: number) =>
    ({ type: "STREAM", stream: { stream_descriptor: { name: "s" }, stream_state: { u } }, sourceStats: { recordCount } }) as Checkpoint["state"];
  const pick = (list: Checkpoint["state"][]): [unknown, number][] =>
    sequentialSliceCheckpoints(list).map((c) => [(c.state.stream!.stream_state as { u: number }).u, c.expectedRecords]);
  assert.deepEqual(pick([mk(1, 10), mk(2, 10), mk(3, 10), mk(4, 10), mk(5, 10), mk(6, 10), mk(6, 0)]), [[2, 40], [3, 30], [4, 20], [5, 10]]);
  assert.deepEqual(pick(Array.from({ length: 12 }, (_, i) => mk(i, 10))), [[2, 90], [4, 70], [6, 50], [8, 30], [10, 10]]);
  assert.deepEqual(pick([mk(1, 10), mk(2, 10)]), [[2, 0]], "of fewer than three, only the last");
  sliced = await catRun("read", { config: config({ page_size: 10 }), catalog });
  assert.equal(sliced.code, 0, sliced.stderr);
  const picks = new Map<string, Checkpoint[]>();
  for (const name of streamNames()) {
    if (idsOf(sliced, name).length === 0) continue;
    const streamStates = states(sliced, name);
    if (streamStates.length === 0) continue;
    const chosen = sequentialSliceCheckpoints(streamStates);
    assert.ok(chosen.length > 0, `${name}: no suitable state checkpoint (zero record counts?)`);
    picks.set(name, chosen);
  }
  assert.equal(picks.size, 40, "every incremental stream has records and checkpoints");
  const midStream = [...picks.values()].flat().filter((c) => c.expectedRecords > 0);
  assert.ok(midStream.length >= 40, `${midStream.length} mid-stream checkpoints with records after them`);
  const rounds = Math.max(...[...picks.values()].map((c) => c.length));
  t.diagnostic(`${[...picks.values()].flat().length} checkpoints of ${picks.size} streams (${midStream.length} mid-stream), resumed in ${rounds} reads`);
  for (let k = 0; k < rounds; k++) {
    const names = [...picks].filter(([, c]) => c.length > k).map(([n]) => n);
    const input = names.flatMap((n) => stateInput(picks.get(n)![k]!.state));
    const run = await catRun("read", { config: config({ page_size: 10 }), catalog: only(catalog, names), state: input });
    assert.equal(run.code, 0, run.stderr);
    for (const n of names) {
      const { state, expectedRecords } = picks.get(n)![k]!;
      const got = idsOf(run, n).length;
      assert.ok(got >= expectedRecords, `${n}: resumed from ${JSON.stringify(state.stream!.stream_state)} read ${got}, expected ≥ ${expectedRecords}`);
    }
  }
});

test("incremental: resuming from every checkpoint of every stream loses no record (issue 4)", async (t) => {
  assert.ok(sliced, "test_read_sequential_slices ran first");
  const first = sliced;
  const perStream = new Map(streamNames().map((n) => [n, first.messages.map((m, i) => ({ m, i })).filter(({ m }) => m.type === "STATE" && m.state!.stream!.stream_descriptor.name === n)]));
  const rounds = Math.max(...[...perStream.values()].map((s) => s.length));
  assert.ok(rounds >= 5, `${rounds} checkpoints in the longest stream`);
  t.diagnostic(`${[...perStream.values()].flat().length} checkpoints of ${perStream.size} streams, resumed in ${rounds} reads`);
  for (let j = 0; j < rounds; j++) {
    const names = [...perStream].filter(([, s]) => s.length > j).map(([n]) => n);
    const input = names.flatMap((n) => stateInput(perStream.get(n)![j]!.m.state!));
    const run = await catRun("read", { config: config({ page_size: 10 }), catalog: only(catalog, names), state: input });
    assert.equal(run.code, 0, run.stderr);
    for (const n of names) {
      const at = perStream.get(n)![j]!.i;
      const seen = new Set(first.messages.slice(0, at).filter((m) => m.type === "RECORD" && m.record!.stream === n).map((m) => (m.record!.data as { id: number }).id));
      for (const id of idsOf(run, n)) seen.add(id);
      const lost = idsOf(first, n).filter((id) => !seen.has(id));
      assert.deepEqual(lost, [], `${n}: records lost when resuming from checkpoint ${j + 1}`);
    }
  }
});

test("incremental: test_state_with_abnormally_large_values — the future_state file gives no records, a STATE, cursors in its format", async () => {
  const future = baseFile<{ stream: { stream_descriptor: { name: string }; stream_state: Record<string, unknown> } }[]>(incremental!.future_state.future_state_path);
  // CAT reads with `incremental_only_catalog(configured_catalog)`: cursor_field as the file has it (null where absent).
  const catCatalog = incrementalOnly(catalogFromFile(incremental!.configured_catalog_path, discovered), false);
  assert.equal(catCatalog.streams.length, catalog.streams.length);
  const run = await catRun("read", { config: config(), catalog: catCatalog, state: future });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(records(run).map((m) => m.stream), [], "no records past far-future cursors");
  assert.ok(states(run).length >= 1, "at least one STATE");
  const futureOf = new Map(future.map((s) => [s.stream.stream_descriptor.name, s.stream.stream_state]));
  // Characters of a cursor value match the future one kind for kind (digit, letter, same punctuation).
  const sameShape = (a: string, b: string): boolean =>
    a.length === b.length && [...a].every((c, i) => (/\d/.test(c) && /\d/.test(b[i]!)) || (/[a-z]/i.test(c) && /[a-z]/i.test(b[i]!)) || c === b[i]);
  for (const s of catCatalog.streams) {
    const name = s.stream.name;
    const cursor = (s.cursor_field?.length ? s.cursor_field : s.stream.default_cursor_field)![0]!; // CAT's _get_cursor_field
    const futureValue = futureOf.get(name)?.[cursor];
    assert.equal(typeof futureValue, "string", `${name}: the future state sets its cursor ${cursor}`);
    assert.ok(([] as unknown[]).concat(propertySchema(s.stream.json_schema, [cursor])!.type).includes("string"), `${name}: the cursor is typed string`);
    for (const st of states(run, name)) {
      const actual = (st.stream!.stream_state as Record<string, unknown>)[cursor];
      assert.equal(typeof actual, "string", `${name}: the state keeps a string cursor`);
      assert.ok(sameShape(actual as string, futureValue as string), `${name}: ${actual} has the format of ${futureValue}`);
    }
  }
});

test("input state: null, {}, [] and an empty file mean no state — the same records as no --state", async () => {
  const names = ["prospects", "events", "audit_logs"];
  const small = only(catalog, names);
  const baseline = await catRun("read", { config: config(), catalog: small });
  assert.equal(baseline.code, 0, baseline.stderr);
  for (const n of names) assert.equal(idsOf(baseline, n).length, r.control.listIds(n).count, `${n}: everything without state`);
  for (const [label, state] of [["null", null], ["{}", {}], ["[]", []], ["an empty file", ""]] as const) {
    const run = await catRun("read", { config: config(), catalog: small, state });
    assert.equal(run.code, 0, `${label}: ${JSON.stringify(run.messages.filter((m) => m.type === "TRACE" && m.trace!.type === "ERROR"))}`);
    for (const n of names) assert.deepEqual(idsOf(run, n).sort((a, b) => a - b), idsOf(baseline, n).sort((a, b) => a - b), `${label}: ${n}`);
  }
});

// A --state path naming no file is refused (config_error naming the file, test/bad-input.test.ts),
// as issue 3 asks: the platform and Meltano's wrapper omit --state when they have none (§3), so a
// missing file is a user's typo, and silently re-reading all history would hide it.
