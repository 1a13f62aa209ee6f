/**
 * `npm run bench`: measures the connector against the replica and against a raw pipe on the same
 * data. Scenarios (each in fresh processes: replica, connector or raw pipe, and this reader):
 *   cpu       prospects, 0 latency: records/s ours vs raw pipe, requests per 1000 records
 *   memory    peak RSS and CPU time of a read of 200k and 1M prospects, ours vs raw pipe
 *   requests  every stream: requests per 1000 records vs ceil(records/1000)+1;
 *             mailings with the replica answering 502 above a byte size
 *   latency   100 ms per request, 12 streams: wall vs its lower bound (see latencyScenario)
 * Prints a table and writes bench/results/<timestamp>.json.
 * Options: --records N (cpu scenario, default 100000), --quick (skip the 1M read), --latency-ms N (default 100),
 *          --memory-records N,M (memory scenario counts, default 200000,1000000),
 *          --only cpu,memory,requests,latency (a subset of the scenarios)
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import fetch from "node-fetch";
import { ROOT } from "../scripts/lib/cli-runner.js";
import { STREAMS } from "../src/streams.js";

const dist = (p: string): string => path.join(ROOT, "dist", p);
const { values: opts } = parseArgs({
  options: {
    records: { type: "string", default: "100000" },
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
}

const RECORD = Buffer.from('{"type":"RECORD"');

/** Runs `node <args>` with stdout consumed here; counts records (lines, or RECORD messages). */
function runNode(args: string[], countMessages: boolean): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let records = 0;
    let carry: Buffer = Buffer.alloc(0);
    child.stdout.on("data", (chunk: Buffer) => {
      if (!countMessages) {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) records++;
        return;
      }
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let i = buf.indexOf(RECORD);
      let last = 0;
      while (i !== -1) {
        records++;
        last = i + RECORD.length;
        i = buf.indexOf(RECORD, last);
      }
      carry = buf.subarray(Math.max(last, buf.length - RECORD.length + 1));
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const usage = /__maxrss_kb=(\d+) __cpu_ms=(\d+)/.exec(stderr);
      if (code !== 0) process.stderr.write(stderr.slice(-2000));
      resolve({ wallMs, records, maxRssMb: usage ? Number(usage[1]) / 1024 : NaN, cpuMs: usage ? Number(usage[2]) : NaN, code });
    });
  });
}

/** The node flags of the connector's bin (its `#!/usr/bin/env -S node <flags>` line): the bench runs it as users do. */
const BIN_FLAGS = (/^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(dist("src/main.js"), "utf8").split("\n")[0]!)?.[1] ?? "").split(" ").filter(Boolean);

/** Runs the connector's `read` (under the RSS wrapper, with the bin's node flags) on the given streams. */
async function runConnector(replica: ReplicaProcess, streams: string[], config: Record<string, unknown> = {}): Promise<ProcessRun> {
  const dir = await mkdtemp(path.join(tmpdir(), "bench-"));
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
  return runNode([...BIN_FLAGS, dist("bench/measure.js"), dist("src/main.js"), "read", "--config", path.join(dir, "config.json"), "--catalog", path.join(dir, "catalog.json")], true);
}

async function runRaw(replica: ReplicaProcess, collection: string): Promise<ProcessRun> {
  const access_token = await replica.accessToken();
  return runNode([dist("bench/measure.js"), dist("bench/raw-pipe.js"), replica.info.apiBase, access_token, collection], false);
}

const fmt = (n: number, d = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const log = (line = ""): boolean => process.stdout.write(line + "\n");
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };

async function cpuScenario(count: number): Promise<void> {
  const replica = await ReplicaProcess.start({ records: { prospects: count } });
  try {
    await runRaw(replica, "prospects"); // warm the replica up
    const raw: ProcessRun[] = [];
    const ours: ProcessRun[] = [];
    let requests = 0;
    for (let i = 0; i < 2; i++) {
      raw.push(await runRaw(replica, "prospects"));
      await replica.takeRequests();
      ours.push(await runConnector(replica, ["prospects"], { concurrency: 1 }));
      requests = (await replica.takeRequests())["/api/v2/prospects"] ?? 0;
    }
    const best = (runs: ProcessRun[]): ProcessRun => runs.reduce((a, b) => (a.wallMs <= b.wallMs ? a : b));
    const r = best(raw);
    const o = best(ours);
    if (o.records !== count || r.records !== count) throw new Error(`record counts: ours ${o.records}, raw ${r.records}, replica ${count}`);
    const rate = (p: ProcessRun): number => (p.records / p.wallMs) * 1000;
    log(`cpu (0 latency, ${fmt(count)} prospects)`);
    log(`  raw pipe   ${fmt(rate(r)).padStart(8)} records/s  ${fmt(r.wallMs / 1000, 2)} s  peak RSS ${fmt(r.maxRssMb)} MB`);
    log(`  connector  ${fmt(rate(o)).padStart(8)} records/s  ${fmt(o.wallMs / 1000, 2)} s  peak RSS ${fmt(o.maxRssMb)} MB`);
    log(`  ratio ours/raw ${fmt(rate(o) / rate(r), 2)} (target >= 0.80); requests ${requests} for ${fmt(count)} records (target <= ${Math.ceil(count / 1000) + 1})`);
    results.cpu = { records: count, raw: { ...r, recordsPerSec: rate(r) }, ours: { ...o, recordsPerSec: rate(o) }, ratio: rate(o) / rate(r), requests };
  } finally {
    await replica.stop();
  }
}

/**
 * Peak RSS of a read of each count of prospects, connector vs raw pipe side by side on one replica,
 * with the CPU ratio: records per CPU-second (user + system) of ours over the raw pipe's.
 */
