/**
 * Filters (outreach-api.md §5): the legacy syntax (`filter[x]=v`, comma lists, `a..b`, `v..inf`,
 * `neginf..v`, `__null__`, `__notnull__`, `filter[rel][id]=1,2`) and `newFilterSyntax=true`
 * (`filter[x][gte]=`, `[lte]`, repeated `filter[x][]=`). Timestamps are compared as instants.
 */
import type { StreamDefinition } from "../../src/streams.js";
import { ApiError } from "./errors.js";
import { comparable, compareScalar, parseTimestamp, type FilterCond, type Scalar } from "./query.js";
import { relationshipFields, type AttrInfo } from "./schema.js";

/** A parsed resource object as the slow path sees it. */
export interface Parsed {
  index: number;
  type: string;
  id: number;
  attributes?: Record<string, unknown>;
  relationships?: Record<string, { data?: { type: string; id: number } | { type: string; id: number }[] | null }>;
}

const KEY = /^filter\[([^\]]*)\]((?:\[[^\]]*\])*)$/;
const SEARCH_FIELDS: Record<string, string[]> = { prospect: ["firstName", "lastName", "name", "emails"], account: ["name", "domain"] };

function invalid(param: string, detail: string, code = "filterParameter.unknownFilterField", title = "Unknown Filter Field"): ApiError {
  return new ApiError(400, code, title, detail, { parameter: param });
}

/**
 * Parses the `filter[…]` parameters of a request.
 *
 * @param params decoded query parameters in request order
 * @param stream the stream being read
 * @param attrs its attributes (for value types)
 * @throws ApiError 400 for unknown fields, bad operators, or malformed timestamps
 */
export function parseFilters(params: [string, string][], stream: StreamDefinition, attrs: Map<string, AttrInfo>): FilterCond[] {
  const newSyntax = params.some(([k, v]) => k === "newFilterSyntax" && v === "true");
  const relFields = relationshipFields(stream);
  const lists = new Map<string, FilterCond>();
  const out: FilterCond[] = [];
  for (const [param, raw] of params) {
    if (!param.startsWith("filter[")) continue;
    const m = KEY.exec(param);
    if (!m) throw invalid(param, `'${param}' is not a valid filter parameter.`);
    const field = m[1] as string;
    const rest = m[2] ?? "";
    const segs = rest === "" ? [] : rest.slice(1, -1).split("][");
    const attr = attrs.get(field);
    const rel = stream.relationships.find((r) => r.name === field);
    let target: FilterCond["target"];
    let ops = segs;
    if (field === "id") target = { kind: "id" };
    else if (field === "q" && SEARCH_FIELDS[stream.type]) target = { kind: "search" };
    else if (stream.filterable.includes(field) && attr) target = { kind: "attr", name: field };
    else if (stream.filterable.includes(field) && relFields.has(field)) {
      const rf = relFields.get(field) as { rel: string; part: "id" | "type" };
      target = { kind: "rel", rel: rf.rel, part: rf.part };
    } else if (rel && rel.kind !== "links_only" && segs[0] === "id" && !["creator", "updater"].includes(field)) {
      target = { kind: "rel", rel: field, part: "id" };
      ops = segs.slice(1);
    } else throw invalid(param, `'${field}' is not a filterable field of '${stream.type}'.`);
    const timestamp = target.kind === "attr" && attr?.kind === "timestamp";
    const kind = target.kind === "attr" ? attr?.kind : target.kind === "rel" && target.part === "type" ? "string" : "integer";
    const value = (v: string): Scalar => typed(v, timestamp, kind ?? "string", param);
    const op = ops.length === 0 ? null : ops.length === 1 ? ops[0] : undefined;
    if (op === undefined || (op !== null && !newSyntax)) throw invalid(param, `'${param}' is not a valid filter parameter${newSyntax ? "" : " (operators need newFilterSyntax=true)"}.`);
    const cond: FilterCond = { field, target, test: "in", values: [], lo: null, hi: null, timestamp };
    if (raw === "__null__" || raw === "__notnull__") {
      cond.test = raw === "__null__" ? "null" : "notnull";
    } else if (op === "gte" || op === "lte") {
      cond.test = "range";
      if (op === "gte") cond.lo = value(raw);
      else cond.hi = value(raw);
    } else if (op === "") {
      const list = lists.get(param) ?? cond;
      list.values.push(value(raw));
      if (!lists.has(param)) lists.set(param, list);
      else continue;
    } else if (op !== null) {
      throw invalid(param, `Unknown filter operator '${op}'; use gte, lte or [].`, "filterParameter.invalidOperator", "Invalid Filter Operator");
    } else if (raw.includes("..") && (!newSyntax || timestamp)) {
      if (newSyntax) {
        throw new ApiError(400, "filterParameter.invalidDatetimeFormat", "Invalid Datetime Format",
          `Ranges ('..') are not supported with newFilterSyntax; use ${field}[gte] and ${field}[lte].`, { parameter: param });
      }
      const [a, b] = [raw.slice(0, raw.indexOf("..")), raw.slice(raw.indexOf("..") + 2)];
      cond.test = "range";
      cond.lo = a === "" || a === "neginf" ? null : value(a);
      cond.hi = b === "" || b === "inf" ? null : value(b);
    } else {
      cond.values = (newSyntax ? [raw] : raw.split(",")).map(value);
    }
    out.push(cond);
  }
  return out;
}

function typed(v: string, timestamp: boolean, kind: string, param: string): Scalar {
  if (timestamp) return parseTimestamp(v, param);
  if (kind === "integer" || kind === "number") {
    const n = Number(v);
    return v.trim() !== "" && Number.isFinite(n) ? n : v;
  }
  if (kind === "boolean") return v === "true" ? true : v === "false" ? false : v;
  return v;
}

function fieldValues(p: Parsed, f: FilterCond): Scalar[] {
  const t = f.target;
  if (t.kind === "id") return [p.id];
  if (t.kind === "rel") {
    const data = p.relationships?.[t.rel]?.data;
    const list = data === undefined || data === null ? [] : Array.isArray(data) ? data : [data];
    return list.length ? list.map((d) => (t.part === "id" ? d.id : d.type)) : [null];
  }
  if (t.kind === "search") return [];
  const v = p.attributes?.[t.name];
  if (Array.isArray(v)) return v.length ? v.map((x) => comparable(x, f.timestamp)) : [null];
  return [comparable(v, f.timestamp)];
}

/** True if a parsed record satisfies one condition. */
export function matches(p: Parsed, f: FilterCond): boolean {
  if (f.target.kind === "search") {
    const q = String(f.values[0] ?? "").toLowerCase();
    const fields = SEARCH_FIELDS[p.type] ?? [];
    return fields.some((n) => [p.attributes?.[n]].flat().some((v) => typeof v === "string" && v.toLowerCase().startsWith(q)));
  }
  const vals = fieldValues(p, f);
  switch (f.test) {
    case "null":
      return vals.every((v) => v === null);
    case "notnull":
      return vals.some((v) => v !== null);
    case "in":
      return vals.some((v) => v !== null && f.values.some((w) => compareScalar(v, w) === 0));
    case "range":
      return vals.some((v) => v !== null && (f.lo === null || compareScalar(v, f.lo) >= 0) && (f.hi === null || compareScalar(v, f.hi) <= 0));
  }
}

/** True if a parsed record satisfies every condition. */
export function matchesAll(p: Parsed, filters: readonly FilterCond[]): boolean {
  return filters.every((f) => matches(p, f));
}
