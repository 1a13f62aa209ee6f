/**
 * The machinery of Airbyte's Connector Acceptance Tests — CAT 3.8.5, the version `npm run test:cat`
 * runs for real (../shared/tools/airbyte-cat/cat-src; airbyte-contract.md §7 describes 3.9.8) —
 * re-implemented for the offline acceptance suite (test/acceptance-*.test.ts): reading
 * integration_tests/acceptance-test-config.yml, running the built CLI with input files the way CAT
 * writes them, building configured catalogs the way its fixtures do, walking JSON schemas the way
 * its dpath searches do, validating records the way `verify_records_schema` does, and choosing the
 * states `test_read_sequential_slices` resumes from.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { parse as parseYaml } from "yaml";
import type { AirbyteMessage, AirbyteStream } from "../../src/generated/protocol.js";
import { ROOT, runCli, tempDir, writeJsonFiles, type CliRun } from "./cli.js";
import { pydanticCatalog } from "./host-inputs.js";
import { messageProblems } from "./protocol.js";
import { configFor, type Replica } from "./replica.js";

// ---------------------------------------------------------------------------------------------
// acceptance-test-config.yml and the files it names

/** A JSON value from a file under the base path (the repository root). */
export function baseFile<T = any>(relative: string): T {
  return JSON.parse(readFileSync(path.join(ROOT, relative), "utf8")) as T;
}

/** integration_tests/acceptance-test-config.yml, parsed. */
export const ACCEPTANCE = parseYaml(readFileSync(path.join(ROOT, "integration_tests/acceptance-test-config.yml"), "utf8")) as {
  acceptance_tests: Record<string, { tests?: Record<string, any>[]; bypass_reason?: string }>;
};

/** The test entries of one suite; fails when the suite is bypassed or empty. */
export function suiteTests(suite: string): Record<string, any>[] {
  const tests = ACCEPTANCE.acceptance_tests[suite]?.tests;
  assert.ok(tests && tests.length > 0, `acceptance-test-config.yml runs the ${suite} suite`);
  return tests;
}

/**
 * The config CAT would read from `configPath`, aimed at the replica. `secrets/config.json` is the
 * git-ignored config of a test org: the replica stands in for it (as the yml's header says). Any
 * other file is read as committed, with `base_url` and `token_url` pointed at the replica so that
 * nothing leaves the machine.
 */
