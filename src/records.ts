/**
 * JSON:API resource object → flat Airbyte record (outreach-api.md §3.2–3.6):
 * `id`, then every attribute at top level, then per relationship with data a `<name>Id` (to-one,
 * integer or null; plus `<name>Type` when polymorphic) or `<name>Ids` (to-many, integer array).
 * A relationship without `data` (links-only, or omitted) adds nothing. On a name clash with an
 * undeclared attribute (`updaterId` vs relationship `updater`, §3.6) the relationship wins, as in
 * Stitch's tap (PRs #25, #32).
 */
import type { RelationshipDefinition } from "./streams.js";

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

/**
 * The flat record of a resource, as JSON text, built without creating the flat object: the
 * attributes object is serialized as JSON.parse made it and the relationship fields are appended
 * (the per-record hot path of a read). An attribute that clashes with a relationship field
 * (outreach-api.md §3.6) is set to undefined on the parsed resource, which JSON.stringify skips, so
 * the relationship's value wins and no key appears twice.
 * @param relationships the stream's declared relationships (undeclared ones are flattened the same way)
 */
export function recordJson(resource: ResourceObject, relationships: readonly RelationshipDefinition[]): string {
  const attributes = resource.attributes;
  const rels = resource.relationships;
  let tail = "";
  if (rels) {
    for (const name in rels) {
      const rel = rels[name];
      if (!rel || rel.data === undefined) continue;
      const data = rel.data;
      if (Array.isArray(data)) {
        const field = `${name}Ids`;
        if (attributes && attributes[field] !== undefined) attributes[field] = undefined;
        let ids = "";
        for (let i = 0; i < data.length; i++) ids += (i ? "," : "") + JSON.stringify(data[i]!.id);
        tail += `,"${field}":[${ids}]`;
      } else {
        const field = `${name}Id`;
        if (attributes && attributes[field] !== undefined) attributes[field] = undefined;
        tail += `,"${field}":${data === null ? "null" : JSON.stringify(data.id)}`;
        if (isPolymorphic(name, relationships)) {
          if (attributes && attributes[`${name}Type`] !== undefined) attributes[`${name}Type`] = undefined;
          tail += `,"${name}Type":${data === null ? "null" : JSON.stringify(data.type)}`;
        }
      }
    }
  }
  if (attributes && attributes.id !== undefined) attributes.id = undefined;
  const body = attributes ? JSON.stringify(attributes) : "{}";
  return `{"id":${JSON.stringify(resource.id)}${body.length > 2 ? "," + body.slice(1, -1) : ""}${tail}}`;
}

function isPolymorphic(name: string, relationships: readonly RelationshipDefinition[]): boolean {
  for (const r of relationships) if (r.name === name) return r.typeField !== null;
  return false;
}
