/**
 * Tests of the replica's OAuth token endpoint, authentication and error bodies, scopes, media
 * type, routing and rate-limit headers.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { replicaFixture } from "./helpers/replica.js";

const fixture = replicaFixture({ renewClient: true });

async function refresh(fields: Record<string, string>, json = false): Promise<{ status: number; body: Record<string, unknown> | string; type: string | null }> {
  const res = await fetch(fixture.replica.tokenUrl, {
    method: "POST",
    headers: { "content-type": json ? "application/json" : "application/x-www-form-urlencoded" },
    body: json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
  });
  const text = await res.text();
  let body: Record<string, unknown> | string = text;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = text;
  }
  return { status: res.status, body, type: res.headers.get("content-type") };
}

const grant = (refreshToken: string): Record<string, string> => ({
  grant_type: "refresh_token", client_id: fixture.replica.clientId, client_secret: fixture.replica.clientSecret, refresh_token: refreshToken,
});

test("refresh grant: form and JSON bodies, new refresh token every time, the used one dies", async () => {
  const first = fixture.replica.refreshToken;
  const a = await refresh({ ...grant(first), redirect_uri: "https://example.org/cb" });
  assert.equal(a.status, 200);
  const body = a.body as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ["access_token", "created_at", "expires_in", "refresh_token", "scope", "token_type"]);
  assert.equal(body.token_type, "bearer");
  assert.equal(body.expires_in, 7200);
  assert.match(String(body.access_token), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.ok(String(body.scope).split(" ").includes("prospects.read"));
  assert.notEqual(body.refresh_token, first);
  assert.deepEqual(fixture.replica.refreshTokens(), [body.refresh_token]);
  const again = await refresh(grant(first));
  assert.equal(again.status, 400);
  assert.equal((again.body as Record<string, unknown>).error, "invalid_grant");
  const b = await refresh(grant(String(body.refresh_token)), true);
  assert.equal(b.status, 200);
  const got = await fixture.client.get("prospects?page[size]=1", { authorization: `Bearer ${String((b.body as Record<string, unknown>).access_token)}` });
  assert.equal(got.status, 200);
  const log = fixture.replica.requests.entries.filter((e) => e.path === "/oauth/token");
  assert.equal(log[0]?.form?.redirect_uri, "https://example.org/cb");
  assert.equal(log[0]?.form?.client_secret, "***");
});

test("token endpoint failures: invalid_client, unknown token, revoked tokens, throttled mints, no rotation", async () => {
  const bad = await refresh({ ...grant(fixture.replica.refreshToken), client_secret: "nope" });
  assert.equal(bad.status, 401);
  assert.equal((bad.body as Record<string, unknown>).error, "invalid_client");
  assert.equal((await refresh(grant("garbage"))).status, 400);
  fixture.replica.control.set({ minMintIntervalSec: 60 });
  const ok = await refresh(grant(fixture.replica.refreshToken));
  assert.equal(ok.status, 200);
  const throttled = await refresh(grant(fixture.replica.refreshToken));
  assert.deepEqual([throttled.status, throttled.body, throttled.type], [429, "Retry later", "text/plain"]);
  assert.equal(fixture.replica.refreshTokens().length, 1, "a throttled request does not spend the token");
  fixture.replica.control.set({ minMintIntervalSec: 0 });
  fixture.replica.control.revokeRefreshTokens();
  assert.equal((await refresh(grant(String((ok.body as Record<string, unknown>).refresh_token)))).status, 400);
  fixture.replica.control.reset();
  fixture.replica.control.set({ rotateRefreshTokens: false });
  const keep = fixture.replica.refreshToken;
  assert.equal((await refresh(grant(keep))).status, 200);
  assert.equal((await refresh(grant(keep))).status, 200);
  assert.equal((await refresh({ ...grant(keep), grant_type: "password" })).status, 400);
});

test("401 bodies: no header, garbage, expired; the token is checked before the media type", async () => {
  const none = await fixture.client.get("prospects", { authorization: undefined, "content-type": "text/plain" });
  assert.equal(none.status, 401);
  assert.equal(none.headers.get("content-type"), "application/json");
  assert.equal((none.json as Record<string, string>).error, "No Authorization header.");
  assert.ok((none.json as Record<string, string>).description);
  const garbage = await fixture.client.get("users", { authorization: "Bearer not-a-jwt" });
  assert.deepEqual(garbage.json, { error: "Invalid JWT token.", description: "The JWT token could not be decoded." });
  const forged = await fixture.client.get("", { authorization: `Bearer ${fixture.client.token.slice(0, -4)}AAAA` });
  assert.equal(forged.status, 401);
  fixture.replica.control.set({ tokenLifetimeSec: 0.6 });
  fixture.client.renew();
  assert.equal((await fixture.client.get("stages")).status, 200);
  await new Promise((r) => setTimeout(r, 650));
  const expired = await fixture.client.get("stages");
  assert.equal(expired.status, 401);
  assert.equal((expired.json as Record<string, string>).error, "Expired JWT token.");
});

test("415 for a missing or wrong Content-Type, with `details`", async () => {
  for (const ct of [undefined, "application/json"]) {
    const got = await fixture.client.get("prospects", { "content-type": ct });
    assert.equal(got.status, 415);
    const err = (got.json as { errors: Record<string, string>[] }).errors[0];
    assert.equal(err?.id, "unsupportedMediaType");
    assert.ok(err?.details && !("detail" in err));
  }
});

test("403 for a missing scope, 404 for unknown paths and ids, root document", async () => {
  fixture.replica.control.set({ scopes: ["prospects.read"] });
  const denied = await fixture.client.get("calls?page[size]=1");
  assert.equal(denied.status, 403);
  assert.deepEqual(denied.json, { errors: [{ id: "unauthorizedOauthScope", title: "Unauthorized OAuth Scope", detail: "Your authorization does not include the required scope 'calls.read'." }] });
  const missing = await fixture.client.get("unsupported");
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.json, { errors: [{ id: "routeNotFound", title: "Route Not Found", detail: "The request path does not match any known resource endpoints." }] });
  assert.equal((await fixture.client.get("prospects/1/extra")).status, 404);
  const gone = await fixture.client.get("prospects/999999");
  assert.equal((gone.json as { errors: { id: string }[] }).errors[0]?.id, "resourceNotFound");
  const root = await fixture.client.get(fixture.replica.apiBase.slice(0, -1));
  assert.equal(root.status, 200);
  assert.ok((root.json as { data: { type: string } }).data.type);
});

test("rate-limit headers on every response; budget exhausted gives 429 rateLimitExceeded with Retry-After", async () => {
  const a = await fixture.client.get("stages?page[size]=1");
  const b = await fixture.client.get("stages?page[size]=1");
  assert.equal(a.headers.get("x-ratelimit-limit"), "10000");
  assert.equal(Number(a.headers.get("x-ratelimit-remaining")) - 1, Number(b.headers.get("x-ratelimit-remaining")));
  const reset = Number(a.headers.get("x-ratelimit-reset"));
  assert.equal(reset % 3600, 0);
  assert.ok(reset > Date.now() / 1000 && reset <= Date.now() / 1000 + 3600);
  assert.ok((await fixture.client.get("nowhere")).headers.get("x-ratelimit-remaining"));
  fixture.replica.control.reset();
  fixture.replica.control.set({ rateBudget: 3 });
  for (let k = 0; k < 3; k++) assert.equal((await fixture.client.get("stages?page[size]=1")).status, 200);
  const over = await fixture.client.get("stages?page[size]=1");
  assert.equal(over.status, 429);
  assert.equal((over.json as { errors: { id: string }[] }).errors[0]?.id, "rateLimitExceeded");
  assert.equal(over.headers.get("x-ratelimit-remaining"), "0");
  assert.ok(Number(over.headers.get("retry-after")) >= 1);
});

test("request log: counters per path and the query strings sent", async () => {
  fixture.replica.control.reset();
  await fixture.client.get("prospects?page[size]=2&sort=updatedAt");
  await fixture.client.get("prospects?page[size]=3");
  assert.equal(fixture.replica.requests.total, 2);
  assert.equal(fixture.replica.requests.byPath.get("/api/v2/prospects"), 2);
  assert.deepEqual(fixture.replica.requests.queries("/api/v2/prospects"), ["page[size]=2&sort=updatedAt", "page[size]=3"]);
  assert.equal(fixture.replica.requests.entries[0]?.status, 200);
});
