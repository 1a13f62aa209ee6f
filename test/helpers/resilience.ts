/** Assertions shared by the resilience tests: secrets, protocol validity, stream outcomes, request logs. */
import assert from "node:assert/strict";
import type { AirbyteMessage } from "../../src/generated/protocol.js";
import type { RequestRecord } from "../../integration_tests/replica/requestlog.js";
import { lastStates, recordsOf, runCli, type CliRun } from "./cli.js";
import { messageProblems } from "./protocol.js";
import { catalogFor, readArgs, type Replica } from "./replica.js";

/** A JWT-shaped access token anywhere in a text. */
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}/;

/** Every secret a run may have held: the client secret and every refresh token the replica saw, issued or holds. */
export function secretsOf(r: Replica, runs: readonly CliRun[] = []): string[] {
  const secrets = new Set<string>([r.clientSecret, ...r.refreshTokens()]);
  for (const e of r.requests.entries) if (e.path === "/oauth/token" && e.form?.refresh_token) secrets.add(e.form.refresh_token);
  for (const run of runs) {
    for (const m of run.messages) {
      const config = m.type === "CONTROL" ? (m.control?.connectorConfig?.config as Record<string, unknown> | undefined) : undefined;
      if (typeof config?.refresh_token === "string") secrets.add(config.refresh_token);
      if (typeof config?.access_token === "string") secrets.add(config.access_token);
    }
  }
  return [...secrets].filter((s) => s.length >= 4);
}

/**
 * No secret and no access token (JWT) in any stdout line but CONTROL, nor in stderr.
 * @param extra more secrets (e.g. a wrong client_secret the config carried)
 */
export function assertNoSecrets(run: CliRun, r: Replica, extra: string[] = []): void {
  const secrets = [...secretsOf(r, [run]), ...extra];
  run.lines.forEach((line, i) => {
    if (line.startsWith('{"type":"CONTROL"')) return; // the one message that may carry secrets (airbyte-contract.md §4.3)
    assert.ok(!JWT.test(line), `stdout line ${i} carries an access token: ${line.slice(0, 200)}`);
    for (const s of secrets) assert.ok(!line.includes(s), `stdout line ${i} carries a secret: ${line.slice(0, 300)}`);
  });
  assert.ok(!JWT.test(run.stderr), `stderr carries an access token`);
  for (const s of secrets) assert.ok(!run.stderr.includes(s), `stderr carries a secret`);
}

/**
 * What every run must satisfy: each stdout line one valid Airbyte message (a torn last line is
 * allowed after SIGKILL), no secret leaked, nothing on stderr.
 */
export function assertClean(run: CliRun, r: Replica, options: { killed?: boolean; extraSecrets?: string[] } = {}): void {
  const lines = options.killed ? run.lines.slice(0, -1) : run.lines;
  const parsed = lines.filter((l) => {
    try {
      JSON.parse(l);
      return true;
    } catch {
      return false;
    }
  });
  assert.equal(parsed.length, lines.length, `every stdout line is JSON: ${lines.find((l) => !parsed.includes(l))?.slice(0, 200)}`);
  assert.deepEqual(messageProblems(run.messages), []);
  assertNoSecrets(run, r, options.extraSecrets);
  assert.equal(run.stderr, "", "nothing on stderr (no warning, no stack trace)");
}

/** STREAM_STATUS values of a stream, in order. */
export function statusesOf(run: CliRun, stream: string): string[] {
  return run.messages
    .filter((m) => m.type === "TRACE" && m.trace!.type === "STREAM_STATUS" && m.trace!.stream_status!.stream_descriptor.name === stream)
    .map((m) => m.trace!.stream_status!.status);
}

/** RUNNING statuses of a stream that carry a RATE_LIMITED reason. */
export function rateLimitedOf(run: CliRun, stream: string): AirbyteMessage[] {
  return run.messages.filter(
    (m) =>
      m.type === "TRACE" &&
      m.trace!.stream_status?.stream_descriptor.name === stream &&
      m.trace!.stream_status.status === "RUNNING" &&
      (m.trace!.stream_status.reasons ?? []).some((x) => x.type === "RATE_LIMITED"),
  );
}

