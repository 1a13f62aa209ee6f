/**
 * `npm run demo`: the connector's main job on the embedded Outreach API replica, the way Airbyte
 * runs it — check, discover, a full read, then (after the replica changes some records) an
 * incremental read from the saved state. Rotated refresh tokens from CONTROL messages are saved
 * into the config between runs, as the platform does. A short summary goes to stderr.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startReplica } from "../integration_tests/replica/server.js";
import { lastStates, runCli, type CliRun } from "./lib/cli-runner.js";

const say = (line: string): boolean => process.stderr.write(line + "\n");

async function main(): Promise<void> {
  const replica = await startReplica();
  const dir = await mkdtemp(path.join(tmpdir(), "source-outreach-demo-"));
  const file = (name: string): string => path.join(dir, name);
  let config: Record<string, unknown> = {
    client_id: replica.clientId,
    client_secret: replica.clientSecret,
    refresh_token: replica.refreshToken,
    base_url: replica.apiBase,
    token_url: replica.tokenUrl,
    page_size: 100,
  };
  await writeFile(file("config.json"), JSON.stringify(config));

  /** Runs a command and stores any rotated config, as Airbyte does with CONTROL messages. */
  const run = async (...args: string[]): Promise<CliRun> => {
    const result = await runCli(args, { cwd: dir });
    for (const m of result.messages) if (m.type === "CONTROL") config = m.control!.connectorConfig!.config as Record<string, unknown>;
    await writeFile(file("config.json"), JSON.stringify(config));
    const errors = result.messages.filter((m) => m.type === "TRACE" && m.trace!.type === "ERROR");
    for (const e of errors) say(`  ERROR: ${e.trace!.error!.message}`);
    if (result.code !== 0) throw new Error(`source-outreach ${args[0]} exited with ${result.code}`);
    return result;
  };

  try {
    say(`Outreach API replica at ${replica.apiBase}; files in ${dir}`);
    const check = await run("check", "--config", "config.json");
    const status = check.messages.find((m) => m.type === "CONNECTION_STATUS")!.connectionStatus!;
    say(`check: ${status.status}${status.message ? ` (${status.message})` : ""}`);

    const discover = await run("discover", "--config", "config.json");
    const streams = discover.messages.find((m) => m.type === "CATALOG")!.catalog!.streams;
    say(`discover: ${streams.length} streams`);
    const catalog = {
      streams: streams.map((stream) => ({
        stream,
        sync_mode: stream.supported_sync_modes.includes("incremental") ? "incremental" : "full_refresh",
        destination_sync_mode: "append",
      })),
    };
    await writeFile(file("catalog.json"), JSON.stringify(catalog));

    const t0 = Date.now();
    const full = await run("read", "--config", "config.json", "--catalog", "catalog.json");
    const fullMs = Date.now() - t0;
    await writeFile(file("state.json"), JSON.stringify(lastStates(full)));

    const changed = { prospects: 5, mailings: 3, calls: 2 };
    for (const [stream, n] of Object.entries(changed)) replica.control.updateRecords(stream, replica.control.listIds(stream).ids!.slice(0, n));
    replica.control.addRecords("tasks", { count: 4 });
    say(`replica: updated ${Object.entries(changed).map(([s, n]) => `${n} ${s}`).join(", ")}; added 4 tasks`);

    const t1 = Date.now();
    const incremental = await run("read", "--config", "config.json", "--catalog", "catalog.json", "--state", "state.json");
    const incMs = Date.now() - t1;
    await writeFile(file("state.json"), JSON.stringify(lastStates(incremental)));

    summary(full, incremental, fullMs, incMs, replica.requests.total);
  } finally {
    await replica.close();
  }
}

function counts(run: CliRun): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of run.messages) if (m.type === "RECORD") out.set(m.record!.stream, (out.get(m.record!.stream) ?? 0) + 1);
  return out;
}

function summary(full: CliRun, incremental: CliRun, fullMs: number, incMs: number, requests: number): void {
  const a = counts(full);
  const b = counts(incremental);
  const states = new Map(lastStates(incremental).map((s) => [s!.stream!.stream_descriptor.name, JSON.stringify(s!.stream!.stream_state)] as const));
  const names = [...states.keys()].sort();
  const width = Math.max(...names.map((n) => n.length));
  say("");
  say(`${"stream".padEnd(width)}  full  incr  final state`);
  for (const n of names) say(`${n.padEnd(width)}  ${String(a.get(n) ?? 0).padStart(4)}  ${String(b.get(n) ?? 0).padStart(4)}  ${states.get(n)}`);
  const total = (m: Map<string, number>): number => [...m.values()].reduce((x, y) => x + y, 0);
  say("");
  say(`full read: ${total(a)} records from ${names.length} streams in ${fullMs} ms; incremental read: ${total(b)} records in ${incMs} ms; ${requests} API and token requests in all.`);
}

await main().catch((error: unknown) => {
  say(`demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
