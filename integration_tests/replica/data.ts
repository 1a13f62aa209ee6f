/**
 * The replica's data: per stream, generated base records (never materialised) plus an overlay of
 * added and updated records. Collection queries become a `RowList` — a virtual sorted list of
 * record indices — computed by binary search when the query sorts by id or by the stream's cursor
 * and filters only on that key (the incremental-read shape), else by materialising and sorting
 * the stream (allowed up to SLOW_PATH_LIMIT records).
 */
import { STREAMS, type StreamDefinition } from "../../src/streams.js";
import type { ByteWriter } from "./bytes.js";
import { ApiError } from "./errors.js";
import { matchesAll, type Parsed } from "./filters.js";
import { StreamGenerator, type Overlay } from "./generator.js";
import { hash2, strHash } from "./hash.js";
import { comparable, compareKeys, type CollectionQuery, type Keyset, type SortKey } from "./query.js";
import { cursorRange, idSelection, sortedIndex } from "./rows.js";
import { iso, Timeline } from "./timeline.js";

/** Queries outside the binary-search shape materialise the stream; above this size they are refused. */
export const SLOW_PATH_LIMIT = 25_000;

/** A virtual, sorted list of record indices answering one query. */
export interface RowList {
  length: number;
  /** The record index at position k. */
  at(k: number): number;
  /** The sort key (sort values + id) at position k. */
  key(k: number): Keyset;
}

interface Entry {
  overlay: Overlay;
  cursorSec: number;
}

/** The default base record count of a stream: a few dozen (prospects: 120). */
export function defaultCount(name: string, seed: number): number {
  return name === "prospects" ? 120 : 25 + (hash2(strHash(name), seed) % 36);
}

/** One stream's base records and overlay. */
export class StreamData {
  readonly timeline: Timeline;
  private generator: StreamGenerator | null = null;
  private entries = new Map<number, Entry>();
  private added = 0;
  private holes: number[] = [];
  private tail: number[] = [];
  /** Indices of deleted records, ascending (`Control.deleteRecords`). */
  private deleted: number[] = [];
  private parsed: { version: number; rows: Parsed[] } | null = null;
  private version = 0;

  constructor(readonly def: StreamDefinition, count: number, private readonly seed: number, private readonly apiBase: string, private readonly countOf: (s: string) => number) {
    this.timeline = new Timeline(hash2(strHash(def.name), seed ^ 0x2545f491), count);
  }

  /** The stream's record generator (built on first use: it precomputes value profiles). */
  get gen(): StreamGenerator {
    this.generator ??= new StreamGenerator(this.def, this.timeline, this.seed, this.apiBase, this.countOf);
    return this.generator;
  }

  /** Number of records (base + added). */
  total(): number {
    return this.timeline.count + this.added;
  }

  /** Number of records that exist (added and base ones, less the deleted). */
  live(): number {
    return this.total() - this.deleted.length;
  }

  /** The index of the record with this id, or -1 (also for a deleted one). */
  indexOf(id: number): number {
    const i = this.timeline.indexOfId(id);
    return i >= 0 && i < this.total() && !this.isDeleted(i) ? i : -1;
  }

  private isDeleted(i: number): boolean {
    const k = sortedIndex(this.deleted, i);
    return this.deleted[k] === i;
  }

  /**
   * Deletes records for good: they leave every collection and `ids()`; their ids are never given
   * again (added records get new ones), as in Outreach (outreach-api.md §9 #14).
   */
  delete(indices: number[]): void {
    for (const i of indices) {
      if (this.isDeleted(i)) continue;
      this.deleted.splice(sortedIndex(this.deleted, i), 0, i);
      if (i < this.timeline.count && !this.entries.has(i)) this.holes.splice(sortedIndex(this.holes, i), 0, i);
      this.tail = this.tail.filter((t) => t !== i);
    }
    this.version++;
  }

  /** Resource object JSON text of record i. */
  render(i: number, fields?: Set<string> | null): string {
    return this.gen.render(i, this.entries.get(i)?.overlay, fields ?? undefined);
  }

  /** Writes the resource object of record i into `w`. */
  renderInto(w: ByteWriter, i: number, fields?: Set<string> | null): void {
    this.gen.renderInto(w, i, this.entries.get(i)?.overlay, fields ?? undefined);
  }

