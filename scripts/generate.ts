/**
 * Generates, from Outreach's OpenAPI document, the evidence of real responses (observed-attributes.json
 * and the recorded samples beside it) and spec.json:
 *   schemas/<stream>.json      one draft-07 JSON Schema per stream (record shape: outreach-api.md §3)
 *   schemas/airbyte_v1/<stream>.json  the same records in `record_format` airbyte_v1 (src/record-format.ts)
 *   src/generated/streams.ts   the stream table (path, type, cursor, sync modes, scope, relationships)
 *   src/generated/types.ts     TypeScript types of the config and of every stream's records
 *
 * Usage: `npm run generate` (reads ../shared/outreach-api-samples/: outreach-openapi/outreach-openapi.json
 * or $OUTREACH_OPENAPI; observed-attributes.json and amp-labs-connectors/*.json, or $OUTREACH_SAMPLES
 * for that folder). test/unit-streams.test.ts regenerates and compares.
 */
import { readFile, readdir, writeFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compile, type JSONSchema } from "json-schema-to-typescript";
import { parse as parseYaml } from "yaml";
import { namesOf, type RecordFormat } from "../src/record-format.js";
import type { RelationshipDefinition, StreamDefinition, SyncMode } from "../src/streams.js";

/** Repository root (this file runs from dist/scripts/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Where the OpenAPI document is expected: beside the repository, in ../shared. */
/** Airbyte protocol schema, beside the repository in ../shared (or $AIRBYTE_PROTOCOL_YAML). */
export const PROTOCOL_PATH =
  process.env.AIRBYTE_PROTOCOL_YAML ?? path.resolve(ROOT, "../shared/airbyte-protocol/airbyte_protocol.yaml");
export const OPENAPI_PATH =
  process.env.OUTREACH_OPENAPI ?? path.resolve(ROOT, "../shared/outreach-api-samples/outreach-openapi/outreach-openapi.json");
/** Folder of the evidence files: observed-attributes.json and amp-labs-connectors/ (recorded responses). */
export const SAMPLES_DIR = process.env.OUTREACH_SAMPLES ?? path.resolve(ROOT, "../shared/outreach-api-samples");

type Json = Record<string, any>;

const BADGE = /<img src=https:\/\/developers\.outreach\.io\/badges\/(\w+)\.svg>/g;

/** Badges (`filterable`, `sortable`, `readonly`) found in an OpenAPI attribute description. */
function badges(attr: Json | undefined): Set<string> {
  return new Set([...String(attr?.description ?? "").matchAll(BADGE)].map((m) => m[1]!));
}

/** The description without badge images and surrounding blank lines. */
function cleanDescription(text: unknown): string | undefined {
  const out = String(text ?? "").replace(BADGE, "").trim();
  return out === "" ? undefined : out;
}

