/**
 * `read`: reads every configured stream, parents before children, as windows of their cursor
 * ranges, `concurrency` windows at a time (src/windows.ts, src/stream-read.ts), and emits per
 * stream: STREAM_STATUS STARTED → RUNNING → records and STATE checkpoints → a final STATE →
 * COMPLETE; or INCOMPLETE and a TRACE ERROR naming the stream, while the other streams go on
 * (airbyte-contract.md §4, §5). Exit code 1 when any stream failed, 143 after SIGTERM.
 */
import { cursorFromState, loadCatalog, loadState, pageSizeFromState, type ConfiguredStream, type InputState } from "../catalog.js";
import { loadConfig } from "../config.js";
import { AuthError, failureTypeOf } from "../errors.js";
import { errorTraceMessage, logMessage } from "../protocol/messages.js";
import type { MessageWriter } from "../protocol/writer.js";
import type { PageRequest } from "../reader.js";
import { readResource } from "../resources.js";
import { openSession } from "../session.js";
import { PAGE_SIZE_KEY } from "../state.js";
import { StreamRead } from "../stream-read.js";
import { readOrder } from "../streams.js";
import { formatInstant, parseInstant } from "../time.js";
import { runWindows } from "../windows.js";

export interface ReadArgs {
  config: string;
  catalog: string;
  state?: string;
}

/**
 * Runs `read`; returns the exit code (0, 1 after a failed stream, 143 after SIGTERM).
 * @throws InputError for a bad config, catalog or state file (before anything is read), AuthError
 *   when the credentials are refused before the first stream
 */
export async function read(writer: MessageWriter, args: ReadArgs, signal: AbortSignal): Promise<number> {
  const config = await loadConfig(args.config);
  const session = openSession(config, writer, signal); // registers the secrets to mask
  const configured = await loadCatalog(args.catalog);
  const state: InputState = args.state ? await loadState(args.state) : new Map();
  const stateFile = args.state ?? "state";
  await warnAboutState(writer, configured, state, stateFile, config.startDateMs !== undefined);
  if (configured.length === 0) {
    await writer.write(logMessage("WARN", `${args.catalog}: the catalog lists no streams; nothing to read.`));
    return 0; // and no token is spent
  }
  // Validate every stream's state before reading anything.
  const requests = configured.map((c) => ({ configured: c, request: pageRequest(c, config.startDateMs, config.pageSize, state, stateFile) }));
  const byName = new Map(requests.map((r) => [r.configured.definition.name, r]));
  await session.tokens.accessToken(); // refused credentials: one TRACE ERROR before any stream starts
  const failures: { stream: string; error: unknown }[] = [];
  const skipped: string[] = [];
  const runs = new Map<string, StreamRead>();
  await runWindows(readOrder([...byName.keys()]), config.concurrency, Date.now(), {
    start: (name) => {
      if (signal.aborted || writer.isClosed) return undefined;
      // Refused credentials fail every stream alike: report them once and start no more streams.
      if (failures.some((f) => f.error instanceof AuthError)) return void skipped.push(name);
      const { configured: c, request } = byName.get(name)!;
      const run = new StreamRead(session, writer, c, request.request, request.initial, signal);
      runs.set(name, run);
      return run.lowerMs;
    },
    splittable: (name) => runs.get(name)!.splittable,
    read: (w, progress) => runs.get(w.stream)!.readWindow(w, progress),
    split: (w, created) => runs.get(w.stream)!.split(w, created),
    end: async (name, error) => {
      if (await runs.get(name)!.end(error)) failures.push({ stream: name, error });
    },
  });
  if (signal.aborted) return 143;
  if (failures.length === 0) return 0;
  const notRead = skipped.length > 0 ? ` ${skipped.length} stream(s) were not started: ${skipped.join(", ")}.` : "";
  await writer.write(
    errorTraceMessage(
      `Sync finished with ${failures.length} failed stream(s): ${failures.map((f) => f.stream).join(", ")}.${notRead}`,
      failureTypeOf(failures[0]!.error),
    ),
  );
  return 1;
}