  /** Every record id (ascending). */
  ids(): number[] {
    return Array.from({ length: this.total() }, (_, i) => i)
      .filter((i) => !this.isDeleted(i))
      .map((i) => this.timeline.idOf(i));
  }

  /** Layers attribute changes (JSON texts) and a new cursor second over records (new indices are added records). */
  apply(indices: number[], attrs: Map<string, string>, sec: number): void {
    const tf = this.gen.timeField;
    for (const i of indices) {
      const old = this.entries.get(i);
      const isNew = i >= this.timeline.count + this.added;
      if (isNew) this.added++;
      const overlay: Overlay = old?.overlay ?? { sec: isNew ? sec : this.timeline.cursorSec(i), attrs: new Map() };
      for (const [k, v] of attrs) overlay.attrs.set(k, v);
      if (tf) overlay.attrs.set(tf, JSON.stringify(iso(sec)));
      if (isNew) for (const f of ["createdAt", "updatedAt", "eventAt"]) if (this.gen.attrNames.has(f)) overlay.attrs.set(f, JSON.stringify(iso(sec)));
      this.entries.set(i, { overlay, cursorSec: sec });
      if (i < this.timeline.count && !old) this.holes.splice(sortedIndex(this.holes, i), 0, i);
      if (old) this.tail = this.tail.filter((t) => t !== i);
      this.tail.push(i);
    }
    this.version++;
  }

  /** The index the next added record gets. */
  nextIndex(offset: number): number {
    return this.timeline.count + this.added + offset;
  }

  /** Forgets every added and updated record. */
  reset(): void {
    this.entries.clear();
    this.added = 0;
    this.holes = [];
    this.tail = [];
    this.deleted = [];
    this.parsed = null;
    this.version++;
  }

  /** The rows answering a query's filters and sort, in keyset order. */
  rows(q: CollectionQuery): RowList {
    const sort = q.sort;
    const tf = this.gen.timeField;
    const byId = sort.length === 0 || (sort.length === 1 && sort[0]?.field === "id" && !sort[0].desc);
    if (byId) {
      const selected = idSelection(q.filters, this.total(), (id) => this.indexOf(id), (i) => this.timeline.idOf(i));
      const picked = selected && withoutDeleted(selected, this.deleted);
      if (picked) {
        const key = (k: number): Keyset => {
          const id = this.timeline.idOf(picked.at(k));
          return { sv: sort.length ? [id] : [], id };
        };
        return { length: picked.length, at: picked.at, key };
      }
    }
    const s0 = sort[0];
    if (sort.length === 1 && s0 && s0.field === tf) {
      const range = cursorRange(q, tf);
      if (range) {
        const asc = this.cursorRows(range[0], range[1]);
        if (!s0.desc) return asc;
        const n = asc.length;
        return { length: n, at: (k) => asc.at(n - 1 - k), key: (k) => asc.key(n - 1 - k) };
      }
    }
    return this.slowRows(q);
  }

  private cursorSec(i: number): number {
    return this.entries.get(i)?.cursorSec ?? this.timeline.cursorSec(i);
  }

  /** Rows sorted by (cursor, id) with the cursor in [lo, hi]: base range by binary search, then the overlay tail. */
  private cursorRows(lo: number | null, hi: number | null): RowList {
    const t = this.timeline;
    const from = lo === null ? 0 : t.lowerBound(lo);
    const to = hi === null ? t.count : t.upperBound(hi);
    const holes = this.holes.filter((h) => h >= from && h < to);
    const baseLen = Math.max(0, to - from - holes.length);
    const tail = this.tail
      .filter((i) => {
        const s = this.cursorSec(i);
        return (lo === null || s >= lo) && (hi === null || s <= hi);
      })
      .sort((a, b) => this.cursorSec(a) - this.cursorSec(b) || a - b);
    const at = (k: number): number => {
      if (k >= baseLen) return tail[k - baseLen] as number;
      let i = from + k;
      for (const h of holes) {
        if (h <= i) i++;
        else break;
      }
      return i;
    };
    return { length: baseLen + tail.length, at, key: (k) => {
      const i = at(k);
      return { sv: [this.cursorSec(i)], id: t.idOf(i) };
    } };
  }