/** `/callDispositions` → `call_dispositions`. */
export function streamName(p: string): string {
  return p.slice(1).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const ref = (schemas: Json, r: string): Json => schemas[r.split("/").pop()!];

/** JSON Schema of one OpenAPI attribute, nullable, never stricter than real data (outreach-api.md §3.3, §9 #13). */
function attributeSchema(attr: Json): Json {
  const description = cleanDescription(attr.description);
  const base: Json = description ? { description } : {};
  if (Array.isArray(attr.type)) {
    // A union (two sources disagree): every type, array items as the array member declares them.
    const items = attr.type.includes("array") ? { items: attributeSchema({ ...attr, type: "array", description: undefined }).items } : {};
    return { ...base, type: ["null", ...attr.type], ...items };
  }
  switch (attr.type) {
    case "string":
      // `format: date` attributes arrive as full timestamps; `email` values are not always valid: keep plain strings.
      return attr.format === "date-time"
        ? { ...base, type: ["null", "string"], format: "date-time", airbyte_type: "timestamp_with_timezone" }
        : { ...base, type: ["null", "string"] };
    case "integer":
      return { ...base, type: ["null", "integer"] };
    case "number":
      return { ...base, type: ["null", "number"] };
    case "boolean":
      return { ...base, type: ["null", "boolean"] };
    case "object":
      return { ...base, type: ["null", "object"], additionalProperties: true };
    case "array": {
      const items = attr.items ?? {};
      if (items.format === "contact histogram") {
        return { ...base, type: ["null", "array"], items: { type: "array", items: { type: "integer" } } };
      }
      if (items.type === "object") return { ...base, type: ["null", "array"], items: { type: "object", additionalProperties: true } };
      return { ...base, type: ["null", "array"], items: { type: ["null", items.type ?? "string"] } };
    }
    default:
      return base;
  }
}

/**
 * Types settled by values seen in real responses, whatever the other sources say (outreach-api.md
 * §3.3: user `duties` is declared an object but arrives as an array of `{name, duty_type, id}`;
 * prospect `emailContacts` is an array of snake_case objects).
 */
const SETTLED_TYPES: Record<string, Record<string, Json>> = {
  user: { duties: { type: "array", items: { type: "object" } } },
  prospect: { emailContacts: { type: "array", items: { type: "object" } } },
};

/** The evidence of what real responses carry, beside the OpenAPI document (../shared/outreach-api-samples/). */
export interface Evidence {
  /** observed-attributes.json: `types` (type → attribute → `{type, format?}`) and `type_conflicts.types`. */
  observed: Json;
  /** The recorded response documents (amp-labs-connectors/*.json), parsed. */
  samples: unknown[];
}

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** OpenAPI-style type of a non-null JSON value. */
function typeOfValue(v: unknown): Json {
  if (typeof v === "string") return TIMESTAMP.test(v) ? { type: "string", format: "date-time" } : { type: "string" };
  if (typeof v === "number") return { type: Number.isInteger(v) ? "integer" : "number" };
  if (typeof v === "boolean") return { type: "boolean" };
  if (Array.isArray(v)) {
    const first = v.find((x) => x !== null);
    return { type: "array", ...(first === undefined ? {} : { items: { type: typeof first === "object" ? "object" : typeOfValue(first).type } }) };
  }
  return { type: "object" };
}

/** Every resource object (`type`, integer `id`, `attributes`) anywhere in the sample documents, whatever their wrapper. */
function sampleResources(node: unknown, out: Json[] = []): Json[] {
  if (Array.isArray(node)) node.forEach((n) => sampleResources(n, out));
  else if (node !== null && typeof node === "object") {
    const o = node as Json;
    if (typeof o.type === "string" && Number.isInteger(o.id) && o.attributes && typeof o.attributes === "object") out.push(o);
    Object.values(o).forEach((n) => sampleResources(n, out));
  }
  return out;
}

/** Type of an attribute seen only as null: `…Id`/`…Count` integer, `…At` timestamp, `…Score` number, else string. */
function typeFromName(name: string): Json {
  if (/(Id|Count)$/.test(name)) return { type: "integer" };
  if (/At$/.test(name)) return { type: "string", format: "date-time" };
  if (/Score$/.test(name)) return { type: "number" };
  return { type: "string" };
}

/**
 * Attribute definitions of a type from the OpenAPI plus the evidence (outreach-api.md §3.5), sorted
 * by name. Undeclared attributes: the type of the values seen in the samples, else the type
 * observed-attributes.json gives (`number` for a `…Score`), else one inferred from the name (only nulls were seen). Where
 * `type_conflicts` lists a disagreement and no sample value settles it, the union of both types.
 * A sample key that differs from a declared one only in case (`errorreason`, an edit of the sample
 * publisher, see the samples' README) is not an attribute.
 */
function attributeDefinitions(type: string, declared: Json, evidence: Evidence): [string, Json][] {
  const lower = new Set(Object.keys(declared).map((k) => k.toLowerCase()));
  const seen = new Map<string, Json>();
  const nullOnly = new Set<string>();
  for (const r of sampleResources(evidence.samples).filter((x) => x.type === type)) {
    for (const [k, v] of Object.entries(r.attributes as Json)) {
      if (v === null) nullOnly.add(k);
      else if (!seen.has(k)) seen.set(k, typeOfValue(v));
    }
  }
  const observed: Json = evidence.observed.types?.[type] ?? {};
  const note = "Not declared in the OpenAPI; seen in real responses (outreach-api.md §3.5).";
  const out = new Map<string, Json>(Object.entries(declared));
  for (const k of new Set([...Object.keys(observed), ...seen.keys(), ...nullOnly])) {
    if (k in declared || lower.has(k.toLowerCase())) continue;
    // Scores are floats that may arrive as integer literals (§3.3, `engagedScore`): never `integer`.
    const fromObserved = observed[k]?.type ? (observed[k].type === "integer" && /Score$/.test(k) ? { type: "number" } : observed[k]) : undefined;
    out.set(k, { ...(seen.get(k) ?? fromObserved ?? typeFromName(k)), description: note });
  }
  for (const [k, c] of Object.entries((evidence.observed.type_conflicts?.types?.[type] ?? {}) as Json)) {
    if (out.has(k) && !seen.has(k)) out.set(k, { ...out.get(k), type: [c.openapi, c.airbyte] });
  }
  for (const [k, t] of Object.entries(SETTLED_TYPES[type] ?? {})) if (out.has(k)) out.set(k, { ...out.get(k), ...t });
  return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The relationship fields of a stream's schema in a format (src/record-format.ts): the usual name,
 * or the clash name where an attribute holds the usual name (the attribute is kept as sent).
 * `airbyte_v1` declares every relationship, links-only ones too, as Airbyte's schemas do.
 */
function relationshipProperties(rels: RelationshipDefinition[], attributes: Json, format: RecordFormat): Json {
  const out: Json = {};
  const pick = (usual: string, clash: string): string => (usual in attributes ? clash : usual);
  for (const r of rels) {
    if (r.kind === "links_only" && format === "ids") continue;
    const n = namesOf(r, format);
    const target = r.types.join(", ") || "related";
    const clashNote = (usual: string): string => (usual in attributes ? ` Only when it differs from the attribute \`${usual}\`, which is kept as sent.` : "");
    if (format === "airbyte_v1") {
      const what = r.kind === "links_only" ? "Never filled: the API gives this relationship as a link only." : `Ids of the related ${target} resources; absent when there are none.`;
      out[pick(n.id, n.clashId)] = {
        description: `${what} (relationship \`${r.name}\`, as Airbyte's connector names it).${clashNote(n.id)}`,
        type: ["null", "array"],
        items: { type: ["null", "integer"] },
      };
      continue;
    }
    out[pick(n.id, n.clashId)] =
      r.kind === "to_many"
        ? { description: `Ids of the related ${target} resources (relationship \`${r.name}\`).${clashNote(n.id)}`, type: ["null", "array"], items: { type: "integer" } }
        : { description: `Id of the related ${target} (relationship \`${r.name}\`).${clashNote(n.id)}`, type: ["null", "integer"] };
    if (n.type) {
      out[pick(n.type, n.clashType!)] = { description: `JSON:API type of the related resource (relationship \`${r.name}\`).${clashNote(n.type)}`, type: ["null", "string"] };
    }
  }
  return out;
}

/** Relationships of a type, classified by shape (outreach-api.md Appendix A). */
function relationships(rels: Json | undefined, pathByType: Map<string, string>, pathNames: Set<string>): RelationshipDefinition[] {
  return Object.entries(rels?.properties ?? {}).map(([name, rel]: [string, any]) => {
    const data = rel.properties?.data;
    if (!data) {
      const stream = pathNames.has(`/${name}`) ? streamName(`/${name}`) : null;
      return { name, kind: "links_only", types: [], stream, field: null, typeField: null };
    }
    const toMany = data.type === "array";
    const types: string[] = (toMany ? data.items?.properties?.type?.enum : data.properties?.type?.enum) ?? [];
    const p = types.length === 1 ? pathByType.get(types[0]!) : undefined;
    return {
      name,
      kind: toMany ? "to_many" : "to_one",
      types,
      stream: p ? streamName(p) : null,
      field: toMany ? `${name}Ids` : `${name}Id`,
      typeField: !toMany && types.length > 1 ? `${name}Type` : null,
    };
  });
}

/** Chooses the cursor: `updatedAt`, else `createdAt`, else `timestamp`, when filterable and sortable (§2.2). */
function cursorOf(attrs: Json): string | null {
  for (const field of ["updatedAt", "createdAt", "timestamp"]) {
    const b = badges(attrs[field]);
    if (b.has("filterable") && b.has("sortable")) return field;
  }
  return null;
}

/** One stream table entry, a line per relationship. */
function formatStream({ relationships: rels, ...stream }: StreamDefinition): string {
  const head = JSON.stringify(stream).slice(1, -1).replace(/,"/g, ', "');
  return `  { ${head}, "relationships": [\n${rels.map((r) => `    ${JSON.stringify(r)}`).join(",\n")}\n  ] }`;
}

/** Drops the keys beside every `$ref` (json-schema-to-typescript would otherwise emit duplicate types). */
function bareRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(bareRefs);
  if (node === null || typeof node !== "object") return node;
  const obj = node as Json;
  if (typeof obj.$ref === "string") return { $ref: obj.$ref };
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, bareRefs(v)]));
}

