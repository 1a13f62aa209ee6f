/**
 * Bad input (issue 3): config, catalog and state files that are missing, not JSON or of the wrong
 * shape, unknown streams and sync modes → one TRACE config_error naming the file and the field,
 * exit 1, no record. State written by Airbyte's own Outreach connector and by Stitch's tap is
 * accepted (or refused clearly), never a crash.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";
import { STREAMS } from "../src/streams.js";
import { lastStates, recordsOf, runCli, tempDir, writeJsonFiles, type CliRun } from "./helpers/cli.js";
import { catalogFor, configFor, replica, type Replica } from "./helpers/replica.js";
import { apiRequests, assertAllRecords, assertClean, errorsOf, logsOf, param, statusesOf } from "./helpers/resilience.js";

let r: Replica;
before(async () => {
  r = await replica({ records: 20 });
});
after(() => r.close());

const entry = (name: string, syncMode: string, destination = "append"): object => ({
  stream: { name, json_schema: {}, supported_sync_modes: ["full_refresh", "incremental"] },
  sync_mode: syncMode,
  destination_sync_mode: destination,
});

/** Writes the files (a string as is; undefined = the file does not exist) and returns the `read` arguments. */
async function readArgsWith(files: { config?: unknown; catalog?: unknown; state?: unknown }): Promise<{ args: string[]; paths: Record<string, string> }> {
  const dir = await tempDir();
  const present = Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined));
  const written = await writeJsonFiles(dir, present as Record<string, unknown>);
  const paths = { config: path.join(dir, "config.json"), catalog: path.join(dir, "catalog.json"), state: path.join(dir, "state.json"), ...written };
  return { args: ["read", "--config", paths.config, "--catalog", paths.catalog, ...("state" in files ? ["--state", paths.state] : [])], paths };
}

/** Runs `read` with these files. */
async function readWith(files: { config?: unknown; catalog?: unknown; state?: unknown }): Promise<{ run: CliRun; paths: Record<string, string> }> {
  const { args, paths } = await readArgsWith(files);
  return { run: await runCli(args), paths };
}

/** One TRACE config_error whose message is `<file>: <rest>`, exit 1, nothing read. */
function assertRefused(run: CliRun, file: string, rest: RegExp): void {
  assert.equal(run.code, 1, run.stderr);
  assertClean(run, r);
  assert.equal(recordsOf(run).length, 0);
  assert.ok(!run.messages.some((m) => m.type === "STATE" || (m.type === "TRACE" && m.trace!.type === "STREAM_STATUS")), "nothing was started");
  const errors = errorsOf(run);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.failure_type, "config_error");
  assert.ok(errors[0]!.message.startsWith(`${file}: `), errors[0]!.message);
  assert.match(errors[0]!.message.slice(file.length + 2), rest);
}

const catalog = catalogFor(["stages", "duties"]);

test("config: missing, not JSON, wrong shape, invalid field", async () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /^cannot read the config file \(ENOENT\)$/],
    ["{ not json", /^the config file is not valid JSON \(/],
    ["", /^the config file is not valid JSON \(/],
    [[], /^the config must be a JSON object$/],
    [{ client_id: "x", client_secret: "y" }, /^refresh_token: is required$/],
    [{ ...configFor(r), page_size: "big" }, /^page_size: must be integer$/],
    [{ ...configFor(r), max_requests_per_hour: 0 }, /^max_requests_per_hour: must be >= 1$/],
    [{ ...configFor(r), base_url: "ftp://example.com/" }, /^base_url: must match pattern/],
  ];
  await Promise.all(
    cases.map(async ([config, message]) => {
      const { run, paths } = await readWith({ config, catalog });
      assertRefused(run, paths.config!, message);
    }),
  );
  assert.equal(r.requests.total, 0, "nothing was asked of the API");
});

