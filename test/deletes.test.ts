/**
 * Delete detection (issue 14, src/delete-check.ts) against the replica, whose control surface
 * deletes records for good: tombstones for exactly the deleted ids, with a cursor above the
 * previous state; records created and deleted between two checks; an interval not yet due; a
 * failed listing; kill -9 during the listing; the state's `deletes` value; discover; the config.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { DELETED_AT_FIELD } from "../src/delete-check.js";
import { IdSet } from "../src/id-set.js";
import { lastStates, recordsOf, runCli, tempDir, writeJsonFiles, type CliRun } from "./helpers/cli.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";
import { apiRequests, assertClean, assertStateCounts, errorsOf, logsOf, param, statusesOf } from "./helpers/resilience.js";

const STREAMS = ["prospects", "accounts"];
let r: Replica;
let token: string;

before(async () => {
  r = await replica({ records: { prospects: 1_500, accounts: 40 } });
});
after(() => r.close());
beforeEach(() => {
  r.control.reset();
  token = r.refreshToken;
});

type State = NonNullable<CliRun["messages"][number]["state"]>;

/** One read with the refresh token of the previous one; returns the run and the last state of each stream. */
async function sync(state: State[] | undefined, extra: Record<string, unknown> = { detect_deletes_every_hours: 0 }, options: Parameters<typeof runCli>[1] = {}, streams = STREAMS): Promise<{ run: CliRun; states: State[] }> {
  const config = configFor(r, { refresh_token: token, concurrency: 2, ...extra });
  const run = await runCli(await readArgs(r, { config, catalog: catalogFor(streams), ...(state ? { state } : {}) }), options);
  const control = run.messages.filter((m) => m.type === "CONTROL").at(-1);
  if (control) token = (control.control!.connectorConfig!.config as { refresh_token: string }).refresh_token;
  if (!options.killAfterLines) assertStateCounts(run);
  return { run, states: lastStates(run) as State[] };
}

const tombstones = (run: CliRun, stream: string): Record<string, unknown>[] => recordsOf(run, stream).filter((x) => x[DELETED_AT_FIELD] !== undefined);
const idsOfTombstones = (run: CliRun, stream: string): number[] => tombstones(run, stream).map((x) => x.id as number).sort((a, b) => a - b);
const stateOf = (states: State[], stream: string): Record<string, unknown> => states.find((s) => s.stream!.stream_descriptor.name === stream)!.stream!.stream_state as Record<string, unknown>;
const deletesOf = (states: State[], stream: string): { checkedAt?: string; ids?: string; listing?: { after: number; ids: string; startedAt: string } } =>
  stateOf(states, stream).deletes as never;
const listings = (stream: string): ReturnType<typeof apiRequests> => apiRequests(r, stream).filter((e) => param(e, "sort") === "id");

/** Some ids of a stream spread over its range: every `step`-th one. */
const every = (stream: string, step: number, from = 0): number[] => r.control.listIds(stream).ids!.filter((_, i) => i >= from && (i - from) % step === 0);

