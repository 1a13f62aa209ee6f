/**
 * The connector as Meltano's tap-airbyte wrapper runs it (airbyte-contract.md §10): meltano.yml,
 * and the CLI driven the way the wrapper drives the image — config, catalog and state in a private
 * (0700) temporary folder passed by absolute path, no environment variables, a catalog made of the
 * discovered streams with a lower-case sync_mode, `destination_sync_mode: append` and no
 * `cursor_field` or `primary_key`, `--state` only when there is state, and the state stored the
 * way the wrapper stores it (STREAM states upserted into `airbyte_state`, written back as the bare
 * list, or as the whole dict by older wrappers). `npm run test:image` repeats the read with the image.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse as parseYaml } from "yaml";
import type { AirbyteMessage, AirbyteStream } from "../src/generated/protocol.js";
import { ROOT, runCli, tempDir, type CliRun } from "./helpers/cli.js";
import { meltanoCatalog, meltanoStates } from "./helpers/host-inputs.js";
import { messageProblems } from "./helpers/protocol.js";
import { configFor, replica as startReplica, type Replica } from "./helpers/replica.js";

const metadata = parseYaml(readFileSync(join(ROOT, "metadata.yaml"), "utf8")) as { data: { dockerRepository: string; dockerImageTag: string } };
const spec = JSON.parse(readFileSync(join(ROOT, "spec.json"), "utf8")) as { connectionSpecification: { required: string[]; properties: Record<string, { type?: unknown }> } };

/** Streams the Meltano project selects in this test: cursors updatedAt, createdAt, timestamp, and a full-refresh-only stream. */
const SELECTED = ["prospects", "events", "audit_logs", "duties"];

test("meltano.yml: tap-airbyte with our pinned image, skip_native_check, config keys the spec knows", () => {
  const project = parseYaml(readFileSync(join(ROOT, "meltano.yml"), "utf8")) as {
    plugins: { extractors: Record<string, any>[] };
  };
  const tap = project.plugins.extractors.find((e) => e.namespace === "tap_airbyte");
  assert.ok(tap, "an extractor in the tap_airbyte namespace");
  assert.equal(tap.executable, "tap-airbyte");
  assert.match(tap.pip_url, /MeltanoLabs\/tap-airbyte-wrapper/);
  for (const c of ["catalog", "state", "discover", "about"]) assert.ok(tap.capabilities.includes(c), `capability ${c}`);
  assert.equal(tap.config.airbyte_spec.image, metadata.data.dockerRepository, "the image metadata.yaml names");
  assert.notEqual(tap.config.airbyte_spec.image, "airbyte/source-outreach", "never Airbyte's repository: the wrapper would run Airbyte's Python connector");
  assert.equal(typeof tap.config.airbyte_spec.tag, "string", "the tag is a string (quoted), not a YAML number");
  assert.equal(tap.config.airbyte_spec.tag, metadata.data.dockerImageTag, "the tag metadata.yaml names (the README's build)");
  assert.equal(tap.config.skip_native_check, true);
  const configKeys = Object.keys(tap.config.airbyte_config);
  for (const k of configKeys) assert.ok(k in spec.connectionSpecification.properties, `airbyte_config.${k} is a spec property`);
  for (const k of spec.connectionSpecification.required) assert.ok(configKeys.includes(k), `required ${k} is configured`);
  for (const s of tap.settings as { name: string; kind?: string }[]) {
    if (s.name.startsWith("airbyte_config.")) assert.ok(s.name.slice(15) in spec.connectionSpecification.properties, `setting ${s.name}`);
    if (/client_secret|refresh_token/.test(s.name)) assert.equal(s.kind, "password", `${s.name} is a secret`);
  }
  for (const sel of tap.select as string[]) assert.match(sel, /^[a-z_]+\.\*$/);
});

let replica: Replica;
let dir: string;
/** Paths as the wrapper passes them (absolute, inside its temp folder). */
let files: { config: string; catalog: string; state: string };
let discovered: AirbyteStream[];
/** The first sync run (no state). */
let firstRun: CliRun | undefined;