/** TRACE ERROR payloads (of one stream when given; `null` = those without a stream). */
export function errorsOf(run: CliRun, stream?: string | null): NonNullable<NonNullable<AirbyteMessage["trace"]>["error"]>[] {
  return run.messages
    .filter((m) => m.type === "TRACE" && m.trace!.type === "ERROR")
    .map((m) => m.trace!.error!)
    .filter((e) => stream === undefined || (stream === null ? !e.stream_descriptor : e.stream_descriptor?.name === stream));
}

/** LOG messages' texts. */
export function logsOf(run: CliRun): string[] {
  return run.messages.filter((m) => m.type === "LOG").map((m) => m.log!.message);
}

/** Sorted ids of a stream's records in a run (duplicates kept). */
export function idsOf(run: CliRun, stream: string): number[] {
  return recordsOf(run, stream)
    .map((x) => x.id as number)
    .sort((a, b) => a - b);
}

/** The stream's records are exactly the replica's, each once. */
export function assertAllRecords(run: CliRun, r: Replica, stream: string): void {
  assert.deepEqual(idsOf(run, stream), r.control.listIds(stream).ids, `${stream}: every record exactly once`);
}

/** API requests the replica logged for a stream (oldest first). */
export function apiRequests(r: Replica, stream: string): RequestRecord[] {
  return r.requests.entries.filter((e) => e.stream === stream);
}

/** Token-endpoint requests the replica logged. */
export function tokenRequests(r: Replica): RequestRecord[] {
  return r.requests.entries.filter((e) => e.path === "/oauth/token");
}

/** A request's decoded parameter. */
export function param(e: RequestRecord, name: string): string | null {
  return new URLSearchParams(e.query).get(name);
}

/**
 * Resumes a run stopped by a signal the way the platform would (its last states, the refresh token
 * of its last CONTROL message) and asserts that the resumed run completes and that every record of
 * the streams came in one of the two runs.
 */
export async function assertResumeLosesNothing(r: Replica, stopped: CliRun, config: Record<string, unknown>, streams: readonly string[]): Promise<void> {
  const control = stopped.messages.filter((m) => m.type === "CONTROL").at(-1);
  const token = (control!.control!.connectorConfig!.config as { refresh_token: string }).refresh_token;
  const resumed = await runCli(await readArgs(r, { config: { ...config, refresh_token: token }, catalog: catalogFor(streams), state: lastStates(stopped) }));
  assert.equal(resumed.code, 0, resumed.stderr);
  assertClean(resumed, r);
  for (const s of streams) {
    const union = new Set([...recordsOf(stopped, s), ...recordsOf(resumed, s)].map((x) => x.id as number));
    assert.deepEqual(r.control.listIds(s).ids!.filter((id) => !union.has(id)), [], `${s}: nothing lost`);
  }
}

/**
 * Each STATE of a run counts the records of its stream since the previous one; no two identical
 * consecutive states of a stream with records between them; no record after a stream's final
 * STATE (airbyte-contract.md §4.2).
 */
export function assertStateCounts(run: Pick<CliRun, "messages">): void {
  const since = new Map<string, number>();
  const last = new Map<string, string>();
  for (const m of run.messages) {
    if (m.type === "RECORD") since.set(m.record!.stream, (since.get(m.record!.stream) ?? 0) + 1);
    if (m.type !== "STATE") continue;
    const name = m.state!.stream!.stream_descriptor.name;
    const blob = JSON.stringify(m.state!.stream!.stream_state);
    assert.equal(m.state!.sourceStats!.recordCount, since.get(name) ?? 0, `${name}: recordCount = records since its previous STATE`);
    if ((since.get(name) ?? 0) > 0) assert.notEqual(blob, last.get(name), `${name}: identical consecutive states`);
    last.set(name, blob);
    since.set(name, 0);
  }
  assert.deepEqual([...since].filter(([, n]) => n > 0), [], "no records after a stream's final STATE");
}
