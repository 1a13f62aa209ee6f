/**
 * Input files of `read`: the configured catalog and the optional state. Every problem is an
 * InputError naming the file and the field (airbyte-contract.md §1.2, §3).
 */
import type { ConfiguredAirbyteCatalog } from "./generated/protocol.js";
import { InputError } from "./errors.js";
import { parseJson, readJsonFile, readTextFile, withoutNulls } from "./config.js";
import { findStream, type StreamDefinition, type SyncMode } from "./streams.js";
import { PAGE_SIZE_KEY } from "./state.js";
import { parseInstant } from "./time.js";

/** One stream to read, as the configured catalog asks for it. */
export interface ConfiguredStream {
  definition: StreamDefinition;
  syncMode: SyncMode;
  /** Properties the catalog's json_schema lists, when it lists any (for sparse fieldsets); else undefined. */
  selectedProperties?: string[];
  /** The catalog's json_schema `properties` (property name → JSON Schema), beside `selectedProperties`. */
  propertySchemas?: Record<string, unknown>;
  /** True when json_schema has `"properties": {}` (no column named: every field is read, with an INFO line). */
  emptyProperties?: boolean;
}

const SYNC_MODES = ["full_refresh", "incremental"];
const DESTINATION_SYNC_MODES = ["append", "overwrite", "append_dedup", "update", "soft_delete"];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Schema keywords whose value is instance data, kept verbatim (`"default": null` is a real default). */
const DATA_KEYWORDS = new Set(["default", "const", "enum", "examples"]);
/** Schema keywords whose value maps names to schemas (a property called `default` is a schema). */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "definitions", "$defs", "dependencies"]);

/**
 * A stream's `json_schema` with the `null`s that mean "absent" removed: a keyword set to null
 * (`"properties": null`, `"items": null`) and a property whose schema is null. The values of
 * `default` and `const` are data and kept as they are, null included; so are `enum` and `examples`
 * (only a null list itself is dropped).
 */
export function schemaWithoutNulls(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(schemaWithoutNulls);
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [keyword, v] of Object.entries(schema)) {
    if (DATA_KEYWORDS.has(keyword)) {
      if (v !== null || keyword === "default" || keyword === "const") out[keyword] = v;
    } else if (v === null) {
      continue;
    } else if (SCHEMA_MAPS.has(keyword) && isObject(v)) {
      out[keyword] = Object.fromEntries(Object.entries(v).filter(([, sub]) => sub !== null).map(([name, sub]) => [name, schemaWithoutNulls(sub)]));
    } else {
      out[keyword] = schemaWithoutNulls(v);
    }
  }
  return out;
}

/**
 * Validates a parsed configured catalog (shape of `ConfiguredAirbyteCatalog`, known streams,
 * supported sync modes). Members that are `null` count as absent, as pydantic-written catalogs
 * (CAT, airbyte-contract.md §7) mean them; inside `json_schema` only keywords that mean absent are
 * dropped (schemaWithoutNulls). Members this connector does not use (`namespace`, `primary_key`,
 * `generation_id`, `minimum_generation_id`, `sync_id`, `destination_object_name`, `include_files`,
 * `is_resumable`, `is_file_based`, …) are accepted and ignored.
 * @throws InputError for the first problem found
 */
