/**
 * End to end: the built CLI against the replica — every stream, every record, states, resumption.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { STREAMS } from "../src/streams.js";
import { lastStates, ofType, recordsOf, runCli, type CliRun } from "./helpers/cli.js";
import { messageProblems, recordValidator } from "./helpers/protocol.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";

let r: Replica;
let full: CliRun;
before(async () => {
  r = await replica();
  full = await runCli(await readArgs(r, { config: configFor(r, { page_size: 20 }) }));
});
after(() => r.close());

/** Checks of the per-stream message discipline (airbyte-contract.md §4). */
function assertStreamDiscipline(run: CliRun): void {
  const statuses = new Map<string, string[]>();
  const sinceState = new Map<string, number>();
  const lastState = new Map<string, string>();
  const recordsBetween = new Map<string, number>();
  for (const m of run.messages) {
    if (m.type === "TRACE" && m.trace!.type === "STREAM_STATUS") {
      const name = m.trace!.stream_status!.stream_descriptor.name;
      statuses.set(name, [...(statuses.get(name) ?? []), m.trace!.stream_status!.status]);
    } else if (m.type === "RECORD") {
      const name = m.record!.stream;
      assert.deepEqual(statuses.get(name)?.slice(-1), ["RUNNING"], `${name}: record outside RUNNING`);
      sinceState.set(name, (sinceState.get(name) ?? 0) + 1);
      recordsBetween.set(name, (recordsBetween.get(name) ?? 0) + 1);
    } else if (m.type === "STATE") {
      assert.equal(m.state!.type, "STREAM");
      const name = m.state!.stream!.stream_descriptor.name;
      assert.equal(m.state!.sourceStats?.recordCount, sinceState.get(name) ?? 0, `${name}: recordCount`);
      const blob = JSON.stringify(m.state!.stream!.stream_state);
      if ((recordsBetween.get(name) ?? 0) > 0) assert.notEqual(blob, lastState.get(name), `${name}: identical consecutive states`);
      lastState.set(name, blob);
      sinceState.set(name, 0);
      recordsBetween.set(name, 0);
    }
  }
  for (const [name, list] of statuses) {
    assert.equal(list[0], "STARTED", name);
    assert.equal(list.at(-1), "COMPLETE", `${name}: ${list.join(",")}`);
    assert.ok(list.slice(1, -1).every((s) => s === "RUNNING") && list.length >= 3, `${name}: ${list.join(",")}`);
    assert.ok(lastState.has(name), `${name}: no STATE`);
    assert.equal(sinceState.get(name) ?? 0, 0, `${name}: records after the final state`);
  }
}

test("a full read emits every replica record of every stream, each valid against its schema", () => {
  assert.equal(full.code, 0, full.stderr);
  assert.deepEqual(messageProblems(full.messages), []);
  assert.equal(full.lines.length, full.messages.length, "every stdout line is JSON");
  for (const s of STREAMS) {
    const records = recordsOf(full, s.name);
    const expected = r.control.listIds(s.name).ids!;
    assert.ok(expected.length > 0, `${s.name} has data`);
    assert.deepEqual([...new Set(records.map((x) => x.id))].sort((a, b) => Number(a) - Number(b)), expected, s.name);
    const validate = recordValidator(s.name);
    for (const record of records) assert.ok(validate(record), `${s.name} ${record.id}: ${JSON.stringify(validate.errors)}`);
    if (s.cursorField) for (const record of records) assert.equal(typeof record[s.cursorField], "string", `${s.name} cursor at top level`);
  }
  assertStreamDiscipline(full);
  assert.equal(ofType(full, "TRACE").filter((m) => m.trace!.type === "ERROR").length, 0);
});

test("requests: page[size], count=false, sort on the cursor, links.next verbatim", () => {
  const queries = r.requests.entries.filter((e) => e.path === "/api/v2/prospects").map((e) => new URLSearchParams(e.query));
  assert.ok(queries.length >= 6, "prospects took several pages at page_size 20");
  assert.equal(queries[0]!.get("page[size]"), "20");
  assert.equal(queries[0]!.get("count"), "false");
  assert.equal(queries[0]!.get("sort"), "updatedAt");
  assert.ok(queries.slice(1).every((q) => q.get("page[after]")), "later pages follow links.next");
  const duties = r.requests.entries.filter((e) => e.path === "/api/v2/duties").map((e) => new URLSearchParams(e.query));
  assert.equal(duties[0]!.get("sort"), null, "no sort on a stream without a sortable cursor");
  const events = r.requests.entries.filter((e) => e.path === "/api/v2/events").map((e) => new URLSearchParams(e.query));
  assert.equal(events[0]!.get("sort"), "createdAt");
});

test("streams are read parents before children", () => {
  const started = ofType(full, "TRACE")
    .filter((m) => m.trace!.stream_status?.status === "STARTED")
    .map((m) => m.trace!.stream_status!.stream_descriptor.name);
  assert.ok(started.indexOf("call_dispositions") < started.indexOf("calls"));
  assert.ok(started.indexOf("call_purposes") < started.indexOf("calls"));
});

