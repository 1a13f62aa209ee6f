/**
 * `discover`: validates the config and prints the catalog: one stream per Outreach collection with
 * its generated JSON Schema for the configured `record_format`, `full_refresh` first, source-defined cursor and primary key
 * (airbyte-contract.md §9). No API call is needed: the catalog is the stream table.
 */
import { loadConfig } from "../config.js";
import { DELETED_AT_FIELD } from "../delete-check.js";
import type { AirbyteStream } from "../generated/protocol.js";
import { catalogMessage, logMessage } from "../protocol/messages.js";
import type { MessageWriter } from "../protocol/writer.js";
import { streamSchema, type RecordFormat } from "../record-format.js";
import { STREAMS, type StreamDefinition } from "../streams.js";

/**
 * The catalog entry of a stream, its schema in the record format (default `ids`); with
 * `detectDeletes` (config `detect_deletes_every_hours` set), streams with a cursor also declare
 * `_ab_cdc_deleted_at`, set in their tombstone records (src/delete-check.ts).
 */
export function airbyteStream(stream: StreamDefinition, format: RecordFormat = "ids", detectDeletes = false): AirbyteStream {
  const incremental = stream.cursorField !== null;
  const schema = streamSchema(stream, format);
  if (detectDeletes && incremental) schema.properties[DELETED_AT_FIELD] = DELETED_AT_SCHEMA;
  return {
    name: stream.name,
    json_schema: schema,
    supported_sync_modes: stream.syncModes as AirbyteStream["supported_sync_modes"],
    source_defined_primary_key: [["id"]],
    is_resumable: incremental,
    ...(incremental ? { source_defined_cursor: true, default_cursor_field: [stream.cursorField!] } : {}),
  };
}

/** The schema of `_ab_cdc_deleted_at`: when Outreach no longer listed the record (the check time), else absent. */
const DELETED_AT_SCHEMA = {
  description: "Set on tombstone records only: the record was deleted in Outreach; when the delete check that found it started (detect_deletes_every_hours).",
  type: ["null", "string"],
  format: "date-time",
};

/**
 * Validates the config file and writes the CATALOG message; returns the exit code (0).
 * @throws InputError for a bad config (the CLI turns it into a TRACE config_error, exit 1)
 */
export async function discover(writer: MessageWriter, args: { config: string }): Promise<number> {
  const config = await loadConfig(args.config);
  for (const warning of config.warnings) await writer.write(logMessage("WARN", warning));
  await writer.write(catalogMessage({ streams: STREAMS.map((s) => airbyteStream(s, config.recordFormat, config.detectDeletesEveryMs !== undefined)) }));
  return 0;
}
