/**
 * `npm run demo`: the connector's main job on the embedded Outreach API replica, the way Airbyte
 * runs it — check, discover, a full read, then (after the replica changes some records) an
 * incremental read from the saved state. Rotated refresh tokens from CONTROL messages are saved
 * into the config between runs, as the platform does. Each read's run report (src/report.ts) goes
 * to stderr: on a terminal the connector draws its progress line and table there itself; otherwise
 * the demo prints the summary LOG lines of each read.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
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
    const result = await runCli(args, { cwd: dir, ...(process.stderr.isTTY ? { stderr: "inherit" as const } : {}) });
    for (const m of result.messages) if (m.type === "CONTROL") config = m.control!.connectorConfig!.config as Record<string, unknown>;
    await writeFile(file("config.json"), JSON.stringify(config));
    const errors = result.messages.filter((m) => m.type === "TRACE" && m.trace!.type === "ERROR");
    for (const e of errors) say(`  ERROR: ${e.trace!.error!.message}`);
    if (result.code !== 0) throw new Error(`source-outreach ${args[0]} exited with ${result.code}`);
    return result;
  };

  try {
    say(`Outreach API replica at ${replica.apiBase}; files in ${dir} (removed at the end)`);
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

    say("full read:");
    const full = await run("read", "--config", "config.json", "--catalog", "catalog.json");
    summary(full);
    await writeFile(file("state.json"), JSON.stringify(lastStates(full)));

    const changed = { prospects: 5, mailings: 3, calls: 2 };
    for (const [stream, n] of Object.entries(changed)) replica.control.updateRecords(stream, replica.control.listIds(stream).ids!.slice(0, n));
    replica.control.addRecords("tasks", { count: 4 });
    say(`replica: updated ${Object.entries(changed).map(([s, n]) => `${n} ${s}`).join(", ")}; added 4 tasks`);

    say("incremental read from state.json:");
    const incremental = await run("read", "--config", "config.json", "--catalog", "catalog.json", "--state", "state.json");
    summary(incremental);
    await writeFile(file("state.json"), JSON.stringify(lastStates(incremental)));
    say(`${replica.requests.total} API and token requests in all.`);
  } finally {
    await replica.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The read's summary LOG lines (the connector's run report), unless a terminal showed its table already. */
function summary(read: CliRun): void {
  if (process.stderr.isTTY) return;
  for (const m of read.messages) if (m.type === "LOG" && m.log!.message.startsWith("Summary")) say(`  ${m.log!.message}`);
}

await main().catch((error: unknown) => {
  say(`demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
