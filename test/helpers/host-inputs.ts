/**
 * Input files the way real hosts write them, for the tests that feed them to the CLI:
 *
 * - **Airbyte's Python side** (CAT's ConnectorRunner, the CDK's test tools): pydantic v1 models
 *   serialised with `.json()`, which writes every declared field, an unset optional one as `null`,
 *   then the extra members the model was given (`Extra.allow`). CAT writes the configured catalog
 *   that way (`catalog.json()`, cat-src `utils/connector_runner.py`; airbyte-contract.md §7).
 *   The declared fields are those of protocol 0.18 (airbyte_protocol.yaml), a superset of the
 *   pydantic models CAT ships (airbyte-protocol-models 0.8.0); test/host-inputs.test.ts checks
 *   both lists against those files when they are beside the repository.
 * - **Meltano's tap-airbyte wrapper** (MeltanoLabs/tap-airbyte-wrapper `tap_airbyte/tap.py`,
 *   airbyte-contract.md §10): `airbyte_config` written verbatim (a setting left empty in
 *   meltano.yml is YAML `null`), a catalog of the selected discovered streams as discovered with a
 *   lower-case `sync_mode`, `destination_sync_mode: "append"` and no `cursor_field`/`primary_key`,
 *   and the state kept as a list of `{"type": "STREAM", "stream": <the message's stream>}`
 *   upserted by stream descriptor (`airbyte_state`), written back as that list.
 */
import { parse as parseYaml } from "yaml";
import type { AirbyteMessage, AirbyteStream } from "../../src/generated/protocol.js";

type Json = Record<string, unknown>;

/** Declared members of the protocol 0.18 definitions the hosts write, in the YAML's order. */
export const PROTOCOL_FIELDS = {
  ConfiguredAirbyteCatalog: ["streams"],
  ConfiguredAirbyteStream: [
    "stream", "sync_mode", "cursor_field", "destination_sync_mode", "destination_object_name", "primary_key",
    "generation_id", "minimum_generation_id", "sync_id", "include_files",
  ],
  AirbyteStream: [
    "name", "json_schema", "supported_sync_modes", "source_defined_cursor", "default_cursor_field", "source_defined_primary_key",
    "namespace", "is_resumable", "is_file_based",
  ],
  AirbyteStateMessage: ["type", "stream", "global", "data", "sourceStats", "destinationStats"],
  AirbyteStreamState: ["stream_descriptor", "stream_state"],
  AirbyteGlobalState: ["shared_state", "stream_states"],
  StreamDescriptor: ["name", "namespace"],
  AirbyteStateStats: ["recordCount", "rejectedRecordCount"],
} as const;

type Model = keyof typeof PROTOCOL_FIELDS;

/** Which model a member's value is (members not listed are plain data: json_schema, stream_state, data). */
const NESTED: Partial<Record<Model, Record<string, Model | [Model]>>> = {
  ConfiguredAirbyteCatalog: { streams: ["ConfiguredAirbyteStream"] },
  ConfiguredAirbyteStream: { stream: "AirbyteStream" },
  AirbyteStateMessage: { stream: "AirbyteStreamState", global: "AirbyteGlobalState", sourceStats: "AirbyteStateStats", destinationStats: "AirbyteStateStats" },
  AirbyteStreamState: { stream_descriptor: "StreamDescriptor" },
  AirbyteGlobalState: { stream_states: ["AirbyteStreamState"] },
};

/**
 * pydantic v1 `Model(**value).json()`: the declared members in order, `null` where unset, nested
 * models likewise, then the extra members as given. (pydantic also writes `recordCount` as a float,
 * `3.0`; JSON.parse cannot tell, so that is not imitated.)
 */
