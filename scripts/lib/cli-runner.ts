/**
 * Runs the built CLI as a child process, the way the platform does, and parses its stdout.
 * Used by the demo, the benchmark and the tests.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AirbyteMessage } from "../../src/generated/protocol.js";

/** Repository root (this file runs from dist/scripts/lib/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
/** The compiled CLI entry point. */
export const CLI = path.join(ROOT, "dist/src/main.js");

/** What one CLI run printed. */
export interface CliRun {
  messages: AirbyteMessage[];
  /** Raw stdout lines (each must be one JSON message). */
  lines: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Sends this signal after the given number of stdout lines, or earlier, at the first line for
   * which `when` (given each complete line in order) returns true (kill tests).
   */
  killAfterLines?: { lines: number; signal: NodeJS.Signals; when?: (line: string) => boolean };
  /** "inherit": the child writes to this process's stderr (a terminal shows its progress line); `stderr` is then "". */
  stderr?: "inherit";
}

/** Runs `node dist/src/main.js ...args`; rejects only if the process cannot start. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", options.stderr ?? "pipe"],
    });
    const lines: string[] = [];
    let partial = "";
    let stderr = "";
    let killed = false;
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const kill = options.killAfterLines;
        if (!killed && kill && (lines.length >= kill.lines || kill.when?.(line))) {
          killed = true;
          child.kill(kill.signal);
        }
      }
    });
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (partial !== "") lines.push(partial);
      const messages: AirbyteMessage[] = [];
      for (const line of lines) {
        try {
          messages.push(JSON.parse(line) as AirbyteMessage);
        } catch {
          // A torn last line after SIGKILL is expected; tests that care look at `lines`.
        }
      }
      resolve({ messages, lines, code, signal, stderr });
    });
  });
}

/** Last STATE message per stream, as a list to pass back with --state. */
export function lastStates(run: CliRun): AirbyteMessage["state"][] {
  const last = new Map<string, AirbyteMessage["state"]>();
  for (const m of run.messages) if (m.type === "STATE") last.set(m.state!.stream!.stream_descriptor.name, m.state);
  return [...last.values()];
}
