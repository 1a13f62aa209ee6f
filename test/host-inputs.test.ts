/**
 * What real hosts write (issue 9): catalogs, states and configs as Airbyte's pydantic models
 * serialise them (every unset optional member `null`) and as Meltano's tap-airbyte wrapper writes
 * them, fed to `check`, `discover` and `read` against the replica. The fixture generator is
 * test/helpers/host-inputs.ts; this file first checks its member lists against the protocol
 * YAML and CAT's pydantic models (when ../shared is beside the repository), then its output
 * against a line CAT's own models wrote.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { parse as parseYaml } from "yaml";
import type { AirbyteStream } from "../src/generated/protocol.js";
import { parseCatalog, parseState, schemaWithoutNulls } from "../src/catalog.js";
import { resolveConfig } from "../src/config.js";
import { InputError } from "../src/errors.js";
import { lastStates, ROOT, type CliRun } from "./helpers/cli.js";
import { catRun, errorTraces, records, states } from "./helpers/cat.js";
import { configWithNulls, meltanoCatalog, meltanoConfig, meltanoStates, PROTOCOL_FIELDS, pydantic, pydanticCatalog, pydanticStates } from "./helpers/host-inputs.js";
import { PROTOCOL_YAML } from "./helpers/protocol.js";
import { catalogFor, configFor, replica, type Replica } from "./helpers/replica.js";

const spec = (JSON.parse(readFileSync(path.join(ROOT, "spec.json"), "utf8")) as { connectionSpecification: { required: string[]; properties: Record<string, unknown> } })
  .connectionSpecification;
const PYLIB_MODELS = path.resolve(ROOT, "../shared/tools/airbyte-cat/pylib/airbyte_protocol/models/airbyte_protocol.py");

test("generator: its member lists are protocol 0.18's (airbyte_protocol.yaml)", (t) => {
  if (!existsSync(PROTOCOL_YAML)) return t.skip(`${PROTOCOL_YAML} is absent (it lives in ../shared beside the repository)`);
  const definitions = (parseYaml(readFileSync(PROTOCOL_YAML, "utf8")) as { definitions: Record<string, { properties: object }> }).definitions;
  for (const [model, fields] of Object.entries(PROTOCOL_FIELDS)) assert.deepEqual(Object.keys(definitions[model]!.properties), fields, model);
});

test("generator: CAT's pydantic models (airbyte-protocol-models 0.8.0) declare no member it lacks", (t) => {
  if (!existsSync(PYLIB_MODELS)) return t.skip(`${PYLIB_MODELS} is absent (CAT's harness lives in ../shared beside the repository)`);
  const source = readFileSync(PYLIB_MODELS, "utf8");
  for (const [model, fields] of Object.entries(PROTOCOL_FIELDS)) {
    const body = new RegExp(`^class ${model}\\(BaseModel\\):\\n([\\s\\S]*?)(?=^class |(?![\\s\\S]))`, "m").exec(source)?.[1];
    assert.ok(body, `class ${model} in the pydantic models`);
    const declared = [...body.matchAll(/^ {4}(\w+): /gm)].map((m) => (m[1] === "global_" ? "global" : m[1]!));
    assert.ok(declared.length > 0, model);
    assert.deepEqual(declared.filter((f) => !(fields as readonly string[]).includes(f)), [], `${model}: members the generator would leave out`);
  }
});

test("generator: a catalog line as CAT's pydantic models wrote it (/usr/bin/python3, pydantic 1.10.4, CAT's pylib)", () => {
  // ConfiguredAirbyteCatalog(streams=[ConfiguredAirbyteStream(stream=AirbyteStream.parse_obj(<discovered>),
  //   sync_mode="full_refresh", destination_sync_mode="append", cursor_field=None, primary_key=[["id"]])]).json()
  const written = JSON.parse(
    '{"streams": [{"stream": {"name": "prospects", "json_schema": {"type": "object", "properties": {"id": {"type": "integer"}}}, "supported_sync_modes": ["full_refresh", "incremental"], "source_defined_cursor": true, "default_cursor_field": ["updatedAt"], "source_defined_primary_key": [["id"]], "namespace": null, "is_resumable": true}, "sync_mode": "full_refresh", "cursor_field": null, "destination_sync_mode": "append", "primary_key": [["id"]]}]}',
  ) as { streams: Record<string, unknown>[] };
  const stream = { ...(written.streams[0]!.stream as Record<string, unknown>) };
  delete stream.namespace;
  const ours = pydanticCatalog({ streams: [{ stream, sync_mode: "full_refresh", destination_sync_mode: "append", primary_key: [["id"]] }] }) as typeof written;
  // Protocol 0.18 adds members to the 0.8.0 models; apart from those (null here), the same members in the same order.
  const newIn018 = new Set(["destination_object_name", "generation_id", "minimum_generation_id", "sync_id", "include_files", "is_file_based"]);
  const as080 = (o: unknown): Record<string, unknown> => Object.fromEntries(Object.entries(o as object).filter(([k, v]) => !(newIn018.has(k) && v === null)));
  const entry = as080(ours.streams[0]);
  assert.equal(JSON.stringify({ ...entry, stream: as080(entry.stream) }), JSON.stringify(written.streams[0]));
  // A state message: every member present, nested models too.
  assert.deepEqual(pydantic("AirbyteStateMessage", { type: "STREAM", stream: { stream_descriptor: { name: "p" } } }), {
    type: "STREAM", stream: { stream_descriptor: { name: "p", namespace: null }, stream_state: null }, global: null, data: null, sourceStats: null, destinationStats: null,
  });
});

// ---------------------------------------------------------------------------------------------
// The parsers on what the generator writes

test("catalog: a pydantic-written catalog (every unset member null, generation ids, extras) reads like the plain one", () => {
  const plain = catalogFor();
  const written = pydanticCatalog({
    streams: (plain.streams as Record<string, unknown>[]).map((s) => ({ ...s, generation_id: 7, minimum_generation_id: 0, sync_id: 9001, unknown_future_member: { x: null } })),
  });
  const entry = (written.streams as Record<string, unknown>[])[0]!;
  for (const k of ["cursor_field", "primary_key", "destination_object_name", "include_files"]) assert.equal(entry[k], null, k);
  for (const k of ["namespace", "source_defined_cursor", "is_resumable", "is_file_based"]) assert.equal((entry.stream as Record<string, unknown>)[k], null, k);
  assert.deepEqual(parseCatalog(JSON.parse(JSON.stringify(written)), "catalog.json"), parseCatalog(plain, "catalog.json"));
  assert.equal(parseCatalog(written, "c").length, 47);
});

test("catalog: a null required member is named; a null optional one is absent", () => {
  const one = (patch: Record<string, unknown>, streamPatch: Record<string, unknown> = {}) =>
    pydanticCatalog({ streams: [{ stream: { name: "prospects", json_schema: {}, supported_sync_modes: ["full_refresh", "incremental"], ...streamPatch }, sync_mode: "incremental", destination_sync_mode: "append", ...patch }] });
  assert.throws(() => parseCatalog(one({}, { name: null }), "c.json"), (e: unknown) => e instanceof InputError && e.message === "c.json: streams[0].stream.name: must be a string");
  assert.throws(() => parseCatalog(one({ sync_mode: null }), "c.json"), /^InputError: c\.json: streams\[0\]\.sync_mode: is required \(one of full_refresh, incremental\)$/);
  assert.throws(() => parseCatalog(one({ stream: null }), "c.json"), /c\.json: streams\[0\]\.stream: must be an object/);
  assert.throws(() => parseCatalog(one({ cursor_field: "updatedAt" }), "c.json"), /streams\[0\]\.cursor_field: must be an array of strings/);
  const [prospects] = parseCatalog(one({ destination_sync_mode: null, cursor_field: null }, { json_schema: null }), "c.json");
  assert.equal(prospects!.syncMode, "incremental");
  assert.equal(prospects!.selectedProperties, undefined);
});

test("catalog: inside json_schema only nulls that mean absent are dropped; default, const and enum nulls are values", () => {
  const schema = {
    type: "object",
    title: null,
    properties: {
      id: { type: "integer", description: null },
      custom1: { type: ["null", "string"], default: null, enum: ["a", null], examples: null },
      gone: null,
      default: { type: "string", const: null, format: null },
      nested: { type: "object", properties: null, items: null, additionalProperties: { type: "string", pattern: null } },
      list: { type: "array", items: [{ type: "string", maxLength: null }, { default: null }] },
    },
    required: null,
  };
  assert.deepEqual(schemaWithoutNulls(schema), {
    type: "object",
    properties: {
      id: { type: "integer" },
      custom1: { type: ["null", "string"], default: null, enum: ["a", null] },
      default: { type: "string", const: null },
      nested: { type: "object", additionalProperties: { type: "string" } },
      list: { type: "array", items: [{ type: "string" }, { default: null }] },
    },
  });
  const [p] = parseCatalog({ streams: [{ stream: { name: "prospects", json_schema: schema, supported_sync_modes: ["full_refresh"] }, sync_mode: "full_refresh", destination_sync_mode: "append" }] }, "c");
  assert.deepEqual(p!.selectedProperties, ["id", "custom1", "default", "nested", "list"], "a null property is not selected");
  const [q] = parseCatalog({ streams: [{ stream: { name: "prospects", json_schema: { type: "object", properties: null }, supported_sync_modes: ["full_refresh"] }, sync_mode: "full_refresh", destination_sync_mode: "append" }] }, "c");
  assert.equal(q!.selectedProperties, undefined, "properties: null is no property list (every field is requested)");
});

test("state: pydantic-written STREAM, GLOBAL and LEGACY states (null members, sourceStats, global_) read like the plain ones", () => {
  const blob = { updatedAt: "2024-01-01T00:00:00.000Z" };
  const events = { createdAt: "2024-02-01T00:00:00.000Z" };
  const expect = new Map<string, object>([["prospects", blob], ["events", events]]);
  const stream = [
    { type: "STREAM", stream: { stream_descriptor: { name: "prospects" }, stream_state: blob }, sourceStats: { recordCount: 3 } },
    { type: "STREAM", stream: { stream_descriptor: { name: "events" }, stream_state: events }, sourceStats: { recordCount: 0, rejectedRecordCount: null } },
    { type: "STREAM", stream: { stream_descriptor: { name: "duties" } } },
  ];
  const written = pydanticStates(stream);
  assert.equal((written[2]!.stream as Record<string, unknown>).stream_state, null, "an unset stream_state is null");
  assert.deepEqual(parseState(JSON.parse(JSON.stringify(written)), "s"), expect);
  const global = pydanticStates([{ type: "GLOBAL", global: { stream_states: stream.map((s) => s.stream) } }]);
  assert.equal((global[0]!.global as Record<string, unknown>).shared_state, null);
  assert.deepEqual(parseState(global, "s"), expect);
  assert.deepEqual(parseState(pydanticStates([{ data: { prospects: blob, events, duties: null } }]), "s"), expect, "type null + data: LEGACY");
  assert.deepEqual(parseState(pydanticStates(stream.map(({ type: _, ...rest }) => rest)), "s"), expect, "type null + stream: STREAM");
  assert.deepEqual(parseState({ airbyte_state: written, bookmarks: null }, "s"), expect, "Meltano's dict with nulls beside it");
  assert.deepEqual(parseState({ prospects: blob, events: { createdAt: "2024-02-01T00:00:00.000Z", extra: null }, duties: null }, "s"), new Map<string, object>([["prospects", blob], ["events", events]]));
  assert.throws(() => parseState(pydanticStates([{ type: "STREAM", stream: null }]), "st.json"), /st\.json: \[0\]\.stream\.stream_descriptor\.name: is required/);
});

test("state: one state message not in a list, and whole STATE lines of read's output, alone or listed", () => {
  const blob = { updatedAt: "2024-01-01T00:00:00.000Z" };
  const message = { type: "STREAM", stream: { stream_descriptor: { name: "prospects" }, stream_state: blob } };
  const expect = new Map<string, object>([["prospects", blob]]);
  assert.deepEqual(parseState(message, "s"), expect, "a STREAM message alone");
  assert.deepEqual(parseState({ type: "LEGACY", data: { prospects: blob } }, "s"), expect, "a LEGACY message alone");
  assert.deepEqual(parseState({ type: "GLOBAL", global: { stream_states: [message.stream] } }, "s"), expect, "a GLOBAL message alone");
  assert.deepEqual(parseState({ type: "STATE", state: message }, "s"), expect, "a STATE line");
  const events = { createdAt: "2024-02-01T00:00:00.000Z" };
  const other = { type: "STATE", state: { type: "STREAM", stream: { stream_descriptor: { name: "events" }, stream_state: events } } };
  assert.deepEqual(parseState([{ type: "STATE", state: message }, other], "s"), new Map<string, object>([["prospects", blob], ["events", events]]), "STATE lines in a list");
  assert.throws(() => parseState({ type: "STATE", state: { type: "bogus" } }, "st.json"), /st\.json: \[0\]\.type: must be STREAM, GLOBAL or LEGACY, not "bogus"/);
});

test("config: every optional member null = absent (defaults apply); a required one null is named", () => {
  const base = { client_id: "id", client_secret: "secret", refresh_token: "refresh" };
  const nulls = configWithNulls(base, spec);
  assert.equal(Object.keys(nulls).length, Object.keys(spec.properties).length);
  assert.ok(Object.values(nulls).filter((v) => v === null).length >= 8, "every optional member is null");
  const { raw, ...resolved } = resolveConfig(nulls, "config.json");
  const { raw: plainRaw, ...plain } = resolveConfig(base, "config.json");
  assert.deepEqual(resolved, plain);
  assert.deepEqual(raw, plainRaw, "the config CONTROL messages persist has no nulls either");
  for (const field of spec.required) {
    assert.throws(() => resolveConfig({ ...nulls, [field]: null }, "config.json"), (e: unknown) => e instanceof InputError && e.message === `config.json: ${field}: is required`, field);
  }
  const meltano = meltanoConfig(base, ["start_date", "redirect_uri", "page_size"]);
  assert.deepEqual(meltano, { ...base, start_date: null, redirect_uri: null, page_size: null }, "meltano.yml `key:` with no value is null");
  assert.equal(resolveConfig(meltano, "c").startDateMs, undefined);
  assert.equal(resolveConfig(meltano, "c").pageSize, 1000);
});

// ---------------------------------------------------------------------------------------------
// The CLI on what the generator writes, against the replica

/** Streams read here: cursors updatedAt, createdAt, timestamp, and a full-refresh-only stream. */
const READ = ["prospects", "events", "audit_logs", "duties"];