export function catConfig(r: Replica, configPath: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (configPath.startsWith("secrets/")) return configFor(r, extra);
  return { ...baseFile<Record<string, unknown>>(configPath), base_url: r.apiBase, token_url: r.tokenUrl, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Running the CLI the way CAT's ConnectorRunner does

/** Input files of one run; a string is written verbatim (e.g. "" for an empty file). */
export interface CatInputs {
  config?: unknown;
  catalog?: unknown;
  state?: unknown;
}

/**
 * Runs `command` with the given inputs written to a fresh folder the way CAT's ConnectorRunner
 * writes /data/config.json and /data/state.json (`json.dumps` of plain dicts) and
 * /data/catalog.json (`catalog.json()` of its pydantic model: every unset optional member `null`,
 * pydanticCatalog). Asserts what CAT's line parser needs: every stdout line is one valid
 * AirbyteMessage carrying the payload its type names.
 */
export async function catRun(command: "spec" | "check" | "discover" | "read", inputs: CatInputs = {}): Promise<CliRun> {
  const dir = await tempDir("cat-");
  let run: CliRun;
  try {
    const { catalog, ...plain } = inputs;
    const written = { ...plain, ...(catalog === undefined ? {} : { catalog: typeof catalog === "string" ? catalog : pydanticCatalog(catalog as ConfiguredCatalog) }) };
    const files = await writeJsonFiles(dir, Object.fromEntries(Object.entries(written).filter(([, v]) => v !== undefined)));
    const args: string[] = [command];
    for (const name of ["config", "catalog", "state"] as const) if (files[name]) args.push(`--${name}`, files[name]);
    run = await runCli(args);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(run.messages.length, run.lines.length, `${command}: every stdout line is JSON\n${run.lines.slice(0, 3).join("\n")}`);
  assert.deepEqual(messageProblems(run.messages), [], `${command}: every message is a valid AirbyteMessage`);
  return run;
}

/** Messages of one type, as CAT's `filter_output`. */
export function filterOutput(run: CliRun, type: AirbyteMessage["type"]): AirbyteMessage[] {
  return run.messages.filter((m) => m.type === type);
}

/** TRACE ERROR messages. */
export function errorTraces(run: CliRun): AirbyteMessage[] {
  return run.messages.filter((m) => m.type === "TRACE" && m.trace!.type === "ERROR");
}

/** RECORD messages (the whole message: stream, data, emitted_at). */
export function records(run: CliRun): NonNullable<AirbyteMessage["record"]>[] {
  return run.messages.filter((m) => m.type === "RECORD").map((m) => m.record!);
}

/** STATE messages of one stream (or of all). */
export function states(run: CliRun, stream?: string): NonNullable<AirbyteMessage["state"]>[] {
  return run.messages
    .filter((m) => m.type === "STATE" && (stream === undefined || m.state!.stream?.stream_descriptor.name === stream))
    .map((m) => m.state!);
}

// ---------------------------------------------------------------------------------------------
// Catalogs, as CAT's fixtures build them

/** A configured stream as CAT's fixtures build it (catRun writes it with its unset members as null). */
export interface ConfiguredStream {
  stream: AirbyteStream;
  sync_mode: string;
  destination_sync_mode: string;
  cursor_field?: string[];
  primary_key?: string[][];
}
export interface ConfiguredCatalog {
  streams: ConfiguredStream[];
}

/** The discovered streams by name (CAT's `discovered_catalog` fixture). */
export function discoveredCatalog(run: CliRun): Map<string, AirbyteStream> {
  const catalogs = filterOutput(run, "CATALOG");
  assert.equal(catalogs.length, 1, "discover prints one CATALOG");
  return new Map(catalogs[0]!.catalog!.streams.map((s) => [s.name, s]));
}

/**
 * basic_read in high strictness: every discovered stream but the `empty_streams`, `sync_mode =
 * supported_sync_modes[0]`, `cursor_field = default_cursor_field`, `primary_key =
 * source_defined_primary_key`, `destination_sync_mode: append`.
 */
export function catalogFromDiscovered(discovered: Map<string, AirbyteStream>, emptyStreams: readonly string[] = []): ConfiguredCatalog {
  return {
    streams: [...discovered.values()]
      .filter((s) => !emptyStreams.includes(s.name))
      .map((s) => ({
        stream: s,
        sync_mode: s.supported_sync_modes[0],
        destination_sync_mode: "append",
        ...(s.default_cursor_field ? { cursor_field: s.default_cursor_field } : {}),
        ...(s.source_defined_primary_key ? { primary_key: s.source_defined_primary_key } : {}),
      })),
  };
}

/** `configured_catalog_path` with each stream definition replaced by the discovered one. */
export function catalogFromFile(file: string, discovered: Map<string, AirbyteStream>): ConfiguredCatalog {
  const catalog = baseFile<ConfiguredCatalog>(file);
  for (const entry of catalog.streams) {
    const found = discovered.get(entry.stream.name);
    assert.ok(found, `${file}: stream ${entry.stream.name} is discovered`);
    entry.stream = found;
  }
  return catalog;
}

/** CAT's `full_refresh_only_catalog`: streams that support full refresh, switched to it. */
export function fullRefreshOnly(catalog: ConfiguredCatalog): ConfiguredCatalog {
  return {
    streams: catalog.streams
      .filter((s) => s.stream.supported_sync_modes.includes("full_refresh"))
      .map((s) => ({ ...s, sync_mode: "full_refresh" })),
  };
}

/**
 * CAT's `incremental_only_catalog` (streams that support incremental, switched to it) plus, unless
 * `fillCursor` is false, the `configured_catalog_for_incremental` fixture: `cursor_field`
 * defaulting to `default_cursor_field`. test_state_with_abnormally_large_values uses the catalog
 * without that fixture.
 */
export function incrementalOnly(catalog: ConfiguredCatalog, fillCursor = true): ConfiguredCatalog {
  return {
    streams: catalog.streams
      .filter((s) => s.stream.supported_sync_modes.includes("incremental"))
      .map((s) => {
        if (!fillCursor) return { ...s, sync_mode: "incremental" };
        const cursor = s.cursor_field?.length ? s.cursor_field : s.stream.default_cursor_field;
        assert.ok(cursor?.length, `${s.stream.name}: incremental needs cursor_field or default_cursor_field`);
        return { ...s, sync_mode: "incremental", cursor_field: cursor };
      }),
  };
}

/** The same catalog restricted to the named streams. */
export function only(catalog: ConfiguredCatalog, names: readonly string[]): ConfiguredCatalog {
  return { streams: catalog.streams.filter((s) => names.includes(s.stream.name)) };
}

// ---------------------------------------------------------------------------------------------
// Walking JSON schemas (CAT's dpath searches and JsonSchemaHelper)

/** One key/value pair met while walking a JSON value; `path` is the keys from the root to `key`. */
export interface Node {
  path: (string | number)[];
  key: string | number;
  value: unknown;
  parent: unknown;
}

/** Every key/value pair of a JSON value, depth first (dpath `**`). */
export function* walk(value: unknown, at: (string | number)[] = []): Generator<Node> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      yield { path: [...at, i], key: i, value: value[i], parent: value };
      yield* walk(value[i], [...at, i]);
    }
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      yield { path: [...at, k], key: k, value: v, parent: value };
      yield* walk(v, [...at, k]);
    }
  }
}

