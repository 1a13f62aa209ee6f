/**
 * Windows within a stream: the scheduler of `read`. Its unit of work is a window — one stream's
 * cursor range `[lo, hi)` (epoch ms, lower bound inclusive, upper bound exclusive) read from its
 * position onwards. At most `concurrency` windows are read at once, over every stream (they share
 * one rate budget and token through the client).
 *
 * A stream starts as one window `[lower bound, +∞)`. When a slot is free and no stream waits, the
 * window with the most remaining range (from its position to its end; an open end counts as the
 * start of the read) is split at the midpoint: it keeps the lower half, a new window takes the
 * upper half; when several slots are free, it is cut into that many equal parts plus one at once.
 * No counts are requested (`count=true` is costly, outreach-api.md §4.3). Only windows of
 * splittable streams (incremental, with a cursor) are split, and only once they have read a page
 * and another follows, so a one-page stream is never split. Nothing here knows about Airbyte messages.
 */

/** Windows narrower than this are not split (cursor timestamps have one-second resolution, §9 #3). */
export const MIN_SPLIT_MS = 2_000;

/** One window. Whoever reads it updates `position`, `first`, `pages` and `more` after each page. */
export interface Window<S> {
  readonly stream: S;
  /** Inclusive lower bound, epoch ms; -Infinity = none. Names the window within its stream. */
  readonly lo: number;
  /** Exclusive upper bound, epoch ms; +Infinity = none. Shrinks when the window is split. */
  hi: number;
  /** Cursor of the last record read, epoch ms (`lo` until a record is read). */
  position: number;
  /** Cursor of the first record read, epoch ms (NaN until a record is read). */
  first: number;
  /** Pages read. */
  pages: number;
  /** False once the reader saw the window's last page. */
  more: boolean;
}

/** What the scheduler asks of `read`. */
export interface WindowHooks<S> {
  /**
   * Starts `stream`: returns its lower bound (epoch ms, -Infinity = none), or undefined to skip it
   * (then `end` is not called).
   */
  start(stream: S): number | undefined;
  /** Whether windows of `stream` may be split. */
  splittable(stream: S): boolean;
  /**
   * Reads one window; calls `progress()` after each page (once the window's fields are updated).
   * Resolves when the window is done (or its stream failed); rejects with what made it fail.
   */
  read(window: Window<S>, progress: () => void): Promise<void>;
  /** The window `[lo, at)` is being split at `at`; the new window `[at, hi)` is `created`. */
  split(window: Window<S>, created: Window<S>): void;
  /** Every window of `stream` is settled; `error` is the first failure, if any. */
  end(stream: S, error: unknown): Promise<void>;
}

interface StreamRun<S> {
  stream: S;
  open: number;
  error: unknown;
}

/** Range left to read in a window, ms: to its end, or to the start of the read when it is open-ended. */
function remaining(w: Window<unknown>, nowMs: number): number {
  return (Number.isFinite(w.hi) ? w.hi : Math.max(nowMs, w.position)) - w.position;
}

/**
 * Where to cut a window into up to `parts` windows of equal range at once (ascending), or [] when it
 * should not be split: it must have read a page, have another to come, and have at least
 * MIN_SPLIT_MS left with at least two pages' worth of range left at the rate it has read so far.
 * Each part keeps at least a page's worth of range at that rate, and at least MIN_SPLIT_MS / 2.
 * @param nowMs the nominal end of open-ended windows (the start of the read), epoch ms
 */
export function splitPoints(w: Window<unknown>, nowMs: number, parts: number): number[] {
  if (parts < 2 || w.pages === 0 || !w.more) return [];
  const left = remaining(w, nowMs);
  if (!(left >= MIN_SPLIT_MS)) return [];
  const perPage = (w.position - w.first) / w.pages;
  if (perPage > 0 && left < 2 * perPage) return [];
  const n = Math.max(2, Math.min(parts, Math.floor(left / Math.max(MIN_SPLIT_MS / 2, perPage > 0 ? perPage : 0))));
  return Array.from({ length: n - 1 }, (_, k) => w.position + Math.floor((left * (k + 1)) / n));
}

/** The midpoint a window is halved at, or undefined when it should not be split (see splitPoints). */
export function splitPoint(w: Window<unknown>, nowMs: number): number | undefined {
  return splitPoints(w, nowMs, 2)[0];
}

/**
 * Reads every stream, in the given order, as windows over `concurrency` slots.
 * @param streams in read order (parents before children)
 * @param nowMs the nominal end of open-ended windows, epoch ms (the start of the read)
 * @throws what `hooks.end` throws (a window's failure goes to `end` instead)
 */
export async function runWindows<S>(streams: readonly S[], concurrency: number, nowMs: number, hooks: WindowHooks<S>): Promise<void> {
  const waiting = [...streams];
  const running = new Set<Window<S>>();
  const runs = new Map<S, StreamRun<S>>();
  const settled: Promise<void>[] = [];
  let done: () => void;
  const allDone = new Promise<void>((resolve) => (done = resolve));
  let open = 0;

  const launch = (w: Window<S>): void => {
    const run = runs.get(w.stream)!;
    run.open++;
    open++;
    running.add(w);
    const p = hooks
      .read(w, fill)
      .catch((error: unknown) => {
        run.error ??= error;
      })
      .then(async () => {
        running.delete(w);
        if (--run.open === 0) await hooks.end(run.stream, run.error);
        open--;
        fill();
        if (open === 0 && waiting.length === 0) done();
      });
    settled.push(p);
  };

  /**
   * Hands every free slot a window: a waiting stream's first, else a part of the largest remaining
   * one, cut into as many equal parts as there are free slots plus one (halved when one is free),
   * so that a stream's first page spreads it over every slot at once.
   */
  function fill(): void {
    while (running.size < concurrency) {
      const stream = waiting.shift();
      if (stream !== undefined) {
        const lo = hooks.start(stream);
        if (lo === undefined) continue;
        runs.set(stream, { stream, open: 0, error: undefined });
        launch({ stream, lo, hi: Infinity, position: lo, first: NaN, pages: 0, more: true });
        continue;
      }
      let best: { w: Window<S>; left: number } | undefined;
      for (const w of running) {
        if (runs.get(w.stream)!.error !== undefined || !hooks.splittable(w.stream)) continue;
        const left = remaining(w, nowMs);
        if (splitPoint(w, nowMs) !== undefined && (!best || left > best.left)) best = { w, left };
      }
      if (!best) return;
      // Cut from the top down: each cut splits the same window, which has read a page.
      for (const at of splitPoints(best.w, nowMs, concurrency - running.size + 1).reverse()) {
        const created: Window<S> = { stream: best.w.stream, lo: at, hi: best.w.hi, position: at, first: NaN, pages: 0, more: true };
        hooks.split(best.w, created);
        best.w.hi = at;
        launch(created);
      }
    }
  }

  fill();
  if (open === 0) return;
  await allDone;
  await Promise.all(settled);
}