  /** Materialises, filters and sorts the whole stream. */
  private slowRows(q: CollectionQuery): RowList {
    if (this.total() > SLOW_PATH_LIMIT) {
      throw new ApiError(400, "replica.unsupportedQuery", "Unsupported Query",
        `The replica serves this filter/sort combination only for streams up to ${SLOW_PATH_LIMIT} records; sort by the cursor field and filter only on it.`);
    }
    if (!this.parsed || this.parsed.version !== this.version) {
      const rows = Array.from({ length: this.total() }, (_, i) => i)
        .filter((i) => !this.isDeleted(i))
        .map((i) => ({ ...(JSON.parse(this.render(i)) as Parsed), index: i }));
      this.parsed = { version: this.version, rows };
    }
    const keyOf = (p: Parsed): Keyset => ({ sv: q.sort.map((s) => sortValue(p, s)), id: p.id });
    const rows = this.parsed.rows.filter((p) => matchesAll(p, q.filters)).map((p) => ({ p, key: keyOf(p) }));
    rows.sort((a, b) => compareKeys(q.sort, a.key, b.key));
    return { length: rows.length, at: (k) => rows[k]?.p.index ?? -1, key: (k) => (rows[k] as { key: Keyset }).key };
  }
}

/**
 * An ascending list of indices without the deleted ones (ascending): position k maps to the k-th
 * index that is not deleted, found by binary search over the deleted list.
 */
function withoutDeleted(list: { length: number; at(k: number): number }, deleted: readonly number[]): { length: number; at(k: number): number } {
  if (deleted.length === 0 || list.length === 0) return list;
  const first = list.at(0);
  const last = list.at(list.length - 1);
  const inside = deleted.filter((d) => d >= first && d <= last);
  // A contiguous selection (an id range): skip the deleted indices arithmetically.
  if (last - first + 1 === list.length) {
    // before[j] = indices kept before inside[j] = inside[j] - first - j (non-decreasing).
    const at = (k: number): number => {
      let lo = 0;
      let hi = inside.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (inside[mid]! - first - mid <= k) lo = mid + 1;
        else hi = mid;
      }
      return first + k + lo;
    };
    return { length: list.length - inside.length, at };
  }
  const kept: number[] = [];
  const gone = new Set(inside);
  for (let k = 0; k < list.length; k++) if (!gone.has(list.at(k))) kept.push(list.at(k));
  return { length: kept.length, at: (k) => kept[k]! };
}

function sortValue(p: Parsed, s: SortKey): ReturnType<typeof comparable> {
  return s.field === "id" ? p.id : comparable(p.attributes?.[s.field], s.timestamp);
}

/** All streams' data. */
export class Dataset {
  readonly streams = new Map<string, StreamData>();
  private lastBump = 0;
  private readonly maxBaseSec: number;

  /**
   * @param seed data seed
   * @param records base record count: one number for every stream, or per stream name (others default)
   * @param apiBase absolute API base ending in `/`
   */
  constructor(seed: number, records: number | Record<string, number> | undefined, apiBase: string) {
    const counts = new Map(STREAMS.map((s) => [s.name, countFor(s.name, seed, records)]));
    const countOf = (name: string): number => counts.get(name) ?? 0;
    for (const s of STREAMS) this.streams.set(s.name, new StreamData(s, countOf(s.name), seed, apiBase, countOf));
    this.maxBaseSec = Math.max(...[...this.streams.values()].map((s) => s.timeline.maxSec()));
  }

  /** A cursor second later than every existing value (now, or later if data or earlier bumps are ahead of the clock). */
  bump(): number {
    this.lastBump = Math.max(Math.floor(Date.now() / 1000), this.maxBaseSec + 1, this.lastBump + 1);
    return this.lastBump;
  }

  /** Forgets all added and updated records. */
  reset(): void {
    for (const s of this.streams.values()) s.reset();
  }
}

function countFor(name: string, seed: number, records: number | Record<string, number> | undefined): number {
  if (typeof records === "number") return Math.max(1, Math.floor(records));
  const n = records?.[name];
  return n !== undefined ? Math.max(1, Math.floor(n)) : defaultCount(name, seed);
}
