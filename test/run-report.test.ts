/**
 * What a person sees (issue 11): the summary LOG lines that end every read, with figures that match
 * what the replica served; warnings that point at the mistake (a typo'd config key, a future
 * start_date or state, unselected streams in the state); `--debug` request lines; one error, fast,
 * when base_url or token_url cannot be reached; SIGINT like SIGTERM but exit 130; --help/--version.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { test } from "node:test";
import { lastStates, recordsOf, runCli, type CliRun } from "./helpers/cli.js";
import { catalogFor, configFor, readArgs, replicaFixture } from "./helpers/replica.js";
import { apiRequests, assertClean, assertResumeLosesNothing, errorsOf, logsOf, statusesOf, tokenRequests } from "./helpers/resilience.js";

const fixture = replicaFixture();

/** LOG messages of a level. */
const logsAt = (run: CliRun, level: string): string[] => run.messages.filter((m) => m.type === "LOG" && m.log!.level === level).map((m) => m.log!.message);

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("a clean read ends with one summary line per stream and the totals, matching what the replica served", async () => {
  const r = fixture.replica;
  r.control.addFaults({ kind: "http_error", status: 500, stream: "stages" });
  const streams = ["stages", "duties", "prospects"];
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10 }), catalog: catalogFor(streams) }));
  assert.equal(run.code, 0, run.stderr);
  assertClean(run, r);
  const tail = run.messages.slice(-4);
  assert.ok(tail.every((m) => m.type === "LOG" && m.log!.level === "INFO" && m.log!.message.startsWith("Summary")), JSON.stringify(tail));
  const lines = tail.map((m) => m.log!.message);
  const states = new Map(lastStates(run).map((s) => [s!.stream!.stream_descriptor.name, s!.stream!.stream_state as Record<string, string>]));
  for (const [i, name] of [...streams].sort().entries()) {
    const records = recordsOf(run, name).length;
    assert.equal(records, r.control.listIds(name).count);
    const requests = apiRequests(r, name).length;
    const retries = name === "stages" ? 1 : 0;
    const pages = requests - retries;
    const cursor = name === "duties" ? "-" : `updatedAt ${states.get(name)!.updatedAt}`;
    assert.match(
      lines[i]!,
      new RegExp(`^Summary ${name}: complete; records ${records}, pages ${pages}, requests ${requests}, retries ${retries}, waits 0 \\(0\\.0 s\\), time \\d+\\.\\d s; final cursor ${cursor}$`),
    );
  }
  const total = streams.reduce((a, s) => a + r.control.listIds(s).count, 0);
  const requests = streams.reduce((a, s) => a + apiRequests(r, s).length, 0);
  assert.match(
    lines[3]!,
    new RegExp(`^Summary: streams 3: complete 3, incomplete 0, not started 0; records ${total}, pages ${requests - 1}, requests ${requests} \\(\\+ ${tokenRequests(r).length} to the token endpoint\\), retries 1, waits 0 \\(0\\.0 s\\), time \\d+\\.\\d s\\.$`),
  );
});

