/**
 * Credentials across runs (issue 10), against the replica with Outreach's limits: one mint per 60 s
 * and strict rotation (a used refresh token dies at once, outreach-api.md §8.2, §8.3).
 *
 * - `check` then `read` with the config of check's CONTROL message: one mint, no wait, no CONTROL
 *   from the read (nothing changed).
 * - `token_file`: two reads from the same original config both succeed (the second takes the
 *   file's tokens); a third, after the access token expired, refreshes with the file's refresh token.
 * - Two runs sharing the file at once: one mint, the other adopts it under the lock.
 * - A corrupt, unreadable or unwritable token file is a config_error naming it; the file is 0600
 *   and never holds the client secret; a write killed with SIGKILL leaves the old or the new file.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { pathToFileURL } from "node:url";
import { Ajv } from "ajv";
import { loadSpec } from "../src/config.js";
import { FileTokenStore, tokenHash } from "../src/http/token-store.js";
import { ROOT, runCli, tempDir, writeJsonFiles, type CliRun } from "./helpers/cli.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";
import { assertAllRecords, assertClean, errorsOf, logsOf, tokenRequests } from "./helpers/resilience.js";

let r: Replica;
const dirs: string[] = [];
before(async () => {
  r = await replica({ records: 20 });
});
after(async () => {
  await r.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
beforeEach(() => {
  r.control.reset();
  r.control.set({ minMintIntervalSec: 60, rotateRefreshTokens: true });
});

async function dir(): Promise<string> {
  const d = await tempDir("source-outreach-tokens-");
  dirs.push(d);
  return d;
}

const controlsOf = (run: CliRun): Record<string, unknown>[] =>
  run.messages.filter((m) => m.type === "CONTROL").map((m) => m.control!.connectorConfig!.config as Record<string, unknown>);
const mints = (): number => tokenRequests(r).filter((e) => e.status === 200).length;
const throttledLogs = (run: CliRun): string[] => logsOf(run).filter((l) => /throttled/.test(l));

async function read(config: Record<string, unknown>): Promise<CliRun> {
  const run = await runCli(await readArgs(r, { config, catalog: catalogFor(["stages", "users"]) }));
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assertClean(run, r);
  assertAllRecords(run, r, "stages");
  return run;
}

test("check, then read with the config check emitted: exactly one mint, no wait, no CONTROL from the read", async () => {
  const files = await writeJsonFiles(await dir(), { config: configFor(r) });
  const checked = await runCli(["check", "--config", files.config!]);
  assert.equal(checked.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus?.status, "SUCCEEDED");
  assertClean(checked, r);
  const [emitted, ...more] = controlsOf(checked);
  assert.equal(more.length, 0);
  assert.ok(typeof emitted!.access_token === "string" && Date.parse(String(emitted!.token_expiry_date)) > Date.now() + 7000_000, "access token and expiry in 2 h");
  const validate = new Ajv({ strict: false }).compile(loadSpec().connectionSpecification);
  assert.ok(validate(emitted), `the CONTROL config validates against the spec (airbyte-contract.md §4.3): ${JSON.stringify(validate.errors)}`);
  const run = await read(emitted!);
  assert.equal(mints(), 1, "one mint for both commands");
  assert.equal(tokenRequests(r).length, 1, "not even a throttled request");
  assert.deepEqual(throttledLogs(run), []);
  assert.deepEqual(controlsOf(run), [], "nothing changed, nothing emitted");
});

test("an access token with 5 minutes or less left is replaced at start; a rejected one (401) is refreshed and the page replayed", async () => {
  r.control.set({ minMintIntervalSec: 0 });
  const base = configFor(r);
  const first = controlsOf(await read(base))[0]!;
  const soon = new Date(Date.now() + 290_000).toISOString();
  const second = controlsOf(await read({ ...first, token_expiry_date: soon }));
  assert.equal(mints(), 2, "a token expiring within 5 minutes is not reused");
  assert.equal(second.length, 1);
  r.control.expireAccessTokens();
  const third = await read(second[0]!);
  assert.equal(mints(), 3, "the 401 refreshed");
  assert.ok(r.requests.entries.some((e) => e.status === 401));
  assert.equal(controlsOf(third).length, 1);
});

test("token_file: two reads from the same original config both succeed; a third after expiry refreshes from the file", async () => {
  const d = await dir();
  const tokenFile = path.join(d, "tokens.json");
  const original = configFor(r, { token_file: tokenFile });
  const one = await read(original);
  assert.equal(mints(), 1);
  const stored = JSON.parse(await readFile(tokenFile, "utf8")) as Record<string, unknown>;
  assert.equal(stored.refresh_token, r.refreshToken, "the one valid refresh token is in the file");
  assert.equal(stored.access_token, controlsOf(one)[0]!.access_token);
  assert.deepEqual(stored.spent_refresh_tokens_sha256, [tokenHash(String(original.refresh_token))]);
  assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
  assert.ok(!JSON.stringify(stored).includes(String(original.client_secret)), "never the client secret");

  const two = await read(original); // the config's refresh token is dead by now
  assert.equal(mints(), 1, "the file's access token is reused: no mint, no 60-second wait");
  assert.deepEqual(throttledLogs(two), []);
  const adopted = controlsOf(two);
  assert.equal(adopted.length, 1, "the config changed (the file was newer): one CONTROL");
  assert.equal(adopted[0]!.refresh_token, stored.refresh_token);

  r.control.expireAccessTokens();
  r.control.set({ minMintIntervalSec: 0 }); // as if the minute since the first mint had passed
  const three = await read(original);
  assert.deepEqual(
    controlsOf(three).map((c) => c.refresh_token),
    [stored.refresh_token, r.refreshToken],
    "one CONTROL for the file's tokens, one for the mint after the 401: none for nothing",
  );
  const tokenCalls = tokenRequests(r);
  assert.equal(tokenCalls.length, 2);
  assert.equal(tokenCalls[1]!.form!.refresh_token, stored.refresh_token, "refreshed with the file's refresh token");
  const now = JSON.parse(await readFile(tokenFile, "utf8")) as Record<string, unknown>;
  assert.equal(now.refresh_token, r.refreshToken);
  assert.deepEqual(now.spent_refresh_tokens_sha256, [tokenHash(String(stored.refresh_token)), tokenHash(String(original.refresh_token))]);
  assert.deepEqual(r.refreshTokens(), [r.refreshToken], "every other refresh token was spent, none twice");
});

test("token_file: a config with a refresh token the file never saw (re-authorized) wins over the file", async () => {
  r.control.set({ minMintIntervalSec: 0 });
  const tokenFile = path.join(await dir(), "tokens.json");
  await read(configFor(r, { token_file: tokenFile }));
  const stored = JSON.parse(await readFile(tokenFile, "utf8")) as Record<string, unknown>;
  // Another client (a new consent) spends the file's refresh token: the file's one is dead now.
  const response = await fetch(r.tokenUrl, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "refresh_token", client_id: r.clientId, client_secret: r.clientSecret, refresh_token: String(stored.refresh_token) }),
  });
  const reauthorized = ((await response.json()) as { refresh_token: string }).refresh_token;
  r.requests.clear();
  await read(configFor(r, { token_file: tokenFile, refresh_token: reauthorized }));
  assert.deepEqual(tokenRequests(r).map((e) => e.form!.refresh_token), [reauthorized], "the config's token is used, not the file's access token");
  const now = JSON.parse(await readFile(tokenFile, "utf8")) as Record<string, unknown>;
  assert.equal(now.refresh_token, r.refreshToken);
  assert.deepEqual(now.spent_refresh_tokens_sha256, [tokenHash(reauthorized)], "a new lineage");
});

test("token_file: two runs at once with no usable access token mint once; the other adopts the tokens under the lock", async () => {
  r.control.set({ latencyMs: 20 });
  r.control.addFaults({ kind: "latency", target: "token", ms: 400 });
  const tokenFile = path.join(await dir(), "tokens.json");
  const config = configFor(r, { token_file: tokenFile });
  const [a, b] = await Promise.all([read(config), read(config)]);
  assert.equal(tokenRequests(r).length, 1, "one token request for both runs");
  assert.equal(mints(), 1);
  const [ca, cb] = [controlsOf(a), controlsOf(b)];
  assert.equal(ca.length + cb.length, 2, "each run emits the tokens it got once");
  assert.equal(ca[0]!.access_token, cb[0]!.access_token, "the same access token");
});

test("token_file: corrupt, unreadable or unwritable is a config_error naming the file, before any token is spent", async () => {
  const d = await dir();
  const cases: [string, string, RegExp][] = [];
  const corrupt = path.join(d, "corrupt.json");
  await writeFile(corrupt, '{"refresh_token": "x", ');
  cases.push(["corrupt", corrupt, /corrupt\.json: the token file is not valid JSON/]);
  const foreign = path.join(d, "foreign.json");
  await writeFile(foreign, '{"token": "x"}');
  cases.push(["foreign", foreign, /foreign\.json: is not a token file written by this connector/]);
  cases.push(["a folder", d, /: cannot read the token file \(EISDIR\)/]);
  const notDir = path.join(d, "corrupt.json", "tokens.json");
  cases.push(["under a file", notDir, /tokens\.json: cannot (read|write) the token file \(ENOTDIR\)/]);
  for (const [what, file, message] of cases) {
    const files = await writeJsonFiles(await dir(), { config: configFor(r, { token_file: file }) });
    const checked = await runCli(["check", "--config", files.config!]);
    const status = checked.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus;
    assert.equal(status?.status, "FAILED", what);
    assert.match(status!.message!, message, what);
    const run = await runCli(await readArgs(r, { config: configFor(r, { token_file: file }), catalog: catalogFor(["stages"]) }));
    assert.equal(run.code, 1, what);
    const [error] = errorsOf(run);
    assert.equal(error?.failure_type, "config_error", what);
    assert.match(error!.message, message, what);
    assertClean(run, r);
  }
  assert.equal(tokenRequests(r).length, 0, "no refresh token was spent");
});

test("a token-file write killed with SIGKILL leaves the previous or the next file, never a torn one", async (t) => {
  const d = await dir();
  const file = path.join(d, "tokens.json");
  const storeUrl = pathToFileURL(path.join(ROOT, "dist/src/http/token-store.js")).href;
  // A writer that replaces the file as fast as it can (each token 4 KiB, so a write takes a while).
  const writer = `
    const { FileTokenStore } = await import(${JSON.stringify(storeUrl)});
    const store = new FileTokenStore(${JSON.stringify(file)});
    for (let i = 0; ; i++) {
      const t = String(i).padStart(4096, "x");
      await store.transaction(async () => ({ result: i, save: { refreshToken: "r" + t, accessToken: "a" + t, expiresAtMs: Date.now(), spent: [] } }));
      if (i === 0) process.stdout.write("first\\n");
    }`;
  let leftovers = 0;
  for (let round = 0; round < 6; round++) {
    const child = spawn(process.execPath, ["--input-type=module", "-e", writer], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50 + round * 37));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("close", resolve));
    const stored = await new FileTokenStore(file).open(); // throws on a torn file
    assert.ok(stored && stored.refreshToken.length === 4097 && stored.accessToken.slice(1) === stored.refreshToken.slice(1), `round ${round}: a whole file`);
    leftovers = (await readdir(d)).filter((n) => n.endsWith(".tmp")).length; // none is a minute old: all stay
    await rm(`${file}.lock`, { recursive: true, force: true }); // the killed writer's lock (stale after 10 s anyway)
  }
  assert.ok((await stat(file)).mode % 0o1000 === 0o600);
  // Temporary files left behind are the writes the kill interrupted; they are never read, and the
  // next write removes them once they are a minute old (the next test).
  t.diagnostic(`${leftovers} of 6 kills landed inside a write (a temporary file was left behind)`);
});

test("a token-file write removes temporary files that killed writes left over a minute ago, and no others", async () => {
  const d = await dir();
  const file = path.join(d, "tokens.json");
  const abandoned = path.join(d, ".tokens.json.4242.deadbeef.tmp");
  const recent = path.join(d, ".tokens.json.4243.cafebabe.tmp");
  const unrelated = path.join(d, ".other.json.4244.00000000.tmp");
  for (const f of [abandoned, recent, unrelated]) await writeFile(f, "{}");
  const twoMinutesAgo = new Date(Date.now() - 120_000);
  await utimes(abandoned, twoMinutesAgo, twoMinutesAgo);
  await utimes(unrelated, twoMinutesAgo, twoMinutesAgo);
  await new FileTokenStore(file).transaction(async () => ({ result: 0, save: { refreshToken: "r1", accessToken: "a1", expiresAtMs: Date.now(), spent: [] } }));
  assert.deepEqual((await readdir(d)).sort(), [".other.json.4244.00000000.tmp", ".tokens.json.4243.cafebabe.tmp", "tokens.json"]);
});

test('token_file "" (an empty form field) means no token file', async () => {
  const d = await dir();
  const run = await runCli(await readArgs(r, { config: configFor(r, { token_file: "" }), catalog: catalogFor(["stages"]) }), { cwd: d });
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)));
  assert.equal(controlsOf(run).length, 1);
  assert.deepEqual(await readdir(d), [], "nothing written");
});