/** Pairs whose key is `key` (dpath `**\/key`). */
export function nodesNamed(value: unknown, key: string): Node[] {
  return [...walk(value)].filter((n) => n.key === key);
}

/** `/a/b` form of a path. */
export const pointer = (p: readonly (string | number)[]): string => "/" + p.join("/");

/**
 * Keyword uses of `key` in a schema: the key present in a schema object, not a property of that
 * name (CAT's `find_keyword_schema` and the `properties/<key>` exclusion of its spec tests).
 */
export function keywordUses(schema: unknown, key: string): Node[] {
  return nodesNamed(schema, key).filter((n) => n.path.at(-2) !== "properties");
}

/**
 * CAT's `get_expected_schema_structure`: the leaf paths a schema describes (`/a`, `/a/b`, `/arr/[]`),
 * objects without properties counting as leaves; the options of a oneOf/anyOf are all scanned.
 */
export function schemaPaths(schema: Record<string, unknown>): string[] {
  const paths: string[] = [];
  const scan = (sub: Record<string, unknown>, at: string): void => {
    const variants = (sub.oneOf ?? sub.anyOf) as Record<string, unknown>[] | undefined;
    if (variants) {
      for (const v of variants) scan(v, at);
      return;
    }
    const types = ([] as unknown[]).concat(sub.type ?? ["object", "null"]);
    if (types.includes("object")) {
      const props = sub.properties as Record<string, Record<string, unknown>> | undefined;
      if (!props || Object.keys(props).length === 0) {
        if (at) paths.push(at);
        return;
      }
      for (const [k, v] of Object.entries(props)) scan(v, `${at}/${k}`);
      return;
    }
    if (types.includes("array")) {
      scan((sub.items ?? {}) as Record<string, unknown>, `${at}/[]`);
      return;
    }
    paths.push(at);
  };
  scan(schema, "");
  return paths;
}

/** CAT's `get_object_structure`: every path present in a value, arrays by their first item. */
export function objectPaths(value: unknown): string[] {
  const paths: string[] = [];
  const visit = (v: unknown, at: string): void => {
    if (at) paths.push(at);
    if (Array.isArray(v)) {
      if (v.length > 0) visit(v[0], `${at}/[]`);
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) visit(x, `${at}/${k}`);
    }
  };
  visit(value, "");
  return paths;
}

/** The value at a key path (a primary key or cursor path), undefined when absent. */
export function valueAt(data: unknown, keyPath: readonly string[]): unknown {
  return keyPath.reduce<unknown>((v, k) => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined), data);
}