export function parseCatalog(parsed: unknown, file: string): ConfiguredStream[] {
  const value = withoutNulls(parsed, { json_schema: schemaWithoutNulls });
  if (!isObject(value) || !Array.isArray(value.streams)) throw new InputError(file, "streams", "must be an array of configured streams");
  const catalog = value as unknown as ConfiguredAirbyteCatalog;
  const seen = new Set<string>();
  return catalog.streams.map((entry, i) => {
    const at = `streams[${i}]`;
    if (!isObject(entry) || !isObject(entry.stream)) throw new InputError(file, `${at}.stream`, "must be an object");
    const name = entry.stream.name;
    if (typeof name !== "string") throw new InputError(file, `${at}.stream.name`, "must be a string");
    const definition = findStream(name);
    if (!definition) throw new InputError(file, `${at}.stream.name`, `unknown stream ${JSON.stringify(name)} (run discover for the list)`);
    if (seen.has(name)) throw new InputError(file, `${at}.stream.name`, `stream ${JSON.stringify(name)} is listed twice`);
    seen.add(name);
    if (!SYNC_MODES.includes(entry.sync_mode as string)) {
      const problem = entry.sync_mode === undefined ? `is required (one of ${SYNC_MODES.join(", ")})` : `must be one of ${SYNC_MODES.join(", ")}, not ${JSON.stringify(entry.sync_mode)}`;
      throw new InputError(file, `${at}.sync_mode`, problem);
    }
    if (!definition.syncModes.includes(entry.sync_mode)) {
      throw new InputError(file, `${at}.sync_mode`, `stream ${name} supports only ${definition.syncModes.join(", ")}`);
    }
    if (entry.destination_sync_mode !== undefined && !DESTINATION_SYNC_MODES.includes(entry.destination_sync_mode as string)) {
      throw new InputError(file, `${at}.destination_sync_mode`, `must be one of ${DESTINATION_SYNC_MODES.join(", ")}`);
    }
    const cursor: unknown = entry.cursor_field;
    if (cursor !== undefined && !(Array.isArray(cursor) && cursor.every((c) => typeof c === "string"))) {
      throw new InputError(file, `${at}.cursor_field`, "must be an array of strings (a field path)");
    }
    if (cursor !== undefined && cursor.length > 0 && definition.cursorField && (cursor.length !== 1 || cursor[0] !== definition.cursorField)) {
      throw new InputError(file, `${at}.cursor_field`, `the cursor of ${name} is defined by the source: ["${definition.cursorField}"]`);
    }
    const properties = isObject(entry.stream.json_schema) ? entry.stream.json_schema.properties : undefined;
    const selectedProperties = isObject(properties) && Object.keys(properties).length > 0 ? Object.keys(properties) : undefined;
    if (isObject(properties) && !selectedProperties) return { definition, syncMode: entry.sync_mode, emptyProperties: true };
    return { definition, syncMode: entry.sync_mode, ...(selectedProperties ? { selectedProperties, propertySchemas: properties as Record<string, unknown> } : {}) };
  });
}

/** Loads and validates the configured catalog file. @throws InputError */
export async function loadCatalog(file: string): Promise<ConfiguredStream[]> {
  return parseCatalog(await readJsonFile(file, "catalog"), file);
}

/** Input state: the stream_state blob of each stream named in it. */
export type InputState = Map<string, Record<string, unknown>>;

/** The `type` of a state message (airbyte_protocol.yaml AirbyteStateType). */
const STATE_TYPES = ["STREAM", "GLOBAL", "LEGACY"];

/** CDK sentinels meaning "no cursor state" (airbyte-contract.md §3). */
const SENTINELS = ["__ab_no_cursor_state_message", "__ab_full_refresh_sync_complete"];

/**
 * Accepts every input state shape of airbyte-contract.md §3: a list of STREAM (or GLOBAL, LEGACY)
 * state messages, a legacy object keyed by stream name, Meltano's `{airbyte_state: [...]}`,
 * Stitch's Singer `{bookmarks: {...}}`, `null`, `{}`, `[]`, an empty file; one state message not
 * in a list, and whole STATE lines of `read`'s output (`{"type": "STATE", "state": …}`), alone or
 * in a list. Members that are `null`
 * count as absent (`"stream_state": null` is no state for that stream, `"sourceStats": null`,
 * `"namespace": null` are nothing); members the connector does not use (`sourceStats`,
 * `destinationStats`, an `id`, `shared_state`, …) are ignored. An element without `type` is read
 * by the member it carries: `data` → LEGACY, `stream` → STREAM, `global` → GLOBAL.
 * @throws InputError naming the element and field of a malformed entry
 */
export function parseState(parsed: unknown, file: string): InputState {
  return stateFrom(withoutNulls(parsed), file);
}