test("sync, delete prospects and accounts, sync again: one tombstone per deleted id, none else, cursors above the previous state", async () => {
  const first = await sync(undefined);
  assert.equal(first.run.code, 0, first.run.stderr);
  assertClean(first.run, r);
  for (const s of STREAMS) {
    assert.deepEqual(tombstones(first.run, s), [], `${s}: the first check only records the set`);
    const d = deletesOf(first.states, s);
    assert.ok(d.checkedAt && d.ids, `${s}: ${JSON.stringify(d)}`);
    assert.deepEqual(IdSet.decode(d.ids).without(new IdSet()), r.control.listIds(s).ids, `${s}: the state holds every id`);
    assert.equal(typeof stateOf(first.states, s).updatedAt, "string", "the cursor keeps its key");
  }
  assert.ok(JSON.stringify(deletesOf(first.states, "prospects")).length < 1_000, "1,500 mostly dense ids take a few hundred bytes");
  const deleted = { prospects: every("prospects", 97, 3), accounts: every("accounts", 7, 1) };
  for (const [s, ids] of Object.entries(deleted)) r.control.deleteRecords(s, ids);
  r.requests.clear();
  const second = await sync(first.states);
  assert.equal(second.run.code, 0, second.run.stderr);
  assertClean(second.run, r);
  const checkLine = (run: CliRun, s: string): string[] => logsOf(run).filter((l) => l.startsWith(`${s}: delete check: `));
  for (const s of STREAMS) {
    const listed = r.control.listIds(s).count;
    assert.deepEqual(checkLine(first.run, s), [`${s}: delete check: ${(listed + deleted[s as keyof typeof deleted].length).toLocaleString("en-US")} ids listed; the first check records the set, no tombstones.`]);
    assert.deepEqual(checkLine(second.run, s), [`${s}: delete check: ${listed.toLocaleString("en-US")} ids listed; ${deleted[s as keyof typeof deleted].length} tombstones for ids gone since the last check.`]);
  }
  for (const [s, ids] of Object.entries(deleted)) {
    assert.ok(ids.length >= 5, `${s}: ${ids.length} deleted`);
    assert.deepEqual(idsOfTombstones(second.run, s), ids, `${s}: exactly the deleted ids`);
    const previous = Date.parse(stateOf(first.states, s).updatedAt as string);
    for (const t of tombstones(second.run, s)) {
      assert.deepEqual(Object.keys(t).sort(), [DELETED_AT_FIELD, "id", "updatedAt"].sort());
      assert.equal(t.updatedAt, t[DELETED_AT_FIELD]);
      assert.match(t.updatedAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Date.parse(t.updatedAt as string) > previous, `${s}: tombstone cursor ${t.updatedAt} above the previous state ${previous}`);
    }
    // The tombstones do not move the cursor state: it is the largest cursor of a real record.
    const real = recordsOf(second.run, s).filter((x) => x[DELETED_AT_FIELD] === undefined).map((x) => Date.parse(x.updatedAt as string));
    const cursor = Date.parse(stateOf(second.states, s).updatedAt as string);
    assert.ok(cursor <= Math.max(previous, ...real), `${s}: state ${cursor} not moved by tombstones`);
    const n = r.control.listIds(s).count + ids.length;
    const requests = listings(s);
    assert.ok(requests.length >= 1 && requests.length <= Math.ceil(n / 1000) + 1, `${s}: ${requests.length} listing requests for ${n} ids`);
    for (const e of requests) {
      assert.equal(param(e, "page[size]"), "1000");
      assert.equal(param(e, "count"), "false");
      assert.equal(param(e, `fields[${s === "prospects" ? "prospect" : "account"}]`), "");
      assert.equal(param(e, "newFilterSyntax"), null);
    }
    assert.deepEqual(IdSet.decode(deletesOf(second.states, s).ids!).without(new IdSet()), r.control.listIds(s).ids, `${s}: the new set is the listed one`);
  }
  // The tombstones are committed by the stream's next STATE, which counts them and carries the new check.
  const lines = second.run.messages;
  const ofProspects = (m: (typeof lines)[number]): boolean => (m.type === "RECORD" && m.record!.stream === "prospects") || (m.type === "STATE" && m.state!.stream!.stream_descriptor.name === "prospects");
  const own = lines.filter(ofProspects);
  const lastTombstone = own.findLastIndex((m) => m.type === "RECORD" && (m.record!.data as Record<string, unknown>)[DELETED_AT_FIELD] !== undefined);
  const committing = own.slice(lastTombstone).findIndex((m) => m.type === "STATE") + lastTombstone;
  assert.ok(committing > lastTombstone, "a STATE follows the tombstones");
  const state = own[committing]!.state!;
  assert.equal((state.stream!.stream_state as { deletes: { checkedAt: string } }).deletes.checkedAt, tombstones(second.run, "prospects")[0]!.updatedAt);
  const since = own.slice(0, committing).findLastIndex((m) => m.type === "STATE");
  assert.equal(state.sourceStats!.recordCount, committing - since - 1, "its count covers the tombstones and records since the previous STATE");
  for (const m of own.slice(0, lastTombstone)) {
    if (m.type === "STATE") assert.equal((m.state!.stream!.stream_state as { deletes: { checkedAt: string } }).deletes.checkedAt, deletesOf(first.states, "prospects").checkedAt, "states before the tombstones keep the old check");
  }
  // Nothing changed: the listing (first, at concurrency 1) and the records re-read at the saved cursor
  // still give states that differ whenever records lie between them (checked in sync()).
  const third = await sync(second.states, { detect_deletes_every_hours: 0, concurrency: 1 });
  for (const s of STREAMS) assert.deepEqual(tombstones(third.run, s), [], `${s}: no tombstone twice`);
  assert.ok(recordsOf(third.run, "prospects").length > 0, "records at the saved cursor are read again");
});

