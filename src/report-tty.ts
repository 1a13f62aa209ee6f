/**
 * The terminal side of the run report: while `read` runs, one progress line on stderr rewritten in
 * place (`\r` and erase-line, ECMA-48 `CSI 2 K`) every quarter second; at the end, the summary as
 * a table. Only ever constructed when stderr is a TTY: stdout carries Airbyte messages only.
 */
import type { RunOutcome, RunReport } from "./report.js";
import { seconds } from "./report.js";

const ERASE_LINE = "\r\x1b[2K";
const REFRESH_MS = 250;

/** Progress line and final table on a terminal stream. */
export class TerminalView {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly report: RunReport,
  ) {
    this.timer = setInterval(() => this.out.write(ERASE_LINE + this.progressLine()), REFRESH_MS);
    this.timer.unref();
  }

  /** `streams 12/47 done, 4 running · 23,456 records · 80 requests · waiting 12 s (reason)`, cut to the terminal width. */
  progressLine(): string {
    const all = [...this.report.streams.values()];
    const done = all.filter((s) => s.status !== "running").length;
    const t = this.report.totals();
    const wait = this.report.currentWait;
    const left = wait ? wait.untilMs - this.report.now() : 0;
    const line =
      `streams ${done}/${this.report.cursorFields.size} done, ${all.length - done} running · ${t.records.toLocaleString("en-US")} records · ` +
      `${(t.requests + t.otherRequests).toLocaleString("en-US")} requests · ${seconds(t.elapsedMs)}` +
      (wait && left > 500 ? ` · waiting ${seconds(left)} (${wait.reason})` : "");
    return line.slice(0, Math.max(20, (this.out.columns ?? 100) - 1));
  }

  /** Stops the progress line and erases it. */
  erase(): void {
    clearInterval(this.timer);
    this.out.write(ERASE_LINE);
  }

  /** Stops the progress line and writes the table in its place. */
  close(outcome: RunOutcome): void {
    clearInterval(this.timer);
    this.out.write(ERASE_LINE + table(this.report, outcome).join("\n") + "\n");
  }
}

/** The summary as aligned text rows: header, one row per stream, totals, then failure reasons. */
export function table(report: RunReport, outcome: RunOutcome): string[] {
  const streams = [...report.streams.values()].sort((a, b) => a.name.localeCompare(b.name));
  const t = report.totals(outcome.notStarted);
  const f = (x: number): string => x.toLocaleString("en-US");
  const rows: string[][] = [
    ["stream", "status", "records", "pages", "requests", "retries", "waits", "time", "final cursor"],
    ...streams.map((s) => [s.name, s.status, f(s.records), f(s.pages), f(s.requests), f(s.retries), `${f(s.waits)} / ${seconds(s.waitMs)}`, seconds(report.durationOf(s)), report.cursorOf(s)]),
    [
      `total (${t.streams} streams)`,
      `${t.complete} ok, ${t.incomplete} incomplete`,
      f(t.records),
      f(t.pages),
      `${f(t.requests)} + ${f(t.otherRequests)}`,
      f(t.retries),
      `${f(t.waits)} / ${seconds(t.waitMs)}`,
      seconds(t.elapsedMs),
      "",
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const render = (r: string[]): string => r.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [render(rows[0]!), rule, ...rows.slice(1, -1).map(render), rule, render(rows.at(-1)!)];
  for (const s of streams) if (s.status === "incomplete" && s.reason && s.reason !== outcome.stopped) out.push(`${s.name} incomplete: ${s.reason}`);
  if (t.notStarted.length > 0) out.push(`not started: ${t.notStarted.join(", ")}`);
  if (outcome.stopped) out.push(`stopped early: ${outcome.stopped}`);
  return out;
}