/** TypeScript types of every Airbyte protocol message (AirbyteMessage, ConfiguredAirbyteCatalog, …). */
async function protocolTypes(protocol: Json): Promise<string> {
  const { $id: _id, version: _version, ...schema } = bareRefs(protocol) as Json;
  return compile(schema as JSONSchema, "AirbyteProtocol", {
    bannerComment: "",
    unreachableDefinitions: true,
    additionalProperties: true,
    format: true,
  });
}

/** Everything generated, as repository-relative path → file content. */
export async function generate({ openapi, spec, protocol, readme, evidence }: Inputs): Promise<Map<string, string>> {
  const schemas = openapi.components.schemas as Json;
  const collectionPaths = Object.keys(openapi.paths)
    .filter((p) => /^\/[A-Za-z]+$/.test(p) && openapi.paths[p].get)
    .sort();
  const responseOf = (p: string): Json =>
    ref(schemas, openapi.paths[p].get.responses["200"].content["application/vnd.api+json"].schema.properties.data.items.$ref);
  const typeOf = (p: string): string => {
    const name = openapi.paths[p].get.responses["200"].content["application/vnd.api+json"].schema.properties.data.items.$ref
      .split("/")
      .pop()!;
    return name.replace(/Response$/, "");
  };
  const pathByType = new Map(collectionPaths.map((p) => [typeOf(p), p]));
  const pathNames = new Set(collectionPaths);

  const files = new Map<string, string>();
  const table: StreamDefinition[] = [];
  const recordSchemas: [string, Json][] = [];
  for (const p of collectionPaths) {
    const response = responseOf(p);
    const attrs = ref(schemas, response.properties.attributes.$ref).properties as Json;
    const relsRef = response.properties.relationships?.$ref;
    const rels = relationships(relsRef ? ref(schemas, relsRef) : undefined, pathByType, pathNames);
    const cursorField = cursorOf(attrs);
    const name = streamName(p);
    const syncModes: SyncMode[] = cursorField ? ["full_refresh", "incremental"] : ["full_refresh"];
    const withBadge = (badge: string): string[] => Object.keys(attrs).filter((a) => badges(attrs[a]).has(badge));
    table.push({
      name,
      path: p,
      type: typeOf(p),
      cursorField,
      syncModes,
      scope: `${p.slice(1)}.read`,
      filterable: withBadge("filterable"),
      sortable: withBadge("sortable"),
      relationships: rels,
    });

    const attributes: Json = {};
    for (const [attr, def] of attributeDefinitions(typeOf(p), attrs, evidence)) if (attr !== "id") attributes[attr] = attributeSchema(def);
    const schemaOf = (format: RecordFormat): Json => ({
      $schema: "http://json-schema.org/draft-07/schema#",
      title: name,
      description: cleanDescription(ref(schemas, response.properties.attributes.$ref).description),
      type: "object",
      additionalProperties: true,
      required: ["id"],
      properties: { id: { type: "integer", description: "The resource's JSON:API id." }, ...attributes, ...relationshipProperties(rels, attributes, format) },
    });
    const schema = schemaOf("ids");
    files.set(`schemas/airbyte_v1/${name}.json`, JSON.stringify(schemaOf("airbyte_v1"), null, 2) + "\n");
    files.set(`schemas/${name}.json`, JSON.stringify(schema, null, 2) + "\n");
    recordSchemas.push([name, schema]);
  }

  const banner = "// Generated by scripts/generate.ts from Outreach's OpenAPI document. Do not edit.\n";
  files.set(
    "src/generated/streams.ts",
    `${banner}import type { StreamDefinition } from "../streams.js";\n\n/** Every readable Outreach collection, in path order. */\nexport const STREAMS: readonly StreamDefinition[] = [\n${table.map(formatStream).join(",\n")},\n];\n`,
  );

  const options = { bannerComment: "", additionalProperties: true, strictIndexSignatures: false, format: true } as const;
  const configSchema = { ...spec.connectionSpecification, title: "Config", $schema: undefined } as JSONSchema;
  const parts = [await compile(configSchema, "Config", options)];
  for (const [name, schema] of recordSchemas) {
    const title = name.replace(/(^|_)(\w)/g, (_m, _s, c: string) => c.toUpperCase()) + "Record";
    parts.push(await compile({ ...schema, title, $schema: undefined } as JSONSchema, title, options));
  }
  files.set("README.md", withStreamTable(readme, table));
  files.set("src/generated/types.ts", `${banner}/* eslint-disable */\n\n${parts.join("\n")}`);
  const protocolBanner = "// Generated by scripts/generate.ts from the Airbyte protocol schema (airbyte_protocol.yaml, release 0.18.0). Do not edit.\n";
  files.set("src/generated/protocol.ts", `${protocolBanner}/* eslint-disable */\n\n${await protocolTypes(protocol)}`);
  return files;
}

