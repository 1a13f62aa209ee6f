/**
 * The two record formats (config `record_format`) and the one naming rule for relationship fields:
 *
 * | format | to-one | to-many | polymorphic type | on a clash with an attribute |
 * |---|---|---|---|---|
 * | `ids` (default) | `<rel>Id`: id or null | `<rel>Ids`: id array | `<rel>Type` | `<rel>RelationshipId(s)`, `<rel>RelationshipType` |
 * | `airbyte_v1` | `<rel>`: `[id]`, left out when null | `<rel>`: id array, left out when empty | – | `<rel>Relationship` |
 *
 * `airbyte_v1` is the shape of Airbyte's own source-outreach 1.x (its `CustomExtractor` in
 * components.py: every relationship whose `data` is non-empty becomes a field named by the
 * relationship holding the list of related ids). An attribute the API sends is never overwritten
 * (outreach-api.md §3.6): the relationship's value is dropped when equal to it, else emitted under
 * the clash name. Attributes, stream names, cursors, primary keys and state are the same in both.
 */
import { readResource } from "./resources.js";
import type { StreamDefinition } from "./streams.js";

/** Value of the `record_format` config field. */
export type RecordFormat = "ids" | "airbyte_v1";

/** Record field names of one relationship in one format. */
export interface RelationshipFieldNames {
  /** Field of the related id(s). */
  id: string;
  /** Field of the related id(s) when an attribute already has the name `id`. */
  clashId: string;
  /** Field of the related type (`ids` format, polymorphic to-one only), else null. */
  type: string | null;
  /** Field of the related type when an attribute already has the name `type`, else null. */
  clashType: string | null;
}

/**
 * The record field names of a relationship.
 * @param name JSON:API relationship name, e.g. `owner`
 * @param toMany whether its `data` is an array
 * @param polymorphic whether it may point to more than one type (to-one only)
 */
export function relationshipFieldNames(name: string, toMany: boolean, polymorphic: boolean, format: RecordFormat): RelationshipFieldNames {
  if (format === "airbyte_v1") return { id: name, clashId: `${name}Relationship`, type: null, clashType: null };
  const suffix = toMany ? "Ids" : "Id";
  return {
    id: `${name}${suffix}`,
    clashId: `${name}Relationship${suffix}`,
    type: polymorphic && !toMany ? `${name}Type` : null,
    clashType: polymorphic && !toMany ? `${name}RelationshipType` : null,
  };
}

/** The packaged JSON Schema file of a stream's records in a format (`schemas/`, `schemas/airbyte_v1/`). */
export function schemaFile(stream: StreamDefinition, format: RecordFormat): string {
  return format === "airbyte_v1" ? `schemas/airbyte_v1/${stream.name}.json` : `schemas/${stream.name}.json`;
}

/** A stream's record schema in a format (read from the package on every call). */
export function streamSchema(stream: StreamDefinition, format: RecordFormat): { properties: Record<string, unknown> } & Record<string, unknown> {
  return readResource(schemaFile(stream, format));
}

/** Names of a declared relationship in a format (links-only relationships are named as to-many). */
export function namesOf(r: StreamDefinition["relationships"][number], format: RecordFormat): RelationshipFieldNames {
  return relationshipFieldNames(r.name, r.kind !== "to_one", r.typeField !== null, format);
}

/**
 * The attribute names a stream's schema declares (every property but `id` and the relationship
 * fields). A relationship's usual field name counts as an attribute when the schema also declares
 * its clash name: the generator declares that only where an attribute holds the usual name.
 */
export function attributeNames(stream: StreamDefinition, properties: Record<string, unknown> = streamSchema(stream, "ids").properties): Set<string> {
  const out = new Set(Object.keys(properties));
  out.delete("id");
  for (const r of stream.relationships) {
    if (r.kind === "links_only") continue;
    const n = namesOf(r, "ids");
    if (!(n.clashId in properties)) out.delete(n.id);
    out.delete(n.clashId);
    if (n.type && !(n.clashType! in properties)) out.delete(n.type);
    if (n.clashType) out.delete(n.clashType);
  }
  return out;
}
