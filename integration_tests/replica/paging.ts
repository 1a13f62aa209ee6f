/**
 * Paging (outreach-api.md §4): parses page/sort/fields/count parameters, encodes the opaque
 * keyset cursor like Outreach's (`{"cn","sp","sv","id","v"}`, padded base64), selects a page
 * from a RowList, and builds the collection document with its `links` and `meta`.
 */
import type { StreamDefinition } from "../../src/streams.js";
import { ByteWriter } from "./bytes.js";
import type { RowList, StreamData } from "./data.js";
import { ApiError } from "./errors.js";
import { parseFilters } from "./filters.js";
import { compareKeys, type CollectionQuery, type Keyset, type Scalar, type SortKey } from "./query.js";
import { iso } from "./timeline.js";

const MAX_SIZE = 1000;
const MAX_OFFSET = 10_000;

function pageError(param: string, detail: string, code = "pageParameter.invalidPageSize", title = "Invalid Page Size"): ApiError {
  return new ApiError(400, code, title, detail, { parameter: param });
}

function intParam(params: Map<string, string>, name: string, min: number, max: number, fallback: number): number {
  const raw = params.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    const code = name === "page[offset]" ? "pageParameter.invalidPageOffset" : "pageParameter.invalidPageSize";
    throw pageError(name, `'${name}' must be an integer between ${min} and ${max}; got '${raw}'.`, code, code.endsWith("Offset") ? "Invalid Page Offset" : "Invalid Page Size");
  }
  return n;
}

/** The controller name Outreach puts in cursors, e.g. `ApiV2::SequenceStatesController`. */
function controllerName(stream: StreamDefinition): string {
  return `ApiV2::${stream.path.charAt(1).toUpperCase()}${stream.path.slice(2)}Controller`;
}

/** Encodes a keyset cursor (`page[after]`/`page[before]` value). */
export function encodeCursor(stream: StreamDefinition, sortParam: string, sort: readonly SortKey[], key: Keyset): string {
  const sv = key.sv.map((v, k) => (sort[k]?.timestamp && typeof v === "number" ? iso(v) : v));
  return Buffer.from(JSON.stringify({ cn: controllerName(stream), sp: sortParam, sv, id: key.id, v: 1 })).toString("base64");
}

/** Decodes a keyset cursor; a cursor from another collection or sort is a 400. */
export function decodeCursor(stream: StreamDefinition, sortParam: string, sort: readonly SortKey[], token: string, param: string): Keyset {
  const bad = (): ApiError => pageError(param, `'${param}' is not a valid cursor for this request.`, "pageParameter.invalidCursor", "Invalid Page Cursor");
  let c: { cn?: unknown; sp?: unknown; sv?: unknown; id?: unknown };
  try {
    c = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as typeof c;
  } catch {
    throw bad();
  }
  if (c.cn !== controllerName(stream) || c.sp !== sortParam || !Array.isArray(c.sv) || c.sv.length !== sort.length || typeof c.id !== "number") throw bad();
  const sv = (c.sv as Scalar[]).map((v, k) => (sort[k]?.timestamp && typeof v === "string" ? Date.parse(v) / 1000 : v));
  return { sv, id: c.id };
}

/**
 * Parses a collection request's parameters.
 *
 * @throws ApiError 400 for bad page sizes, offsets, cursors, sort or fields names, filters
 */
export function parseCollectionQuery(params: [string, string][], sd: StreamData): CollectionQuery {
  const stream = sd.def;
  const attrs = new Map(sd.gen.attrs.map((a) => [a.name, a]));
  const p = new Map(params);
  const sortParam = p.get("sort") ?? "";
  const sort: SortKey[] = sortParam === "" ? [] : sortParam.split(",").map((s) => {
    const desc = s.startsWith("-");
    const field = desc ? s.slice(1) : s;
    if (field !== "id" && !stream.sortable.includes(field)) {
      throw new ApiError(400, "sortParameter.invalidSortField", "Invalid Sort Field", `'${field}' is not a sortable field of '${stream.type}'.`, { parameter: "sort" });
    }
    return { field, desc, timestamp: attrs.get(field)?.kind === "timestamp" };
  });
  let fields: Set<string> | null = null;
  const fieldsRaw = p.get(`fields[${stream.type}]`);
  if (fieldsRaw !== undefined) {
    fields = new Set(fieldsRaw.split(",").filter((f) => f !== ""));
    const rels = new Set(stream.relationships.map((r) => r.name));
    for (const f of fields) {
      if (!attrs.has(f) && !rels.has(f)) {
        throw unknownField(stream.type, f);
      }
    }
  }
  const cursor = p.has("page[size]") || p.has("page[after]") || p.has("page[before]");
  const sp = sortParam || "id";
  const after = p.get("page[after]");
  const before = p.get("page[before]");
  return {
    mode: cursor ? "cursor" : "offset",
    size: intParam(p, "page[size]", 1, MAX_SIZE, 50),
    after: after !== undefined ? decodeCursor(stream, sp, sort, after, "page[after]") : null,
    before: before !== undefined && after === undefined ? decodeCursor(stream, sp, sort, before, "page[before]") : null,
    offset: cursor ? 0 : intParam(p, "page[offset]", 0, MAX_OFFSET, 0),
    limit: cursor ? 0 : intParam(p, "page[limit]", 1, MAX_SIZE, 50),
    sort,
    filters: parseFilters(params, stream, attrs),
    fields,
    count: p.get("count") === "true",
    params,
  };
}

