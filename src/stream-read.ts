/**
 * One stream of `read`: its STREAM_STATUS messages, records and checkpoints, read as windows
 * (airbyte-contract.md §4.1, §4.2).
 */
import type { ConfiguredStream } from "./catalog.js";
import { DELETES_KEY, type DeleteCheck } from "./delete-check.js";
import { ConnectorError, failureTypeOf, messageOf } from "./errors.js";
import type { OutreachClient } from "./http/client.js";
import { UnreachableError } from "./http/network.js";
import { errorTraceMessage, logMessage, streamStateMessage, streamStatusMessage } from "./protocol/messages.js";
import type { MessageWriter } from "./protocol/writer.js";
import { endPageAt, readPages, type Page, type PageRequest } from "./reader.js";
import type { Session } from "./session.js";
import { PAGE_SIZE_KEY, WindowCheckpointer, type Checkpoint } from "./state.js";
import { counted } from "./text.js";
import { formatInstant, parseInstant } from "./time.js";
import type { Window } from "./windows.js";

/**
 * One stream being read as windows (src/windows.ts): its STREAM_STATUS messages, records and
 * low-water-mark checkpoints (src/state.ts), and the page size that works for it. A window's page is
 * written and checkpointed in one step, one page at a time per stream, so that every STATE counts
 * exactly the records before it (airbyte-contract.md §4.2).
 */