function stateFrom(value: unknown, file: string): InputState {
  const state: InputState = new Map();
  if (value === null || value === undefined) return state;
  if (isObject(value) && Array.isArray(value.airbyte_state)) return stateFrom(value.airbyte_state, file);
  // One state message not in a list, or a STATE line of our output, is a list of one.
  if (isObject(value) && (STATE_TYPES.includes(value.type as string) || (value.type === "STATE" && isObject(value.state)))) return stateFrom([value], file);
  const addBlob = (name: string, blob: unknown, at: string): void => {
    if (blob === undefined) return;
    if (!isObject(blob)) throw new InputError(file, at, "stream_state must be an object");
    if (SENTINELS.some((k) => k in blob)) return;
    state.set(name, blob);
  };
  const addLegacy = (data: unknown, at: string): void => {
    if (!isObject(data)) throw new InputError(file, at, "legacy state must be an object keyed by stream name");
    for (const [name, blob] of Object.entries(data)) addBlob(name, blob, at ? `${at}.${name}` : name);
  };
  if (isObject(value) && isObject(value.bookmarks)) {
    // Singer state of Stitch's tap-outreach (passed on verbatim by Meltano's wrapper):
    // {"bookmarks": {"<stream>": "<timestamp>" | {...}}, "currently_syncing": …}. Its stream names
    // are ours; its bookmark is the stream's filter field (updatedAt; eventAt for events).
    for (const [name, bookmark] of Object.entries(value.bookmarks)) {
      const at = `bookmarks.${name}`;
      if (typeof bookmark === "string") addBlob(name, { [name === "events" ? "eventAt" : "updatedAt"]: bookmark }, at);
      else addBlob(name, bookmark, at);
    }
    return state;
  }
  if (isObject(value)) {
    addLegacy(value, "");
    return state;
  }
  if (!Array.isArray(value)) throw new InputError(file, "", "state must be a list of state messages or an object");
  value.forEach((element, i) => {
    const at = `[${i}]`;
    if (!isObject(element)) throw new InputError(file, at, "each state message must be an object");
    if (element.type === "STATE" && isObject(element.state)) element = element.state; // a whole AirbyteMessage
    const type = element.type ?? (element.data !== undefined ? "LEGACY" : element.stream !== undefined ? "STREAM" : element.global !== undefined ? "GLOBAL" : undefined);
    if (type === "STREAM") {
      const stream = element.stream;
      if (!isObject(stream) || !isObject(stream.stream_descriptor) || typeof stream.stream_descriptor.name !== "string") {
        throw new InputError(file, `${at}.stream.stream_descriptor.name`, "is required (a string)");
      }
      addBlob(stream.stream_descriptor.name, stream.stream_state, `${at}.stream.stream_state`);
    } else if (type === "GLOBAL") {
      const global = element.global;
      if (!isObject(global) || !Array.isArray(global.stream_states)) throw new InputError(file, `${at}.global.stream_states`, "must be an array");
      global.stream_states.forEach((s: unknown, j: number) => {
        const sat = `${at}.global.stream_states[${j}]`;
        if (!isObject(s) || !isObject(s.stream_descriptor) || typeof s.stream_descriptor.name !== "string") {
          throw new InputError(file, `${sat}.stream_descriptor.name`, "is required (a string)");
        }
        addBlob(s.stream_descriptor.name, s.stream_state, `${sat}.stream_state`);
      });
    } else if (type === "LEGACY") {
      addLegacy(element.data, `${at}.data`);
    } else {
      throw new InputError(file, `${at}.type`, `must be STREAM, GLOBAL or LEGACY, not ${JSON.stringify(element.type)}`);
    }
  });
  return state;
}

/**
 * Loads the state file; an empty file is no state. A file of JSON lines (several lines, each a JSON
 * object: e.g. `read`'s output, or its STATE lines) is the list of its state messages, the other
 * Airbyte messages (RECORD, LOG, TRACE, …) skipped; a stream's last state counts.
 * @throws InputError
 */
export async function loadState(file: string): Promise<InputState> {
  const text = await readTextFile(file, "state");
  if (text.trim() === "") return new Map();
  return parseState(jsonLines(text) ?? parseJson(text, file, "state"), file);
}

/** Airbyte message types that carry no state (airbyte_protocol.yaml AirbyteMessage.type). */
const NOT_STATE = ["RECORD", "LOG", "SPEC", "CONNECTION_STATUS", "CATALOG", "TRACE", "CONTROL", "DESTINATION_CATALOG"];

/** The objects of a JSON Lines text without its non-state messages, or undefined when it is not JSON lines. */
function jsonLines(text: string): unknown[] | undefined {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/).filter((line) => line.trim() !== "");
  if (lines.length < 2) return undefined;
  const objects: Record<string, unknown>[] = [];
  for (const line of lines) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (!isObject(value)) return undefined;
    objects.push(value);
  }
  return objects.filter((m) => !NOT_STATE.includes(m.type as string));
}

/**
 * The cursor value to resume a stream from, taken from its state blob.
 * @returns the value as written (a timestamp string), or undefined when the blob has none
 * @throws InputError when the blob holds the cursor field but not a timestamp
 */
export function cursorFromState(blob: Record<string, unknown> | undefined, cursorField: string, file: string, stream: string): string | undefined {
  if (!blob || blob[cursorField] === undefined) return undefined;
  const value = blob[cursorField];
  if (typeof value !== "string" || Number.isNaN(parseInstant(value))) {
    throw new InputError(file, `${stream}.${cursorField}`, `must be an ISO-8601 timestamp, not ${JSON.stringify(value)}`);
  }
  return value;
}


/**
 * The page size a stream's state remembers (the last that worked after a 502/504 halving, §4.4).
 * @returns an integer 1..1000, or undefined when the blob has none
 * @throws InputError when the blob holds `pageSize` but not such an integer
 */
export function pageSizeFromState(blob: Record<string, unknown> | undefined, file: string, stream: string): number | undefined {
  const value = blob?.[PAGE_SIZE_KEY];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 1000) {
    throw new InputError(file, `${stream}.${PAGE_SIZE_KEY}`, `must be an integer from 1 to 1000, not ${JSON.stringify(value)}`);
  }
  return value;
}
