/**
 * Sparse fieldsets (`fields[<type>]=…`, outreach-api.md §4.4: unlisted attributes are absent, an
 * unknown name is a 400, so only names our schemas declare are sent) from the configured catalog, such that
 * a selected column never loses data. Every selected property is mapped to what must be requested:
 * an attribute, a relationship (by a record field name of either format, or by the relationship's
 * own name, as in the schemas of Airbyte's own connector), or nothing known. Fewer fields are
 * requested only when the catalog selects an explicit subset of the schema discover offers for the
 * configured record format, each property with the very schema discover gives it; otherwise every
 * field is requested and one INFO line says why. With a subset, attributes the API sends but the
 * schema does not declare are not requested (that is the only data a deselected column drops).
 */
import type { ConfiguredStream } from "./catalog.js";
import { DELETED_AT_FIELD } from "./delete-check.js";
import { attributeNames, namesOf, streamSchema, type RecordFormat } from "./record-format.js";
import type { StreamDefinition } from "./streams.js";

/**
 * Attributes the API leaves out of the default payload; they come back only when a sparse fieldset
 * names them (outreach-api.md §3.3: prospect `contactHistogram`, since 2026-10-01).
 */
export const OPT_IN_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = { prospect: ["contactHistogram"] };

/** What to request for one stream: `fields` undefined = every field; `info` = why, when the catalog selected columns. */
export interface FieldSelection {
  fields?: string[];
  info?: string;
}

/** Relationship name by every record field name it may have (both formats, clash names) and by its own name. */
function relationshipByField(stream: StreamDefinition): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of stream.relationships) {
    out.set(r.name, r.name);
    for (const format of ["ids", "airbyte_v1"] as const) {
      const n = namesOf(r, format);
      for (const f of [n.id, n.clashId, n.type, n.clashType]) if (f) out.set(f, r.name);
    }
  }
  return out;
}

/** JSON text with object keys sorted, for comparing schemas regardless of key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
    .join(",")}}`;
}

const list = (names: string[]): string => names.slice(0, 5).join(", ") + (names.length > 5 ? ` and ${names.length - 5} more` : "");

/**
 * The sparse fieldset of a configured stream.
 * @param format the configured record format (whose discovered schema the catalog is compared with)
 * @returns `fields` (attribute and relationship names, always with the cursor) or undefined for all
 *   fields, and an INFO text when columns were selected but every field is requested anyway
 */
export function sparseFields(c: ConfiguredStream, format: RecordFormat): FieldSelection {
  const stream = c.definition;
  if (c.emptyProperties) return everyField(stream, `${stream.name}: requesting all fields because the catalog's json_schema.properties is empty (it names no column).`);
  if (!c.selectedProperties) return everyField(stream);
  const offered = streamSchema(stream, format).properties;
  const attributes = attributeNames(stream);
  const relByField = relationshipByField(stream);
  const selected = c.selectedProperties.filter((p) => p !== "id" && p !== DELETED_AT_FIELD); // set by the source (delete-check.ts)
  const why = `${stream.name}: requesting all fields because`;
  const unknown = selected.filter((p) => !attributes.has(p) && !relByField.has(p));
  if (unknown.length > 0) {
    const optIn = OPT_IN_ATTRIBUTES[stream.type]?.filter((a) => attributes.has(a) && selected.includes(a)) ?? [];
    const lost = optIn.length > 0 ? ` (without a fieldset the API does not send ${optIn.join(", ")}: those stay empty)` : "";
    return { info: `${why} the catalog selects properties that are neither attributes nor relationships of ${stream.type}: ${list(unknown)}${lost}.` };
  }
  const differing = selected.filter((p) => !(p in offered) || canonical(offered[p]) !== canonical(c.propertySchemas?.[p]));
  if (differing.length > 0) {
    return everyField(
      stream,
      `${why} the catalog's schema is not a subset of the one discover offers for record_format ${format} (${list(differing)} differ or are not offered); run discover to refresh it.`,
    );
  }
  if (Object.keys(offered).every((p) => p === "id" || selected.includes(p))) return everyField(stream);
  const fields = new Set<string>();
  for (const p of selected) {
    if (attributes.has(p)) fields.add(p);
    const rel = relByField.get(p);
    if (rel) fields.add(rel);
  }
  if (stream.cursorField) fields.add(stream.cursorField);
  return { fields: [...fields] };
}

/**
 * Every field: no fieldset, unless the type has opt-in attributes; then every attribute our schema
 * declares and every relationship, by name (attributes the API sends but the schema does not declare
 * are then not requested).
 */
function everyField(stream: StreamDefinition, info?: string): FieldSelection {
  const attributes = attributeNames(stream);
  const fields = OPT_IN_ATTRIBUTES[stream.type]?.some((a) => attributes.has(a)) ? [...attributes, ...stream.relationships.map((r) => r.name)] : undefined;
  return { ...(fields ? { fields } : {}), ...(info ? { info } : {}) };
}
