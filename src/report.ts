/**
 * The run report of `read`: the one subscriber of the run's events (events.ts: requests, retries,
 * waits) and of what the writer sends (stream statuses, pages, states). It renders
 * - the end-of-run summary as LOG INFO messages (Airbyte shows them in the sync log,
 *   airbyte-contract.md §2): one line per stream that started, then the totals;
 * - on a terminal, a live progress line and the same figures as a table on stderr (report-tty.ts);
 * - with `--debug`, one DEBUG LOG line per request (`logRequests`).
 */
import type { RunEvents } from "./events.js";
import { logMessage, type AirbyteMessage } from "./protocol/messages.js";
import type { MessageWriter } from "./protocol/writer.js";
import { TerminalView } from "./report-tty.js";

/** What one stream did, as far as the report has seen. */
export interface StreamStats {
  name: string;
  status: "running" | "complete" | "incomplete";
  records: number;
  pages: number;
  requests: number;
  retries: number;
  /** Rate-limit and pacing waits, and their total length in ms. */
  waits: number;
  waitMs: number;
  /** Epoch ms (UTC) of STARTED and of COMPLETE/INCOMPLETE. */
  startedMs: number;
  endedMs?: number;
  /** The last STATE's stream_state. */
  state?: Record<string, unknown>;
  /** One-line reason of a failure. */
  reason?: string;
}

/** Figures of the whole run. */
export interface Totals {
  streams: number;
  complete: number;
  incomplete: number;
  notStarted: string[];
  records: number;
  pages: number;
  /** API requests of the streams, and requests outside any stream (token endpoint). */
  requests: number;
  otherRequests: number;
  retries: number;
  waits: number;
  waitMs: number;
  /** Wall time of the run so far, ms. */
  elapsedMs: number;
}

/** How a run ended, as `read` knows it. */
export interface RunOutcome {
  /** Streams that failed and the error (the first line of its message is the reason). */
  failures: { stream: string; error: unknown }[];
  /** Streams never started (the read stopped early). */
  notStarted: string[];
  /** Why the whole read stopped early (a signal, an unreachable API), if it did. */
  stopped?: string;
}

export interface ReportOptions {
  /** stderr when it is a terminal: progress line and final table go there. Never set otherwise. */
  terminal?: NodeJS.WriteStream;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
}

const n = (x: number): string => x.toLocaleString("en-US");
/** ms → `1.2 s`. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const oneLine = (text: string): string => text.split("\n")[0]!.slice(0, 300);

/** Counts a read's events per stream and renders them. */
export class RunReport {
  readonly streams = new Map<string, StreamStats>();
  private otherRequests = 0;
  private readonly startedMs: number;
  /** The report's clock, epoch ms. */
  readonly now: () => number;
  private readonly view: TerminalView | undefined;
  /** Waits counted at their planned length that may not have ended yet (a stop cuts them short). */
  private waiting: { stats: StreamStats; endMs: number }[] = [];
  /** Epoch ms until which the longest current wait or retry sleep lasts, and why. */
  currentWait: { untilMs: number; reason: string } | undefined;

  /**
   * Subscribes to the run's events and to the writer's messages.
   * @param cursorFields each configured stream's cursor field (null for full-refresh-only streams)
   */
  constructor(
    events: RunEvents,
    writer: MessageWriter,
    readonly cursorFields: ReadonlyMap<string, string | null>,
    options: ReportOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.startedMs = this.now();
    const of = (stream?: string): StreamStats | undefined => (stream === undefined ? undefined : this.streams.get(stream));
    events.on("request", (e) => {
      const s = of(e.stream);
      if (s) s.requests++;
      else this.otherRequests++;
    });
    events.on("retry", (e) => {
      const s = of(e.stream);
      if (s) s.retries++;
      this.waitUntil(this.now() + e.delayMs, "retry");
    });
    events.on("wait", (e) => {
      const s = of(e.stream);
      if (s) {
        s.waits++;
        s.waitMs += e.ms;
        const now = this.now();
        this.waiting = this.waiting.filter((w) => w.endMs > now);
        this.waiting.push({ stats: s, endMs: now + e.ms });
      }
      this.waitUntil(this.now() + e.ms, e.reason);
    });
    writer.observe({ message: (m) => this.onMessage(m), page: (stream, count) => this.onPage(stream, count) });
    this.view = options.terminal ? new TerminalView(options.terminal, this) : undefined;
  }

  private waitUntil(untilMs: number, reason: string): void {
    if (!this.currentWait || this.currentWait.untilMs < untilMs) this.currentWait = { untilMs, reason };
  }

  private onMessage(m: AirbyteMessage): void {
    if (m.type === "STATE" && m.state?.stream) {
      const s = this.streams.get(m.state.stream.stream_descriptor.name);
      if (s) s.state = (m.state.stream.stream_state ?? {}) as Record<string, unknown>;
    } else if (m.type === "TRACE" && m.trace?.type === "STREAM_STATUS") {
      const name = m.trace.stream_status!.stream_descriptor.name;
      const status = m.trace.stream_status!.status;
      if (status === "STARTED") {
        this.streams.set(name, { name, status: "running", records: 0, pages: 0, requests: 0, retries: 0, waits: 0, waitMs: 0, startedMs: this.now() });
      } else if (status === "COMPLETE" || status === "INCOMPLETE") {
        const s = this.streams.get(name);
        if (s) {
          s.status = status === "COMPLETE" ? "complete" : "incomplete";
          s.endedMs = this.now();
        }
      }
    }
  }