let r: Replica;
let discovered: AirbyteStream[];
before(async () => {
  r = await replica();
});
after(() => r.close());

const idsOf = (run: CliRun, stream: string): number[] => records(run).filter((m) => m.stream === stream).map((m) => (m.data as { id: number }).id).sort((a, b) => a - b);

/** Every STATE of a run as `<stream> <stream_state>`, sorted (streams run concurrently, so they interleave). */
const stateList = (run: CliRun): string[] => states(run).map((s) => `${s.stream!.stream_descriptor.name} ${JSON.stringify(s.stream!.stream_state)}`).sort();

/** Runs a command with the files exactly as given (JSON text, so catRun does not re-serialise the catalog). */
const run = (command: "check" | "discover" | "read", files: { config: unknown; catalog?: unknown; state?: unknown }): Promise<CliRun> =>
  catRun(command, Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined).map(([k, v]) => [k, JSON.stringify(v)])));

test("check and discover with a config whose optional members are null (Airbyte) or empty in meltano.yml; a null required one is named", async () => {
  const { client_id, client_secret, refresh_token, base_url, token_url } = configFor(r);
  for (const config of [configWithNulls(configFor(r), spec), meltanoConfig({ client_id, client_secret, refresh_token, base_url, token_url }, ["start_date", "redirect_uri", "max_requests_per_hour"])]) {
    const check = await run("check", { config: { ...config, refresh_token: r.refreshToken } });
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus?.status, "SUCCEEDED");
    const discover = await run("discover", { config: { ...config, refresh_token: r.refreshToken } });
    assert.equal(discover.code, 0, discover.stderr);
    discovered = discover.messages.find((m) => m.type === "CATALOG")!.catalog!.streams;
    assert.equal(discovered.length, 47);
  }
  // A required member that is null: check answers FAILED naming it, read a config_error naming it.
  const missing = { ...configWithNulls(configFor(r), spec), refresh_token: null };
  const check = await run("check", { config: missing });
  assert.equal(check.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus?.status, "FAILED");
  assert.match(check.messages.find((m) => m.type === "CONNECTION_STATUS")!.connectionStatus!.message!, /config\.json: refresh_token: is required/);
  const read = await run("read", { config: missing, catalog: meltanoCatalog(discovered, READ) });
  assert.notEqual(read.code, 0);
  const errors = errorTraces(read);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.trace!.error!.failure_type, "config_error");
  assert.match(errors[0]!.trace!.error!.message, /config\.json: refresh_token: is required$/);
});