test("catalog: missing, not JSON, wrong shape, unknown stream, INVALID sync modes", async () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /^cannot read the catalog file \(ENOENT\)$/],
    ["[1, 2", /^the catalog file is not valid JSON/],
    [{}, /^streams: must be an array of configured streams$/],
    [{ streams: [42] }, /^streams\[0\]\.stream: must be an object$/],
    [{ streams: [entry("stages", "full_refresh"), entry("__AIRBYTE__stream_that_does_not_exist", "full_refresh")] }, /^streams\[1\]\.stream\.name: unknown stream "__AIRBYTE__stream_that_does_not_exist"/],
    [{ streams: [entry("stages", "INVALID")] }, /^streams\[0\]\.sync_mode: must be one of full_refresh, incremental, not "INVALID"$/],
    [{ streams: [entry("stages", "full_refresh", "INVALID")] }, /^streams\[0\]\.destination_sync_mode: must be one of/],
    [{ streams: [entry("duties", "incremental")] }, /^streams\[0\]\.sync_mode: stream duties supports only full_refresh$/],
    [{ streams: [entry("stages", "full_refresh"), entry("stages", "incremental")] }, /^streams\[1\]\.stream\.name: stream "stages" is listed twice$/],
  ];
  await Promise.all(
    cases.map(async ([cat, message]) => {
      const { run, paths } = await readWith({ config: configFor(r), catalog: cat });
      assertRefused(run, paths.catalog!, message);
    }),
  );
});

test("state: not JSON, wrong shapes, a cursor that is not a timestamp", async () => {
  const streamState = (name: string, state: unknown): object => ({ type: "STREAM", stream: { stream_descriptor: { name }, stream_state: state } });
  const cases: [unknown, RegExp][] = [
    [undefined, /^cannot read the state file \(ENOENT\)$/],
    ["{\"stages\": ", /^the state file is not valid JSON/],
    ["\"2024-01-01\"", /^state must be a list of state messages or an object$/],
    [[{ type: "STREAM", stream: {} }], /^\[0\]\.stream\.stream_descriptor\.name: is required \(a string\)$/],
    [[{ type: "BOGUS" }], /^\[0\]\.type: must be STREAM, GLOBAL or LEGACY, not "BOGUS"$/],
    [[streamState("stages", "2024-01-01")], /^\[0\]\.stream\.stream_state: stream_state must be an object$/],
    [[streamState("stages", { updatedAt: 1704067200 })], /^stages\.updatedAt: must be an ISO-8601 timestamp, not 1704067200$/],
    [{ stages: { updatedAt: "yesterday" } }, /^stages\.updatedAt: must be an ISO-8601 timestamp, not "yesterday"$/],
    [{ bookmarks: { stages: 5 }, currently_syncing: null }, /^bookmarks\.stages: stream_state must be an object$/],
  ];
  await Promise.all(
    cases.map(async ([state, message]) => {
      const { run, paths } = await readWith({ config: configFor(r), catalog, state });
      assertRefused(run, paths.state!, message);
    }),
  );
});

test("state written by Airbyte's own Outreach connector: accepted; camelCase names that match nothing are warned about", async () => {
  const incremental = STREAMS.filter((s) => s.cursorField === "updatedAt").slice(0, 3).map((s) => s.name);
  const state = [
    ...incremental.map((name) => ({ type: "STREAM", stream: { stream_descriptor: { name }, stream_state: { updatedAt: "2040-11-16T00:00:00Z" } } })),
    { type: "STREAM", stream: { stream_descriptor: { name: "sequenceStates" }, stream_state: { updatedAt: "2024-08-01T17:03:11.000Z" } } },
  ];
  const { run, paths } = await readWith({ config: configFor(r), catalog: catalogFor([...incremental, "sequence_states"]), state });
  assert.equal(run.code, 0, run.stderr);
  assertClean(run, r);
  for (const name of incremental) {
    assert.equal(recordsOf(run, name).length, 0, `${name}: nothing after 2040`);
    const last = run.messages.filter((m) => m.type === "STATE" && m.state!.stream!.stream_descriptor.name === name).at(-1);
    assert.deepEqual(last!.state!.stream!.stream_state, { updatedAt: "2040-11-16T00:00:00Z" });
  }
  assertAllRecords(run, r, "sequence_states");
  assert.ok(
    logsOf(run).includes(`${paths.state}: state entry "sequenceStates" names no stream; it is ignored. Did you mean "sequence_states"? That stream is read without state.`),
    logsOf(run).join("\n"),
  );
  assert.equal(run.messages.find((m) => m.type === "LOG")!.log!.level, "WARN");
});

