/**
 * `npm run bench`: measures the connector against the replica and against a raw pipe on the same
 * data. Scenarios (each in fresh processes: replica, connector or raw pipe, and this reader):
 *   cpu       prospects, 0 latency, default settings (the bin's V8 flags): records/s, CPU time and
 *             peak RSS, ours vs the raw pipe
 *             side by side, at 200k and 1M records; requests vs 1.05 × ceil(N/1000) + 2 × windows
 *   requests  every stream: requests vs ceil(records/1000)+1 (one window) or 1.05 × ceil(records/1000)
 *             + 2 × windows (split); mailings with the
 *             replica answering 502 above a byte size, and the requests of the second sync
 *   window    one 200k-record stream, 200 ms per page, concurrency 1 / 4 / 8: wall vs
 *             ceil(N/page_size) × latency / concurrency
 *   latency   100 ms per request, 12 streams: wall vs its lower bound at concurrency 4 / 8 / 12
 *   deletes   detect_deletes_every_hours 0 on calls of 10k / 100k / 1M records (--quick: 10k / 100k):
 *             a first check, 1 % deleted at random, a second check: its requests vs ceil(N/1000) + 1,
 *             tombstones, the state's size (target <= 64 KB at 100k); a first sync of 100k calls
 *             with and without the setting; and the IdSet text of dense ids with 1 % missing at random
 * Prints a table and writes bench/results/<timestamp>.json.
 * Options: --records N (cpu scenario sizes, comma-separated; default 200000,1000000), --quick
 *          (cpu at 200k only, window scenario at 50k records), --latency-ms N (default 100),
 *          --only cpu,requests,window,latency,deletes (a subset of the scenarios)
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import fetch from "node-fetch";
import { ROOT } from "../scripts/lib/cli-runner.js";
import { IdSet } from "../src/id-set.js";
import { STREAMS } from "../src/streams.js";
import { random } from "../test/helpers/random.js";

const dist = (p: string): string => path.join(ROOT, "dist", p);
const { values: opts } = parseArgs({
  options: {
    records: { type: "string" },
    quick: { type: "boolean", default: false },
    "latency-ms": { type: "string", default: "100" },
    only: { type: "string" },
    "memory-records": { type: "string" },
  },
});

interface ReplicaInfo {
  apiBase: string;
  tokenUrl: string;
  controlUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/** A replica in a child process, controlled over its HTTP control surface. */
class ReplicaProcess {
  private constructor(
    readonly info: ReplicaInfo,
    private readonly stopChild: () => Promise<void>,
  ) {}