/** The schema of a property path (`properties/a/properties/b`), undefined when absent. */
export function propertySchema(schema: Record<string, unknown>, keyPath: readonly string[]): Record<string, unknown> | undefined {
  let at: unknown = schema;
  for (const k of keyPath) {
    const props = (at as { properties?: Record<string, unknown> } | undefined)?.properties;
    at = props?.[k];
    if (at === undefined) return undefined;
  }
  return at as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Records against their schemas (CAT's `verify_records_schema`)

/**
 * CAT's date-time format check: `YYYY-MM-DD[T ]HH:MM:SS[.fraction]` followed by anything (its
 * regex ends in `.*`), and `pendulum.parse(value, strict=False)` must succeed: a real calendar
 * date, a real time of day. Here the rest must be a zone (`Z` or an offset), a little stricter
 * than pendulum, which rejects most other trailing text too.
 */
export function catDateTime(value: string): boolean {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})[\sT](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?(.*)$/.exec(value);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return false;
  if (h > 23 || mi > 59 || s > 59) return false;
  return /^(|[Zz]|[+-]\d{2}(:?\d{2})?)$/.test(m[8]!);
}

/**
 * Draft-07 validation with CAT's rules: strict integers, its date-time check. With
 * `failOnExtraColumns`, also `additionalProperties: false` at the top level — stricter than CAT
 * 3.8.5, which accepts `fail_on_extra_columns` (default true) but does not apply it
 * (`verify_records_schema` always uses the plain validator). Airbyte's UI keywords are allowed.
 */
const recordAjv = new Ajv({ strict: false, allErrors: true, logger: false });
recordAjv.addFormat("date-time", { type: "string", validate: catDateTime });
const catValidators = new WeakMap<object, Map<boolean, ValidateFunction>>();

export function catRecordValidator(schema: Record<string, unknown>, failOnExtraColumns = true): ValidateFunction {
  const cached = catValidators.get(schema) ?? new Map<boolean, ValidateFunction>();
  catValidators.set(schema, cached);
  let v = cached.get(failOnExtraColumns);
  if (!v) {
    v = recordAjv.compile(failOnExtraColumns ? { ...schema, additionalProperties: false } : schema);
    cached.set(failOnExtraColumns, v);
  }
  return v;
}

/** JSON number tokens outside strings (string tokens are matched first and kept). */
const TOKENS = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * RECORD messages parsed from the raw stdout lines so that CAT's strict integers hold: Python keeps
 * `1.0` a float, JSON.parse makes it 1. A number written with a fraction or exponent whose value is
 * whole is turned into a non-integer here, so an `integer` schema rejects it as CAT would.
 */
export function strictRecords(run: CliRun): NonNullable<AirbyteMessage["record"]>[] {
  const out: NonNullable<AirbyteMessage["record"]>[] = [];
  for (const line of run.lines) {
    const m = JSON.parse(line) as AirbyteMessage;
    if (m.type !== "RECORD") continue;
    const strict = line.replace(TOKENS, (t) => {
      if (t.startsWith('"') || !/[.eE]/.test(t) || !Number.isInteger(Number(t))) return t;
      return Number.isSafeInteger(Number(t)) ? `${Number(t)}.5` : "0.5";
    });
    out.push((JSON.parse(strict) as AirbyteMessage).record!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// test_read_sequential_slices: which states to resume from, and how many records each must give

type State = NonNullable<AirbyteMessage["state"]>;

/** A state CAT resumes from, and the records that followed it in the first read. */
export interface Checkpoint {
  state: State;
  expectedRecords: number;
}

const blob = (s: State): string => JSON.stringify(s.stream?.stream_state ?? null);
const countOf = (s: { sourceStats?: { recordCount?: number } }): number => s.sourceStats?.recordCount ?? 0;

/**
 * CAT's `_get_unique_state_messages_with_record_count` and its batch selector, for the states of
 * one stream: runs of identical consecutive states are merged into their first (counts summed),
 * zero-count states dropped, each remaining state paired with the number of records after it;
 * then, of at least three, about five are sampled, never the first or the last (of fewer than
 * three, only the last is kept).
 */
export function sequentialSliceCheckpoints(streamStates: readonly State[]): Checkpoint[] {
  const list = streamStates.map((s) => ({ state: s, count: countOf(s) }));
  let unique: { state: State; count: number }[];
  if (list.length <= 1) {
    unique = list.filter((s) => s.count);
  } else {
    unique = [];
    let current = 0;
    while (current < list.length - 1) {
      let next = current + 1;
      while (blob(list[current]!.state) === blob(list[next]!.state) && next < list.length - 1) next++;
      list[current]!.count = list.slice(current, next).reduce((a, s) => a + s.count, 0);
      unique.push(list[current]!);
      if (next === list.length - 1 && blob(list[current]!.state) !== blob(list[next]!.state)) unique.push(list[next]!);
      current = next;
    }
  }
  const nonZero = unique.filter((s) => s.count);
  const total = nonZero.reduce((a, s) => a + s.count, 0);
  let seen = 0;
  const withExpected = nonZero.map((s) => ({ state: s.state, expectedRecords: total - (seen += s.count) }));
  if (withExpected.length < 3) return withExpected.slice(-1);
  const sampleRate = Math.floor(withExpected.length / 5) || 1;
  return withExpected.filter((_, i) => i !== 0 && i % sampleRate === 0 && i !== withExpected.length - 1);
}

/** The state input CAT builds from a state message: a one-element list of a bare STREAM state. */
export function stateInput(state: State): unknown[] {
  return [{ type: "STREAM", stream: { stream_descriptor: { name: state.stream!.stream_descriptor.name }, stream_state: state.stream!.stream_state } }];
}