test("read: Airbyte's pydantic catalog and states (nulls, generation ids, sourceStats, GLOBAL, LEGACY) give the records and states of plain ones", async () => {
  assert.ok(discovered, "discover ran");
  const config = () => configWithNulls(configFor(r), spec);
  const catalog = pydanticCatalog({
    streams: discovered.filter((s) => READ.includes(s.name)).map((s) => {
      const incremental = s.supported_sync_modes.includes("incremental");
      return { stream: s, sync_mode: incremental ? "incremental" : "full_refresh", destination_sync_mode: "append", ...(incremental ? { cursor_field: s.default_cursor_field } : {}), primary_key: s.source_defined_primary_key, generation_id: 1, minimum_generation_id: 0, sync_id: 77 };
    }),
  });
  assert.equal((catalog.streams as Record<string, unknown>[]).find((e) => (e.stream as AirbyteStream).name === "duties")!.cursor_field, null);
  const first = await run("read", { config: config(), catalog });
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(errorTraces(first), []);
  for (const name of READ) assert.deepEqual(idsOf(first, name), r.control.listIds(name).ids, `${name}: every record`);
  const last = lastStates(first);
  assert.deepEqual(last.map((s) => s!.stream!.stream_descriptor.name).sort(), [...READ].sort());

  const plain = await run("read", { config: config(), catalog, state: last });
  assert.equal(plain.code, 0, plain.stderr);
  for (const name of ["prospects", "events", "audit_logs"]) assert.ok(idsOf(plain, name).length < idsOf(first, name).length, `${name}: the state is used`);
  const forms: [string, unknown][] = [
    ["STREAM", pydanticStates(last as object[])],
    ["GLOBAL", pydanticStates([{ type: "GLOBAL", global: { stream_states: last.map((s) => s!.stream) } }])],
    ["LEGACY", pydanticStates([{ data: Object.fromEntries(last.map((s) => [s!.stream!.stream_descriptor.name, s!.stream!.stream_state])) }])],
  ];
  for (const [form, state] of forms) {
    const again = await run("read", { config: config(), catalog, state });
    assert.equal(again.code, 0, `${form}: ${again.stderr}`);
    for (const name of READ) assert.deepEqual(idsOf(again, name), idsOf(plain, name), `${form}: ${name}`);
    assert.deepEqual(stateList(again), stateList(plain), `${form}: the same states`);
  }
});

