/**
 * Input files of `read`: the configured catalog and the optional state. Every problem is an
 * InputError naming the file and the field (airbyte-contract.md §1.2, §3).
 */
import type { ConfiguredAirbyteCatalog } from "./generated/protocol.js";
import { InputError } from "./errors.js";
import { parseJson, readJsonFile, readTextFile } from "./config.js";
import { findStream, type StreamDefinition, type SyncMode } from "./streams.js";
import { PAGE_SIZE_KEY } from "./state.js";
import { parseInstant } from "./time.js";

/** One stream to read, as the configured catalog asks for it. */
export interface ConfiguredStream {
  definition: StreamDefinition;
  syncMode: SyncMode;
  /** Properties the catalog's json_schema lists, when it lists any (for sparse fieldsets); else undefined. */
  selectedProperties?: string[];
}

const SYNC_MODES = ["full_refresh", "incremental"];
const DESTINATION_SYNC_MODES = ["append", "overwrite", "append_dedup", "update", "soft_delete"];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Validates a parsed configured catalog (shape of `ConfiguredAirbyteCatalog`, known streams,
 * supported sync modes).
 * @throws InputError for the first problem found
 */
export function parseCatalog(value: unknown, file: string): ConfiguredStream[] {
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
      throw new InputError(file, `${at}.sync_mode`, `must be one of ${SYNC_MODES.join(", ")}, not ${JSON.stringify(entry.sync_mode)}`);
    }
    if (!definition.syncModes.includes(entry.sync_mode)) {
      throw new InputError(file, `${at}.sync_mode`, `stream ${name} supports only ${definition.syncModes.join(", ")}`);
    }
    if (entry.destination_sync_mode !== undefined && !DESTINATION_SYNC_MODES.includes(entry.destination_sync_mode as string)) {
      throw new InputError(file, `${at}.destination_sync_mode`, `must be one of ${DESTINATION_SYNC_MODES.join(", ")}`);
    }
    const cursor = entry.cursor_field;
    if (cursor !== undefined && cursor.length > 0 && definition.cursorField && (cursor.length !== 1 || cursor[0] !== definition.cursorField)) {
      throw new InputError(file, `${at}.cursor_field`, `the cursor of ${name} is defined by the source: ["${definition.cursorField}"]`);
    }
    const properties = isObject(entry.stream.json_schema) ? entry.stream.json_schema.properties : undefined;
    const selectedProperties = isObject(properties) && Object.keys(properties).length > 0 ? Object.keys(properties) : undefined;
    return { definition, syncMode: entry.sync_mode, ...(selectedProperties ? { selectedProperties } : {}) };
  });
}

/** Loads and validates the configured catalog file. @throws InputError */
export async function loadCatalog(file: string): Promise<ConfiguredStream[]> {
  return parseCatalog(await readJsonFile(file, "catalog"), file);
}

/** Input state: the stream_state blob of each stream named in it. */
export type InputState = Map<string, Record<string, unknown>>;

/** CDK sentinels meaning "no cursor state" (airbyte-contract.md §3). */
const SENTINELS = ["__ab_no_cursor_state_message", "__ab_full_refresh_sync_complete"];

/**
 * Accepts every input state shape of airbyte-contract.md §3: a list of STREAM (or GLOBAL, LEGACY)
 * state messages, a legacy object keyed by stream name, Meltano's `{airbyte_state: [...]}`,
 * Stitch's Singer `{bookmarks: {...}}`, `null`, `{}`, `[]`, an empty file.
 * @throws InputError naming the element and field of a malformed entry
 */
export function parseState(value: unknown, file: string): InputState {
  const state: InputState = new Map();
  if (value === null || value === undefined) return state;
  if (isObject(value) && Array.isArray(value.airbyte_state)) return parseState(value.airbyte_state, file);
  const addBlob = (name: string, blob: unknown, at: string): void => {
    if (blob === null || blob === undefined) return;
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
    const type = element.type ?? (element.data !== undefined ? "LEGACY" : undefined);
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

/** Loads the state file; an empty file is no state. @throws InputError */
export async function loadState(file: string): Promise<InputState> {
  const text = await readTextFile(file, "state");
  return text.trim() === "" ? new Map() : parseState(parseJson(text, file, "state"), file);
}

/**
 * The cursor value to resume a stream from, taken from its state blob.
 * @returns the value as written (a timestamp string), or undefined when the blob has none
 * @throws InputError when the blob holds the cursor field but not a timestamp
 */
export function cursorFromState(blob: Record<string, unknown> | undefined, cursorField: string, file: string, stream: string): string | undefined {
  if (!blob || blob[cursorField] === undefined || blob[cursorField] === null) return undefined;
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
