/**
 * OAuthTokens against a scripted token endpoint on 127.0.0.1, with a fake clock: refresh before
 * expiry, single flight, rotation, the 60-second mint throttle waited out (not hammered),
 * refused credentials cached, token-endpoint failures retried a bounded number of times.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, test } from "node:test";
import { AuthError, ConnectorError } from "../src/errors.js";
import { OAuthTokens, refreshMarginMs } from "../src/http/auth.js";
import { FakeClock } from "./helpers/clock.js";

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

let server: Server;
let url: URL;
let script: Answer[] = [];
let received: Record<string, string>[] = [];
let serial = 0;

/** A 200 with a new token pair (`access-N`, `refresh-N`). */
const ok = (expiresIn = 7200): Answer => {
  serial++;
  return { status: 200, body: JSON.stringify({ access_token: `access-${serial}`, token_type: "bearer", expires_in: expiresIn, refresh_token: `refresh-${serial}`, scope: "prospects.read users.read", created_at: 0 }) };
};
const throttled = (headers: Record<string, string> = {}): Answer => ({ status: 429, body: "Retry later", headers: { "content-type": "text/plain", ...headers } });

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push(Object.fromEntries(new URLSearchParams(body)));
      const answer = script.shift() ?? { status: 500, body: "script exhausted" };
      setTimeout(() => {
        res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
        res.end(answer.body);
      }, 5);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`);
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  script = [];
  received = [];
});

function tokens(clock: FakeClock, extra: { maxWaitMs?: number } = {}): { tokens: OAuthTokens; rotated: string[]; logs: string[]; secrets: string[] } {
  const rotated: string[] = [];
  const logs: string[] = [];
  const secrets: string[] = [];
  const t = new OAuthTokens({
    tokenUrl: url,
    clientId: "client",
    clientSecret: "secret",
    refreshToken: "refresh-0",
    clock,
    maxWaitMs: extra.maxWaitMs ?? 3_600_000,
    log: (m) => logs.push(m),
    onSecret: (s) => secrets.push(s),
    onTokens: async (r) => void rotated.push(r.refreshToken),
  });
  return { tokens: t, rotated, logs, secrets };
}

test("reuses the token until shortly before expiry, then refreshes with the newest refresh token", async () => {
  const clock = new FakeClock();
  const { tokens: t, rotated, secrets } = tokens(clock);
  script = [ok(7200), ok(7200)];
  const first = await t.accessToken();
  clock.ms += 7200_000 - refreshMarginMs(7200_000) - 1000;
  assert.equal(await t.accessToken(), first, "still valid: no request");
  assert.equal(received.length, 1);
  clock.ms += 2000;
  const second = await t.accessToken();
  assert.notEqual(second, first);
  assert.deepEqual(received.map((f) => f.refresh_token), ["refresh-0", rotated[0]], "the rotated token is used for the next refresh");
  assert.equal(rotated.length, 2);
  assert.deepEqual(secrets, [first, rotated[0], second, rotated[1]], "every token is registered for masking");
  assert.deepEqual(t.grantedScopes, ["prospects.read", "users.read"]);
  assert.equal(refreshMarginMs(7200_000), 300_000, "five minutes for Outreach's 2-hour tokens");
  assert.equal(refreshMarginMs(2000), 1000, "half of a 2-second token");
});

test("single flight: concurrent callers share one refresh, and one renewal after a 401", async () => {
  const clock = new FakeClock();
  const { tokens: t } = tokens(clock);
  script = [ok(), ok()];
  const got = await Promise.all(Array.from({ length: 8 }, () => t.accessToken()));
  assert.equal(new Set(got).size, 1);
  assert.equal(received.length, 1);
  const renewed = await Promise.all(Array.from({ length: 8 }, () => t.renew(got[0]!)));
  assert.equal(new Set(renewed).size, 1);
  assert.notEqual(renewed[0], got[0]);
  assert.equal(received.length, 2, "one refresh for eight 401s");
  // A caller whose rejected token was already replaced gets the new one without a refresh.
  assert.equal(await t.renew(got[0]!), renewed[0]);
  assert.equal(received.length, 2);
});

test("a throttled token endpoint without Retry-After: wait until 60 s after the last mint, one request per wait", async () => {
  const clock = new FakeClock();
  const { tokens: t, logs } = tokens(clock);
  script = [ok(), throttled(), throttled(), ok()];
  const first = await t.accessToken();
  clock.ms += 10_000; // a 401 ten seconds after the mint
  const next = await t.renew(first);
  assert.notEqual(next, first);
  assert.equal(received.length, 4);
  assert.deepEqual(clock.sleeps, [50_000, 60_000], "the rest of the minute; then (another app minted) a whole minute");
  assert.match(logs[0]!, /^Token endpoint throttled \(429\); waiting 50\.0 s before minting again \(Outreach mints one token per user and app per 60 s\)\.$/);
});

test("a token endpoint that keeps throttling is asked at most six times, a minute apart, then a transient error", async () => {
  const clock = new FakeClock();
  const { tokens: t } = tokens(clock);
  script = Array.from({ length: 10 }, () => throttled());
  await assert.rejects(t.accessToken(), (e: unknown) => e instanceof ConnectorError && e.failureType === "transient_error" && /refused 5 times in a row/.test(e.message));
  assert.equal(received.length, 6);
  assert.deepEqual(clock.sleeps, [60_000, 60_000, 60_000, 60_000, 60_000]);
});

test("Retry-After on the token endpoint is honoured; a wait over the maximum is a transient error at once", async () => {
  const clock = new FakeClock();
  script = [throttled({ "retry-after": "7" }), ok()];
  await tokens(clock).tokens.accessToken();
  assert.deepEqual(clock.sleeps, [7000]);
  const strict = new FakeClock();
  script = [throttled()];
  received = [];
  await assert.rejects(tokens(strict, { maxWaitMs: 30_000 }).tokens.accessToken(), (e: unknown) => e instanceof ConnectorError && e.failureType === "transient_error" && /max_rate_limit_wait_seconds/.test(e.message));
  assert.equal(received.length, 1);
  assert.deepEqual(strict.sleeps, []);
});

test("invalid_grant and invalid_client: AuthError (config_error) that says to re-authorize; never asked again", async () => {
  for (const [status, error, pattern] of [
    [400, "invalid_grant", /^Outreach rejected the refresh token \(invalid_grant\): .* Re-authorize the connection/],
    [401, "invalid_client", /^Outreach rejected the client_id \/ client_secret pair \(invalid_client\)\. Check client_id and client_secret, then re-authorize/],
  ] as const) {
    received = [];
    script = [{ status, body: JSON.stringify({ error, error_description: "no" }) }];
    const { tokens: t } = tokens(new FakeClock());
    for (let i = 0; i < 3; i++) {
      await assert.rejects(t.accessToken(), (e: unknown) => e instanceof AuthError && e.failureType === "config_error" && pattern.test(e.message));
    }
    assert.equal(received.length, 1, `${error}: asked once`);
  }
});

test("5xx and broken 200s of the token endpoint: retried with backoff, at most five attempts", async () => {
  const clock = new FakeClock();
  script = [{ status: 502, body: "<html>" }, { status: 500, body: "{}" }, { status: 200, body: '{"access_token":"eyJ' }, ok()];
  const { tokens: t } = tokens(clock);
  assert.equal(await t.accessToken(), `access-${serial}`);
  assert.equal(received.length, 4);
  assert.equal(clock.sleeps.length, 3);
  assert.ok(clock.sleeps[0]! < 500 && clock.sleeps[1]! < 1000 && clock.sleeps[2]! < 2000, "full-jitter backoff");
  const failing = new FakeClock();
  received = [];
  script = Array.from({ length: 9 }, () => ({ status: 503, body: "down" }));
  await assert.rejects(tokens(failing).tokens.accessToken(), (e: unknown) => e instanceof ConnectorError && e.failureType === "transient_error" && /failed with HTTP 503/.test(e.message));
  assert.equal(received.length, 5);
});
