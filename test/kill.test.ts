/**
 * Crashes (issues 3, 13): `kill -9` at many random points of a read, each time resuming with the
 * last state emitted per stream (and the refresh token of the last CONTROL, as Airbyte would),
 * loses no record — also inside and between the windows of split streams; SIGTERM stops cleanly with exit 143, complete lines and a state covering everything
 * written; a reader that closes stdout early causes no crash.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { CLI, lastStates, recordsOf, runCli, type CliRun } from "./helpers/cli.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";
import { assertClean, assertResumeLosesNothing, statusesOf } from "./helpers/resilience.js";
import { random } from "./helpers/random.js";
import type { AirbyteMessage } from "../src/generated/protocol.js";

const STREAMS = ["prospects", "calls", "events", "duties", "stages"];
let r: Replica;
before(async () => {
  r = await replica({ records: { prospects: 160, calls: 90, events: 30, duties: 30, stages: 30 } });
});
after(() => r.close());

/** New refresh tokens from the replica's token endpoint, one per independent chain of runs. */
async function refreshTokens(n: number): Promise<string[]> {
  r.control.set({ rotateRefreshTokens: false });
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(r.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: r.clientId, client_secret: r.clientSecret, refresh_token: r.refreshTokens()[0]! }).toString(),
    });
    tokens.push(((await res.json()) as { refresh_token: string }).refresh_token);
  }
  r.control.set({ rotateRefreshTokens: true });
  return tokens;
}

interface Chain {
  kills: { afterLines: number; linesSeen: number; where: Where }[];
  runs: CliRun[];
}

/** A split window, from its LOG line (`<stream>: window split at <at>: … [<at>, <end>) …`). */
interface Split {
  stream: string;
  lo: number;
  hi: number;
}
function splitOf(m: AirbyteMessage): Split | undefined {
  const x = m.type === "LOG" ? /^(\w+): window split at (\S+): .* and \[\S+, (the end|\S+)\) are read/.exec(m.log!.message) : null;
  return x ? { stream: x[1]!, lo: Date.parse(x[2]!), hi: x[3] === "the end" ? Infinity : Date.parse(x[3]!) } : undefined;
}
function inWindow(m: AirbyteMessage, { stream, lo, hi }: Split): boolean {
  if (m.type !== "RECORD" || m.record!.stream !== stream) return false;
  const data = m.record!.data as Record<string, string>;
  const at = Date.parse(data.updatedAt ?? data.createdAt ?? "");
  return at >= lo && at < hi;
}

/**
 * Where a kill fell relative to the windows of split streams, from the run's split LOG lines and
 * its records: `between` when the window split off last had written no record yet, `inside` when
 * it had, `unsplit` without any split.
 */
type Where = "inside" | "between" | "unsplit";
function whereKilled(run: CliRun): Where {
  const last = run.messages.map((m, line) => ({ split: splitOf(m), line })).filter((x) => x.split).at(-1);
  if (!last) return "unsplit";
  return run.messages.slice(last.line).some((m) => inWindow(m, last.split!)) ? "inside" : "between";
}

/**
 * A kill aimed at the windows of split streams (given each stdout line in order): at the line that
 * logs a split (`records` 0: between the split and the new window's first record), or after the
 * new window's `records`-th record (inside it). The signal lands a little later than the line, so
 * `whereKilled` says where it fell.
 */
function aimAtWindow(records: number): (line: string) => boolean {
  let split: Split | undefined;
  let seen = 0;
  return (line) => {
    const m = JSON.parse(line) as AirbyteMessage;
    const created = splitOf(m);
    if (created) [split, seen] = [created, 0];
    else if (split && inWindow(m, split)) seen++;
    return split !== undefined && seen === records;
  };
}

/**
 * Reads until a run completes; every run but the last is killed with SIGKILL after a random
 * number of stdout lines, and the next one starts from the last state of each stream and the
 * refresh token of the last CONTROL message seen so far. With split streams, four kills in five
 * are aimed at a window (`aimAtWindow`), the random line count (plus `maxLine`) then being a fallback.
 */
async function chain(refreshToken: string, rand: () => number, maxKills: number, plan: Plan): Promise<Chain> {
  const states = new Map<string, unknown>();
  let token = refreshToken;
  const out: Chain = { kills: [], runs: [] };
  for (;;) {
    const kill = out.kills.length < maxKills ? 1 + Math.floor(rand() * plan.maxLine) : undefined;
    const aim = plan.concurrency > 2 ? Math.floor(rand() * 5) - 1 : -1;
    const when = aim >= 0 ? aimAtWindow(aim) : undefined;
    const config = configFor(r, { refresh_token: token, page_size: 4, concurrency: plan.concurrency });
    const args = await readArgs(r, { config, catalog: catalogFor(plan.streams), state: [...states.values()] });
    const run = await runCli(args, kill ? { killAfterLines: { lines: when ? kill + plan.maxLine : kill, signal: "SIGKILL", when } } : {});
    out.runs.push(run);
    for (const s of lastStates(run)) states.set(s!.stream!.stream_descriptor.name, s);
    const control = run.messages.filter((m) => m.type === "CONTROL").at(-1);
    if (control) token = (control.control!.connectorConfig!.config as { refresh_token: string }).refresh_token;
    if (run.signal === "SIGKILL") {
      assertClean(run, r, { killed: true });
      out.kills.push({ afterLines: kill!, linesSeen: run.lines.length, where: whereKilled(run) });
      continue;
    }
    assert.equal(run.code, 0, `a run after ${out.kills.length} kills: ${run.stderr}`);
    assertClean(run, r);
    return out;
  }
}

/** What a chain of killed runs reads: streams, concurrency, and the last stdout line a kill may fall after. */
interface Plan {
  streams: string[];
  concurrency: number;
  maxLine: number;
}

