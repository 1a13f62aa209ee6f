/**
 * Tests of the replica's fault switches: each kind, and the after/every/times/stream rules.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { replicaFixture } from "./helpers/replica.js";

const fixture = replicaFixture({ renewClient: true });

const statusOf = async (path: string): Promise<number> => (await fixture.client.get(path)).status;

test("http_error 500/502/504 fire once by default; 503 is maintenance with an ISO Retry-After", async () => {
  for (const status of [500, 502, 504] as const) {
    fixture.replica.control.addFaults({ kind: "http_error", status });
    assert.equal(await statusOf("stages"), status);
    assert.equal(await statusOf("stages"), 200);
  }
  fixture.replica.control.addFaults({ kind: "http_error", status: 503, seconds: 30 });
  const got = await fixture.client.get("stages");
  assert.equal(got.status, 503);
  assert.equal((got.json as { errors: { id: string }[] }).errors[0]?.id, "scheduledServerMaintenance");
  const at = Date.parse(got.headers.get("retry-after") ?? "");
  assert.match(got.headers.get("retry-after") ?? "", /^\d{4}-\d\d-\d\dT/);
  assert.ok(at > Date.now() + 20_000 && at < Date.now() + 40_000);
});

test("after / every / times / stream decide exactly which requests fail", async () => {
  fixture.replica.control.addFaults({ kind: "http_error", status: 500, stream: "prospects", after: 1, every: 2, times: 2 });
  const seen: number[] = [];
  for (let k = 0; k < 7; k++) {
    assert.equal(await statusOf("stages"), 200);
    seen.push(await statusOf("prospects?page[size]=1"));
  }
  assert.deepEqual(seen, [200, 500, 200, 500, 200, 200, 200]);
  assert.deepEqual(fixture.replica.control.faults().map((f) => [f.seen, f.fired]), [[7, 2]]);
  fixture.replica.control.clearFaults();
  fixture.replica.control.addFaults({ kind: "http_error", status: 502, times: "always" });
  assert.deepEqual([await statusOf("stages"), await statusOf("users")], [502, 502]);
});

test("rate_limit: Retry-After in seconds, as an HTTP date, or only X-RateLimit-Reset", async () => {
  fixture.replica.control.addFaults({ kind: "rate_limit", seconds: 2 }, { kind: "rate_limit", retryAfter: "http_date", seconds: 5, after: 1 }, { kind: "rate_limit", retryAfter: "reset_only", seconds: 7, after: 2 });
  const s = await fixture.client.get("stages");
  assert.deepEqual([s.status, s.headers.get("retry-after")], [429, "2"]);
  assert.equal((s.json as { errors: { id: string }[] }).errors[0]?.id, "rateLimitExceeded");
  const d = await fixture.client.get("stages");
  assert.equal(d.status, 429);
  const when = Date.parse(d.headers.get("retry-after") ?? "");
  assert.match(d.headers.get("retry-after") ?? "", /GMT$/);
  assert.ok(when >= Date.now() + 3000 && when <= Date.now() + 7000);
  const r = await fixture.client.get("stages");
  assert.deepEqual([r.status, r.headers.get("retry-after"), r.headers.get("x-ratelimit-remaining")], [429, null, "0"]);
  assert.ok(Math.abs(Number(r.headers.get("x-ratelimit-reset")) - (Date.now() / 1000 + 7)) < 2);
  assert.equal(await statusOf("stages"), 200);
});

test("connection_reset destroys the socket; truncated_body sends a 200 with cut JSON", async () => {
  fixture.replica.control.addFaults({ kind: "connection_reset" });
  await assert.rejects(fixture.client.get("stages"));
  assert.equal(fixture.replica.requests.entries.at(-1)?.status, 0);
  fixture.replica.control.addFaults({ kind: "truncated_body" });
  const cut = await fixture.client.get("stages?page[size]=10");
  assert.equal(cut.status, 200);
  assert.equal(cut.json, undefined);
  assert.ok(cut.text.startsWith(`{"data":[`));
  assert.equal(await statusOf("stages"), 200);
});

test("unauthorized: a valid token is refused and stays expired until a new one is minted", async () => {
  fixture.replica.control.addFaults({ kind: "unauthorized", after: 1 });
  assert.equal(await statusOf("stages"), 200);
  const denied = await fixture.client.get("stages");
  assert.equal(denied.status, 401);
  assert.equal((denied.json as { error: string }).error, "Expired JWT token.");
  assert.equal(await statusOf("stages"), 401);
  fixture.client.renew();
  assert.equal(await statusOf("stages"), 200);
});

test("body_limit: 502 while a page is larger than the limit (big HTML mailings)", async () => {
  fixture.replica.control.addFaults({ kind: "body_limit", maxBytes: 50_000, stream: "mailings" });
  assert.equal(await statusOf("mailings?page[size]=20"), 502);
  const small = await fixture.client.get("mailings?page[size]=2");
  assert.equal(small.status, 200);
  assert.ok(small.text.length < 50_000);
  assert.equal(await statusOf("prospects?page[size]=100"), 200);
});

test("ignore_upper_bound: rows above [lte] and a..b come back; lower bounds still hold", async () => {
  const all = (await fixture.client.page("prospects?page[size]=1000&sort=updatedAt")).data.map((x) => x.attributes!.updatedAt as string);
  const [lo, hi] = [all[10]!, all[20]!];
  const upper = `prospects?page[size]=1000&sort=updatedAt&newFilterSyntax=true&filter[updatedAt][gte]=${lo}&filter[updatedAt][lte]=${hi}`;
  const legacy = `prospects?page[size]=1000&sort=updatedAt&filter[updatedAt]=${lo}..${hi}`;
  const inRange = all.filter((v) => v >= lo && v <= hi).length;
  assert.equal((await fixture.client.page(upper)).data.length, inRange);
  fixture.replica.control.addFaults({ kind: "ignore_upper_bound" });
  const atOrAbove = all.filter((v) => v >= lo).length;
  assert.equal((await fixture.client.page(upper)).data.length, atOrAbove);
  assert.equal((await fixture.client.page(legacy)).data.length, atOrAbove);
  assert.ok(atOrAbove > inRange);
});

test("next_loop repeats the request URL; foreign_next points at another origin", async () => {
  fixture.replica.control.addFaults({ kind: "next_loop", stream: "stages" });
  const url = `${fixture.replica.apiBase}stages?page[size]=5`;
  const a = await fixture.client.page(url);
  const b = await fixture.client.page(a.links?.next ?? "");
  assert.equal(a.links?.next, url);
  assert.deepEqual(b.data.map((r) => r.id), a.data.map((r) => r.id));
  fixture.replica.control.clearFaults();
  fixture.replica.control.addFaults({ kind: "foreign_next" });
  const c = await fixture.client.page("stages?page[size]=5");
  assert.ok(c.links?.next?.startsWith(`http://127.0.0.2:${fixture.replica.port}/api/v2/stages?`));
  assert.ok(c.links?.first?.startsWith(fixture.replica.apiBase));
});

test("latency delays responses; HTTP control routes switch faults and settings", async () => {
  await fetch(`${fixture.replica.controlUrl}faults`, { method: "POST", body: JSON.stringify({ kind: "latency", ms: 150, stream: "stages" }) });
  let t = Date.now();
  assert.equal(await statusOf("stages"), 200);
  assert.ok(Date.now() - t >= 140);
  await statusOf("users?page[size]=1");
  assert.deepEqual(fixture.replica.control.faults().map((f) => [f.seen, f.fired]), [[1, 1]], "other streams are not delayed");
  await fetch(`${fixture.replica.controlUrl}faults`, { method: "DELETE" });
  const settings = (await (await fetch(`${fixture.replica.controlUrl}settings`, { method: "POST", body: JSON.stringify({ latencyMs: 120 }) })).json()) as { latencyMs: number };
  assert.equal(settings.latencyMs, 120);
  t = Date.now();
  await statusOf("stages");
  assert.ok(Date.now() - t >= 110);
  await fetch(`${fixture.replica.controlUrl}reset`, { method: "POST" });
  const creds = (await (await fetch(`${fixture.replica.controlUrl}credentials`)).json()) as { clientId: string; refreshTokens: string[] };
  assert.equal(creds.clientId, fixture.replica.clientId);
  assert.deepEqual(creds.refreshTokens, fixture.replica.refreshTokens());
  await fetch(`${fixture.replica.controlUrl}access-tokens/expire`, { method: "POST" });
  assert.equal(await statusOf("stages"), 401);
});

test("token-endpoint faults: 503, connection reset, then a normal refresh", async () => {
  fixture.replica.control.addFaults({ kind: "http_error", status: 503, target: "token" }, { kind: "connection_reset", target: "token", after: 1 });
  const post = (): Promise<Response> => fetch(fixture.replica.tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", client_id: fixture.replica.clientId, client_secret: fixture.replica.clientSecret, refresh_token: fixture.replica.refreshToken }).toString(),
  });
  assert.equal((await post()).status, 503);
  await assert.rejects(post());
  assert.equal((await post()).status, 200);
  assert.equal(await statusOf("stages"), 200, "token faults do not touch API requests");
});
