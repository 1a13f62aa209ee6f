/**
 * The terminal side of the run report: while `read` runs, one progress line on stderr rewritten in
 * place (`\r` and erase-line, ECMA-48 `CSI 2 K`) every quarter second; at the end, the summary as
 * a table. Only ever constructed when stderr is a TTY: stdout carries Airbyte messages only.
 */
import type { MessageWriter } from "./protocol/writer.js";
import type { RunOutcome, RunReport } from "./report.js";
import { seconds } from "./report.js";

const ERASE_LINE = "\r\x1b[2K";
const REFRESH_MS = 250;

/**
 * Echoes each WARN, ERROR and FATAL LOG message to the terminal as it is written, above the
 * progress line, masked as on stdout (`warning: <message>`): a person sees what went wrong without
 * reading the JSON output.
 */
export function echoWarnings(writer: MessageWriter, out: NodeJS.WriteStream): void {
  writer.observe({
    message: (m) => {
      const level = m.type === "LOG" ? m.log!.level : undefined;
      if (level !== "WARN" && level !== "ERROR" && level !== "FATAL") return;
      out.write(`${ERASE_LINE}${level === "WARN" ? "warning" : "error"}: ${writer.masker.mask(m.log!.message)}\n`);
    },
  });
}

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
    this.out.write(ERASE_LINE + table(this.report, outcome, this.out.columns).join("\n") + "\n");
  }
}

/**
 * The summary as aligned text rows: header, one row per stream, totals, then failure reasons. When
 * the rows would not fit in `columns` characters, the time column is left out and the final cursor
 * is shown without its field name and milliseconds (47 streams fit in 120 columns).
 */
export function table(report: RunReport, outcome: RunOutcome, columns = Infinity): string[] {
  const wide = rowsOf(report, outcome, false);
  return wide[1]!.length < columns ? wide : rowsOf(report, outcome, true); // wide[1]: the rule under the header, as wide as the table
}

function rowsOf(report: RunReport, outcome: RunOutcome, narrow: boolean): string[] {
  const cursor = (s: Parameters<RunReport["cursorOf"]>[0]): string => (narrow ? report.cursorOf(s).replace(/^\S+ (?=\S)/, "").replace(/\.\d+Z$/, "Z") : report.cursorOf(s));
  const streams = [...report.streams.values()].sort((a, b) => a.name.localeCompare(b.name));
  const t = report.totals(outcome.notStarted);
  const f = (x: number): string => x.toLocaleString("en-US");
  const rows: string[][] = [
    ["stream", "status", "records", "pages", "requests", "retries", "waits", "time", "final cursor"],
    ...streams.map((s) => [s.name, s.status, f(s.records), f(s.pages), f(s.requests), f(s.retries), `${f(s.waits)} / ${seconds(s.waitMs)}`, seconds(report.durationOf(s)), cursor(s)]),
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
  if (narrow) for (const r of rows) r.splice(7, 1); // the time column
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const numeric = new Set(narrow ? [2, 3, 4, 5, 6] : [2, 3, 4, 5, 6, 7]);
  const render = (r: string[]): string => r.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [render(rows[0]!), rule, ...rows.slice(1, -1).map(render), rule, render(rows.at(-1)!)];
  for (const s of streams) if (s.status === "incomplete" && s.reason && s.reason !== outcome.stopped) out.push(`${s.name} incomplete: ${s.reason}`);
  if (t.notStarted.length > 0) out.push(`not started: ${t.notStarted.join(", ")}`);
  if (outcome.stopped) out.push(`stopped early: ${outcome.stopped}`);
  return out;
}