export class StreamRead {
  readonly name: string;
  /** Lower bound of the first window, epoch ms (-Infinity = none). */
  readonly lowerMs: number;
  /** Incremental streams are read as windows that split; full-refresh ones as one window (§4.2). */
  readonly splittable: boolean;
  private readonly checkpointer: WindowCheckpointer | undefined;
  private readonly client: OutreachClient;
  /** The page size to start new windows with: the last one that worked (§4.4). */
  private pageSize: number;
  private uncounted = 0;
  private started = false;
  private running = false;
  private rateLimited = false;
  private failed = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly session: Session,
    private readonly writer: MessageWriter,
    c: ConfiguredStream,
    private request: PageRequest,
    initial: string | undefined,
    private readonly signal: AbortSignal,
    /** The stream's delete check, when `detect_deletes_every_hours` applies to it. */
    private readonly deletes?: DeleteCheck,
  ) {
    this.name = c.definition.name;
    const cursor = c.definition.cursorField;
    this.lowerMs = request.lowerBound ? parseInstant(request.lowerBound) : -Infinity;
    this.splittable = cursor !== null && c.syncMode === "incremental";
    this.checkpointer = cursor ? new WindowCheckpointer(cursor, this.lowerMs, initial) : undefined;
    this.pageSize = request.pageSize;
    // While a request of this stream waits out a rate limit: RUNNING with a RATE_LIMITED reason
    // (airbyte-contract.md §4.1 step 2); a plain RUNNING once pages arrive again.
    this.client = session.client.withHooks({
      label: this.name,
      onRateLimited: (untilMs) => {
        this.running = true;
        this.rateLimited = true;
        void writer.write(streamStatusMessage(this.name, "RUNNING", untilMs));
      },
    });
  }

  /** Reads one window; stops early once another window of the stream failed. @throws what the reader throws */
  async readWindow(w: Window<string>, progress: () => void): Promise<void> {
    await this.begin(false);
    try {
      await this.readPagesOf(w, progress);
    } catch (error) {
      this.failed = true;
      throw error;
    }
  }

  /**
   * Reads the window's pages and marks it complete (not when it stopped early). A sparse fieldset the API refuses (400 fieldsParameter.unknownResourceField,
   * outreach-api.md §4.4) on a window's first page is dropped for the rest of the stream, with a WARN:
   * every field the API sends by default is read instead.
   */
  private async readPagesOf(w: Window<string>, progress: () => void): Promise<void> {
    const request: PageRequest = {
      ...this.request,
      pageSize: this.pageSize,
      maxPageSize: this.session.config.pageSize,
      ...(Number.isFinite(w.lo) ? { lowerBound: formatInstant(w.lo) } : {}),
      ...(Number.isFinite(w.hi) ? { upperBound: formatInstant(w.hi) } : {}),
      endMs: () => w.hi,
    };
    let pages = 0;
    try {
      for await (const yielded of readPages(this.client, request, this.session.log)) {
        pages++;
        if (this.failed || this.signal.aborted) return;
        // The window may have been split since the reader checked its end; from here on, a split
        // sees this page's position, so it can only fall after it.
        const page = this.splittable ? endPageAt(yielded, w.hi) : yielded;
        const values = page.cursorValues;
        if (values.length > 0) {
          if (Number.isNaN(w.first)) w.first = parseInstant(values[0]);
          w.position = Math.max(w.position, parseInstant(values[values.length - 1]));
        }
        w.pages++;
        w.more = page.more;
        this.pageSize = page.pageSize;
        await this.serial(() => this.writePage(w, page));
        if (this.writer.isClosed) throw new ConnectorError("stdout was closed by the reader", "system_error");
        progress();
        if (!page.more) break;
      }
      this.checkpointer?.finish(w.lo);
    } catch (error) {
      if (pages > 0 || !request.fields || !fieldsRefused(error)) throw error;
      if (this.request.fields) {
        const { fields: _dropped, ...withoutFields } = this.request;
        this.request = withoutFields;
        await this.writer.write(logMessage("WARN", `${this.name}: Outreach refused the sparse fieldset (${messageOf(error)}); reading every field it sends by default instead.`));
      }
      return this.readPagesOf(w, progress);
    }
  }

  /** STARTED once; then, with `running`, RUNNING when due (first, or after a RATE_LIMITED one). */
  private async begin(running = true): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.writer.write(streamStatusMessage(this.name, "STARTED"));
    }
    if (running && (!this.running || this.rateLimited)) {
      this.running = true;
      this.rateLimited = false;
      await this.writer.write(streamStatusMessage(this.name, "RUNNING"));
    }
  }

  /** Writes one page: RUNNING when due, a checkpoint when the mark moved, the records. */
  private async writePage(w: Window<string>, page: Page): Promise<void> {
    await this.begin();
    const checkpoint = this.checkpointer?.beforePage(page.cursorValues);
    if (checkpoint) await this.writeState(checkpoint);
    await this.writer.writeRecords(this.name, page.records);
    this.deletes?.noteRecords(page.records);
    if (this.checkpointer) this.checkpointer.afterPage(w.lo, page.cursorValues);
    else this.uncounted += page.records.length;
  }

  /**
   * Runs the stream's delete check (src/delete-check.ts) with the stream's client: a STATE with its
   * progress every few listing pages; once the listing completed, the tombstones, committed by the
   * stream's next STATE (which carries the new check). That STATE is the next checkpoint or the
   * final one, not one of its own: a STATE right after the tombstones could equal the final one
   * with records between them (re-read records at the saved cursor), which fails the sync
   * (airbyte-contract.md §4.2). A failed listing is a WARN naming the stream; the stream is read
   * as usual. Never rejects.
   */
  async runDeleteCheck(): Promise<void> {
    const check = this.deletes!;
    try {
      const result = await check.list(this.client, () => this.writeBeside(() => [], true), this.signal);
      let tombstones = 0;
      await this.writeBeside(() => {
        const records = check.commit(result);
        tombstones = records.length;
        return records;
      }, false);
      const what = result.first ? "the first check records the set, no tombstones" : `${counted(tombstones, "tombstone")} for ids gone since the last check`;
      this.session.log(`${this.name}: delete check: ${counted(result.listed.size, "id")} listed; ${what}.`);
    } catch (error) {
      if (!this.signal.aborted) await this.writer.write(logMessage("WARN", check.failure(error)));
    }
  }

  /**
   * Writes, after the pages queued before it, records that are not the cursor's (tombstones: not
   * observed as cursor values, counted in the next STATE) made by `make`; with `state`, then at
   * once a STATE at the current mark. Nothing once the stream failed or the read was stopped.
   */
  private writeBeside(make: () => string[], state: boolean): Promise<void> {
    return this.serial(async () => {
      if (this.failed || this.signal.aborted || !this.checkpointer) return;
      await this.begin();
      const records = make();
      if (records.length > 0) await this.writer.writeRecords(this.name, records);
      this.checkpointer.countBeside(records.length);
      if (state) await this.writeState(this.checkpointer.now());
    });
  }

  /** The window `w` keeps `[lo, created.lo)`; `created` reads the rest. Logged for people (INFO). */
  split(w: Window<string>, created: Window<string>): void {
    this.checkpointer!.split(w.lo, created.lo);
    const at = (ms: number): string => (Number.isFinite(ms) ? formatInstant(ms) : ms < 0 ? "the start" : "the end");
    this.session.log(`${this.name}: window split at ${at(created.lo)}: [${at(w.lo)}, ${at(created.lo)}) and [${at(created.lo)}, ${at(created.hi)}) are read in parallel.`);
  }

  /**
   * After the last window: the final STATE and COMPLETE; or, after a failure, the state of what was
   * written, INCOMPLETE and a TRACE ERROR naming the stream (not after SIGTERM).
   * @returns true when the stream failed
   */
  async end(error: unknown): Promise<boolean> {
    await this.tail;
    const { writer, name } = this;
    if (error === undefined && !this.failed) {
      if (!this.running) await writer.write(streamStatusMessage(name, "RUNNING"));
      await this.writeState(this.checkpointer ? this.checkpointer.final() : { streamState: {}, recordCount: this.uncounted });
      await writer.write(streamStatusMessage(name, "COMPLETE"));
      return false;
    }
    const partial = this.checkpointer?.partial();
    if (partial) await this.writeState(partial);
    await writer.write(streamStatusMessage(name, "INCOMPLETE"));
    if (this.signal.aborted || error instanceof UnreachableError) return true; // reported once, by read()
    await writer.write(
      errorTraceMessage(`Stream ${name} failed: ${messageOf(error)}`, failureTypeOf(error), {
        stream: name,
        ...(error instanceof ConnectorError && error.internal ? { internal: error.internal } : {}),
        ...(error instanceof ConnectorError ? {} : { stackTrace: (error as Error)?.stack ?? "" }),
      }),
    );
    return true;
  }

  /**
   * A STATE; it carries the working page size when that is below `page_size` (used by the next
   * sync), and the delete check's state when there is one.
   */
  private writeState(checkpoint: Checkpoint): Promise<void> {
    const state: Record<string, unknown> = this.pageSize < this.session.config.pageSize ? { ...checkpoint.streamState, [PAGE_SIZE_KEY]: this.pageSize } : checkpoint.streamState;
    if (this.deletes) state[DELETES_KEY] = this.deletes.stateValue();
    return this.writer.write(streamStateMessage(this.name, state, checkpoint.recordCount));
  }

  /** Runs `step` after every step queued before it (one page of this stream at a time). */
  private serial(step: () => Promise<void>): Promise<void> {
    const next = this.tail.then(step);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Whether the API refused a sparse fieldset: 400 `fieldsParameter.unknownResourceField` (outreach-api.md §4.4). */
function fieldsRefused(error: unknown): boolean {
  return error instanceof ConnectorError && (error.internal ?? "").startsWith("fieldsParameter.unknownResourceField");
}
