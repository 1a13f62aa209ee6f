/**
 * Tokens, rotation and scopes against the replica (issue 3): 2-second tokens refreshed before
 * they expire across a long read, with a CONTROL message for every rotated refresh token and the
 * newest one used next; a 401 refreshes once and replays the same page; concurrent streams share
 * one refresh; a throttled token endpoint is waited out; revoked or wrong credentials end the run
 * with a config_error that says to re-authorize; a missing scope fails only its stream and
 * `check` names it.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { STREAMS } from "../src/streams.js";
import { runCli, tempDir, writeJsonFiles, type CliRun } from "./helpers/cli.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";
import { apiRequests, assertAllRecords, assertClean, errorsOf, idsOf, logsOf, param, statusesOf, tokenRequests } from "./helpers/resilience.js";

let r: Replica;
before(async () => {
  r = await replica({ records: 30 });
});
after(() => r.close());
beforeEach(() => r.control.reset());

const controlsOf = (run: CliRun): Record<string, unknown>[] =>
  run.messages.filter((m) => m.type === "CONTROL").map((m) => m.control!.connectorConfig!.config as Record<string, unknown>);

test("2-second tokens: refreshed before they expire across a long read; every rotation is a CONTROL with the full config; the newest token is used next", async () => {
  r.control.set({ tokenLifetimeSec: 2, latencyMs: 80 });
  const config = configFor(r, { page_size: 3, concurrency: 1 });
  const streams = ["stages", "users", "teams", "duties"];
  const run = await runCli(await readArgs(r, { config, catalog: catalogFor(streams) }));
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assertClean(run, r);
  for (const s of streams) assertAllRecords(run, r, s);
  const mints = tokenRequests(r);
  assert.ok(mints.length >= 3, `${mints.length} tokens over the read`);
  assert.ok(mints.every((e) => e.status === 200));
  assert.equal(r.requests.entries.filter((e) => e.status === 401).length, 0, "no request ever went out with an expired token");
  const controls = controlsOf(run);
  assert.equal(controls.length, mints.length, "one CONTROL per new refresh token");
  assert.equal(mints[0]!.form!.refresh_token, config.refresh_token);
  controls.forEach((c, k) => {
    assert.deepEqual({ ...c, refresh_token: "-", access_token: "-", token_expiry_date: "-" }, { ...config, refresh_token: "-", access_token: "-", token_expiry_date: "-" }, "the full config");
    if (k + 1 < mints.length) assert.equal(mints[k + 1]!.form!.refresh_token, c.refresh_token, `refresh ${k + 2} uses the token of CONTROL ${k + 1}`);
  });
  assert.equal(controls.at(-1)!.refresh_token, r.refreshToken, "the last CONTROL holds the one valid refresh token");
  assert.deepEqual(r.refreshTokens(), [r.refreshToken], "every older one was spent");
});

test("a 401 refreshes the token once and replays the same page[after]: no record lost or repeated", async () => {
  r.control.addFaults({ kind: "unauthorized", stream: "stages", after: 2 });
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 5 }), catalog: catalogFor(["stages"], "full_refresh") }));
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assertClean(run, r);
  assertAllRecords(run, r, "stages");
  const log = apiRequests(r, "stages");
  assert.deepEqual(log.slice(0, 4).map((e) => e.status), [200, 200, 401, 200]);
  assert.ok(param(log[2]!, "page[after]"));
  assert.equal(log[3]!.query, log[2]!.query, "the same page is asked for again");
  assert.equal(tokenRequests(r).length, 2, "one refresh");
  assert.equal(controlsOf(run).length, 2);
});

test("concurrent streams share one refresh in flight", async () => {
  r.control.set({ latencyMs: 150 });
  r.control.addFaults({ kind: "unauthorized", after: 6 });
  const streams = ["stages", "users", "teams", "duties"];
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10, concurrency: 4 }), catalog: catalogFor(streams) }));
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assertClean(run, r);
  for (const s of streams) assertAllRecords(run, r, s);
  const refused = r.requests.entries.filter((e) => e.status === 401);
  assert.ok(refused.length >= 2, `${refused.length} requests of several streams were refused at once`);
  assert.ok(new Set(refused.map((e) => e.stream)).size >= 2);
  assert.equal(tokenRequests(r).length, 2, "the initial token and one shared refresh");
});

test("a throttled token endpoint (one mint per interval) is waited out, not hammered", async () => {
  r.control.set({ minMintIntervalSec: 2 });
  r.control.addFaults({ kind: "unauthorized", stream: "stages" });
  const run = await runCli(await readArgs(r, { config: configFor(r, { page_size: 10 }), catalog: catalogFor(["stages"]) }));
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assertClean(run, r);
  assertAllRecords(run, r, "stages");
  const mints = tokenRequests(r);
  assert.deepEqual(mints.map((e) => e.status), [200, 429, 200], "one throttled request, then the wait");
  assert.ok(mints[2]!.at - mints[1]!.at >= 900, `waited ${mints[2]!.at - mints[1]!.at} ms`);
  assert.ok(mints[2]!.at - mints[0]!.at >= 2000, "the next mint came after the interval");
  assert.ok(logsOf(run).some((l) => /^Token endpoint throttled \(429, Retry-After: [12]\); waiting [12]\.0 s before minting again/.test(l)), logsOf(run).join("\n"));
});

test("revoked refresh tokens: one TRACE config_error telling to re-authorize, nothing else, exit 1", async () => {
  const config = configFor(r);
  r.control.revokeRefreshTokens();
  const run = await runCli(await readArgs(r, { config, catalog: catalogFor(["stages", "users"]) }));
  assert.equal(run.code, 1);
  assertClean(run, r);
  assert.deepEqual(run.messages.map((m) => m.type), ["TRACE"], "no status, record or state half-written");
  const [error] = errorsOf(run);
  assert.equal(error!.failure_type, "config_error");
  assert.match(error!.message, /^Outreach rejected the refresh token \(invalid_grant\): it expired, was used already or was revoked\. Re-authorize the connection/);
  assert.equal(tokenRequests(r).length, 1, "not retried");
  assert.equal(r.requests.entries.filter((e) => e.path.startsWith("/api/")).length, 0);
});

test("a wrong client secret: invalid_client config_error, and the wrong secret is not printed either", async () => {
  const wrong = "wrong-secret-0123456789";
  const run = await runCli(await readArgs(r, { config: configFor(r, { client_secret: wrong }), catalog: catalogFor(["stages"]) }));
  assert.equal(run.code, 1);
  assertClean(run, r, { extraSecrets: [wrong] });
  assert.deepEqual(run.messages.map((m) => m.type), ["TRACE"]);
  const [error] = errorsOf(run);
  assert.equal(error!.failure_type, "config_error");
  assert.match(error!.message, /^Outreach rejected the client_id \/ client_secret pair \(invalid_client\)\. Check client_id and client_secret, then re-authorize/);
});

test("refresh tokens revoked in the middle of a read: the streams stop with the re-authorize error, states flushed, no new stream starts", async () => {
  r.control.set({ tokenLifetimeSec: 2, latencyMs: 60 });
  const streams = ["stages", "users", "teams", "duties", "roles", "personas"];
  const pending = runCli(await readArgs(r, { config: configFor(r, { page_size: 3, concurrency: 2 }), catalog: catalogFor(streams) }));
  const t0 = Date.now();
  while (!r.requests.entries.some((e) => e.path.startsWith("/api/")) && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 20));
  r.control.revokeRefreshTokens();
  const run = await pending;
  assert.equal(run.code, 1);
  assertClean(run, r);
  const started = streams.filter((s) => statusesOf(run, s).length > 0);
  assert.ok(started.length >= 1 && started.length < streams.length, `${started.length} streams started`);
  for (const s of started) {
    const last = statusesOf(run, s).at(-1);
    assert.ok(last === "COMPLETE" || last === "INCOMPLETE", `${s} ends with ${last}`);
    if (last === "INCOMPLETE") {
      const [error] = errorsOf(run, s);
      assert.equal(error!.failure_type, "config_error");
      assert.match(error!.message, /invalid_grant.*Re-authorize the connection/);
      // Every record written is covered by a STATE of the stream.
      const messages = run.messages.filter((m) => (m.type === "RECORD" && m.record!.stream === s) || (m.type === "STATE" && m.state!.stream!.stream_descriptor.name === s));
      assert.equal(messages.at(-1)?.type ?? "STATE", "STATE", `${s}: last record followed by a state`);
    }
  }
  const [final] = errorsOf(run, null);
  assert.match(final!.message, /failed stream\(s\)/);
  assert.match(final!.message, /were not started/);
  assert.equal(final!.failure_type, "config_error");
  assert.equal(tokenRequests(r).filter((e) => e.status === 400).length, 1, "the refused refresh is not repeated");
});

test("a missing scope fails only its stream with a config_error naming the scope; check names the scopes the token lacks", async () => {
  const all = [...new Set(STREAMS.map((s) => s.scope))];
  r.control.set({ scopes: all.filter((s) => s !== "calls.read") });
  const run = await runCli(await readArgs(r, { catalog: catalogFor(["calls", "stages", "users"]) }));
  assert.equal(run.code, 1);
  assertClean(run, r);
  assert.deepEqual(statusesOf(run, "calls"), ["STARTED", "INCOMPLETE"]);
  const [error] = errorsOf(run, "calls");
  assert.equal(error!.failure_type, "config_error");
  assert.equal(error!.message, "Stream calls failed: The Outreach token lacks the OAuth scope 'calls.read'. Add it to the app and re-authorize the connection.");
  for (const s of ["stages", "users"]) {
    assert.equal(statusesOf(run, s).at(-1), "COMPLETE");
    assertAllRecords(run, r, s);
  }
  assert.equal(idsOf(run, "calls").length, 0);
  const [final] = errorsOf(run, null);
  assert.equal(final!.message, "Sync finished with 1 failed stream(s): calls.");

  const dir = await tempDir();
  const checkRun = async (config = configFor(r)): Promise<CliRun> => {
    const files = await writeJsonFiles(dir, { config });
    return runCli(["check", "--config", files.config!]);
  };
  const status = (run: CliRun): { status: string; message?: string } => run.messages.find((m) => m.type === "CONNECTION_STATUS")!.connectionStatus!;
  const lacking = await checkRun();
  assert.equal(lacking.code, 0);
  assertClean(lacking, r);
  assert.equal(status(lacking).status, "SUCCEEDED");
  assert.match(status(lacking).message!, /^Connected\. The token lacks 1 read scope, so these streams cannot be read: calls\.read \(calls\)\./);

  // Without users.read (the usual probe), check probes another collection and names both scopes.
  r.control.set({ scopes: all.filter((s) => s !== "calls.read" && s !== "users.read") });
  const noUsers = await checkRun();
  assertClean(noUsers, r);
  assert.equal(status(noUsers).status, "SUCCEEDED");
  assert.match(status(noUsers).message!, /lacks 2 read scopes, so these streams cannot be read: calls\.read \(calls\), users\.read \(users\)/);

  r.control.set({ scopes: all });
  const full = await checkRun();
  assertClean(full, r);
  assert.deepEqual(status(full), { status: "SUCCEEDED" });
  assert.equal(controlsOf(full).length, 1, "check persists the rotated token too");

  const stale = configFor(r);
  r.control.revokeRefreshTokens();
  const refused = await checkRun(stale);
  assert.equal(refused.code, 0);
  assertClean(refused, r);
  assert.equal(status(refused).status, "FAILED");
  assert.match(status(refused).message!, /invalid_grant.*Re-authorize the connection/);
});
