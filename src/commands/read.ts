/**
 * `read`: reads every configured stream, parents before children, as windows of their cursor
 * ranges, `concurrency` windows at a time (src/windows.ts, src/stream-read.ts), and emits per
 * stream: STREAM_STATUS STARTED → RUNNING → records and STATE checkpoints → a final STATE →
 * COMPLETE; or INCOMPLETE and a TRACE ERROR naming the stream, while the other streams go on
 * (airbyte-contract.md §4, §5). Refused credentials and an unreachable base_url stop the read:
 * no stream starts after them (an unreachable base_url is reported once, not per stream). The run
 * report (report.ts) ends the output with summary LOG lines. Exit code 1 when any stream failed,
 * 143 after SIGTERM (the CLI turns it into 130 after SIGINT).
 */
import { cursorFromState, loadCatalog, loadState, pageSizeFromState, type ConfiguredStream, type InputState } from "../catalog.js";
import { loadConfig } from "../config.js";
import { DELETES_KEY, deleteChecks, withDeleteChecks } from "../delete-check.js";
import { AuthError, failureTypeOf, messageOf } from "../errors.js";
import { UnreachableError } from "../http/network.js";
import { errorTraceMessage, logMessage } from "../protocol/messages.js";
import type { MessageWriter } from "../protocol/writer.js";
import type { PageRequest } from "../reader.js";
import { sparseFields } from "../fields.js";
import type { RecordFormat } from "../record-format.js";
import { logRequests, RunReport } from "../report.js";
import { echoWarnings } from "../report-tty.js";
import { counted } from "../text.js";
import { openSession } from "../session.js";
import { PAGE_SIZE_KEY } from "../state.js";
import { StreamRead } from "../stream-read.js";
import { readOrder, STREAMS } from "../streams.js";
import { closest } from "../suggest.js";
import { formatInstant, parseInstant } from "../time.js";
import { runWindows } from "../windows.js";

export interface ReadArgs {
  config: string;
  catalog: string;
  state?: string;
  /** `--debug`: a DEBUG LOG line per request. */
  debug?: boolean;
}

/**
 * Runs `read`; returns the exit code (0, 1 after a failed stream, 143 after SIGTERM).
 * @throws InputError for a bad config, catalog or state file (before anything is read), AuthError
 *   when the credentials are refused before the first stream
 */
export async function read(writer: MessageWriter, args: ReadArgs, signal: AbortSignal): Promise<number> {
  // Progress and warnings on stderr only when it is a terminal and stdout is not (JSON lines would cut through it).
  const terminal = process.stderr.isTTY && !process.stdout.isTTY ? { terminal: process.stderr } : {};
  if (terminal.terminal) echoWarnings(writer, terminal.terminal);
  const config = await loadConfig(args.config);
  const session = openSession(config, writer, signal); // registers the secrets to mask
  for (const warning of config.warnings) await writer.write(logMessage("WARN", warning));
  if (args.debug) logRequests(session.events, writer);
  const configured = await loadCatalog(args.catalog);
  const state: InputState = args.state ? await loadState(args.state) : new Map();
  const stateFile = args.state ?? "state";
  await warnAboutState(writer, configured, state, stateFile, config.startDateMs !== undefined);
  if (configured.length === 0) {
    await writer.write(logMessage("WARN", `${args.catalog}: the catalog lists no streams; nothing to read.`));
    return 0; // and no token is spent
  }
  // Validate every stream's state before reading anything.
  const requests = configured.map((c) => ({ configured: c, request: pageRequest(c, config.startDateMs, config.pageSize, state, stateFile, config.recordFormat) }));
  const checks = deleteChecks(configured, state, stateFile, config.detectDeletesEveryMs, Date.now(), config.startDateMs);
  for (const r of requests) if (r.request.info) await writer.write(logMessage("INFO", r.request.info));
  const byName = new Map(requests.map((r) => [r.configured.definition.name, r]));
  const cursorFields = new Map(configured.map((c) => [c.definition.name, c.definition.cursorField] as const));
  const report = new RunReport(session.events, writer, cursorFields, terminal);
  await session.tokens.accessToken().catch((error: unknown) => {
    report.abandon(); // refused credentials: one TRACE ERROR before any stream starts
    throw error;
  });
  const failures: { stream: string; error: unknown }[] = [];
  const skipped: string[] = [];
  const runs = new Map<string, StreamRead>();
  const scheduled = withDeleteChecks(readOrder([...byName.keys()]), {
    start: (name) => {
      if (signal.aborted || writer.isClosed) return undefined;
      // Refused credentials or an unreachable API fail every stream alike: start no more streams.
      if (failures.some((f) => stopsRead(f.error))) return void skipped.push(name);
      const { configured: c, request } = byName.get(name)!;
      const run = new StreamRead(session, writer, c, request.request, request.initial, signal, checks.get(name));
      runs.set(name, run);
      return run.lowerMs;
    },
    splittable: (name) => runs.get(name)!.splittable,
    read: (w, progress) => runs.get(w.stream)!.readWindow(w, progress),
    split: (w, created) => runs.get(w.stream)!.split(w, created),
    end: async (name, error) => {
      if (await runs.get(name)!.end(error)) failures.push({ stream: name, error });
    },
  }, checks, (check) => runs.get(check.stream.name)!.runDeleteCheck());
  await runWindows(scheduled.streams, config.concurrency, Date.now(), scheduled.hooks);
  const unreachable = failures.find((f) => f.error instanceof UnreachableError)?.error as UnreachableError | undefined;
  const stopped = signal.aborted ? messageOf(signal.reason) : unreachable?.message;
  const notStarted = [...byName.keys()].filter((name) => !report.streams.has(name));
  if (writer.isClosed) report.abandon(); // nothing can be reported: erase the progress line (main.ts says why on stderr)
  else await report.finish(writer, { failures, notStarted, ...(stopped ? { stopped } : {}) });
  if (signal.aborted) return 143;
  if (failures.length === 0) return 0;
  const notRead = skipped.length > 0 ? ` ${skipped.length} stream(s) were not started: ${skipped.join(", ")}.` : "";
  const failed = `${failures.length} failed stream(s): ${failures.map((f) => f.stream).join(", ")}.`;
  await writer.write(
    unreachable
      ? errorTraceMessage(`${unreachable.message} The read stopped: ${failed}${notRead}`, unreachable.failureType)
      : errorTraceMessage(`Sync finished with ${failed}${notRead}`, failureTypeOf(failures[0]!.error)),
  );
  return 1;
}