test("a record created and deleted between two checks gets its tombstone; an interval not yet due sends no listing request", async () => {
  const first = await sync(undefined);
  const [created] = r.control.addRecords("prospects");
  r.requests.clear();
  const between = await sync(first.states, { detect_deletes_every_hours: 24 });
  assert.equal(between.run.code, 0, between.run.stderr);
  assert.deepEqual(listings("prospects").concat(listings("accounts")), [], "not due: no listing");
  assert.ok(recordsOf(between.run, "prospects").some((x) => x.id === created!.id), "the new record is read");
  assert.equal(deletesOf(between.states, "prospects").checkedAt, deletesOf(first.states, "prospects").checkedAt, "the check time is kept");
  assert.ok(IdSet.decode(deletesOf(between.states, "prospects").ids!).has(created!.id), "its id joins the state");
  r.control.deleteRecords("prospects", [created!.id]);
  const last = await sync(between.states, { detect_deletes_every_hours: 0 });
  assert.deepEqual(idsOfTombstones(last.run, "prospects"), [created!.id]);
  assert.deepEqual(idsOfTombstones(last.run, "accounts"), []);
});

test("a record deleted and re-created (a new id) and one bumped: only the deleted id is tombstoned (record_format airbyte_v1)", async () => {
  const first = await sync(undefined);
  const [gone, bumped] = every("prospects", 500, 10);
  r.control.deleteRecords("prospects", [gone!]);
  const [again] = r.control.addRecords("prospects");
  r.control.updateRecords("prospects", [bumped!]);
  const second = await sync(first.states, { detect_deletes_every_hours: 0, record_format: "airbyte_v1" });
  assert.deepEqual(idsOfTombstones(second.run, "prospects"), [gone]);
  assert.deepEqual(Object.keys(tombstones(second.run, "prospects")[0]!).sort(), [DELETED_AT_FIELD, "id", "updatedAt"].sort(), "the same tombstone in airbyte_v1");
  const real = recordsOf(second.run, "prospects").filter((x) => x[DELETED_AT_FIELD] === undefined).map((x) => x.id);
  assert.ok(real.includes(again!.id) && real.includes(bumped));
});

