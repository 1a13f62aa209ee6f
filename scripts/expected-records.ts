/**
 * `npm run expected-records`: regenerates the acceptance-test files that are derived from the
 * connector itself, so none of them is written by hand:
 *
 * - `integration_tests/configured_catalog.json`: every stream `discover` lists, `incremental` where
 *   supported (else `full_refresh`), `destination_sync_mode: append`, the source-defined cursor and
 *   key; `json_schema` is `{}` (CAT substitutes the discovered schema; the connector then reads
 *   every field).
 * - `integration_tests/abnormal_state.json`: a STREAM state with a far-future cursor for every
 *   incremental stream, keyed by that stream's `default_cursor_field`.
 * - `integration_tests/expected_records.jsonl`: the records with the lowest ids (RECORDS_PER_STREAM
 *   per stream) of a full read of the local replica (default seed), one
 *   `{"stream","data","emitted_at"}` line each, streams in name order. `emitted_at` is fixed
 *   (EMITTED_AT) so the file is deterministic; CAT does not compare it.
 *
 * The functions are exported for test/packaging.test.ts, which checks the committed files against
 * them. Usage: `npm run expected-records` (builds first).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { startReplica, type Replica } from "../integration_tests/replica/server.js";
import { ROOT, runCli } from "./lib/cli-runner.js";

export { ROOT };

/** Records kept per stream in expected_records.jsonl. */
export const RECORDS_PER_STREAM = 2;
/** `emitted_at` of every expected record: 2025-06-30T00:00:00Z, just after the replica's newest base record. */
export const EMITTED_AT = Date.UTC(2025, 5, 30);
/** Cursor value of every stream in abnormal_state.json: far beyond any real or replica record. */
export const FUTURE_CURSOR = "2099-12-31T00:00:00.000Z";

/** An Airbyte message as parsed from one stdout line (loosely typed for tests that dig into payloads). */
export type Message = { type: string } & Record<string, any>;

/** What one CLI run produced. */
export interface ConnectorRun {
  code: number | null;
  stderr: string;
  messages: Message[];
}

/**
 * Runs the connector CLI (`node dist/src/main.js …args`) from the repository root.
 * @throws when a stdout line is not a JSON object with a string `type`
 */
export async function runConnector(args: string[]): Promise<ConnectorRun> {
  const run = await runCli(args);
  run.lines.forEach((line, i) => {
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      throw new Error(`${args[0]}: stdout line ${i + 1} is not JSON: ${line.slice(0, 200)}\nstderr: ${run.stderr}`);
    }
    if (m === null || typeof m !== "object" || typeof (m as Message).type !== "string") {
      throw new Error(`${args[0]}: stdout line ${i + 1} is not an Airbyte message: ${line.slice(0, 200)}`);
    }
  });
  return { code: run.code, stderr: run.stderr, messages: run.messages as Message[] };
}

/** A connector config that reaches this replica, with its newest valid refresh token. */
export function replicaConfig(replica: Replica, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_id: replica.clientId,
    client_secret: replica.clientSecret,
    refresh_token: replica.refreshToken,
    base_url: replica.apiBase,
    token_url: replica.tokenUrl,
    ...extra,
  };
}

/** A discovered stream (the fields used here). */
export interface DiscoveredStream {
  name: string;
  json_schema: Record<string, unknown>;
  supported_sync_modes: string[];
  source_defined_cursor?: boolean;
  default_cursor_field?: string[];
  source_defined_primary_key?: string[][];
  is_resumable?: boolean;
}

/** The streams of `discover` (any valid config: discover makes no API call). */
export async function discoverStreams(configFile: string): Promise<DiscoveredStream[]> {
  const run = await runConnector(["discover", "--config", configFile]);
  const catalog = run.messages.find((m) => m.type === "CATALOG");
  if (run.code !== 0 || !catalog) throw new Error(`discover failed (exit ${run.code}): ${run.stderr}`);
  return catalog.catalog.streams as DiscoveredStream[];
}