async function memoryScenario(counts: number[]): Promise<void> {
  const rows: { records: number; ours: ProcessRun; raw: ProcessRun; cpuRatio: number }[] = [];
  log("memory (peak RSS, connector vs raw pipe in one run; target <= 200 MB, stretch <= 150 MB; CPU ratio target >= 0.9)");
  for (const count of counts) {
    const replica = await ReplicaProcess.start({ records: { prospects: count } });
    try {
      const raw = await runRaw(replica, "prospects");
      const ours = await runConnector(replica, ["prospects"], { concurrency: 1 });
      if (ours.records !== count || raw.records !== count) throw new Error(`memory run read ${ours.records} (raw ${raw.records}) of ${count}`);
      const cpuRatio = raw.cpuMs / ours.cpuMs;
      rows.push({ records: count, ours, raw, cpuRatio });
      log(
        `  ${fmt(count).padStart(9)} prospects  ours ${fmt(ours.maxRssMb).padStart(4)} MB, raw pipe ${fmt(raw.maxRssMb).padStart(4)} MB; CPU ours ${fmt(ours.cpuMs / 1000, 1)} s, raw ${fmt(raw.cpuMs / 1000, 1)} s: ratio ${fmt(cpuRatio, 2)}`,
      );
    } finally {
      await replica.stop();
    }
  }
  results.memory = rows;
}

async function requestsScenario(): Promise<void> {
  const replica = await ReplicaProcess.start({ records: { mailings: 5000, prospects: 2500, tasks: 1200 } });
  try {
    const names = STREAMS.map((s) => s.name);
    const run = await runConnector(replica, names, { concurrency: 4 });
    const byPath = await replica.takeRequests();
    const rows: { stream: string; records: number; requests: number; target: number }[] = [];
    let over = 0;
    for (const s of STREAMS) {
      const { count } = await replica.control<{ count: number }>("GET", `streams/${s.name}/ids`);
      const requests = byPath[`/api/v2${s.path}`] ?? 0;
      const target = Math.ceil(count / 1000) + 1;
      if (requests > target) over++;
      rows.push({ stream: s.name, records: count, requests, target });
    }
    log(`requests (every stream, page_size 1000): ${run.records} records, ${Object.values(byPath).reduce((a, b) => a + b, 0)} requests in all; streams over target: ${over}`);
    for (const row of rows.filter((x) => x.records >= 1000)) {
      log(`  ${row.stream.padEnd(12)} ${fmt(row.records).padStart(6)} records  ${row.requests} requests  (${fmt((row.requests / row.records) * 1000, 2)} per 1000; target <= ${row.target})`);
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
    results.requests = { streams: rows, over, mailingsBodyLimit: { maxBytes, records: big.records, requests: mailingRequests } };
  } finally {
    await replica.stop();
  }
}

/**
 * Latency-bound reads: small records, 100 ms per request, 12 streams of 30 pages each. The lower
 * bound of the wall time is the largest of: the rate budget (requests beyond the budget available
 * at the start, at 10,000 per hour: zero here), Σ latency ÷ concurrency, and the longest stream's
 * chain of pages (cursor pages of one stream cannot be fetched in parallel).
 */
async function latencyScenario(latencyMs: number): Promise<void> {
  const names = ["call_dispositions", "call_purposes", "stages", "personas", "roles", "teams", "task_priorities", "task_purposes", "task_dispositions", "mail_aliases", "opportunity_stages", "profiles"];
  const perStream = 3000;
  const pageSize = 100;
  const replica = await ReplicaProcess.start({ records: Object.fromEntries(names.map((n) => [n, perStream])), latencyMs });
  const rows: Record<string, unknown>[] = [];
  try {
    log(`latency (${latencyMs} ms per request, ${names.length} streams of ${fmt(perStream)} small records, page_size ${pageSize})`);
    for (const concurrency of [2, 4, 8, 12]) {
      await replica.takeRequests();
      const run = await runConnector(replica, names, { concurrency, page_size: pageSize });
      const byPath = await replica.takeRequests();
      const requests = Object.values(byPath).reduce((a, b) => a + b, 0);
      const budgetBoundMs = (Math.max(0, requests - 10_000) / (10_000 / 3600)) * 1000;
      const latencyBoundMs = (requests * latencyMs) / concurrency;
      const chainBoundMs = Math.max(...names.map((n) => byPath[`/api/v2${STREAMS.find((s) => s.name === n)!.path}`] ?? 0)) * latencyMs;
      const bound = Math.max(budgetBoundMs, latencyBoundMs, chainBoundMs);
      rows.push({ concurrency, wallMs: run.wallMs, requests, lowerBoundMs: bound, ratio: run.wallMs / bound, records: run.records });
      log(
        `  concurrency ${String(concurrency).padStart(2)}: ${fmt(run.wallMs / 1000, 2)} s for ${run.records} records, ${requests} requests, lower bound ${fmt(bound / 1000, 2)} s, ratio ${fmt(run.wallMs / bound, 2)} (target <= 1.2)`,
      );
    }
    results.latency = { latencyMs, streams: names.length, perStream, pageSize, rows };
  } finally {
    await replica.stop();
  }
}

const run = (name: string): boolean => opts.only === undefined || opts.only.split(",").includes(name);
if (run("cpu")) await cpuScenario(Number(opts.records));
if (run("memory")) await memoryScenario(opts["memory-records"] ? opts["memory-records"].split(",").map(Number) : opts.quick ? [200_000] : [200_000, 1_000_000]);
if (run("requests")) await requestsScenario();
if (run("latency")) await latencyScenario(Number(opts["latency-ms"]));
const out = path.join(ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, JSON.stringify(results, null, 2));
log(`\nfigures written to ${path.relative(ROOT, out)}`);