const plans: [string, Plan, number][] = [
  ["five streams, concurrency 2", { streams: STREAMS, concurrency: 2, maxLine: 70 }, 20261130],
  ["two split streams, concurrency 4", { streams: ["prospects", "calls"], concurrency: 4, maxLine: 120 }, 20261201],
];
for (const [title, plan, seed] of plans) {
  test(`kill -9 at random points (${title}), then resume from the last states: no record is lost`, async (t) => {
    const tokens = await refreshTokens(3);
    const chains = await Promise.all(tokens.map((token, i) => chain(token, random(seed + i), 8, plan)));
    let lost = 0;
    let delivered = 0;
    for (const c of chains) {
      for (const stream of plan.streams) {
        const union = new Set<number>();
        for (const run of c.runs) for (const x of recordsOf(run, stream)) union.add(x.id as number);
        for (const run of c.runs) delivered += recordsOf(run, stream).length;
        const missing = r.control.listIds(stream).ids!.filter((id) => !union.has(id));
        lost += missing.length;
        assert.deepEqual(missing, [], `${stream}: records lost`);
      }
    }
    const kills = chains.flatMap((c) => c.kills);
    const expected = plan.streams.reduce((a, s) => a + r.control.listIds(s).count, 0) * chains.length;
    const count = (where: Where): number => kills.filter((k) => k.where === where).length;
    t.diagnostic(
      `seeds ${seed}+0..2: ${kills.length} kill -9 points (after stdout lines ${kills.map((k) => k.linesSeen).join(", ")}; ` +
        `${count("inside")} inside windows, ${count("between")} between a split and the new window's first record, ${count("unsplit")} before any split), ` +
        `${lost} records lost, ${delivered} records delivered for ${expected} distinct: duplicate factor ${(delivered / expected).toFixed(2)} (re-reads after kills)`,
    );
    assert.ok(kills.length >= 20, `${kills.length} kill points`);
    if (plan.concurrency > 2) assert.ok(count("inside") >= 5 && count("between") >= 2, "kills inside and between windows");
    assert.equal(lost, 0);
  });
}

test("SIGTERM: exit 143, every line complete JSON, a state after the last record of each stream; resuming loses nothing", async () => {
  r.control.set({ latencyMs: 40 });
  try {
    const config = configFor(r, { page_size: 4, concurrency: 2 });
    const stopped = await runCli(await readArgs(r, { config, catalog: catalogFor(STREAMS) }), { killAfterLines: { lines: 60, signal: "SIGTERM" } });
    assert.equal(stopped.signal, null, "the process exits by itself");
    assert.equal(stopped.code, 143);
    assertClean(stopped, r);
    assert.ok(stopped.messages.some((m) => m.type === "LOG" && /SIGTERM received/.test(m.log!.message)));
    const started = STREAMS.filter((s) => statusesOf(stopped, s).length > 0);
    assert.ok(started.length >= 1 && recordsOf(stopped).length > 0);
    const unfinished = STREAMS.filter((s) => statusesOf(stopped, s).at(-1) !== "COMPLETE");
    assert.ok(unfinished.length >= 1, "the read was cut short");
    for (const s of started) {
      const own = stopped.messages.filter((m) => (m.type === "RECORD" && m.record!.stream === s) || (m.type === "STATE" && m.state!.stream!.stream_descriptor.name === s));
      if (own.some((m) => m.type === "RECORD")) assert.equal(own.at(-1)!.type, "STATE", `${s}: the last record is covered by a state`);
    }
    await assertResumeLosesNothing(r, stopped, config, STREAMS);
  } finally {
    r.control.set({ latencyMs: 0 });
  }
});

test("a second signal ends the read at once, by that signal; every line written is complete JSON", async () => {
  r.control.set({ latencyMs: 2_000 });
  try {
    const args = await readArgs(r, { config: configFor(r, { page_size: 2, concurrency: 2 }), catalog: catalogFor(STREAMS) });
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (c, s) => resolve([c, s])));
    let out = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    await new Promise((resolve) => setTimeout(resolve, 700)); // started, its first requests waiting
    assert.equal(child.exitCode, null, `still reading: ${out.slice(-500)} ${stderr}`);
    const started = Date.now();
    child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill("SIGTERM");
    const [code, signal] = await closed;
    assert.ok(Date.now() - started < 1_500, `ended in ${Date.now() - started} ms`);
    assert.ok(signal === "SIGTERM" || code === 143, `code ${code}, signal ${signal}`);
    for (const line of out.split("\n").filter(Boolean)) JSON.parse(line);
  } finally {
    r.control.set({ latencyMs: 0 });
  }
});

test("the reader closes stdout early (EPIPE, `| head`): the connector stops without a crash or a stack trace, one stderr line says why", async () => {
  const args = await readArgs(r, { config: configFor(r, { page_size: 2, concurrency: 2 }), catalog: catalogFor(STREAMS) });
  const before = r.requests.total;
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => (stderr += chunk));
  let seen = "";
  await new Promise<void>((resolve) => {
    child.stdout.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.split("\n").length > 5) {
        child.stdout.destroy();
        resolve();
      }
    });
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (c, s) => resolve([c, s])));
  assert.equal(signal, null, "not killed by a signal (SIGPIPE)");
  assert.equal(code, 1);
  assert.equal(stderr, "source-outreach: stdout was closed before the output ended (e.g. by `| head`); stopped with exit code 1.\n", "one line saying why, no stack trace");
  const requests = r.requests.total - before;
  const full = STREAMS.reduce((a, s) => a + Math.ceil(r.control.listIds(s).count / 2), 0);
  assert.ok(requests < full / 2, `stopped early: ${requests} requests of ${full}`);
});