/** The configured catalog of integration_tests/configured_catalog.json, from discovered streams. */
export function configuredCatalog(streams: DiscoveredStream[]): { streams: Record<string, unknown>[] } {
  return {
    streams: streams.map((s) => {
      const incremental = s.supported_sync_modes.includes("incremental");
      const { name, json_schema: _schema, ...definition } = s;
      return {
        stream: { name, json_schema: {}, ...definition },
        sync_mode: incremental ? "incremental" : "full_refresh",
        ...(incremental && s.default_cursor_field ? { cursor_field: s.default_cursor_field } : {}),
        ...(s.source_defined_primary_key ? { primary_key: s.source_defined_primary_key } : {}),
        destination_sync_mode: "append",
      };
    }),
  };
}

/** integration_tests/abnormal_state.json: far-future cursors for every incremental stream. */
export function abnormalState(streams: DiscoveredStream[]): Record<string, unknown>[] {
  return streams
    .filter((s) => s.supported_sync_modes.includes("incremental"))
    .map((s) => {
      const cursor = s.default_cursor_field?.[0];
      if (!cursor) throw new Error(`${s.name}: incremental without default_cursor_field`);
      return { type: "STREAM", stream: { stream_descriptor: { name: s.name }, stream_state: { [cursor]: FUTURE_CURSOR } } };
    });
}

/** One line of expected_records.jsonl. */
export interface ExpectedRecord {
  stream: string;
  data: Record<string, unknown> & { id: number };
  emitted_at: number;
}

/** The expected records from the RECORD messages of a full read: lowest ids first, per stream in name order. */
export function expectedRecords(messages: Message[], perStream = RECORDS_PER_STREAM): ExpectedRecord[] {
  const byStream = new Map<string, ExpectedRecord["data"][]>();
  for (const m of messages) {
    if (m.type !== "RECORD") continue;
    const list = byStream.get(m.record.stream) ?? [];
    list.push(m.record.data);
    byStream.set(m.record.stream, list);
  }
  return [...byStream.keys()].sort().flatMap((stream) =>
    byStream
      .get(stream)!
      .sort((a, b) => a.id - b.id)
      .slice(0, perStream)
      .map((data) => ({ stream, data, emitted_at: EMITTED_AT })),
  );
}

/** JSON Lines text of expected records. */
export function toJsonl(records: ExpectedRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join("\n") + "\n";
}

/** Writes the three generated files. */
async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "expected-records-"));
  const replica = await startReplica();
  try {
    const configFile = join(dir, "config.json");
    await writeFile(configFile, JSON.stringify(replicaConfig(replica)));
    const streams = await discoverStreams(configFile);
    const catalog = configuredCatalog(streams);
    const catalogFile = join(dir, "catalog.json");
    await writeFile(catalogFile, JSON.stringify(catalog));
    await writeFile(configFile, JSON.stringify(replicaConfig(replica)));
    const run = await runConnector(["read", "--config", configFile, "--catalog", catalogFile]);
    if (run.code !== 0) throw new Error(`read failed (exit ${run.code}): ${JSON.stringify(run.messages.filter((m) => m.type === "TRACE" && m.trace.type === "ERROR"))} ${run.stderr}`);
    const records = expectedRecords(run.messages);
    const missing = streams.filter((s) => !records.some((r) => r.stream === s.name)).map((s) => s.name);
    if (missing.length > 0) throw new Error(`the replica served no records for: ${missing.join(", ")}`);
    const out = (name: string): string => join(ROOT, "integration_tests", name);
    await writeFile(out("configured_catalog.json"), JSON.stringify(catalog, null, 2) + "\n");
    await writeFile(out("abnormal_state.json"), JSON.stringify(abnormalState(streams), null, 2) + "\n");
    await writeFile(out("expected_records.jsonl"), toJsonl(records));
    const total = run.messages.filter((m) => m.type === "RECORD").length;
    process.stdout.write(
      `wrote integration_tests/configured_catalog.json (${streams.length} streams), abnormal_state.json ` +
        `(${abnormalState(streams).length} incremental streams), expected_records.jsonl (${records.length} of ${total} records read)\n`,
    );
  } finally {
    await replica.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`expected-records: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
