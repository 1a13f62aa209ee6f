/**
 * What the replica knows about each stream's attributes: read from `schemas/<stream>.json` at run
 * time (attributes = schema properties that are neither `id` nor relationship fields), plus the
 * undeclared attributes real responses carry (outreach-api.md §3.5, §3.6).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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
export interface AttrInfo {
  name: string;
  kind: AttrKind;
  /** False for attributes absent from the OpenAPI (outreach-api.md §3.5). */
  declared: boolean;
  /** For undeclared `<rel>Id` attributes: the relationship whose id they repeat (§3.6). */
  clash?: string;
}

/** Undeclared attributes per JSON:API type; a value starting with `=` names a clashing relationship. */
const UNDECLARED: Record<string, Record<string, AttrKind | `=${string}`>> = {
  prospect: {
    accountName: "string", companyFollowers: "integer", companyFoundedAt: "string",
    companyIndustry: "string", companyLinkedIn: "string", companyLinkedInEmployees: "integer",
    companyLocality: "string", companyNatural: "string", companySize: "integer",
    companyStartDate: "string", companyType: "string", emailContacts: "objectArray",
    personaName: "string", smsOptStatus: "string", smsOptedAt: "timestamp", smsOptedOut: "boolean",
    stageName: "string", updaterId: "=updater", updaterType: "string",
  },
  mailing: {
    attributableSequenceId: "integer", attributableSequenceName: "string", desiredAt: "timestamp",
    followUpSequenceId: "=followUpSequence", followUpSequenceName: "string",
    followUpSequenceStartingDate: "timestamp", meetingDescription: "string",
    meetingDuration: "integer", meetingLocation: "string", meetingTitle: "string",
    optimizedScheduledAt: "timestamp", replySentiment: "string", scheduleId: "=schedule",
  },
  opportunity: { healthCategory: "string", healthScore: "number", mapNumberOfOverdueTasks: "integer", territoryId: "=territory" },
  sequence: { engagementScore: "number", interestedCount: "integer" },
  event: { mailingId: "=mailing" },
  emailAddress: { bouncedAt: "timestamp" },
  user: { activeProspectsCount: "integer", globalId: "string", mailingsDeliveredCount: "integer", tasksDueCount: "integer" },
};

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

/** Every attribute of a stream's resources, declared and undeclared, in lexicographic key order. */
export function loadAttributes(stream: StreamDefinition, root = repoRoot()): AttrInfo[] {
  const schema = JSON.parse(readFileSync(join(root, "schemas", `${stream.name}.json`), "utf8")) as {
    properties: Record<string, JsonSchemaProp>;
  };
  const relFields = relationshipFields(stream);
  const attrs = new Map<string, AttrInfo>();
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (name === "id" || relFields.has(name)) continue;
    attrs.set(name, { name, kind: kindOf(prop), declared: true });
  }
  for (const [name, spec] of Object.entries(UNDECLARED[stream.type] ?? {})) {
    if (attrs.has(name)) continue;
    if (spec.startsWith("=")) attrs.set(name, { name, kind: "integer", declared: false, clash: spec.slice(1) });
    else attrs.set(name, { name, kind: spec as AttrKind, declared: false });
  }
  return [...attrs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