  static async start(options: Record<string, unknown>): Promise<ReplicaProcess> {
    const child = spawn(process.execPath, [dist("bench/replica-child.js"), JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] });
    const info = await new Promise<ReplicaInfo>((resolve, reject) => {
      let buffer = "";
      child.stdout.on("data", (d: Buffer) => {
        buffer += d.toString();
        const nl = buffer.indexOf("\n");
        if (nl >= 0) resolve(JSON.parse(buffer.slice(0, nl)) as ReplicaInfo);
      });
      child.on("exit", (code) => reject(new Error(`replica exited with ${code}`)));
    });
    return new ReplicaProcess(info, async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    });
  }

  async control<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(new URL(route, this.info.controlUrl).href, {
      method,
      headers: { "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await res.json()) as T;
  }

  /** API requests per path since the last call (clears the log). */
  async takeRequests(): Promise<Record<string, number>> {
    const snap = await this.control<{ byPath: Record<string, number> }>("GET", "requests");
    await this.control("DELETE", "requests");
    return snap.byPath;
  }

  /** An access token minted without the token endpoint (no throttle, refresh tokens untouched). */
  async accessToken(): Promise<string> {
    return (await this.control<{ access_token: string }>("POST", "access-tokens")).access_token;
  }

  /** The newest valid refresh token (each connector run rotates it). */
  async refreshToken(): Promise<string> {
    return (await this.control<{ refreshTokens: string[] }>("GET", "credentials")).refreshTokens.at(-1)!;
  }

  stop(): Promise<void> {
    return this.stopChild();
  }
}

interface ProcessRun {
  wallMs: number;
  records: number;
  maxRssMb: number;
  /** User + system CPU time of the process, ms. */
  cpuMs: number;
  code: number | null;
  /** Windows split off (LOG lines "<stream>: window split at"), in all and per stream. */
  splits: number;
  splitsByStream: Map<string, number>;
  /** The last STATE message of each stream (connector runs). */
  states: Map<string, unknown>;
}

const RECORD = Buffer.from('{"type":"RECORD"');
const STATE = Buffer.from('{"type":"STATE"');
const LOG = Buffer.from('{"type":"LOG"');

/**
 * Runs `node <args>` with stdout consumed here, line by line: counts records (every line, or
 * RECORD messages), split windows, and keeps the last STATE of each stream.
 */
function runNode(args: string[], countMessages: boolean): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let records = 0;
    let splits = 0;
    const splitsByStream = new Map<string, number>();
    const states = new Map<string, unknown>();
    let carry: Buffer = Buffer.alloc(0);
    const line = (l: Buffer): void => {
      if (!countMessages) return void records++;
      if (l.subarray(0, RECORD.length).equals(RECORD)) records++;
      else if (l.subarray(0, STATE.length).equals(STATE)) {
        const m = JSON.parse(l.toString()) as { state: { stream: { stream_descriptor: { name: string } } } };
        states.set(m.state.stream.stream_descriptor.name, m.state);
      } else if (l.subarray(0, LOG.length).equals(LOG) && l.includes("window split at")) {
        splits++;
        const stream = /"message":"(\w+): window split at/.exec(l.toString())?.[1] ?? "";
        splitsByStream.set(stream, (splitsByStream.get(stream) ?? 0) + 1);
      }
    };
    child.stdout.on("data", (chunk: Buffer) => {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, start)) {
        line(buf.subarray(start, i));
        start = i + 1;
      }
      carry = Buffer.from(buf.subarray(start));
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const usage = /__maxrss_kb=(\d+) __cpu_ms=(\d+)/.exec(stderr);
      if (code !== 0) process.stderr.write(stderr.slice(-2000));
      resolve({ wallMs, records, maxRssMb: usage ? Number(usage[1]) / 1024 : NaN, cpuMs: usage ? Number(usage[2]) : NaN, code, splits, splitsByStream, states });
    });
  });
}

/** The node flags of the connector's bin (its `#!/usr/bin/env -S node <flags>` line): the bench runs it as users do. */
const BIN_FLAGS = (/^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(dist("src/main.js"), "utf8").split("\n")[0]!)?.[1] ?? "").split(" ").filter(Boolean);

