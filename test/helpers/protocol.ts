/**
 * Validation of CLI output against the official Airbyte protocol schema
 * (../shared/airbyte-protocol/airbyte_protocol.yaml, beside the repository) and of records
 * against the stream schemas in schemas/.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { parse as parseYaml } from "yaml";
import type { AirbyteMessage } from "../../src/generated/protocol.js";
import { ROOT } from "./cli.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Where the protocol schema is expected. */
export const PROTOCOL_YAML = process.env.AIRBYTE_PROTOCOL_YAML ?? path.resolve(ROOT, "../shared/airbyte-protocol/airbyte_protocol.yaml");

const PAYLOAD: Record<string, string> = {
  RECORD: "record",
  STATE: "state",
  LOG: "log",
  SPEC: "spec",
  CONNECTION_STATUS: "connectionStatus",
  CATALOG: "catalog",
  TRACE: "trace",
  CONTROL: "control",
};

let protocolAjv: Ajv | null | undefined;

/** An ajv instance holding the protocol schema as "airbyte", or null when the file is absent. */
export function protocolSchema(): Ajv | null {
  if (protocolAjv !== undefined) return protocolAjv;
  if (!existsSync(PROTOCOL_YAML)) return (protocolAjv = null);
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajv.addKeyword("existingJavaType");
  ajv.addKeyword("version");
  for (const k of ["airbyte_secret", "order", "group", "airbyte_hidden", "always_show", "display_type", "pattern_descriptor", "airbyte_type"]) {
    if (!ajv.getKeyword(k)) ajv.addKeyword(k);
  }
  addFormats(ajv);
  ajv.addSchema(parseYaml(readFileSync(PROTOCOL_YAML, "utf8")), "airbyte");
  return (protocolAjv = ajv);
}

/** A validator for a protocol definition, e.g. `AirbyteMessage`; null when the schema file is absent. */
export function protocolValidator(definition: string): ValidateFunction | null {
  const ajv = protocolSchema();
  return ajv ? (ajv.getSchema(`airbyte#/definitions/${definition}`) ?? null) : null;
}

/**
 * Problems with the messages: payload member missing for the type (always checked) and protocol
 * schema violations (when the schema file is present). Empty = all good.
 */
export function messageProblems(messages: readonly AirbyteMessage[]): string[] {
  const validate = protocolValidator("AirbyteMessage");
  const problems: string[] = [];
  messages.forEach((m, i) => {
    const type = String(m.type);
    const member = PAYLOAD[type];
    if (!member || (m as unknown as Record<string, unknown>)[member] === undefined) problems.push(`#${i} ${type}: no ${member ?? "known"} payload`);
    if (validate && !validate(m)) problems.push(`#${i} ${type}: ${JSON.stringify(validate.errors?.slice(0, 2))}`);
  });
  return problems;
}

const recordAjv = new Ajv({ strict: false, allErrors: true });
addFormats(recordAjv);
const recordValidators = new Map<string, ValidateFunction>();

/** A validator of one stream's records (schemas/<stream>.json). */
export function recordValidator(stream: string): ValidateFunction {
  let v = recordValidators.get(stream);
  if (!v) {
    v = recordAjv.compile(JSON.parse(readFileSync(path.join(ROOT, "schemas", `${stream}.json`), "utf8")));
    recordValidators.set(stream, v);
  }
  return v;
}