test("a failed stream is named in the summary with its one-line reason; the others complete", async () => {
  const r = fixture.replica;
  r.control.addFaults({ kind: "http_error", status: 404, stream: "duties" });
  const run = await runCli(await readArgs(r, { catalog: catalogFor(["duties", "stages"]) }));
  assert.equal(run.code, 1);
  const summary = logsOf(run).filter((l) => l.startsWith("Summary"));
  assert.equal(summary.length, 3);
  assert.match(summary[0]!, /^Summary duties: INCOMPLETE; records 0, pages 0, requests 1, .*; final cursor -; reason: Outreach has no \/api\/v2\/duties \(404/);
  assert.match(summary[1]!, /^Summary stages: complete; /);
  assert.match(summary[2]!, /^Summary: streams 2: complete 1, incomplete 1 \(duties\), not started 0; /);
  assert.equal(run.messages.at(-1)!.type, "TRACE", "the final TRACE ERROR comes after the summary");
});

test("a typo'd config key: one WARN naming it and the closest field; a future start_date: one WARN", async () => {
  const r = fixture.replica;
  const args = await readArgs(r, { config: configFor(r, { start_dat: "2020-01-01", Concurency: 2, zzz: 1, start_date: "2999-01-01" }), catalog: catalogFor(["stages"]) });
  const config = args[2]!;
  const run = await runCli(args);
  assert.equal(run.code, 0, run.stderr);
  assertClean(run, r);
  const warnings = logsAt(run, "WARN");
  // Every field of spec.json but those the connector writes itself (hidden in Airbyte's form).
  const spec = JSON.parse(readFileSync(new URL("../../spec.json", import.meta.url), "utf8")) as {
    connectionSpecification: { properties: Record<string, { airbyte_hidden?: boolean }> };
  };
  const visibleFields = Object.entries(spec.connectionSpecification.properties).filter(([, p]) => !p.airbyte_hidden).map(([k]) => k);
  assert.ok(visibleFields.includes("client_id") && !visibleFields.includes("access_token"));
  assert.deepEqual(warnings.slice(0, 3), [
    `${config}: unknown field "start_dat" is ignored. Did you mean "start_date"?`,
    `${config}: unknown field "Concurency" is ignored. Did you mean "concurrency"?`,
    `${config}: unknown field "zzz" is ignored. Known fields: ${visibleFields.join(", ")}.`,
  ]);
  assert.match(warnings[3]!, new RegExp(`^${config}: start_date 2999-01-01 is later than now \\(\\d{4}-.*Z\\); streams with a cursor read no records before then\\.$`));
  assert.equal(warnings.length, 4);
  assert.equal(recordsOf(run).length, 0);
  // discover and check warn the same way.
  const discover = await runCli(["discover", "--config", config]);
  assert.equal(logsAt(discover, "WARN").length, 4);
});

test("state: a future cursor is a WARN naming stream and value; unselected streams one INFO line; unknown names a WARN with did-you-mean", async () => {
  const r = fixture.replica;
  const entry = (name: string, updatedAt: string): object => ({ type: "STREAM", stream: { stream_descriptor: { name }, stream_state: { updatedAt } } });
  const state = [entry("stages", "2999-01-01T00:00:00.000Z"), entry("prospects", "2024-01-01T00:00:00.000Z"), entry("calls", "2024-01-01T00:00:00.000Z"), entry("stagez", "2024-01-01T00:00:00.000Z")];
  const args = await readArgs(r, { catalog: catalogFor(["stages", "duties"]), state });
  const file = args.at(-1)!;
  const run = await runCli(args);
  assert.equal(run.code, 0, run.stderr);
  assertClean(run, r);
  assert.deepEqual(logsAt(run, "INFO").filter((l) => l.startsWith(file)), [`${file}: 2 state entries are for streams not selected in this catalog, kept for later: prospects, calls.`]);
  assert.deepEqual(logsAt(run, "WARN"), [
    `${file}: state entry "stagez" names no stream; it is ignored. Did you mean "stages"?`,
    `${file}: the state of stages has updatedAt 2999-01-01T00:00:00.000Z, later than now (${logsAt(run, "WARN")[1]!.match(/now \((.*?)\)/)![1]}); the stream reads no records before then.`,
  ]);
  assert.equal(recordsOf(run, "stages").length, 0);
});

test("--debug: one DEBUG line per request with method, path and query, status, bytes and ms; no secret", async () => {
  const r = fixture.replica;
  const run = await runCli([...(await readArgs(r, { config: configFor(r, { page_size: 20 }), catalog: catalogFor(["stages"]) })), "--debug"]);
  assert.equal(run.code, 0, run.stderr);
  assertClean(run, r);
  const debug = logsAt(run, "DEBUG");
  const served = r.requests.entries;
  assert.equal(debug.length, served.length);
  assert.match(debug[0]!, /^POST \/oauth\/token → 200, [\d,]+ bytes, \d+ ms$/);
  const api = served.filter((e) => e.stream === "stages");
  debug.slice(1).forEach((line, i) => {
    assert.ok(line.startsWith(`GET ${api[i]!.path}?${decodeURIComponent(api[i]!.query)} → 200, `), `${line} vs ${api[i]!.query}`);
    assert.match(line, /[?&]page\[size\]=20(&|\s)/);
    assert.match(line, / → 200, [\d,]+ bytes, \d+ ms \(stages\)$/);
  });
});

/** The one TRACE error, few LOG lines, no stream started after the first ones failed. */
function assertStoppedOnce(run: CliRun, field: string, url: string, failureType: string): void {
  assert.equal(run.code, 1);
  const errors = errorsOf(run);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0]!.failure_type, failureType);
  assert.ok(errors[0]!.message.startsWith(`Cannot reach ${field} ${url}: `), errors[0]!.message);
  assert.ok(logsOf(run).length <= 20, `${logsOf(run).length} LOG lines:\n${logsOf(run).join("\n")}`);
}

