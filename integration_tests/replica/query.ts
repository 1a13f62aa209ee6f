/**
 * The parsed form of a collection request (outreach-api.md §4, §5): paging mode and keyset, sort
 * keys, filters, sparse fieldset and counting. Parsing lives in `filters.ts` (filters) and
 * `paging.ts` (the rest); this module holds the shared types and the value comparison rules.
 */
import { ApiError } from "./errors.js";

/** A filter or sort value. Timestamps are compared as epoch seconds. */
export type Scalar = string | number | boolean | null;

/** One sort key (`sort=a,-b`). */
export interface SortKey {
  field: string;
  desc: boolean;
  /** True if the field holds timestamps (compared as instants). */
  timestamp: boolean;
}

/** One filter condition; a record must satisfy every condition. */
export interface FilterCond {
  /** The query's field name (`updatedAt`, `id`, a relationship name or relationship field). */
  field: string;
  /** What the field reads: an attribute, the resource id, or a relationship's id or type. */
  target: { kind: "attr"; name: string } | { kind: "id" } | { kind: "rel"; rel: string; part: "id" | "type" } | { kind: "search" };
  /** `in` (any of values), `range` (lo..hi inclusive, null = open), `null`, `notnull`. */
  test: "in" | "range" | "null" | "notnull";
  values: Scalar[];
  lo: Scalar;
  hi: Scalar;
  timestamp: boolean;
}

/** A decoded `page[after]` / `page[before]` keyset. */
export interface Keyset {
  sv: Scalar[];
  id: number;
}

/** Everything a collection request asks for. */
export interface CollectionQuery {
  mode: "cursor" | "offset";
  size: number;
  after: Keyset | null;
  before: Keyset | null;
  offset: number;
  limit: number;
  sort: SortKey[];
  filters: FilterCond[];
  /** Sparse fieldset for the stream's type (attribute and relationship names), or null for all. */
  fields: Set<string> | null;
  count: boolean;
  /** The request's query parameters as sent (decoded), in order. */
  params: [string, string][];
}

/** Parses a filter timestamp: `…:SS.mmmZ`, `…:SSZ` or a date; anything else (six digits too) is a 400. */
export function parseTimestamp(value: string, param: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}:\d{2})(\.\d{3})?Z)?$/.exec(value);
  const ms = m ? Date.parse(m[2] ? `${m[1]}T${m[2]}${m[3] ?? ""}Z` : `${m[1]}T00:00:00Z`) : NaN;
  if (Number.isNaN(ms)) {
    throw new ApiError(400, "filterParameter.invalidDatetimeFormat", "Invalid Datetime Format",
      `The value '${value}' of '${param}' is not a valid datetime; use YYYY-MM-DDTHH:MM:SS.sssZ.`, { parameter: param });
  }
  return ms / 1000;
}

/** Converts an attribute value to its comparable form (timestamps → epoch seconds). */
export function comparable(v: unknown, timestamp: boolean): Scalar {
  if (v === null || v === undefined) return null;
  if (timestamp && typeof v === "string") {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? v : ms / 1000;
  }
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  return JSON.stringify(v);
}

/** Total order on scalars: null first, then booleans, numbers, strings. */
export function compareScalar(a: Scalar, b: Scalar): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a !== typeof b) return rank(a) - rank(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function rank(v: Scalar): number {
  return typeof v === "boolean" ? 0 : typeof v === "number" ? 1 : 2;
}

/**
 * Compares two rows' keys under a sort spec; ties are broken by id, in the direction of the first
 * sort key (GUESS: `sort=-updatedAt` pages by (updatedAt DESC, id DESC), a plain reversal).
 */
export function compareKeys(sort: readonly SortKey[], a: Keyset, b: Keyset): number {
  for (let k = 0; k < sort.length; k++) {
    const c = compareScalar(a.sv[k] ?? null, b.sv[k] ?? null);
    if (c !== 0) return (sort[k] as SortKey).desc ? -c : c;
  }
  return sort[0]?.desc ? b.id - a.id : a.id - b.id;
}