/** The README's stream table (between the `streams:start` and `streams:end` markers). */
function streamTable(table: StreamDefinition[]): string {
  const rows = table.map(
    (s) => `| \`${s.name}\` | \`${s.path}\` | ${s.syncModes.join(", ")} | ${s.cursorField ? `\`${s.cursorField}\`` : "–"} | \`${s.scope}\` |`,
  );
  return ["| stream | path | sync modes | cursor | scope needed |", "|---|---|---|---|---|", ...rows].join("\n");
}

/** README.md with the stream table replaced. */
export function withStreamTable(readme: string, table: StreamDefinition[]): string {
  return readme.replace(/(<!-- streams:start -->\n)[\s\S]*?(<!-- streams:end -->)/, `$1${streamTable(table)}\n$2`);
}

/** Everything the generator reads. */
export interface Inputs {
  openapi: Json;
  spec: Json;
  protocol: Json;
  readme: string;
  evidence: Evidence;
}

/** Reads the inputs, or null when the ones beside the repository are absent. */
export async function loadInputs(): Promise<Inputs | null> {
  const observedPath = path.join(SAMPLES_DIR, "observed-attributes.json");
  const samplesDir = path.join(SAMPLES_DIR, "amp-labs-connectors");
  if (![OPENAPI_PATH, PROTOCOL_PATH, observedPath, samplesDir].every(existsSync)) return null;
  const openapi = JSON.parse(await readFile(OPENAPI_PATH, "utf8"));
  const protocol = parseYaml(await readFile(PROTOCOL_PATH, "utf8"));
  const spec = JSON.parse(await readFile(path.join(ROOT, "spec.json"), "utf8"));
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const observed = JSON.parse(await readFile(observedPath, "utf8"));
  const sampleFiles = (await readdir(samplesDir)).filter((f) => f.endsWith(".json")).sort();
  const samples = await Promise.all(sampleFiles.map(async (f) => JSON.parse(await readFile(path.join(samplesDir, f), "utf8"))));
  return { openapi, spec, protocol, readme, evidence: { observed, samples } };
}

async function main(): Promise<void> {
  const inputs = await loadInputs();
  if (!inputs) {
    process.stderr.write(
      `generate: inputs not found: ${OPENAPI_PATH} (or $OUTREACH_OPENAPI), ${PROTOCOL_PATH} (or $AIRBYTE_PROTOCOL_YAML), ${SAMPLES_DIR} (or $OUTREACH_SAMPLES)\n`,
    );
    process.exitCode = 1;
    return;
  }
  const files = await generate(inputs);
  for (const [rel, content] of files) {
    const file = path.join(ROOT, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  process.stderr.write(`generate: wrote ${files.size} files\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