  private onPage(stream: string, count: number): void {
    const s = this.streams.get(stream);
    if (!s) return;
    s.pages++;
    s.records += count;
  }

  /** The figures of the whole run so far. */
  totals(notStarted: string[] = []): Totals {
    const all = [...this.streams.values()];
    const sum = (f: (s: StreamStats) => number): number => all.reduce((x, s) => x + f(s), 0);
    return {
      streams: all.length + notStarted.length,
      complete: all.filter((s) => s.status === "complete").length,
      incomplete: all.filter((s) => s.status === "incomplete").length,
      notStarted,
      records: sum((s) => s.records),
      pages: sum((s) => s.pages),
      requests: sum((s) => s.requests),
      otherRequests: this.otherRequests,
      retries: sum((s) => s.retries),
      waits: sum((s) => s.waits),
      waitMs: sum((s) => s.waitMs),
      elapsedMs: this.now() - this.startedMs,
    };
  }

  /** The final cursor of a stream as `updatedAt 2024-…`, `-` without one. */
  cursorOf(s: StreamStats): string {
    const field = this.cursorFields.get(s.name);
    const value = field ? s.state?.[field] : undefined;
    return field && typeof value === "string" ? `${field} ${value}` : "-";
  }

  /** Duration of a stream so far, ms. */
  durationOf(s: StreamStats): number {
    return (s.endedMs ?? this.now()) - s.startedMs;
  }

  /**
   * The summary as text lines: one per stream that started (by name), then the totals, which name
   * the incomplete (failed or stopped) and the not-started streams.
   */
  summaryLines(outcome: RunOutcome): string[] {
    const reasons = new Map(outcome.failures.map((f) => [f.stream, oneLine(f.error instanceof Error ? f.error.message : String(f.error))]));
    const lines: string[] = [];
    for (const s of [...this.streams.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      s.reason ??= reasons.get(s.name) ?? (s.status === "incomplete" && outcome.stopped ? outcome.stopped : undefined);
      const reason = s.status !== "incomplete" || !s.reason ? "" : s.reason === outcome.stopped ? "; reason: the read stopped (below)" : `; reason: ${s.reason}`;
      lines.push(
        `Summary ${s.name}: ${s.status === "incomplete" ? "INCOMPLETE" : s.status}; records ${n(s.records)}, pages ${n(s.pages)}, requests ${n(s.requests)}, ` +
          `retries ${n(s.retries)}, waits ${n(s.waits)} (${seconds(s.waitMs)}), time ${seconds(this.durationOf(s))}; final cursor ${this.cursorOf(s)}${reason}`,
      );
    }
    const t = this.totals(outcome.notStarted);
    const incomplete = [...this.streams.values()].filter((s) => s.status === "incomplete").map((s) => s.name);
    lines.push(
      `Summary: streams ${t.streams}: complete ${t.complete}, incomplete ${t.incomplete}${incomplete.length ? ` (${incomplete.join(", ")})` : ""}, ` +
        `not started ${t.notStarted.length}${t.notStarted.length ? ` (${t.notStarted.join(", ")})` : ""}; records ${n(t.records)}, pages ${n(t.pages)}, ` +
        `requests ${n(t.requests)} (+ ${n(t.otherRequests)} to the token endpoint), retries ${n(t.retries)}, waits ${n(t.waits)} (${seconds(t.waitMs)}), ` +
        `time ${seconds(t.elapsedMs)}.${outcome.stopped ? ` Stopped early: ${outcome.stopped}` : ""}`,
    );
    return lines;
  }

  /** Stops and erases the progress line without a summary (the read failed before any stream). */
  abandon(): void {
    this.view?.erase();
  }

  /** Writes the summary LOG lines (and, on a terminal, replaces the progress line with the table). */
  async finish(writer: MessageWriter, outcome: RunOutcome): Promise<void> {
    // A wait cut short (by a signal) counts for the time it lasted.
    const now = this.now();
    for (const w of this.waiting) w.stats.waitMs -= Math.max(0, w.endMs - now);
    this.waiting = [];
    const lines = this.summaryLines(outcome);
    this.view?.close(outcome);
    for (const line of lines) await writer.write(logMessage("INFO", line));
  }
}

/**
 * `--debug`: one DEBUG LOG line per request, path and query percent-decoded for reading, e.g.
 * `GET /api/v2/prospects?count=false&page[size]=100 → 200, 81,234 bytes, 35 ms (prospects)`.
 * URLs carry no secret (the token is a header; token requests are POSTs without a query).
 */
export function logRequests(events: RunEvents, writer: MessageWriter): void {
  events.on("request", (e) => {
    const answer = e.status === 0 ? "no answer" : String(e.status);
    void writer.write(logMessage("DEBUG", `${e.method} ${decoded(e.path)} → ${answer}, ${n(e.bytes)} bytes, ${Math.round(e.ms)} ms${e.stream ? ` (${e.stream})` : ""}`));
  });
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path; // a malformed escape: shown as sent
  }
}