/** Runs the connector's `read` (under the RSS wrapper, with the bin's node flags) on the given streams, incremental where offered. */
async function runConnector(replica: ReplicaProcess, streams: string[], config: Record<string, unknown> = {}, state?: unknown[]): Promise<ProcessRun> {
  const dir = await mkdtemp(path.join(tmpdir(), "bench-"));
  try {
    const refresh_token = await replica.refreshToken();
    const cfg = { client_id: replica.info.clientId, client_secret: replica.info.clientSecret, refresh_token, base_url: replica.info.apiBase, token_url: replica.info.tokenUrl, ...config };
    const catalog = {
      streams: streams.map((name) => {
        const s = STREAMS.find((x) => x.name === name)!;
        return { stream: { name, json_schema: {}, supported_sync_modes: s.syncModes }, sync_mode: s.syncModes.at(-1), destination_sync_mode: "append" };
      }),
    };
    await writeFile(path.join(dir, "config.json"), JSON.stringify(cfg));
    await writeFile(path.join(dir, "catalog.json"), JSON.stringify(catalog));
    const files = ["--config", path.join(dir, "config.json"), "--catalog", path.join(dir, "catalog.json")];
    if (state) {
      await writeFile(path.join(dir, "state.json"), JSON.stringify(state));
      files.push("--state", path.join(dir, "state.json"));
    }
    return await runNode([...BIN_FLAGS, dist("bench/measure.js"), dist("src/main.js"), "read", ...files], true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runRaw(replica: ReplicaProcess, collection: string): Promise<ProcessRun> {
  const access_token = await replica.accessToken();
  return runNode([dist("bench/measure.js"), dist("bench/raw-pipe.js"), replica.info.apiBase, access_token, collection], false);
}

const fmt = (n: number, d = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const log = (line = ""): boolean => process.stdout.write(line + "\n");
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
const sum = (byPath: Record<string, number>): number => Object.values(byPath).reduce((a, b) => a + b, 0);
const rate = (p: ProcessRun): number => (p.records / p.wallMs) * 1000;

/**
 * CPU and memory: prospects at 0 latency, the connector at default settings (concurrency 4,
 * page_size 1000) and the raw pipe, run one after the other on the same replica (best of two
 * below 1M records). Targets: CPU ratio >= 0.9, peak RSS <= 200 MB, requests <= 1.05 × ceil(N/1000)
 * + 2 × windows.
 */
async function cpuScenario(counts: number[]): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  log("cpu and memory (prospects, 0 latency; connector at default settings; raw pipe side by side)");
  for (const count of counts) {
    const replica = await ReplicaProcess.start({ records: { prospects: count } });
    try {
      const repeats = count >= 1_000_000 ? 1 : 2;
      if (repeats > 1) await runRaw(replica, "prospects"); // warm the replica up
      const raw: ProcessRun[] = [];
      const ours: ProcessRun[] = [];
      let requests = 0;
      for (let i = 0; i < repeats; i++) {
        raw.push(await runRaw(replica, "prospects"));
        await replica.takeRequests();
        ours.push(await runConnector(replica, ["prospects"]));
        requests = (await replica.takeRequests())["/api/v2/prospects"] ?? 0;
      }
      const best = (runs: ProcessRun[]): ProcessRun => runs.reduce((a, b) => (a.wallMs <= b.wallMs ? a : b));
      const r = best(raw);
      const o = best(ours);
      if (o.records !== count || r.records !== count) throw new Error(`record counts: ours ${o.records}, raw ${r.records}, replica ${count}`);
      const windows = o.splits + 1;
      const requestTarget = 1.05 * Math.ceil(count / 1000) + 2 * windows;
      log(`  ${fmt(count)} prospects`);
      log(`    raw pipe   ${fmt(rate(r)).padStart(8)} records/s  ${fmt(r.wallMs / 1000, 2)} s  peak RSS ${fmt(r.maxRssMb)} MB`);
      log(`    connector  ${fmt(rate(o)).padStart(8)} records/s  ${fmt(o.wallMs / 1000, 2)} s  peak RSS ${fmt(o.maxRssMb)} MB (target <= 200)`);
      const cpuRatio = r.cpuMs / o.cpuMs;
      log(`    CPU time ours ${fmt(o.cpuMs / 1000, 1)} s, raw ${fmt(r.cpuMs / 1000, 1)} s: records per CPU-second ratio ${fmt(cpuRatio, 2)}`);
      log(`    ratio ours/raw ${fmt(rate(o) / rate(r), 2)} (target >= 0.90); ${requests} requests in ${windows} windows (target <= ${fmt(requestTarget, 1)})`);
      rows.push({ records: count, raw: { ...r, states: undefined, recordsPerSec: rate(r) }, ours: { ...o, states: undefined, recordsPerSec: rate(o) }, ratio: rate(o) / rate(r), cpuRatio, requests, windows, requestTarget });
    } finally {
      await replica.stop();
    }
  }
  results.cpu = rows;
}

async function requestsScenario(): Promise<void> {
  const replica = await ReplicaProcess.start({ records: { mailings: 5000, prospects: 2500, tasks: 1200 } });
  try {
    const names = STREAMS.map((s) => s.name);
    const run = await runConnector(replica, names, { concurrency: 4 });
    const byPath = await replica.takeRequests();
    const rows: { stream: string; records: number; requests: number; windows: number; target: number }[] = [];
    let over = 0;
    for (const s of STREAMS) {
      const { count } = await replica.control<{ count: number }>("GET", `streams/${s.name}/ids`);
      const requests = byPath[`/api/v2${s.path}`] ?? 0;
      const windows = (run.splitsByStream.get(s.name) ?? 0) + 1;
      const target = windows === 1 ? Math.ceil(count / 1000) + 1 : Math.floor(1.05 * Math.ceil(count / 1000) + 2 * windows);
      if (requests > target) over++;
      rows.push({ stream: s.name, records: count, requests, windows, target });
    }
    log(`requests (every stream, page_size 1000, concurrency 4): ${run.records} records, ${sum(byPath)} requests in all, ${run.splits} windows split off; streams over target: ${over}`);
    for (const row of rows.filter((x) => x.records >= 1000)) {
      log(`  ${row.stream.padEnd(12)} ${fmt(row.records).padStart(6)} records  ${row.requests} requests in ${row.windows} window(s)  (${fmt((row.requests / row.records) * 1000, 2)} per 1000; target <= ${row.target})`);
    }
    // mailings whose 1000-record pages exceed the gateway's limit: the replica answers 502 above a byte size.
    const access_token = await replica.accessToken();
    const sample = await fetch(`${replica.info.apiBase}mailings?count=false&page%5Bsize%5D=100`, {
      headers: { Authorization: `Bearer ${access_token}`, "Content-Type": "application/vnd.api+json" },
    });
    const perRecord = (await sample.text()).length / 100;
    const maxBytes = Math.round(perRecord * 600);
    await replica.control("POST", "faults", { kind: "body_limit", stream: "mailings", maxBytes, times: "always" });
    await replica.takeRequests();
    const big = await runConnector(replica, ["mailings"], { concurrency: 1 });
    const mailingRequests = (await replica.takeRequests())["/api/v2/mailings"] ?? 0;
    log(
      `  mailings with 502 above ${fmt(maxBytes / 1024)} KiB per page (~${fmt(perRecord / 1024, 1)} KiB per record): ${big.records} records, ${mailingRequests} requests (${fmt((mailingRequests / big.records) * 1000, 2)} per 1000; target <= 2)`,
    );
    // The second sync: 2,000 mailings updated since; from the first sync's state (with its remembered
    // page size), and for comparison from the cursor alone.
    const { ids } = await replica.control<{ ids: number[] }>("GET", "streams/mailings/ids");
    await replica.control("POST", "streams/mailings/updates", { ids: ids.slice(0, 2000) });
    const state = big.states.get("mailings") as { stream: { stream_state: Record<string, unknown> } };
    const second = await runConnector(replica, ["mailings"], { concurrency: 1 }, [{ type: "STREAM", ...state }]);
    const secondRequests = (await replica.takeRequests())["/api/v2/mailings"] ?? 0;
    const { pageSize: _remembered, ...cursorOnly } = state.stream.stream_state;
    const forgetful = await runConnector(replica, ["mailings"], { concurrency: 1 }, [{ type: "STREAM", stream: { ...state.stream, stream_state: cursorOnly } }]);
    const forgetfulRequests = (await replica.takeRequests())["/api/v2/mailings"] ?? 0;
    log(
      `  second sync (2,000 updated): state ${JSON.stringify(state.stream.stream_state)} → ${second.records} records in ${secondRequests} requests; without the remembered page size ${forgetful.records} records in ${forgetfulRequests} requests`,
    );
    results.requests = {
      streams: rows,
      over,
      splits: run.splits,
      mailingsBodyLimit: { maxBytes, records: big.records, requests: mailingRequests, state: state.stream.stream_state },
      secondSync: { records: second.records, requests: secondRequests, withoutRemembered: { records: forgetful.records, requests: forgetfulRequests } },
    };
  } finally {
    await replica.stop();
  }
}

/**
 * One big stream at a fixed latency per page: wall vs ceil(N/page_size) × latency / concurrency
 * (target ratio <= 1.25) at concurrency 1, 4 and 8. Small records (call dispositions), so that the
 * latency, not the CPU, sets the pace.
 */
async function windowScenario(count: number, latencyMs: number): Promise<void> {
  const stream = "call_dispositions";
  const replica = await ReplicaProcess.start({ records: { [stream]: count }, latencyMs });
  const rows: Record<string, unknown>[] = [];
  try {
    log(`windows (one stream of ${fmt(count)} small records, ${latencyMs} ms per page, page_size 1000)`);
    for (const concurrency of [1, 4, 8]) {
      await replica.takeRequests();
      const run = await runConnector(replica, [stream], { concurrency });
      const requests = sum(await replica.takeRequests());
      if (run.records !== count) throw new Error(`window run read ${run.records} of ${count}`);
      const boundMs = (Math.ceil(count / 1000) * latencyMs) / concurrency;
      const windows = run.splits + 1;
      rows.push({ concurrency, wallMs: run.wallMs, requests, windows, boundMs, ratio: run.wallMs / boundMs, records: run.records });
      log(
        `  concurrency ${String(concurrency).padStart(2)}: ${fmt(run.wallMs / 1000, 2)} s, ${requests} requests in ${windows} windows (target <= ${fmt(1.05 * Math.ceil(count / 1000) + 2 * windows, 1)}), ` +
          `bound ${fmt(boundMs / 1000, 2)} s, ratio ${fmt(run.wallMs / boundMs, 2)} (target <= 1.25)`,
      );
    }
    results.window = { stream, records: count, latencyMs, rows };
  } finally {
    await replica.stop();
  }
}

/**
 * Latency-bound reads: small records, 100 ms per request, 12 streams of 30 pages each. The lower
 * bound of the wall time is the largest of: the rate budget (requests beyond the budget available
 * at the start, at 10,000 per hour: zero here), the fewest requests (ceil(records/page_size) per
 * stream) × latency ÷ concurrency, and one request's latency.
 */
async function latencyScenario(latencyMs: number): Promise<void> {
  const names = ["call_dispositions", "call_purposes", "stages", "personas", "roles", "teams", "task_priorities", "task_purposes", "task_dispositions", "mail_aliases", "opportunity_stages", "profiles"];
  const perStream = 3000;
  const pageSize = 100;
  const replica = await ReplicaProcess.start({ records: Object.fromEntries(names.map((n) => [n, perStream])), latencyMs });
  const rows: Record<string, unknown>[] = [];
  try {
    log(`latency (${latencyMs} ms per request, ${names.length} streams of ${fmt(perStream)} small records, page_size ${pageSize})`);
    for (const concurrency of [4, 8, 12]) {
      await replica.takeRequests();
      const run = await runConnector(replica, names, { concurrency, page_size: pageSize });
      const requests = sum(await replica.takeRequests());
      const fewest = names.length * Math.ceil(perStream / pageSize);
      const budgetBoundMs = (Math.max(0, fewest - 10_000) / (10_000 / 3600)) * 1000;
      const bound = Math.max(budgetBoundMs, (fewest * latencyMs) / concurrency, latencyMs);
      rows.push({ concurrency, wallMs: run.wallMs, requests, windows: run.splits + names.length, lowerBoundMs: bound, ratio: run.wallMs / bound, records: run.records });
      log(
        `  concurrency ${String(concurrency).padStart(2)}: ${fmt(run.wallMs / 1000, 2)} s for ${run.records} records, ${requests} requests (fewest ${fewest}), ${run.splits} windows split off, lower bound ${fmt(bound / 1000, 2)} s, ratio ${fmt(run.wallMs / bound, 2)} (target <= 1.2)`,
      );
    }
    results.latency = { latencyMs, streams: names.length, perStream, pageSize, rows };
  } finally {
    await replica.stop();
  }
}

/**
 * Delete detection (src/delete-check.ts) on `calls` (small records) of each size: a first read with
 * `detect_deletes_every_hours` 0 from a cursor later than every record (so the run is the check:
 * it lists every id and records the set), 1 % of the ids deleted at random, a second read from its
 * state. Targets: requests of a check <= ceil(N/1000) + 1 (plus the one request of the empty
 * incremental read), state <= 64 KB at 100k. Then the state's IdSet text alone for dense ids
 * 1..N with 1 % missing at random (the shape of real Outreach ids, outreach-api.md §3.2).
 */
async function deletesScenario(counts: number[]): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  log("deletes (calls, detect_deletes_every_hours 0; 1 % deleted at random between two checks)");
  const later = [{ type: "STREAM", stream: { stream_descriptor: { name: "calls" }, stream_state: { updatedAt: "2100-01-01T00:00:00.000Z" } } }];
  const deletesOf = (run: ProcessRun): { ids: string } => ((run.states.get("calls") as { stream: { stream_state: { deletes: { ids: string } } } }).stream.stream_state.deletes);
  for (const count of counts) {
    const replica = await ReplicaProcess.start({ records: { calls: count } });
    try {
      const first = await runConnector(replica, ["calls"], { detect_deletes_every_hours: 0 }, later);
      const firstRequests = (await replica.takeRequests())["/api/v2/calls"] ?? 0;
      const ids = IdSet.decode(deletesOf(first).ids).without(new IdSet());
      const rand = random(count);
      const gone = ids.filter(() => rand() < 0.01);
      for (let i = 0; i < gone.length; i += 5_000) await replica.control("POST", "streams/calls/deletions", { ids: gone.slice(i, i + 5_000) });
      const second = await runConnector(replica, ["calls"], { detect_deletes_every_hours: 0 }, [stateMessage(first)]);
      const requests = (await replica.takeRequests())["/api/v2/calls"] ?? 0;
      const stateBytes = JSON.stringify((second.states.get("calls") as { stream: { stream_state: unknown } }).stream.stream_state).length;
      const target = Math.ceil(count / 1000) + 1;
      log(
        `  ${fmt(count)} calls: first check ${firstRequests - 1} listing requests in ${fmt(first.wallMs / 1000, 1)} s; ${fmt(gone.length)} deleted; ` +
          `second check ${second.records} tombstones, ${requests - 1} listing requests (target <= ${fmt(target)}) + 1 incremental in ${fmt(second.wallMs / 1000, 1)} s, ` +
          `peak RSS ${fmt(second.maxRssMb)} MB; stream state ${fmt(stateBytes)} bytes`,
      );
      if (second.records !== gone.length) throw new Error(`${second.records} tombstones for ${gone.length} deleted`);
      rows.push({ records: count, deleted: gone.length, firstListingRequests: firstRequests - 1, listingRequests: requests - 1, target, tombstones: second.records, stateBytes, wallMs: second.wallMs, maxRssMb: second.maxRssMb });
    } finally {
      await replica.stop();
    }
  }
  // The cost on a first sync, where every record's id is noted and every STATE carries the set.
  const full = 100_000;
  const replica = await ReplicaProcess.start({ records: { calls: full } });
  try {
    const off = await runConnector(replica, ["calls"]);
    const on = await runConnector(replica, ["calls"], { detect_deletes_every_hours: 0 });
    log(
      `  first sync of ${fmt(full)} calls: ${fmt(off.wallMs / 1000, 1)} s, ${fmt(off.cpuMs / 1000, 1)} s CPU, ${fmt(off.maxRssMb)} MB without the setting; ` +
        `${fmt(on.wallMs / 1000, 1)} s, ${fmt(on.cpuMs / 1000, 1)} s CPU, ${fmt(on.maxRssMb)} MB with it (listing included)`,
    );
    results.deletesFirstSync = { records: full, off: { ...off, states: undefined }, on: { ...on, states: undefined } };
  } finally {
    await replica.stop();
  }
  const dense: Record<string, unknown>[] = [];
  for (const count of [10_000, 100_000, 1_000_000]) {
    const rand = random(count + 1);
    const set = new IdSet();
    for (let id = 1; id <= count; id++) if (rand() >= 0.01) set.add(id);
    let text = "";
    let encodeMs = Infinity;
    for (let k = 0; k < 5; k++) {
      const started = performance.now();
      text = set.encode();
      encodeMs = Math.min(encodeMs, performance.now() - started); // warm: the best of five
    }
    dense.push({ ids: count, bytes: text.length, encodeMs });
    log(`  dense ids 1..${fmt(count)}, 1 % missing at random: IdSet text ${fmt(text.length)} bytes, encoded in ${fmt(encodeMs, 1)} ms`);
  }
  results.deletes = { replica: rows, dense };
}

/** The STATE message of a run's calls stream, as input state. */
function stateMessage(run: ProcessRun): unknown {
  return run.states.get("calls");
}

const run = (name: string): boolean => opts.only === undefined || opts.only.split(",").includes(name);
const sizes = opts.records ? opts.records.split(",").map(Number) : opts.quick ? [200_000] : [200_000, 1_000_000];
if (run("cpu")) await cpuScenario(sizes);
if (run("requests")) await requestsScenario();
if (run("window")) await windowScenario(opts.quick ? 50_000 : 200_000, 200);
if (run("latency")) await latencyScenario(Number(opts["latency-ms"]));
if (run("deletes")) await deletesScenario(opts.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]);
const out = path.join(ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, JSON.stringify(results, null, 2));
log(`\nfigures written to ${path.relative(ROOT, out)}`);
