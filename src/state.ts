/**
 * Cursor state of one incremental stream and where to checkpoint it.
 *
 * The stream is read in ascending cursor order with an inclusive lower bound (`gte`), so restarting
 * from the largest cursor value read so far loses nothing: rows equal to it are read again and
 * destinations dedupe on `id` (outreach-api.md §9 #3; airbyte-contract.md §4.2).
 *
 * A checkpoint is emitted only once a later page shows a strictly larger cursor value. That keeps
 * every emitted state different from the next one (two identical consecutive states with records
 * between them fail the sync, airbyte-contract.md §4.2), while the state still covers only records
 * already written.
 */
import { parseInstant } from "./time.js";

/** A state to emit: the blob `{ <cursorField>: <value> }` and the records since the previous state. */
export interface Checkpoint {
  streamState: Record<string, string>;
  recordCount: number;
}

/** Tracks one stream's cursor across pages. Values are compared as instants, kept as the API wrote them. */
export class CursorCheckpointer {
  private maxValue: string | undefined;
  private maxMs = -Infinity;
  private emittedMs = -Infinity;
  private uncounted = 0;

  /**
   * @param cursorField the record field holding the cursor (e.g. `updatedAt`)
   * @param initial the input state's value, if any (emitted unchanged when nothing is read)
   */
  constructor(
    readonly cursorField: string,
    initial?: string,
  ) {
    if (initial !== undefined) this.observe(initial);
  }

  private observe(value: string): void {
    const ms = parseInstant(value);
    if (ms > this.maxMs) {
      this.maxMs = ms;
      this.maxValue = value;
    }
  }

  /**
   * Call before writing a page's records. Returns the checkpoint for everything written so far when
   * this page moves the cursor past it, else undefined. Then call `afterPage`.
   * @param cursorValues the page's cursor values (ascending)
   */
  beforePage(cursorValues: readonly unknown[]): Checkpoint | undefined {
    const last = cursorValues[cursorValues.length - 1];
    if (this.uncounted === 0 || typeof last !== "string" || !(parseInstant(last) > this.maxMs)) return undefined;
    if (!(this.maxMs > this.emittedMs)) return undefined;
    return this.take();
  }

  /** Records a written page. */
  afterPage(cursorValues: readonly unknown[]): void {
    for (const v of cursorValues) if (typeof v === "string") this.observe(v);
    this.uncounted += cursorValues.length;
  }

  /** The final checkpoint (always one, even when nothing was read). */
  final(): Checkpoint {
    return this.take();
  }

  /** A checkpoint for what was written before a failure, if it moves the state forward. */
  partial(): Checkpoint | undefined {
    return this.uncounted > 0 && this.maxMs > this.emittedMs ? this.take() : undefined;
  }

  private take(): Checkpoint {
    const checkpoint: Checkpoint = {
      streamState: this.maxValue === undefined ? {} : { [this.cursorField]: this.maxValue },
      recordCount: this.uncounted,
    };
    this.emittedMs = this.maxMs;
    this.uncounted = 0;
    return checkpoint;
  }
}
