/** Helpers around the CLI runner for tests: temp folders, input files, message selection. */
import { rmSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AirbyteMessage } from "../../src/generated/protocol.js";
import type { CliRun } from "../../scripts/lib/cli-runner.js";

export { CLI, lastStates, ROOT, runCli, type CliRun, type RunOptions } from "../../scripts/lib/cli-runner.js";

const created = new Set<string>();
// Every folder made here is removed when the test process exits, passed or failed (configs in them
// hold credentials). node --test runs each test file in its own process.
process.once("exit", () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the test process exits (even after a failure). */
export async function tempDir(prefix = "source-outreach-"): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  created.add(dir);
  return dir;
}

/** Writes `name.json` files into `dir` and returns their paths. */
export async function writeJsonFiles(dir: string, files: Record<string, unknown>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(files)) {
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, typeof value === "string" ? value : JSON.stringify(value));
    out[name] = file;
  }
  return out;
}

/** Messages of one type. */
export function ofType<T extends AirbyteMessage["type"]>(run: CliRun, type: T): AirbyteMessage[] {
  return run.messages.filter((m) => m.type === type);
}

/** RECORD data of a stream (or of all streams). */
export function recordsOf(run: CliRun, stream?: string): Record<string, unknown>[] {
  return run.messages
    .filter((m) => m.type === "RECORD" && (stream === undefined || m.record!.stream === stream))
    .map((m) => m.record!.data as Record<string, unknown>);
}

