/**
 * Delete detection (config `detect_deletes_every_hours`): Outreach's collections keep no trace of a
 * deleted record (outreach-api.md §9 #14), so an incremental stream lists the ids that exist now
 * and compares them with the ids the destination may hold as live; each id gone becomes a
 * tombstone record `{"id": n, "_ab_cdc_deleted_at": T, "<cursor>": T}`, T = when the listing started.
 *
 * The stream's state carries, beside the cursor, `"deletes": {"checkedAt": T, "ids": <IdSet text>,
 * "listing"?: {"startedAt": T, "after": <last id listed>, "ids": <IdSet text>}}`: `ids` = the ids
 * listed at the last check ∪ every id emitted as a record since (so a record created and deleted
 * between two checks is caught); `listing` = a check in progress, so a killed run resumes it.
 *
 * Kill safety: tombstones are written only once the listing completed, and every STATE after them
 * carries the new `ids` and `checkedAt`, every STATE before them the old ones (Airbyte commits
 * records only with a following STATE, airbyte-contract.md §4.2): a kill before the next STATE
 * redoes the check; no tombstone is invented (an id listed now is never one) and none is lost
 * (the old ids stay in the state until then).
 */
import type { ConfiguredStream } from "./catalog.js";
import { InputError, messageOf } from "./errors.js";
import type { CollectionDocument, OutreachClient } from "./http/client.js";
import { IdSet } from "./id-set.js";
import type { StreamDefinition } from "./streams.js";
import { formatInstant, parseInstant } from "./time.js";
import type { Window, WindowHooks } from "./windows.js";

/** The record field Airbyte destinations read as "deleted at" (append-dedup removes the row). */
export const DELETED_AT_FIELD = "_ab_cdc_deleted_at";
/** The key of a stream's state that holds its delete check (beside the cursor and `pageSize`). */
export const DELETES_KEY = "deletes";
/** Records per listing page: the largest page size production connectors use (outreach-api.md §4.1). */
export const LIST_PAGE_SIZE = 1000;
/** A STATE with the listing's progress is emitted after every this many listing pages. */
export const LISTING_STATE_EVERY_PAGES = 10;

/** The `deletes` value of a stream's state. */
export interface DeletesState {
  /** When the last completed check's listing started, `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
  checkedAt?: string;
  /** IdSet text: ids listed then ∪ ids emitted since. */
  ids?: string;
  /** A listing in progress: ids listed so far, up to and including `after`. */
  listing?: { startedAt: string; after: number; ids: string };
}

interface Listing {
  startedAt: string;
  after: number;
  ids: IdSet;
  /**
   * False once an id arrived that is not above the one before it: the API did not honour `sort=id`
   * (unverified, §2.2), so "every id up to `after` is listed" does not hold and the listing's
   * progress is no longer saved (a killed run lists again from the start instead of skipping ids).
   */
  ordered: boolean;
}

/** What a completed listing found: commit it with `DeleteCheck.commit` in the step that writes the tombstones. */
export interface ListingResult {
  /** The ids of the state when the listing started (K0). */
  before: IdSet;
  /** The ids listed (L). */
  listed: IdSet;
  /** When the listing started (the check time T). */
  startedAt: string;
  /** True for the stream's first check (no id set yet): it only records the set. */
  first: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** One stream's delete check: its state, the ids emitted, the listing. */
export class DeleteCheck {
  /** Ids the destination may hold as live: the state's (or the last listing's) ∪ those emitted since. */
  private known: IdSet | undefined;
  private readonly emitted = new IdSet();
  private checkedAt: string | undefined;
  private listing: Listing | undefined;
  private encoded: { size: number; version: number; text: string } | undefined;
  private version = 0;
  /** Whether this run lists the stream's ids: no check yet, the last one older than the interval, or one to resume. */
  readonly due: boolean;