/** The 400 for a sparse fieldset naming something that is not a field of `type` (outreach-api.md §4.4). */
export function unknownField(type: string, field: string): ApiError {
  return new ApiError(400, "fieldsParameter.unknownResourceField", "Unknown Resource Field", `'${field}' is not a field of '${type}'.`, { parameter: `fields[${type}]` });
}

/** Percent-encodes like Rails' `to_query` (space as `+`, only `*-._` and alphanumerics left bare). */
export function encodeComponent(s: string): string {
  return encodeURIComponent(s).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, "+");
}

/** A query string of the given parameters, sorted by encoded key (stable), percent-encoded. */
export function encodeQuery(params: [string, string][]): string {
  return params
    .map(([k, v]) => [encodeComponent(k), encodeComponent(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

function firstAfter(rows: RowList, sort: readonly SortKey[], key: Keyset, strict: boolean): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(sort, rows.key(mid), key);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adjustments faults make to a page's links. */
export interface LinkFaults {
  /** Replace `links.next` by this URL (the request's own URL: a loop). */
  nextOverride?: string;
  /** Rewrite `links.next` onto this origin (e.g. `http://127.0.0.2:PORT`). */
  nextOrigin?: string;
}

/**
 * Builds the collection document (UTF-8 JSON bytes) for one request.
 *
 * @param w writer to build it in (e.g. over a pooled buffer); the result is a view into it
 */
export function collectionDocument(sd: StreamData, q: CollectionQuery, apiBase: string, faults: LinkFaults = {}, w = new ByteWriter()): Buffer {
  const rows = sd.rows(q);
  const sp = q.params.find(([k]) => k === "sort")?.[1] || "id";
  const base = `${apiBase}${sd.def.path.slice(1)}?`;
  const keep = q.params.filter(([k]) => !["page[after]", "page[before]", "page[offset]"].includes(k));
  const url = (extra: [string, string][]): string => base + encodeQuery([...keep, ...extra]);
  const cursor = (k: number): string => encodeCursor(sd.def, sp, q.sort, rows.key(k));
  let start: number;
  let end: number;
  const links: Record<string, string> = {};
  if (q.mode === "cursor") {
    if (q.before) {
      end = firstAfter(rows, q.sort, q.before, false);
      start = Math.max(0, end - q.size);
    } else {
      start = q.after ? firstAfter(rows, q.sort, q.after, true) : 0;
      end = Math.min(rows.length, start + q.size);
    }
    if (end > start) {
      links.first = url([]);
      if (start > 0) links.prev = url([["page[before]", cursor(start)]]);
      if (end < rows.length) links.next = url([["page[after]", cursor(end - 1)]]);
    }
  } else {
    start = Math.min(q.offset, rows.length);
    end = Math.min(rows.length, start + q.limit);
    if (end > start) {
      const at = (o: number): string => url([["page[offset]", String(o)]]);
      const last = Math.min(MAX_OFFSET, Math.max(0, Math.floor((rows.length - 1) / q.limit) * q.limit));
      links.first = at(0);
      if (start > 0) links.prev = at(Math.max(0, start - q.limit));
      if (end < rows.length && start + q.limit <= MAX_OFFSET) links.next = at(start + q.limit);
      links.last = at(last);
    }
  }
  if (faults.nextOverride) links.next = faults.nextOverride;
  if (faults.nextOrigin && links.next) links.next = faults.nextOrigin + new URL(links.next).pathname + new URL(links.next).search;
  w.str(`{"data":[`);
  for (let k = start; k < end; k++) {
    if (k > start) w.str(",");
    sd.renderInto(w, rows.at(k), q.fields);
  }
  w.str("]");
  if (q.count) w.str(`,"meta":{"count":${rows.length},"count_truncated":false}`);
  if (Object.keys(links).length > 0) w.str(`,"links":${JSON.stringify(links)}`);
  w.str("}");
  return w.result();
}
