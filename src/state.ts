/**
 * Checkpoints of one stream read as windows (outreach-api.md §9 #3; airbyte-contract.md §4.2).
 *
 * The stream's cursor range is partitioned into windows `[lo, hi)`, each read in ascending cursor
 * order with an inclusive lower bound. The state is one cursor value, the low-water mark: every
 * record whose cursor is below it has been written. It is the position (last cursor value written)
 * of the first window not yet complete, or that window's lower bound when it has written nothing,
 * or, once every window is complete, the largest cursor value written. Restarting from it with
 * `gte` loses nothing; records at or above it may be read again (destinations dedupe on `id`).
 *
 * A checkpoint is emitted only when the mark moves forward and a record with a larger cursor value
 * is about to be written (or was). That keeps every emitted state different from the next one
 * (two identical consecutive states with records between them fail the sync, §4.2), the final
 * state included.
 */
import { formatInstant, parseInstant } from "./time.js";

/** The key of a stream's state that holds its remembered page size (beside the cursor; outreach-api.md §4.4). */
export const PAGE_SIZE_KEY = "pageSize";

/** A state to emit: the blob `{ <cursorField>: <value> }` and the records since the previous state. */
export interface Checkpoint {
  streamState: Record<string, string>;
  recordCount: number;
}

/** One window's progress. Windows are named by their lower bound (epoch ms; -Infinity = none). */
interface Span {
  lo: number;
  /** Cursor of the last record written, ms (-Infinity: none yet) and as the API wrote it. */
  lastMs: number;
  lastValue: string | undefined;
  done: boolean;
}

/** Low-water-mark checkpointer over a stream's windows. Values are compared as instants, kept as written. */
export class WindowCheckpointer {
  private readonly spans: Span[];
  private maxMs = -Infinity;
  private maxValue: string | undefined;
  private emittedMs = -Infinity;
  private emittedValue: string | undefined;
  private readonly initial: string | undefined;
  private uncounted = 0;

  /**
   * @param cursorField the record field holding the cursor (e.g. `updatedAt`)
   * @param lowerMs the first window's lower bound, epoch ms (max(start_date, state)); -Infinity = none
   * @param initial the input state's value, if any (emitted unchanged when nothing is read)
   */
  constructor(
    readonly cursorField: string,
    lowerMs = -Infinity,
    initial?: string,
  ) {
    this.spans = [{ lo: lowerMs, lastMs: -Infinity, lastValue: undefined, done: false }];
    this.initial = initial;
    if (initial !== undefined) this.observe(initial);
  }

  private observe(value: string): number {
    const ms = parseInstant(value);
    if (ms > this.maxMs) {
      this.maxMs = ms;
      this.maxValue = value;
    }
    return ms;
  }

  private span(lo: number): Span {
    const s = this.spans.find((x) => x.lo === lo);
    if (!s) throw new Error(`no window starts at ${lo}`);
    return s;
  }

  /**
   * Splits the window starting at `lo` at `atMs`: it keeps `[lo, atMs)`, a new window `[atMs, …)`
   * takes the rest.
   * @throws Error unless `atMs` lies after the window's last written record and before the next window
   */
  split(lo: number, atMs: number): void {
    const s = this.span(lo);
    const i = this.spans.indexOf(s);
    const next = this.spans[i + 1];
    if (s.done || !(atMs > s.lo) || !(atMs > s.lastMs) || (next && !(atMs < next.lo))) throw new Error(`cannot split the window at ${lo} at ${atMs}`);
    this.spans.splice(i + 1, 0, { lo: atMs, lastMs: -Infinity, lastValue: undefined, done: false });
  }

  /**
   * Call before writing a page (of any window): returns the checkpoint for everything written so far
   * when the mark moved and this page (or an earlier one) goes past it, else undefined. Then write
   * the page and call `afterPage`.
   * @param cursorValues the page's cursor values (ascending)
   */
  beforePage(cursorValues: readonly unknown[]): Checkpoint | undefined {
    const last = cursorValues[cursorValues.length - 1];
    const mark = this.mark();
    if (this.uncounted === 0 || mark === undefined || !(mark.ms > this.emittedMs)) return undefined;
    const beyond = Math.max(this.maxMs, typeof last === "string" ? parseInstant(last) : -Infinity);
    return beyond > mark.ms ? this.take(mark) : undefined;
  }

  /** Records a written page of the window at `lo`. */
  afterPage(lo: number, cursorValues: readonly unknown[]): void {
    const s = this.span(lo);
    for (const v of cursorValues) {
      if (typeof v !== "string") continue;
      const ms = this.observe(v);
      if (ms >= s.lastMs) {
        s.lastMs = ms;
        s.lastValue = v;
      }
    }
    this.uncounted += cursorValues.length;
  }

  /** The window at `lo` has been read completely. */
  finish(lo: number): void {
    this.span(lo).done = true;
  }

  /** The final checkpoint (always one, even when nothing was read). @throws Error while a window is open */
  final(): Checkpoint {
    if (this.spans.some((s) => !s.done)) throw new Error("final checkpoint with windows open");
    return this.take(this.mark());
  }

  /** A checkpoint for what was written before a failure, if it moves the state forward. */
  partial(): Checkpoint | undefined {
    const mark = this.mark();
    return this.uncounted > 0 && mark !== undefined && mark.ms > this.emittedMs ? this.take(mark) : undefined;
  }

  /**
   * A checkpoint at once, for a STATE emitted for another reason than the mark moving (the delete
   * check's progress, src/delete-check.ts): at the mark, never below the last emitted or the
   * initial value (so it never moves the state back); `{}` when there is none of them.
   */
  now(): Checkpoint {
    let best = this.mark();
    for (const value of [this.emittedValue, this.initial]) {
      if (value !== undefined && (best === undefined || parseInstant(value) > best.ms)) best = { ms: parseInstant(value), value };
    }
    return this.take(best);
  }

  /** Records written beside the cursor's (tombstones): counted in the next checkpoint, never observed as cursor values. */
  countBeside(records: number): void {
    this.uncounted += records;
  }

  /** The low-water mark (see the module comment); undefined when there is none yet. */
  private mark(): { ms: number; value: string } | undefined {
    const open = this.spans.find((s) => !s.done);
    if (!open) return this.maxValue === undefined ? undefined : { ms: this.maxMs, value: this.maxValue };
    if (open.lastValue !== undefined) return { ms: open.lastMs, value: open.lastValue };
    if (open === this.spans[0] || !Number.isFinite(open.lo)) return undefined;
    return { ms: open.lo, value: formatInstant(open.lo) };
  }

  private take(mark: { ms: number; value: string } | undefined): Checkpoint {
    const checkpoint: Checkpoint = {
      streamState: mark === undefined ? {} : { [this.cursorField]: mark.value },
      recordCount: this.uncounted,
    };
    if (mark && mark.ms >= this.emittedMs) {
      this.emittedMs = mark.ms;
      this.emittedValue = mark.value;
    }
    this.uncounted = 0;
    return checkpoint;
  }
}