  /**
   * @param stream the stream (incremental, with a cursor)
   * @param blob the stream's input state blob (its `deletes` value is validated here)
   * @param everyMs `detect_deletes_every_hours` in ms
   * @param nowMs the start of the read, epoch ms
   * @param startDateMs `start_date`, epoch ms: ids whose cursor is older were never emitted, so a
   *   listing keeps them only when the set already holds them (no tombstone for a record the
   *   destination never received; raising start_date later never tombstones a row it holds)
   * @throws InputError naming `file` and `<stream>.deletes.<field>` for a malformed `deletes` value
   */
  constructor(
    readonly stream: StreamDefinition,
    blob: Record<string, unknown> | undefined,
    file: string,
    everyMs: number,
    nowMs: number,
    private readonly startDateMs?: number,
  ) {
    const value = blob?.[DELETES_KEY];
    const at = `${stream.name}.${DELETES_KEY}`;
    if (value !== undefined) {
      if (!isObject(value)) throw new InputError(file, at, 'must be an object {"checkedAt", "ids", "listing"?}');
      this.checkedAt = instant(value.checkedAt, file, `${at}.checkedAt`);
      if (value.ids !== undefined) this.known = idSet(value.ids, file, `${at}.ids`);
      if (value.listing !== undefined) {
        const l = value.listing;
        if (!isObject(l)) throw new InputError(file, `${at}.listing`, 'must be an object {"startedAt", "after", "ids"}');
        const startedAt = instant(l.startedAt, file, `${at}.listing.startedAt`);
        if (startedAt === undefined) throw new InputError(file, `${at}.listing.startedAt`, "is required");
        if (!Number.isSafeInteger(l.after) || (l.after as number) < 0) throw new InputError(file, `${at}.listing.after`, `must be a record id (an integer ≥ 0), not ${JSON.stringify(l.after)}`);
        this.listing = { startedAt, after: l.after as number, ids: idSet(l.ids, file, `${at}.listing.ids`), ordered: true };
      }
    }
    // A checkedAt later than now (a state from a clock that ran ahead) does not postpone the check.
    const sinceMs = this.checkedAt === undefined ? Infinity : nowMs - parseInstant(this.checkedAt);
    this.due = this.listing !== undefined || sinceMs >= everyMs || sinceMs < 0;
  }

  /** Notes the records written (JSON texts as records.ts makes them: `{"id":<n>,…`). */
  noteRecords(records: readonly string[]): void {
    for (const record of records) {
      const id = idOfRecord(record);
      if (id === undefined) continue;
      this.emitted.add(id);
      this.known?.add(id);
    }
    this.version++;
  }

  /** The `deletes` value for the next STATE (the id set is re-encoded only when it changed). */
  stateValue(): DeletesState {
    const known = this.known ?? this.emitted;
    if (this.encoded?.version !== this.version || this.encoded.size !== known.size) {
      this.encoded = { size: known.size, version: this.version, text: known.encode() };
    }
    return {
      ...(this.checkedAt ? { checkedAt: this.checkedAt } : {}),
      ...(known.size > 0 || this.known ? { ids: this.encoded.text } : {}),
      ...(this.listing?.ordered ? { listing: { startedAt: this.listing.startedAt, after: this.listing.after, ids: this.listing.ids.encode() } } : {}),
    };
  }