test("read: Meltano's tap-airbyte files — YAML config with empty settings, the wrapper's catalog, its airbyte_state list", async () => {
  assert.ok(discovered, "discover ran");
  const { client_id, client_secret, base_url, token_url } = configFor(r);
  const config = () => meltanoConfig({ client_id, client_secret, refresh_token: r.refreshToken, base_url, token_url }, ["start_date", "redirect_uri", "page_size", "concurrency"]);
  const catalog = meltanoCatalog(discovered, READ);
  const first = await run("read", { config: config(), catalog });
  assert.equal(first.code, 0, first.stderr);
  for (const name of READ) assert.deepEqual(idsOf(first, name), r.control.listIds(name).ids, `${name}: every record`);
  const saved = meltanoStates([], first.messages);
  assert.deepEqual(saved.map((s) => Object.keys(s)), READ.map(() => ["type", "stream"]), "entries as the wrapper appends them");
  const added = r.control.addRecords("prospects", { count: 2 }).map((x) => x.id);
  const second = await run("read", { config: config(), catalog, state: saved });
  assert.equal(second.code, 0, second.stderr);
  for (const id of added) assert.ok(idsOf(second, "prospects").includes(id), `new prospect ${id}`);
  assert.ok(idsOf(second, "prospects").length < idsOf(first, "prospects").length / 2, "only records at or after the saved cursor");
  assert.deepEqual(idsOf(second, "duties"), r.control.listIds("duties").ids, "full refresh: whole again");
  const upserted = meltanoStates(saved, second.messages);
  assert.equal(upserted.length, READ.length, "upserted by stream descriptor, not appended");
});