/**
 * WARN about state that will not be used: entries naming no configured stream (Airbyte's own sample
 * state used camelCase names, outreach-api.md §9 #12) and blobs without the stream's cursor.
 */
async function warnAboutState(
  writer: MessageWriter,
  configured: ConfiguredStream[],
  state: InputState,
  stateFile: string,
  hasStartDate: boolean,
): Promise<void> {
  const names = new Set(configured.map((c) => c.definition.name));
  for (const name of state.keys()) {
    if (names.has(name)) continue;
    const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const hint = snake !== name && names.has(snake) ? ` Did you mean ${JSON.stringify(snake)}? That stream is read without state.` : "";
    await writer.write(logMessage("WARN", `${stateFile}: state entry ${JSON.stringify(name)} names no configured stream; it is ignored.${hint}`));
  }
  for (const c of configured) {
    const cursor = c.definition.cursorField;
    const blob = state.get(c.definition.name);
    const keys = Object.keys(blob ?? {}).filter((k) => k !== PAGE_SIZE_KEY);
    if (cursor && c.syncMode === "incremental" && blob && keys.length > 0 && (blob[cursor] === undefined || blob[cursor] === null)) {
      await writer.write(
        logMessage(
          "WARN",
          `${stateFile}: the state of ${c.definition.name} has no ${cursor} value (it has ${JSON.stringify(blob)}); the stream is read from ${hasStartDate ? "start_date" : "the beginning"}.`,
        ),
      );
    }
  }
}

/**
 * The first page request and initial cursor of a stream: lower bound = max(start_date, state)
 * (§9 #11); page size = the state's remembered one when smaller than `page_size` (§4.4).
 */
function pageRequest(
  c: ConfiguredStream,
  startDateMs: number | undefined,
  pageSize: number,
  state: InputState,
  stateFile: string,
): { request: PageRequest; initial?: string } {
  const stream = c.definition;
  const cursor = stream.cursorField;
  const initial = cursor && c.syncMode === "incremental" ? cursorFromState(state.get(stream.name), cursor, stateFile, stream.name) : undefined;
  const boundMs = Math.max(startDateMs ?? -Infinity, initial ? parseInstant(initial) : -Infinity);
  const fields = c.selectedProperties ? sparseFields(c) : undefined;
  const remembered = pageSizeFromState(state.get(stream.name), stateFile, stream.name);
  return {
    request: {
      stream,
      pageSize: Math.min(pageSize, remembered ?? pageSize),
      ...(cursor && Number.isFinite(boundMs) ? { lowerBound: formatInstant(boundMs) } : {}),
      ...(fields ? { fields } : {}),
    },
    ...(initial ? { initial } : {}),
  };
}

/**
 * JSON:API fields to request when the catalog selects fewer properties than discover offers:
 * attribute names, and relationship names for `<rel>Id(s)`/`<rel>Type`; always the cursor.
 * Undefined when everything is selected.
 */
export function sparseFields(c: ConfiguredStream): string[] | undefined {
  const stream = c.definition;
  const schema = readResource<{ properties: Record<string, unknown> }>(`schemas/${stream.name}.json`);
  const offered = Object.keys(schema.properties);
  const selected = new Set(c.selectedProperties);
  if (offered.every((p) => selected.has(p))) return undefined;
  const byField = new Map<string, string>();
  for (const r of stream.relationships) {
    if (r.field) byField.set(r.field, r.name);
    if (r.typeField) byField.set(r.typeField, r.name);
  }
  const fields = new Set<string>();
  for (const p of selected) {
    if (p === "id" || !(p in schema.properties)) continue;
    fields.add(byField.get(p) ?? p);
  }
  if (stream.cursorField) fields.add(stream.cursorField);
  return [...fields];
}
