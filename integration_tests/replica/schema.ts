/**
 * What the replica knows about each stream's attributes: read from `schemas/<stream>.json` at run
 * time (attributes = schema properties that are neither `id` nor relationship fields; the schemas
 * declare the attributes real responses carry beyond the OpenAPI, outreach-api.md §3.5). An
 * attribute named like a relationship field (`updaterId`, `userId` on mailboxes, §3.6) repeats that
 * relationship's id or type.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { attributeNames, namesOf } from "../../src/record-format.js";
import { STREAMS, type StreamDefinition } from "../../src/streams.js";

/** How an attribute's values are generated and compared. */
export type AttrKind =
  | "timestamp"
  | "string"
  | "integer"
  | "number"
  | "boolean"
  | "stringArray"
  | "object"
  | "objectArray"
  | "histogram";

/** One attribute of a resource type. */
/**
 * Attributes left out of the default payload: they come back only when a sparse fieldset names them
 * (outreach-api.md §3.3: prospect `contactHistogram`, from 2026-10-01; the replica imitates the API
 * of today, after that date).
 */
export const OPT_IN_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = { prospect: ["contactHistogram"] };

export interface AttrInfo {
  name: string;
  kind: AttrKind;
  /** For attributes named like a relationship field (§3.6): the relationship whose id or type they repeat. */
  clash?: { rel: string; part: "id" | "type" };
}

/** The repository root (the directory holding `schemas/` and `package.json`), found upwards from this module. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let k = 0; k < 6; k++) {
    if (existsSync(join(dir, "schemas")) && existsSync(join(dir, "package.json"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("replica: cannot find the repository root (schemas/ and package.json)");
}

interface JsonSchemaProp {
  type?: string | string[];
  format?: string;
  items?: { type?: string | string[]; items?: unknown };
}

function kindOf(prop: JsonSchemaProp): AttrKind {
  const types = (Array.isArray(prop.type) ? prop.type : [prop.type]).filter((t) => t !== "null");
  const t = types[0];
  if (t === "string") return prop.format === "date-time" ? "timestamp" : "string";
  if (t === "integer") return "integer";
  if (t === "number") return "number";
  if (t === "boolean") return "boolean";
  if (t === "object") return "object";
  if (t === "array") {
    const it = prop.items ?? {};
    const itemTypes = Array.isArray(it.type) ? it.type : [it.type];
    if (itemTypes.includes("array")) return "histogram";
    if (itemTypes.includes("object")) return "objectArray";
    return "stringArray";
  }
  return "string";
}

/** The record fields that come from relationships (`<rel>Id`, `<rel>Ids`, `<rel>Type`) of a stream. */
export function relationshipFields(stream: StreamDefinition): Map<string, { rel: string; part: "id" | "type" }> {
  const out = new Map<string, { rel: string; part: "id" | "type" }>();
  for (const r of stream.relationships) {
    if (r.field) out.set(r.field, { rel: r.name, part: "id" });
    if (r.typeField) out.set(r.typeField, { rel: r.name, part: "type" });
  }
  return out;
}

/** Every attribute of a stream's resources, in lexicographic key order. */
export function loadAttributes(stream: StreamDefinition, root = repoRoot()): AttrInfo[] {
  const schema = JSON.parse(readFileSync(join(root, "schemas", `${stream.name}.json`), "utf8")) as {
    properties: Record<string, JsonSchemaProp>;
  };
  const clashes = new Map<string, { rel: string; part: "id" | "type" }>();
  for (const r of stream.relationships) {
    if (r.kind !== "to_one") continue;
    const n = namesOf(r, "ids");
    clashes.set(n.id, { rel: r.name, part: "id" });
    if (n.type) clashes.set(n.type, { rel: r.name, part: "type" });
  }
  return [...attributeNames(stream, schema.properties)].sort().map((name) => {
    const clash = clashes.get(name);
    return clash ? { name, kind: clash.part === "id" ? "integer" : "string", clash } : { name, kind: kindOf(schema.properties[name]!) };
  });
}

const streamByType = new Map(STREAMS.map((s) => [s.type, s]));

/** The stream serving a JSON:API type, if any. */
export function streamOfType(type: string): StreamDefinition | undefined {
  return streamByType.get(type);
}

/** The collection path segment (no slash) of a JSON:API type: its stream's path, else an English plural. */
export function pluralOf(type: string): string {
  const s = streamByType.get(type);
  if (s) return s.path.slice(1);
  if (/[^aeiou]y$/.test(type)) return `${type.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(type)) return `${type}es`;
  return `${type}s`;
}