export function pydantic(model: Model, value: Json): Json {
  const out: Json = {};
  const nested = NESTED[model] ?? {};
  for (const key of PROTOCOL_FIELDS[model]) {
    const v = value[key];
    const kind = nested[key];
    if (v === undefined || v === null || kind === undefined) out[key] = v ?? null;
    else if (Array.isArray(kind)) out[key] = (v as Json[]).map((x) => pydantic(kind[0], x));
    else out[key] = pydantic(kind, v as Json);
  }
  for (const [key, v] of Object.entries(value)) if (!(key in out)) out[key] = v;
  return out;
}

/** A configured catalog as CAT writes /data/catalog.json (`ConfiguredAirbyteCatalog.json()`). */
export function pydanticCatalog(catalog: { streams: readonly object[] }): Json {
  return pydantic("ConfiguredAirbyteCatalog", catalog as unknown as Json);
}

/**
 * A list of state messages, each as pydantic writes an `AirbyteStateMessage` (`"global": null`,
 * `"data": null`, `"namespace": null`, …), plus `"global_": null`: pydantic v1 names that member
 * by its Python field name unless `.json(by_alias=True)` (checked with CAT's pylib models).
 */
export function pydanticStates(states: readonly object[]): Json[] {
  return states.map((s) => ({ ...pydantic("AirbyteStateMessage", s as Json), global_: null }));
}

/** A config with every optional spec property it does not set present as `null`. */
export function configWithNulls(config: Json, spec: { required: readonly string[]; properties: Json }): Json {
  const out: Json = { ...config };
  for (const key of Object.keys(spec.properties)) if (!(key in out) && !spec.required.includes(key)) out[key] = null;
  return out;
}

/**
 * `airbyte_config` as the wrapper writes it: the mapping of a meltano.yml, where `key:` with no
 * value is `null`. `set` gives the values; `empty` names settings written with no value.
 */
export function meltanoConfig(set: Json, empty: readonly string[]): Json {
  const lines = ["airbyte_config:", ...Object.entries(set).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`), ...empty.map((k) => `  ${k}:`)];
  return (parseYaml(lines.join("\n")) as { airbyte_config: Json }).airbyte_config;
}

/**
 * The wrapper's `configured_airbyte_catalog`: each selected discovered stream as-is, `sync_mode`
 * INCREMENTAL when the stream has a replication key (source-defined cursor) and supports it, else
 * `supported_sync_modes[0]`, lower-cased; `destination_sync_mode: "append"`; nothing else.
 */
export function meltanoCatalog(discovered: readonly AirbyteStream[], selected: readonly string[]): Json {
  return {
    streams: discovered
      .filter((s) => selected.includes(s.name))
      .map((s) => ({
        stream: s,
        sync_mode: (s.source_defined_cursor && s.supported_sync_modes.includes("incremental") ? "incremental" : s.supported_sync_modes[0]!).toLowerCase(),
        destination_sync_mode: "append",
      })),
  };
}

/**
 * The wrapper's `airbyte_state` after a run: STREAM messages upserted by stream descriptor — a
 * known descriptor gets the new `stream_state`, a new one is appended as
 * `{"type": "STREAM", "stream": <message.stream>}` (sourceStats is not kept).
 * @throws Error on a STATE without `type: STREAM` (the wrapper reads `state["type"]`; LEGACY reads a member the protocol lacks)
 */
export function meltanoStates(saved: readonly Json[], messages: readonly AirbyteMessage[]): Json[] {
  const list = structuredClone(saved as Json[]);
  for (const m of messages) {
    if (m.type !== "STATE") continue;
    if (m.state!.type !== "STREAM") throw new Error(`the wrapper cannot keep a ${m.state!.type} state`);
    const stream = structuredClone(m.state!.stream!);
    const descriptor = JSON.stringify(stream.stream_descriptor);
    const known = list.find((s) => s.type === "STREAM" && JSON.stringify((s.stream as Json).stream_descriptor) === descriptor);
    if (known) (known.stream as Json).stream_state = stream.stream_state;
    else list.push({ type: "STREAM", stream });
  }
  return list;
}