/** Errors after which no stream can succeed, so no more streams start. */
function stopsRead(error: unknown): boolean {
  return error instanceof AuthError || error instanceof UnreachableError;
}

/**
 * Tells about state that will not be used as it stands: entries of streams that exist but are not
 * selected (one INFO line), entries naming no stream at all (a WARN each, with the closest stream
 * name: Airbyte's own sample state used camelCase names, outreach-api.md §9 #12), blobs without the
 * stream's cursor, and cursors later than now (the stream reads nothing until then).
 */
async function warnAboutState(
  writer: MessageWriter,
  configured: ConfiguredStream[],
  state: InputState,
  stateFile: string,
  hasStartDate: boolean,
): Promise<void> {
  const names = new Set(configured.map((c) => c.definition.name));
  const known = new Set(STREAMS.map((s) => s.name));
  const unselected = [...state.keys()].filter((name) => known.has(name) && !names.has(name));
  if (unselected.length > 0) {
    await writer.write(logMessage("INFO", `${stateFile}: ${counted(unselected.length, "state entry is", "state entries are")} for streams not selected in this catalog, kept for later: ${unselected.join(", ")}.`));
  }
  for (const name of state.keys()) {
    if (known.has(name)) continue;
    const near = closest(name, known);
    const hint = near ? ` Did you mean ${JSON.stringify(near)}?${names.has(near) && !state.has(near) ? " That stream is read without state." : ""}` : "";
    await writer.write(logMessage("WARN", `${stateFile}: state entry ${JSON.stringify(name)} names no stream; it is ignored.${hint}`));
  }
  for (const c of configured) {
    const cursor = c.definition.cursorField;
    const blob = state.get(c.definition.name);
    const keys = Object.keys(blob ?? {}).filter((k) => k !== PAGE_SIZE_KEY && k !== DELETES_KEY);
    if (cursor && c.syncMode === "incremental" && blob && keys.length > 0 && (blob[cursor] === undefined || blob[cursor] === null)) {
      await writer.write(
        logMessage(
          "WARN",
          `${stateFile}: the state of ${c.definition.name} has no ${cursor} value (it has ${JSON.stringify(blob)}); the stream is read from ${hasStartDate ? "start_date" : "the beginning"}.`,
        ),
      );
    }
    const value = cursor && c.syncMode === "incremental" ? blob?.[cursor] : undefined;
    if (typeof value === "string" && parseInstant(value) > Date.now()) {
      await writer.write(
        logMessage("WARN", `${stateFile}: the state of ${c.definition.name} has ${cursor} ${value}, later than now (${formatInstant(Date.now())}); the stream reads no records before then.`),
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
  format: RecordFormat,
): { request: PageRequest; initial?: string; info?: string } {
  const stream = c.definition;
  const cursor = stream.cursorField;
  const initial = cursor && c.syncMode === "incremental" ? cursorFromState(state.get(stream.name), cursor, stateFile, stream.name) : undefined;
  const boundMs = Math.max(startDateMs ?? -Infinity, initial ? parseInstant(initial) : -Infinity);
  const { fields, info } = sparseFields(c, format);
  const remembered = pageSizeFromState(state.get(stream.name), stateFile, stream.name);
  return {
    request: {
      stream,
      pageSize: Math.min(pageSize, remembered ?? pageSize),
      ...(cursor && Number.isFinite(boundMs) ? { lowerBound: formatInstant(boundMs) } : {}),
      ...(fields ? { fields } : {}),
      format,
    },
    ...(initial ? { initial } : {}),
    ...(info ? { info } : {}),
  };
}