test("a second read with the last state emits the updated records and only boundary ties besides", async () => {
  const updated = { prospects: [3, 17, 43], calls: [1, 2], events: [] as number[] };
  r.control.updateRecords("prospects", updated.prospects);
  r.control.updateRecords("calls", updated.calls);
  const added = r.control.addRecords("events", { count: 2 }).map((e) => e.id);
  const names = ["prospects", "calls", "events", "duties"];
  const first = await runCli(await readArgs(r, { catalog: catalogFor(names) }));
  const second = await runCli(await readArgs(r, { catalog: catalogFor(names), state: lastStates(first) }));
  assert.equal(second.code, 0, second.stderr);
  // Run again from that state: only the boundary ties of the previous run come back.
  const third = await runCli(await readArgs(r, { catalog: catalogFor(names), state: lastStates(second) }));
  const ids = (run: CliRun, s: string): number[] => recordsOf(run, s).map((x) => x.id as number).sort((a, b) => a - b);
  for (const [stream, expected] of [["prospects", updated.prospects], ["calls", updated.calls], ["events", added]] as const) {
    const got = ids(second, stream);
    for (const id of expected) assert.ok(got.includes(id), `${stream}: updated ${id} re-read`);
    const finalCursor = (lastStates(second).find((s) => s!.stream!.stream_descriptor.name === stream)!.stream!.stream_state as Record<string, string>);
    const cursorField = STREAMS.find((s) => s.name === stream)!.cursorField!;
    for (const rec of recordsOf(third, stream)) assert.equal(rec[cursorField], finalCursor[cursorField], `${stream}: only ties with the saved cursor`);
  }
  assert.equal(recordsOf(second, "duties").length, r.control.listIds("duties").count, "full refresh streams read everything");
});

// Concurrency 1: one window, a state about every page; concurrency 4: split windows, whose low-water
// mark moves less often (every state is tried).
for (const [concurrency, minStates, every] of [[1, 5, 3], [4, 2, 1]] as const) {
  // every: try every n-th state (the second of each three with one window; all with windows)
  test(`resuming from any state taken mid-read loses nothing (concurrency ${concurrency})`, async () => {
    const stream = "prospects";
    const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10, concurrency }), catalog: catalogFor([stream]) }));
    const all = new Set(r.control.listIds(stream).ids);
    const states: { index: number; state: unknown }[] = [];
    run.messages.forEach((m, index) => m.type === "STATE" && states.push({ index, state: m.state }));
    assert.ok(states.length >= minStates, `${states.length} checkpoints`);
    for (const { index, state } of states.filter((_, i) => i % every === Math.min(1, every - 1))) {
      const before = new Set(run.messages.slice(0, index).filter((m) => m.type === "RECORD").map((m) => m.record!.data.id));
      const resumed = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10, concurrency }), catalog: catalogFor([stream]), state: [state] }));
      for (const m of resumed.messages) if (m.type === "RECORD") before.add(m.record!.data.id);
      assert.deepEqual([...all].filter((id) => !before.has(id)), [], `lost after resuming at message ${index}`);
    }
  });
}

test("an Airbyte-style config and state are accepted, and start_date applies on the first sync", async () => {
  const config = configFor(r, { redirect_uri: "https://example.com/oauth/callback", start_date: "2024-01-01T00:00:00Z" });
  const legacy = { prospects: { updatedAt: "2040-11-16T00:00:00Z" } };
  const future = await runCli(await readArgs(r, { config, catalog: catalogFor(["prospects"]), state: legacy }));
  assert.equal(future.code, 0, future.stderr);
  assert.equal(recordsOf(future).length, 0, "an abnormally large state yields no records");
  assert.deepEqual(lastStates(future)[0]!.stream!.stream_state, { updatedAt: "2040-11-16T00:00:00Z" });
  const token = r.requests.entries.filter((e) => e.path === "/oauth/token").at(-1)!;
  assert.equal(token.form?.redirect_uri, "https://example.com/oauth/callback");
  const fresh = await runCli(await readArgs(r, { config: configFor(r, { start_date: "2024-01-01" }), catalog: catalogFor(["prospects"]) }));
  const q = new URLSearchParams(r.requests.entries.filter((e) => e.path === "/api/v2/prospects").at(-1)!.query);
  assert.equal(new URLSearchParams(r.requests.entries.filter((e) => e.path === "/api/v2/prospects" && !e.query.includes("page%5Bafter%5D") && !e.query.includes("page[after]")).at(-1)!.query).get("filter[updatedAt][gte]"), "2024-01-01T00:00:00.000Z");
  assert.ok(q);
  for (const rec of recordsOf(fresh)) assert.ok(Date.parse(rec.updatedAt as string) >= Date.UTC(2024, 0, 1));
});

test("refresh-token rotation: every new refresh token is emitted in a CONTROL message with the full config", async () => {
  const config = configFor(r, { start_date: "2024-01-01" });
  const run = await runCli(await readArgs(r, { config, catalog: catalogFor(["stages"]) }));
  const controls = ofType(run, "CONTROL");
  assert.equal(controls.length, 1);
  const persisted = controls[0]!.control!.connectorConfig!.config as Record<string, unknown>;
  const { access_token, token_expiry_date, ...rest } = persisted;
  assert.deepEqual({ ...rest, refresh_token: "x" }, { ...config, refresh_token: "x" }, "the full config, plus the access token and its expiry");
  assert.match(String(access_token), /^[\w-]+\.[\w-]+\.[\w-]+$/, "the minted access token (a JWT)");
  const expiry = Date.parse(String(token_expiry_date));
  assert.match(String(token_expiry_date), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.ok(Math.abs(expiry - (Date.now() + 7200_000)) < 60_000, `expires in about 2 h: ${String(token_expiry_date)}`);
  assert.notEqual(persisted.refresh_token, config.refresh_token);
  assert.equal(persisted.refresh_token, r.refreshToken, "the replica's newest valid token");
  for (const m of run.messages.filter((m) => m.type !== "CONTROL")) {
    assert.ok(!JSON.stringify(m).includes(String(persisted.refresh_token)), "new refresh token only in CONTROL");
    assert.ok(!JSON.stringify(m).includes(String(access_token)), "access token only in CONTROL");
  }
});