test("the listing fails (HTTP 400): a WARN naming the stream, no tombstone, the stream completes, the previous check is kept", async () => {
  const first = await sync(undefined);
  r.control.deleteRecords("prospects", every("prospects", 300));
  // concurrency 1: the listing is the first prospects request.
  r.control.addFaults({ kind: "http_error", status: 400, stream: "prospects", times: 1 });
  const second = await sync(first.states, { detect_deletes_every_hours: 0, concurrency: 1 });
  assert.equal(second.run.code, 0, second.run.stderr);
  assert.deepEqual(tombstones(second.run, "prospects"), []);
  assert.deepEqual(statusesOf(second.run, "prospects").at(-1), "COMPLETE");
  assert.deepEqual(errorsOf(second.run), []);
  assert.ok(logsOf(second.run).some((l) => /^prospects: the delete check failed \(.*400/.test(l)), logsOf(second.run).join("\n"));
  assert.deepEqual(deletesOf(second.states, "prospects").checkedAt, deletesOf(first.states, "prospects").checkedAt);
  assert.equal(deletesOf(second.states, "prospects").listing, undefined);
  // The next check finds them.
  const third = await sync(second.states);
  const gone = expectedGone(first.states);
  assert.ok(gone.length >= 4, `${gone.length} deleted`);
  assert.deepEqual(idsOfTombstones(third.run, "prospects"), gone);
});

/** Ids of the first run's prospects state that the replica no longer holds. */
function expectedGone(states: State[]): number[] {
  const live = new Set(r.control.listIds("prospects").ids);
  return IdSet.decode(deletesOf(states, "prospects").ids!).without(new IdSet()).filter((id) => !live.has(id));
}

test("kill -9 during the listing, then resume from the last states: every deleted id tombstoned once committed, no false one", async () => {
  // 12,000 calls (small records): a listing of 12 pages, a progress STATE after page 10.
  await r.close();
  r = await replica({ records: { calls: 12_000 } });
  token = r.refreshToken;
  const one = ["calls"];
  const base = await sync(undefined, { detect_deletes_every_hours: 0, concurrency: 1 }, {}, one);
  assert.equal(base.run.code, 0, base.run.stderr);
  const deleted = every("calls", 401, 5);
  r.control.deleteRecords("calls", deleted);
  const committed = new Set<number>();
  const seen: number[] = [];
  let resumed = 0;
  for (const kill of [2, 3, 4, 5]) {
    // One chain per kill point: killed, then resumed to completion.
    let states: State[] = base.states;
    for (let k = 0; ; k++) {
      const run = (await sync(states, { detect_deletes_every_hours: 0, concurrency: 1 }, k === 0 ? { killAfterLines: { lines: kill, signal: "SIGKILL" } } : {}, one)).run;
      assertClean(run, r, { killed: k === 0 });
      const msgs = run.messages;
      msgs.forEach((m, i) => {
        const data = m.type === "RECORD" ? (m.record!.data as Record<string, unknown>) : undefined;
        if (!data || data[DELETED_AT_FIELD] === undefined) return;
        seen.push(data.id as number);
        if (msgs.slice(i + 1).some((n) => n.type === "STATE")) committed.add(data.id as number);
      });
      const last = lastStates(run) as State[];
      if (last.length > 0) {
        if (k === 0 && deletesOf(last, "calls").listing) resumed++;
        states = last;
      }
      if (k === 0) {
        assert.equal(run.signal, "SIGKILL");
        continue;
      }
      assert.equal(run.code, 0, run.stderr);
      break;
    }
  }
  assert.ok(resumed >= 1, "some kill fell after a listing checkpoint");
  assert.ok(listings("calls").some((e) => param(e, "filter[id]") !== null), "a listing resumed after the last id listed");
  assert.deepEqual([...committed].sort((a, b) => a - b), deleted, "every deleted id tombstoned (committed)");
  assert.deepEqual(seen.filter((id) => !deleted.includes(id)), [], "no false tombstone");
});

test("state: a malformed deletes value is a config_error naming the file and field; without the setting it is ignored", async () => {
  const dir = await tempDir();
  const state = [{ type: "STREAM", stream: { stream_descriptor: { name: "prospects" }, stream_state: { updatedAt: "2020-01-01T00:00:00.000Z", deletes: { checkedAt: "2020-01-01T00:00:00.000Z", ids: "[1,2]" } } } }];
  const paths = await writeJsonFiles(dir, { config: configFor(r, { detect_deletes_every_hours: 0 }), catalog: catalogFor(["prospects"]), state });
  const run = await runCli(["read", "--config", paths.config!, "--catalog", paths.catalog!, "--state", paths.state!]);
  assert.equal(run.code, 1);
  const e = errorsOf(run)[0]!;
  assert.equal(e.failure_type, "config_error");
  assert.match(e.message, new RegExp(`${paths.state}: prospects\\.deletes\\.ids: must be a string starting with "1:"`));
  const off = await sync(state as State[], {}, {}, ["prospects"]);
  assert.equal(off.run.code, 0, off.run.stderr);
  assert.equal(stateOf(off.states, "prospects").deletes, undefined, "no check, no deletes key");
});

test("discover declares _ab_cdc_deleted_at on streams with a cursor only when the setting is on; the setting is validated", async () => {
  const dir = await tempDir();
  const discover = async (extra: Record<string, unknown>): Promise<CliRun> => {
    const paths = await writeJsonFiles(dir, { config: configFor(r, extra) });
    return runCli(["discover", "--config", paths.config!]);
  };
  const streamsOf = (run: CliRun): { name: string; json_schema: { properties: Record<string, unknown> }; default_cursor_field?: string[] }[] =>
    run.messages.find((m) => m.type === "CATALOG")!.catalog!.streams as never;
  const on = streamsOf(await discover({ detect_deletes_every_hours: 12 }));
  for (const s of on) assert.equal(DELETED_AT_FIELD in s.json_schema.properties, s.default_cursor_field !== undefined, s.name);
  assert.deepEqual((on.find((s) => s.name === "prospects")!.json_schema.properties[DELETED_AT_FIELD] as { type: string[] }).type, ["null", "string"]);
  for (const s of streamsOf(await discover({}))) assert.ok(!(DELETED_AT_FIELD in s.json_schema.properties), s.name);
  const bad = await discover({ detect_deletes_every_hours: -1 });
  assert.equal(bad.code, 1);
  assert.match(errorsOf(bad)[0]!.message, /detect_deletes_every_hours: must be >= 0/);
});

test("with start_date, an id the destination never received is never tombstoned; a future checkedAt does not postpone the check", async () => {
  const all = recordsOf((await sync(undefined, {}, {}, ["prospects"])).run, "prospects");
  const cursors = all.map((x) => x.updatedAt as string).sort();
  const startDate = cursors[Math.floor(cursors.length / 2)]!;
  const first = await sync(undefined, { detect_deletes_every_hours: 0, start_date: startDate }, {}, ["prospects"]);
  const emitted = new Set(recordsOf(first.run, "prospects").map((x) => x.id as number));
  const older = all.filter((x) => (x.updatedAt as string) < startDate).map((x) => x.id as number);
  assert.equal(first.run.code, 0, JSON.stringify(errorsOf(first.run)));
  assert.ok(older.length > 20 && emitted.size > 20 && older.every((id) => !emitted.has(id)), `${older.length} older, ${emitted.size} emitted`);
  assert.ok(listings("prospects").every((e) => param(e, "fields[prospect]") === "updatedAt"), "the listing asks for the cursor only");
  const known = IdSet.decode(deletesOf(first.states, "prospects").ids!);
  assert.ok(older.every((id) => !known.has(id)) && [...emitted].every((id) => known.has(id)), "the set holds what was emitted, not the older ids");
  const gone = [older[3]!, older[40]!, [...emitted][7]!];
  r.control.deleteRecords("prospects", gone);
  const future = first.states.map((s) => structuredClone(s));
  (stateOf(future, "prospects").deletes as { checkedAt: string }).checkedAt = "2099-01-01T00:00:00.000Z";
  r.requests.clear();
  const second = await sync(future, { detect_deletes_every_hours: 24, start_date: startDate }, {}, ["prospects"]);
  assert.equal(second.run.code, 0, second.run.stderr);
  assert.ok(listings("prospects").length > 0, "a checkedAt in the future is due");
  assert.deepEqual(idsOfTombstones(second.run, "prospects"), [gone[2]]);
});