  /**
   * Lists the ids that exist: `GET <path>?count=false&page[size]=1000&sort=id&fields[<type>]=`
   * (type and id only, §4.4; with `start_date`, `fields[<type>]=<cursor>`: ids older than it and
   * not in the set are left out; `sort=id` is used by public clients but carries no badge: §2.2,
   * unverified), following `links.next` verbatim (§4.1); a resumed listing adds the legacy filter
   * `filter[id]=<after+1>..inf` (§5.1; never with newFilterSyntax, §5.2). Requests: one per 1,000
   * ids, plus one when the last page is followed by an empty one (≤ ceil(N/1000) + 1), plus one per
   * resumption.
   * @param client the stream's client (same token, rate budget and retries as its pages; a page of
   *   1,000 bare resource identifiers is ~100 KB, so 502/504 are retried like other 5xx, not halved)
   * @param checkpoint called after every LISTING_STATE_EVERY_PAGES pages (emits a STATE with the progress)
   * @returns the listing to commit; on failure the progress is dropped (the next check starts over,
   *   unless the run was stopped by a signal) and the error is thrown
   * @throws what the client throws; system_error for a resource of the wrong type or a paging loop
   */
  async list(client: OutreachClient, checkpoint: () => Promise<void>, signal: AbortSignal): Promise<ListingResult> {
    const before = (this.known ?? new IdSet()).clone();
    const listing = (this.listing ??= { startedAt: formatInstant(Date.now()), after: -1, ids: new IdSet(), ordered: true });
    try {
      const cursor = this.startDateMs === undefined ? undefined : this.stream.cursorField!;
      let url: URL | undefined = listUrl(client.baseUrl, this.stream, listing.after, cursor);
      let pages = 0;
      while (url) {
        const document: CollectionDocument<{ id: number; kept: boolean }> = await client.getCollection(url, true, (resource) => {
          if (resource.type !== this.stream.type || !Number.isSafeInteger(resource.id) || resource.id < 0) {
            throw new Error(`${this.stream.path} listed ${JSON.stringify(resource.type)} ${JSON.stringify(resource.id)}, expected a ${this.stream.type} with an integer id`);
          }
          const value = cursor ? resource.attributes?.[cursor] : undefined;
          const older = typeof value === "string" && parseInstant(value) < this.startDateMs!;
          return { id: resource.id, kept: !older || before.has(resource.id) };
        });
        for (const { id, kept } of document.data) {
          if (kept) listing.ids.add(id);
          if (id <= listing.after) listing.ordered = false;
          listing.after = Math.max(listing.after, id);
        }
        const next = document.links?.next;
        const followed: URL = url;
        url = typeof next === "string" && next !== "" ? new URL(next) : undefined;
        if (url?.href === followed.href) throw new Error(`${this.stream.path} returned a links.next that repeats the page (a paging loop)`);
        if (url && ++pages % LISTING_STATE_EVERY_PAGES === 0 && listing.ordered) await checkpoint();
      }
    } catch (error) {
      if (!signal.aborted) this.listing = undefined;
      throw error;
    }
    return { before, listed: listing.ids, startedAt: listing.startedAt, first: this.known === undefined };
  }

  /**
   * Commits a completed listing; call it in the step that writes the tombstones, right before them
   * (every later STATE then carries the new check).
   * @returns the tombstone records (JSON texts): one per id of K0 not listed, ascending
   */
  commit(result: ListingResult): string[] {
    const gone = result.before.without(result.listed);
    this.known = result.listed.clone().addAll(this.emitted);
    this.checkedAt = result.startedAt;
    this.listing = undefined;
    this.version++;
    const cursor = this.stream.cursorField!;
    const t = JSON.stringify(result.startedAt);
    return gone.map((id) => `{"id":${id},"${DELETED_AT_FIELD}":${t},${JSON.stringify(cursor)}:${t}}`);
  }

