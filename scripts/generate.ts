/**
 * Generates, from Outreach's OpenAPI document and spec.json:
 *   schemas/<stream>.json      one draft-07 JSON Schema per stream (record shape: outreach-api.md §3)
 *   src/generated/streams.ts   the stream table (path, type, cursor, sync modes, scope, relationships)
 *   src/generated/types.ts     TypeScript types of the config and of every stream's records
 *
 * Usage: `npm run generate` (reads ../shared/outreach-api-samples/outreach-openapi/outreach-openapi.json,
 * or the file named by $OUTREACH_OPENAPI). test/generate.test.ts regenerates and compares.
 */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compile, type JSONSchema } from "json-schema-to-typescript";
import { parse as parseYaml } from "yaml";
import type { RelationshipDefinition, StreamDefinition, SyncMode } from "../src/streams.js";

/** Repository root (this file runs from dist/scripts/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Where the OpenAPI document is expected: beside the repository, in ../shared. */
/** Airbyte protocol schema, beside the repository in ../shared (or $AIRBYTE_PROTOCOL_YAML). */
export const PROTOCOL_PATH =
  process.env.AIRBYTE_PROTOCOL_YAML ?? path.resolve(ROOT, "../shared/airbyte-protocol/airbyte_protocol.yaml");
export const OPENAPI_PATH =
  process.env.OUTREACH_OPENAPI ?? path.resolve(ROOT, "../shared/outreach-api-samples/outreach-openapi/outreach-openapi.json");

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
 * Attributes whose real values differ from the OpenAPI's declaration (outreach-api.md §3.3: user
 * `duties` is declared an object but arrives as an array of `{name, duty_type, id}`).
 */
const OBSERVED_TYPES: Record<string, Record<string, Json>> = {
  user: { duties: { type: "array", items: { type: "object" } } },
};

/**
 * Attributes real responses carry that the OpenAPI does not declare (outreach-api.md §3.5; types
 * inferred from their names and the recorded samples). Undeclared `<relationship>Id` attributes
 * (`updaterId`, `scheduleId`, …, §3.6) are left out: the relationship's field already declares them.
 */
const UNDECLARED_ATTRIBUTES: Record<string, Record<string, Json>> = {
  prospect: {
    accountName: { type: "string" },
    companyFollowers: { type: "integer" },
    companyFoundedAt: { type: "string" },
    companyIndustry: { type: "string" },
    companyLinkedIn: { type: "string" },
    companyLinkedInEmployees: { type: "integer" },
    companyLocality: { type: "string" },
    companyNatural: { type: "string" },
    companySize: { type: "integer" },
    companyStartDate: { type: "string" },
    companyType: { type: "string" },
    emailContacts: { type: "array", items: { type: "object" } },
    personaName: { type: "string" },
    smsOptStatus: { type: "string" },
    smsOptedAt: { type: "string", format: "date-time" },
    smsOptedOut: { type: "boolean" },
    stageName: { type: "string" },
    updaterType: { type: "string" },
  },
  mailing: {
    attributableSequenceId: { type: "integer" },
    attributableSequenceName: { type: "string" },
    desiredAt: { type: "string", format: "date-time" },
    followUpSequenceName: { type: "string" },
    followUpSequenceStartingDate: { type: "string", format: "date-time" },
    meetingDescription: { type: "string" },
    meetingDuration: { type: "integer" },
    meetingLocation: { type: "string" },
    meetingTitle: { type: "string" },
    optimizedScheduledAt: { type: "string", format: "date-time" },
    replySentiment: { type: "string" },
  },
  opportunity: { healthCategory: { type: "string" }, healthScore: { type: "number" }, mapNumberOfOverdueTasks: { type: "integer" } },
  sequence: { engagementScore: { type: "number" }, interestedCount: { type: "integer" } },
  emailAddress: { bouncedAt: { type: "string", format: "date-time" } },
  user: { activeProspectsCount: { type: "integer" }, globalId: { type: "string" }, mailingsDeliveredCount: { type: "integer" }, tasksDueCount: { type: "integer" } },
};

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
export async function generate(openapi: Json, spec: Json, protocol: Json, readme: string): Promise<Map<string, string>> {
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

    const properties: Json = { id: { type: "integer", description: "The resource's JSON:API id." } };
    const undeclared = Object.entries(UNDECLARED_ATTRIBUTES[typeOf(p)] ?? {}).map(([a, d]): [string, Json] => [
      a,
      { ...d, description: "Not declared in the OpenAPI; seen in real responses (outreach-api.md §3.5)." },
    ]);
    const allAttrs = [...Object.entries(attrs), ...undeclared].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [attr, def] of allAttrs) {
      if (attr !== "id") properties[attr] = attributeSchema({ ...def, ...OBSERVED_TYPES[typeOf(p)]?.[attr] });
    }
    for (const r of rels) {
      if (r.field === null) continue;
      const target = r.types.join(", ");
      properties[r.field] =
        r.kind === "to_many"
          ? { description: `Ids of the related ${target} resources (relationship \`${r.name}\`).`, type: ["null", "array"], items: { type: "integer" } }
          : { description: `Id of the related ${target} (relationship \`${r.name}\`).`, type: ["null", "integer"] };
      if (r.typeField) {
        properties[r.typeField] = { description: `JSON:API type of the related resource (relationship \`${r.name}\`).`, type: ["null", "string"] };
      }
    }
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      title: name,
      description: cleanDescription(ref(schemas, response.properties.attributes.$ref).description),
      type: "object",
      additionalProperties: true,
      required: ["id"],
      properties,
    };
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

/** Reads the inputs, or explains where they should be. */
export async function loadInputs(): Promise<{ openapi: Json; spec: Json; protocol: Json; readme: string } | null> {
  if (!existsSync(OPENAPI_PATH) || !existsSync(PROTOCOL_PATH)) return null;
  const openapi = JSON.parse(await readFile(OPENAPI_PATH, "utf8"));
  const protocol = parseYaml(await readFile(PROTOCOL_PATH, "utf8"));
  const spec = JSON.parse(await readFile(path.join(ROOT, "spec.json"), "utf8"));
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  return { openapi, spec, protocol, readme };
}

async function main(): Promise<void> {
  const inputs = await loadInputs();
  if (!inputs) {
    process.stderr.write(
      `generate: inputs not found: ${OPENAPI_PATH} (or $OUTREACH_OPENAPI), ${PROTOCOL_PATH} (or $AIRBYTE_PROTOCOL_YAML)\n`,
    );
    process.exitCode = 1;
    return;
  }
  const files = await generate(inputs.openapi, inputs.spec, inputs.protocol, inputs.readme);
  for (const [rel, content] of files) {
    const file = path.join(ROOT, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  process.stderr.write(`generate: wrote ${files.size} files\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