test("base_url refused or speaking plain http to https: three attempts per started stream, one TRACE config_error, no other stream starts", async (t) => {
  const r = fixture.replica;
  const port = await closedPort();
  for (const base of [`http://127.0.0.1:${port}/api/v2/`, r.apiBase.replace("http:", "https:")]) {
    const t0 = Date.now();
    const run = await runCli(await readArgs(r, { config: configFor(r, { base_url: base }) }));
    const ms = Date.now() - t0;
    assertClean(run, r);
    assertStoppedOnce(run, "base_url", base, "config_error");
    assert.match(errorsOf(run)[0]!.message, base.startsWith("https") ? /the server answers plain HTTP, not https/ : /ECONNREFUSED/);
    assert.doesNotMatch(JSON.stringify(run.messages), /ssl3_get_record|wrong version number/, "no raw OpenSSL text");
    const started = run.messages.filter((m) => m.type === "TRACE" && m.trace!.stream_status?.status === "STARTED").length;
    assert.equal(started, 4, "only the first `concurrency` (4) streams started");
    const summary = logsOf(run).at(-1)!;
    assert.match(summary, /^Summary: streams 47: complete 0, incomplete 4 \(.*\), not started 43 \(/);
    const retries = logsOf(run).filter((l) => /Retrying in \d\.\d s \(attempt [23] of 3\): cannot reach base_url/.test(l));
    assert.equal(retries.length, 8, "two retries for each of the 4 streams");
    t.diagnostic(`${base}: ${ms} ms, ${logsOf(run).length} LOG lines`);
  }
});

test("token_url refused: one TRACE config_error naming token_url after three attempts, nothing started", async () => {
  const r = fixture.replica;
  const url = `http://127.0.0.1:${await closedPort()}/oauth/token`;
  const run = await runCli(await readArgs(r, { config: configFor(r, { token_url: url }), catalog: catalogFor(["stages"]) }));
  assertClean(run, r);
  assertStoppedOnce(run, "token_url", url, "config_error");
  assert.equal(logsOf(run).filter((l) => l.startsWith("Retrying the token request")).length, 2);
  assert.deepEqual(statusesOf(run, "stages"), []);
});

test("SIGINT: INCOMPLETE statuses, final states, the summary, exit 130; resuming loses nothing", async () => {
  const r = fixture.replica;
  r.control.set({ latencyMs: 40 });
  try {
    const streams = ["prospects", "calls", "events", "stages"];
    const config = configFor(r, { page_size: 4, concurrency: 2 });
    const stopped = await runCli(await readArgs(r, { config, catalog: catalogFor(streams) }), { killAfterLines: { lines: 40, signal: "SIGINT" } });
    assert.equal(stopped.signal, null);
    assert.equal(stopped.code, 130);
    assertClean(stopped, r);
    assert.ok(logsOf(stopped).some((l) => l.startsWith("SIGINT received")));
    const started = streams.filter((s) => statusesOf(stopped, s).length > 0);
    const cut = started.filter((s) => statusesOf(stopped, s).at(-1) === "INCOMPLETE");
    assert.ok(cut.length >= 1, "a stream was cut short");
    assert.match(logsOf(stopped).at(-1)!, /^Summary: streams 4: .* Stopped early: cancelled by SIGINT$/);
    await assertResumeLosesNothing(r, stopped, config, streams);
  } finally {
    r.control.set({ latencyMs: 0 });
  }
});

test("--help, -h and --version: text on stdout, nothing on stderr, exit 0", async () => {
  for (const flag of ["--help", "-h", "--version"]) {
    const run = await runCli([flag]);
    assert.equal(run.code, 0, flag);
    assert.equal(run.stderr, "", flag);
    assert.match(run.lines.join("\n"), flag === "--version" ? /^\d+\.\d+\.\d+$/ : /source-outreach <command> \[options\][\s\S]*read/, flag);
  }
});