test("state: read's own output as JSON lines (all of it, its STATE lines, CRLF line ends) resumes each stream from its last state", async () => {
  const two = catalogFor(["stages", "users"]);
  const first = await readWith({ config: configFor(r), catalog: two });
  assert.equal(first.run.code, 0, first.run.stderr);
  const states = first.run.lines.filter((l) => l.startsWith('{"type":"STATE"'));
  const last = new Map(lastStates(first.run).map((m) => [m!.stream!.stream_descriptor.name, m!.stream!.stream_state]));
  for (const text of [first.run.lines.join("\n"), states.join("\n") + "\n", states.join("\r\n")]) {
    const { run, paths } = await readWith({ config: configFor(r), catalog: two, state: text });
    assert.equal(run.code, 0, run.stderr);
    assertClean(run, r);
    for (const name of ["stages", "users"]) {
      const cursor = (last.get(name) as { updatedAt: string }).updatedAt;
      // Only the records at the saved cursor (inclusive lower bound) are read again.
      const again = recordsOf(run, name).map((x) => x.updatedAt);
      assert.ok(again.length >= 1 && again.every((at) => at === cursor), `${name}: ${again.join(", ")} from ${paths.state}`);
    }
  }
});

test("Stitch's Singer bookmarks: accepted per stream; a bookmark on another field is warned about and read from the start", async () => {
  const ids = r.control.listIds("stages").ids!;
  // The bookmark of stages is the updatedAt of some record in the middle.
  const { run: first } = await readWith({ config: configFor(r), catalog: catalogFor(["stages"]) });
  assertClean(first, r);
  const middle = recordsOf(first, "stages")[Math.floor(ids.length / 2)]!.updatedAt as string;
  const state = { currently_syncing: "stages", bookmarks: { stages: middle, events: "2024-01-01T00:00:00.000Z" } };
  const before = r.requests.entries.length;
  const { run, paths } = await readWith({ config: configFor(r), catalog: catalogFor(["stages", "events"]), state });
  assert.equal(run.code, 0, run.stderr);
  assertClean(run, r);
  const firstStages = apiRequests(r, "stages").slice(-10).find((e) => r.requests.entries.indexOf(e) >= before && !param(e, "page[after]"));
  assert.equal(param(firstStages!, "filter[updatedAt][gte]"), new Date(Date.parse(middle)).toISOString(), "stages resumes from the bookmark");
  const stages = recordsOf(run, "stages");
  assert.ok(stages.length > 0 && stages.length < ids.length, `${stages.length} of ${ids.length}`);
  assert.ok(stages.every((x) => Date.parse(x.updatedAt as string) >= Date.parse(middle)));
  assertAllRecords(run, r, "events");
  assert.ok(
    logsOf(run).some((l) => l.startsWith(`${paths.state}: the state of events has no createdAt value (it has {"eventAt":`) && l.endsWith("the stream is read from the beginning.")),
    logsOf(run).join("\n"),
  );
  assert.deepEqual(statusesOf(run, "events").at(-1), "COMPLETE");
});

test("command line: a missing --config is a config_error; unknown flags are ignored", async () => {
  const missing = await runCli(["read", "--catalog", "nowhere.json"]);
  assert.equal(missing.code, 1);
  assertClean(missing, r);
  const [error] = errorsOf(missing);
  assert.equal(error!.failure_type, "config_error");
  assert.match(error!.message, /Missing required argument: config/);
  const { args } = await readArgsWith({ config: configFor(r), catalog: catalogFor(["duties"]) });
  const extra = await runCli([...args, "--debug", "--manifest-path", "x.yaml", "--unknown-flag"]);
  assert.equal(extra.code, 0, extra.stderr);
  assertClean(extra, r);
  assertAllRecords(extra, r, "duties");
  // A file option given twice: the last one counts, for every command.
  const again = await readArgsWith({ config: configFor(r), catalog: catalogFor(["duties"]) }); // the refresh token rotated
  const twice = await runCli(["read", "--config", "nowhere.json", ...again.args.slice(1)]);
  assert.equal(twice.code, 0, twice.stderr);
  assertAllRecords(twice, r, "duties");
});
