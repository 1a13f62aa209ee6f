/**
 * Ids and cursor timestamps of a stream's base records as pure functions of the record index i.
 *
 * - `idOf(i)` is strictly increasing with gaps (every sixth id is missing, as if deleted).
 * - `cursorSec(i)` is non-decreasing: records come in tie groups that share one second. The index
 *   space is cut into regions of 47 records (a prime, so group edges never line up with page sizes
 *   10 or 1000); inside a region, groups have 3, 4, 6 or 7 records, so page boundaries at 10, 1000
 *   and 2000 always fall inside a tie group.
 *
 * Because both are monotonic in i, keyset positions and `gte`/`lte` bounds are binary searches.
 */
import { hash2 } from "./hash.js";

const REGION = 47;
const GROUPS_PER_REGION = 16;
const GROUP_SIZES = [3, 4, 6, 7] as const;
/** 2025-06-30T00:00:00Z: the newest base record of every stream is a little before this. */
const END_SEC = 1_751_241_600;
const SPAN_SEC = 78_900_000; // about 2.5 years

/** Id and cursor layout of one stream's base records. */
export class Timeline {
  readonly startSec: number;
  private readonly step: number;

  /**
   * @param salt per-stream hash salt
   * @param count number of base records (fixes the spacing of the groups)
   */
  constructor(private readonly salt: number, readonly count: number) {
    const end = END_SEC - (salt % 864_000);
    this.startSec = end - SPAN_SEC;
    const groups = (Math.floor(count / REGION) + 1) * GROUPS_PER_REGION;
    this.step = Math.max(2, Math.floor(SPAN_SEC / groups));
  }

  /** The id of base record i. */
  idOf(i: number): number {
    return idOfIndex(i);
  }

  /** The index of the record with this id (also for ids past the base range), or -1 if no index has it. */
  indexOfId(id: number): number {
    if (!Number.isInteger(id) || id < 1) return -1;
    const i = id - 1 - Math.floor((id - 1) / 6);
    return this.idOf(i) === id ? i : -1;
  }

  /** The tie group number of record i (records of one group share a cursor second). */
  groupOf(i: number): number {
    const region = Math.floor(i / REGION);
    const size = GROUP_SIZES[hash2(this.salt, region) & 3] as number;
    return region * GROUPS_PER_REGION + Math.floor((i - region * REGION) / size);
  }

  /** The cursor value (epoch seconds) of base record i. */
  cursorSec(i: number): number {
    const g = this.groupOf(i);
    return this.startSec + g * this.step + (hash2(this.salt ^ 0x5bd1e995, g) % this.step);
  }

  /** The latest cursor second of any base record. */
  maxSec(): number {
    return this.count > 0 ? this.cursorSec(this.count - 1) : this.startSec;
  }

  /** The first index in [0, count) whose cursor is ≥ sec (count if none). */
  lowerBound(sec: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cursorSec(mid) < sec) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first index in [0, count) whose cursor is > sec (count if none). */
  upperBound(sec: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cursorSec(mid) <= sec) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The id of record i of any stream: strictly increasing, every sixth id missing. */
export function idOfIndex(i: number): number {
  return i + 1 + Math.floor(i / 5);
}

const dayPrefix = new Map<number, string>();
const TWO = Array.from({ length: 60 }, (_, k) => String(k).padStart(2, "0"));

/** ISO-8601 UTC with exactly three fractional digits, as Outreach writes timestamps (whole seconds). */
export function iso(sec: number): string {
  if (!Number.isInteger(sec)) return new Date(sec * 1000).toISOString();
  const day = Math.floor(sec / 86400);
  let prefix = dayPrefix.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * 86_400_000).toISOString().slice(0, 11);
    if (dayPrefix.size > 50_000) dayPrefix.clear();
    dayPrefix.set(day, prefix);
  }
  const t = sec - day * 86400;
  return `${prefix}${TWO[Math.floor(t / 3600)]}:${TWO[Math.floor(t / 60) % 60]}:${TWO[t % 60]}.000Z`;
}
