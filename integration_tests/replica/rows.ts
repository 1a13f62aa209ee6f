/**
 * Pure helpers that turn a query's filters into index ranges for the binary-search paths of
 * `data.ts`: cursor ranges (sort by the cursor field) and id selections (sort by id).
 */
import type { CollectionQuery, FilterCond } from "./query.js";

/** The [lo, hi] cursor range if every filter is a range (or single value) on the cursor field, else null. */
export function cursorRange(q: CollectionQuery, field: string): [number | null, number | null] | null {
  let lo: number | null = null;
  let hi: number | null = null;
  for (const f of q.filters) {
    if (f.target.kind !== "attr" || f.target.name !== field) return null;
    let flo = f.lo;
    let fhi = f.hi;
    if (f.test === "in" && f.values.length === 1) flo = fhi = f.values[0] ?? null;
    else if (f.test !== "range") return null;
    if (typeof flo === "number") lo = lo === null ? flo : Math.max(lo, flo);
    if (typeof fhi === "number") hi = hi === null ? fhi : Math.min(hi, fhi);
  }
  return [lo, hi];
}

/** Insertion point of v in a sorted list. */
export function sortedIndex(list: number[], v: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The record indices (ascending) selected by filters that all test the id (ranges and lists), as a
 * virtual list; null if some filter reads anything else.
 *
 * @param total number of records; indices are 0..total-1 and ids grow with the index
 * @param indexOf index of an id, or -1
 * @param idOf id of an index
 */
export function idSelection(filters: readonly FilterCond[], total: number, indexOf: (id: number) => number, idOf: (i: number) => number): { length: number; at(k: number): number } | null {
  let from = 0;
  let to = total;
  let list: number[] | null = null;
  const firstAtLeast = (id: number): number => {
    let lo = 0;
    let hi = total;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (idOf(mid) < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (const f of filters) {
    if (f.target.kind !== "id") return null;
    if (f.test === "range") {
      if (typeof f.lo === "number") from = Math.max(from, firstAtLeast(f.lo));
      if (typeof f.hi === "number") to = Math.min(to, firstAtLeast(Math.floor(f.hi) + 1));
    } else if (f.test === "in") {
      const picked = f.values.filter((v): v is number => typeof v === "number").map(indexOf).filter((i) => i >= 0);
      list = list === null ? picked : list.filter((i) => picked.includes(i));
    } else if (f.test === "null") {
      to = 0;
    }
  }
  if (list !== null) {
    const sorted = [...new Set(list)].filter((i) => i >= from && i < to).sort((a, b) => a - b);
    return { length: sorted.length, at: (k) => sorted[k] as number };
  }
  const n = Math.max(0, to - from);
  return { length: n, at: (k) => from + k };
}