  /** A WARN text for a failed listing. */
  failure(error: unknown): string {
    return `${this.stream.name}: the delete check failed (${messageOf(error)}); no tombstones this run, the stream is read as usual and its previous check is kept.`;
  }
}

/** The listing's URL (see `DeleteCheck.list`); `cursor`: the one attribute to request (else type and id only). */
export function listUrl(baseUrl: URL, stream: StreamDefinition, after: number, cursor?: string): URL {
  const url = new URL(stream.path.slice(1), baseUrl);
  const params = url.searchParams;
  params.set("count", "false");
  params.set("page[size]", String(LIST_PAGE_SIZE));
  params.set("sort", "id");
  params.set(`fields[${stream.type}]`, cursor ?? "");
  if (after >= 0) params.set("filter[id]", `${after + 1}..inf`);
  return url;
}

/** The id of a record's JSON text (`{"id":123,…`), or undefined when it has no integer id. */
export function idOfRecord(record: string): number | undefined {
  const m = /^\{"id":(\d{1,16})[,}]/.exec(record);
  return m ? Number(m[1]) : undefined;
}

function instant(value: unknown, file: string, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || Number.isNaN(parseInstant(value))) throw new InputError(file, field, `must be an ISO-8601 timestamp, not ${JSON.stringify(value)}`);
  return value;
}

function idSet(value: unknown, file: string, field: string): IdSet {
  try {
    return IdSet.decode(value as string);
  } catch (error) {
    throw new InputError(file, field, `${messageOf(error)} (an id list written by this connector)`);
  }
}

/**
 * The delete checks of a read: one per incremental stream with a cursor when
 * `detect_deletes_every_hours` is set, none otherwise.
 * @throws InputError for a malformed `deletes` value in the state (see DeleteCheck)
 */
export function deleteChecks(
  configured: readonly ConfiguredStream[],
  state: Map<string, Record<string, unknown>>,
  file: string,
  everyMs: number | undefined,
  nowMs: number,
  startDateMs?: number,
): Map<string, DeleteCheck> {
  const checks = new Map<string, DeleteCheck>();
  if (everyMs === undefined) return checks;
  for (const c of configured) {
    if (c.syncMode !== "incremental" || !c.definition.cursorField) continue;
    checks.set(c.definition.name, new DeleteCheck(c.definition, state.get(c.definition.name), file, everyMs, nowMs, startDateMs));
  }
  return checks;
}

/** A listing as work of the scheduler. */
interface CheckWork {
  check: DeleteCheck;
}

/**
 * Adds the due checks' listings to the scheduler's work (src/windows.ts): each is one unsplit unit
 * just before its stream, occupying one of the `concurrency` slots. Starting the listing starts its
 * stream (so both are skipped alike); the stream ends only after its listing settled.
 * @param run runs a check's listing and writes its result (StreamRead.runDeleteCheck); never rejects
 */
export function withDeleteChecks(
  streams: readonly string[],
  hooks: WindowHooks<string>,
  checks: ReadonlyMap<string, DeleteCheck>,
  run: (check: DeleteCheck) => Promise<void>,
): { streams: (string | CheckWork)[]; hooks: WindowHooks<string | CheckWork> } {
  const started = new Map<string, number | undefined>();
  const settled = new Map<string, Promise<void>>();
  const finished = new Map<CheckWork, () => void>();
  const start = (name: string): number | undefined => {
    if (!started.has(name)) started.set(name, hooks.start(name));
    return started.get(name);
  };
  const order: (string | CheckWork)[] = [];
  for (const name of streams) {
    const check = checks.get(name);
    if (check?.due) order.push({ check });
    order.push(name);
  }
  return {
    streams: order,
    hooks: {
      start: (s) => {
        if (typeof s === "string") return start(s);
        const name = s.check.stream.name;
        if (start(name) === undefined) return undefined;
        settled.set(name, new Promise<void>((resolve) => finished.set(s, resolve)));
        return -Infinity;
      },
      splittable: (s) => typeof s === "string" && hooks.splittable(s),
      read: async (w, progress) => {
        if (typeof w.stream === "string") return hooks.read(w as Window<string>, progress);
        try {
          await run(w.stream.check);
        } finally {
          w.more = false;
          finished.get(w.stream)?.();
        }
      },
      split: (w, created) => hooks.split(w as Window<string>, created as Window<string>),
      end: async (s, error) => {
        if (typeof s !== "string") return;
        await settled.get(s);
        await hooks.end(s, error);
      },
    },
  };
}
