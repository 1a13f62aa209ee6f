/**
 * JSON:API resource object → flat Airbyte record (outreach-api.md §3.2–3.6): `id`, then every
 * attribute at top level as sent, then the relationship fields of the record format
 * (record-format.ts): in `ids`, per relationship with data a `<name>Id` (to-one, integer or null;
 * plus `<name>Type` when polymorphic) or `<name>Ids` (to-many, integer array); in `airbyte_v1`, a
 * `<name>` id array per relationship whose data is neither null nor empty. A relationship without
 * `data` (links-only, or omitted) adds nothing. An attribute is never overwritten: when one has a
 * relationship field's name (`userId` on mailboxes, `updaterId` on prospects, §3.6), the
 * relationship's value is dropped if equal and otherwise emitted under the clash name
 * (`userRelationshipId`).
 */
import { namesOf, relationshipFieldNames, type RecordFormat, type RelationshipFieldNames } from "./record-format.js";
import type { StreamDefinition } from "./streams.js";

/** A JSON:API resource identifier. */
export interface ResourceIdentifier {
  type: string;
  id: number;
}

/** A JSON:API resource object as the API returns it. */
export interface ResourceObject {
  type: string;
  id: number;
  attributes?: Record<string, unknown>;
  relationships?: Record<string, { data?: ResourceIdentifier | ResourceIdentifier[] | null } | undefined>;
  links?: Record<string, unknown>;
}

/** How one stream's records are shaped: the format and the field names of its declared relationships. */
export interface RecordShape {
  format: RecordFormat;
  names: Map<string, RelationshipFieldNames>;
}

/** The record shape of a stream in a format (build once per stream read). */
export function recordShape(stream: StreamDefinition, format: RecordFormat = "ids"): RecordShape {
  return { format, names: new Map(stream.relationships.map((r) => [r.name, namesOf(r, format)])) };
}

/**
 * The flat record of a resource, as JSON text, built without creating the flat object: the
 * attributes object is serialized as JSON.parse made it and the relationship fields are appended
 * (the per-record hot path of a read). A resource attribute named `id` is dropped (the resource's
 * id wins). Relationships the stream does not declare are named by the same rule (never polymorphic).
 */
export function recordJson(resource: ResourceObject, shape: RecordShape): string {
  const attributes = resource.attributes;
  const rels = resource.relationships;
  const airbyte = shape.format === "airbyte_v1";
  let tail = "";
  if (rels) {
    for (const name in rels) {
      const data = rels[name]?.data;
      if (data === undefined) continue;
      const many = Array.isArray(data);
      if (airbyte && (data === null || (many && data.length === 0))) continue;
      const names = shape.names.get(name) ?? relationshipFieldNames(name, many, false, shape.format);
      if (many) {
        let ids = "";
        for (let i = 0; i < data.length; i++) ids += (i ? "," : "") + JSON.stringify(data[i]!.id);
        tail += member(attributes, names.id, names.clashId, `[${ids}]`);
      } else {
        const id = data === null ? "null" : JSON.stringify(data.id);
        tail += member(attributes, names.id, names.clashId, airbyte ? `[${id}]` : id);
        if (names.type) tail += member(attributes, names.type, names.clashType!, data === null ? "null" : JSON.stringify(data.type));
      }
    }
  }
  if (attributes && attributes.id !== undefined) attributes.id = undefined;
  const body = attributes ? JSON.stringify(attributes) : "{}";
  return flat(`{"id":${JSON.stringify(resource.id)}${body.length > 2 ? "," + body.slice(1, -1) : ""}${tail}}`);
}

/**
 * The same text as one flat string. V8 keeps a concatenation as a tree of its parts (and a slice
 * as a view of its whole); a record lives until its page is written, so its parts would too
 * (~1.7 KB of tree per prospect record beside the text). Converting to a number flattens it.
 */
function flat(text: string): string {
  flattened = Number(text); // kept, so the compiler cannot drop the conversion
  return text;
}
let flattened = 0;

/** `,"field":value`; under `clash` when an attribute holds `field` with another value; "" when it holds the same. */
function member(attributes: Record<string, unknown> | undefined, field: string, clash: string, value: string): string {
  const sent = attributes?.[field];
  if (sent === undefined) return `,"${field}":${value}`;
  return JSON.stringify(sent) === value ? "" : `,"${clash}":${value}`;
}