/** Runs the CLI the way `docker run … <image> <command>` does under the wrapper: no env vars, cwd unrelated. */
async function tap(args: string[]): Promise<CliRun> {
  const run = await runCli(args, { cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  assert.equal(run.messages.length, run.lines.filter((l) => l !== "").length, "every stdout line is a JSON message");
  assert.deepEqual(messageProblems(run.messages), [], "every message is a valid Airbyte message with its payload");
  return run;
}

/**
 * Writes config.json as the wrapper does from `airbyte_config`. The wrapper ignores CONTROL
 * messages, so a refresh token the connector rotates is not saved: here the test stands in for the
 * user who updates the stored token (the replica rotates refresh tokens like Outreach).
 */
async function writeConfig(): Promise<void> {
  await writeFile(files.config, JSON.stringify(configFor(replica)));
}

before(async () => {
  replica = await startReplica();
  dir = await tempDir("meltano-tap-airbyte-");
  files = { config: join(dir, "config.json"), catalog: join(dir, "catalog.json"), state: join(dir, "state.json") };
});
after(async () => {
  await replica?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const recordIds = (run: CliRun, stream: string): number[] =>
  run.messages.filter((m) => m.type === "RECORD" && m.record!.stream === stream).map((m) => (m.record!.data as { id: number }).id);

/** What the wrapper does with every message: RECORD, STATE, LOG, TRACE, CONTROL are handled; a TRACE ERROR aborts the run. */
function assertWrapperCanConsume(run: CliRun): void {
  const types = new Set(run.messages.map((m) => m.type));
  for (const t of types) assert.ok(["RECORD", "STATE", "LOG", "TRACE", "CONTROL"].includes(t), `${t}: the wrapper would warn "Unhandled message"`);
  const errors = run.messages.filter((m) => m.type === "TRACE" && m.trace!.type === "ERROR");
  assert.deepEqual(errors, [], "no TRACE ERROR (the wrapper raises on the first one)");
  for (const m of run.messages.filter((x) => x.type === "RECORD")) assert.equal(m.record!.namespace, undefined);
}

test("the wrapper's temporary folder is private (0700), as Python's TemporaryDirectory makes it", () => {
  assert.equal(statSync(dir).mode & 0o777, 0o700);
});

test("--about, --test, --discover: spec, check and discover with absolute /tmp-style paths", async () => {
  const about = await tap(["spec"]);
  assert.deepEqual(about.messages.map((m) => m.type), ["SPEC"]);
  for (const [name, prop] of Object.entries(about.messages[0]!.spec!.connectionSpecification.properties as Record<string, { type?: unknown }>)) {
    assert.ok(prop.type !== undefined, `${name} declares a type (the wrapper's --about reads it)`);
  }
  await writeConfig();
  const check = await tap(["check", "--config", files.config]);
  assert.equal(check.code, 0);
  assert.equal(check.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus?.status, "SUCCEEDED");
  await writeConfig();
  const discover = await tap(["discover", "--config", files.config]);
  assert.equal(discover.code, 0);
  discovered = discover.messages.find((m) => m.type === "CATALOG")!.catalog!.streams;
  assert.equal(discovered.length, 47);
  for (const s of discovered) {
    // Singer metadata: replication key = default_cursor_field[0] when source-defined; key = first path.
    assert.deepEqual(s.source_defined_primary_key, [["id"]], `${s.name}: a single top-level key`);
    if (s.supported_sync_modes.includes("incremental")) {
      assert.equal(s.source_defined_cursor, true, `${s.name}: the wrapper sends no cursor_field`);
      assert.equal(s.default_cursor_field?.length, 1, `${s.name}: a single top-level cursor`);
      assert.ok(s.default_cursor_field![0]! in (s.json_schema.properties as object), `${s.name}: the cursor is a declared property`);
    }
  }
});

test("sync: first run without --state, then with the state the wrapper saved (list, dict, legacy), new records picked up", async () => {
  assert.ok(discovered, "discover ran");
  await writeFile(files.catalog, JSON.stringify(meltanoCatalog(discovered, SELECTED)));
  const catalog = JSON.parse(readFileSync(files.catalog, "utf8")) as { streams: Record<string, unknown>[] };
  for (const entry of catalog.streams) {
    assert.equal(entry.cursor_field, undefined);
    assert.equal(entry.primary_key, undefined);
  }

  // First run: no state yet, so no --state flag.
  await writeConfig();
  const first = await tap(["read", "--config", files.config, "--catalog", files.catalog]);
  assert.equal(first.code, 0, first.stderr);
  assertWrapperCanConsume(first);
  for (const name of SELECTED) {
    const ids = recordIds(first, name);
    const served = replica.control.listIds(name);
    assert.equal(ids.length, served.count, `${name}: every record the replica serves`);
    assert.deepEqual([...ids].sort((a, b) => a - b), served.ids, `${name}: the same ids`);
  }
  firstRun = first;
  const saved = meltanoStates([], first.messages);
  assert.deepEqual(saved.map((s) => (s.stream as { stream_descriptor: { name: string } }).stream_descriptor.name).sort(), [...SELECTED].sort());
  const singerState = { airbyte_state: saved };
  const prospectsCursor = (saved.find((s) => (s.stream as { stream_descriptor: { name: string } }).stream_descriptor.name === "prospects")!.stream as {
    stream_state: { updatedAt: string };
  }).stream_state.updatedAt;
  assert.ok(Date.parse(prospectsCursor) > 0, "prospects state holds its updatedAt cursor");

  // Between runs: new records in Outreach.
  const added = {
    prospects: replica.control.addRecords("prospects", { count: 2 }).map((r) => r.id),
    events: replica.control.addRecords("events", { count: 1 }).map((r) => r.id),
    audit_logs: replica.control.addRecords("audit_logs", { count: 1 }).map((r) => r.id),
  };

  // Second run: the wrapper writes the `airbyte_state` list itself to state.json.
  await writeFile(files.state, JSON.stringify(singerState.airbyte_state));
  await writeConfig();
  const second = await tap(["read", "--config", files.config, "--catalog", files.catalog, "--state", files.state]);
  assert.equal(second.code, 0, second.stderr);
  assertWrapperCanConsume(second);
  for (const [name, ids] of Object.entries(added)) {
    const got = recordIds(second, name);
    for (const id of ids) assert.ok(got.includes(id), `${name}: new record ${id} is read`);
    assert.ok(got.length < recordIds(first, name).length / 2, `${name}: only the records at or after the saved cursor (${got.length})`);
  }
  assert.equal(recordIds(second, "duties").length, replica.control.listIds("duties").count, "duties (full refresh) is read whole again");
  const after = meltanoStates(saved, second.messages);

  // The same state as older wrappers wrote it (the whole Singer dict) gives the same records.
  await writeFile(files.state, JSON.stringify(singerState));
  await writeConfig();
  const dictForm = await tap(["read", "--config", files.config, "--catalog", files.catalog, "--state", files.state]);
  assert.equal(dictForm.code, 0, dictForm.stderr);
  assertWrapperCanConsume(dictForm);
  for (const name of SELECTED) assert.deepEqual(recordIds(dictForm, name).sort(), recordIds(second, name).sort(), `${name}: dict form = list form`);

  // A hand-set or pre-2024-09 state without airbyte_state is passed through verbatim: a legacy dict.
  await writeFile(files.state, JSON.stringify({ prospects: { updatedAt: prospectsCursor } }));
  await writeConfig();
  const legacy = await tap(["read", "--config", files.config, "--catalog", files.catalog, "--state", files.state]);
  assert.equal(legacy.code, 0, legacy.stderr);
  assert.deepEqual(recordIds(legacy, "prospects").sort(), recordIds(second, "prospects").sort(), "legacy dict: same prospects");
  assert.equal(recordIds(legacy, "events").length, recordIds(first, "events").length + added.events.length, "no state for events: read whole");

  // Third run from the upserted state: nothing new, so only the boundary records (inclusive cursor) come back.
  await writeFile(files.state, JSON.stringify(after));
  await writeConfig();
  const third = await tap(["read", "--config", files.config, "--catalog", files.catalog, "--state", files.state]);
  assert.equal(third.code, 0, third.stderr);
  for (const name of ["prospects", "events", "audit_logs"]) {
    assert.ok(recordIds(third, name).length <= recordIds(second, name).length, `${name}: the third run reads no more than the second`);
    assert.ok(recordIds(third, name).every((id) => recordIds(second, name).includes(id)), `${name}: only records the second run saw at its cursor`);
  }
});

test("every field of every record is declared in the discovered schema (the Singer SDK drops undeclared ones)", () => {
  assert.ok(firstRun, "the sync test ran");
  const undeclared = new Set<string>();
  for (const m of firstRun.messages.filter((x) => x.type === "RECORD")) {
    const properties = discovered.find((s) => s.name === m.record!.stream)!.json_schema.properties as Record<string, unknown>;
    for (const k of Object.keys(m.record!.data)) if (!(k in properties)) undeclared.add(`${m.record!.stream}.${k}`);
  }
  assert.deepEqual([...undeclared].sort(), [], "fields Meltano would drop");
});

test("a stale refresh token (the wrapper drops rotated tokens) ends the run with one clear config_error", async () => {
  await writeConfig();
  const stale = configFor(replica);
  await writeFile(files.config, JSON.stringify(stale));
  await tap(["check", "--config", files.config]); // uses and rotates the token
  const run = await tap(["read", "--config", files.config, "--catalog", files.catalog]); // config.json still holds the old one
  assert.notEqual(run.code, 0);
  const errors = run.messages.filter((m): m is AirbyteMessage & { trace: NonNullable<AirbyteMessage["trace"]> } => m.type === "TRACE" && m.trace!.type === "ERROR");
  assert.ok(errors.length >= 1);
  assert.equal(errors[0]!.trace.error!.failure_type, "config_error");
  assert.match(errors[0]!.trace.error!.message, /refresh token/i, "the message names the refresh token");
  assert.ok(!JSON.stringify(run.messages).includes(stale.refresh_token as string), "the token itself is masked");
});
