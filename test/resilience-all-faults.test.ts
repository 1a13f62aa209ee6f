/**
 * Every fault at once (issue 3, "done when"): a full read of all 47 streams against a replica
 * that answers 429 (three forms), 500, 502, 503, 504, resets connections, cuts bodies, refuses
 * valid tokens, throttles and fails its token endpoint, hands out 2-second tokens, limits mailings
 * pages by size and is slow — and still every record of every stream is emitted, each stream
 * ends COMPLETE, no secret leaks.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { STREAMS } from "../src/streams.js";
import { runCli } from "./helpers/cli.js";
import { catalogFor, configFor, readArgs, replica, type Replica } from "./helpers/replica.js";
import { assertClean, errorsOf, idsOf, rateLimitedOf, statusesOf, tokenRequests } from "./helpers/resilience.js";

let r: Replica;
before(async () => {
  r = await replica({ tokenLifetimeSec: 2, minMintIntervalSec: 1 });
});
after(() => r.close());

test("a full read with every fault switched on still emits every record of every stream", async (t) => {
  r.control.addFaults(
    { kind: "rate_limit", retryAfter: "seconds", seconds: 1, after: 3, every: 23, times: 2 },
    { kind: "rate_limit", retryAfter: "http_date", seconds: 1, after: 10, every: 31, times: 1 },
    { kind: "rate_limit", retryAfter: "reset_only", seconds: 1, after: 40, every: 37, times: 1 },
    { kind: "http_error", status: 500, after: 2, every: 13, times: 4 },
    { kind: "http_error", status: 503, seconds: 1, after: 5, every: 41, times: 2 },
    { kind: "http_error", status: 502, after: 7, every: 29, times: 2 },
    { kind: "http_error", status: 504, after: 50, every: 43, times: 1 },
    { kind: "connection_reset", after: 4, every: 17, times: 3 },
    { kind: "truncated_body", after: 6, every: 19, times: 3 },
    { kind: "unauthorized", after: 20, every: 47, times: 2 },
    { kind: "body_limit", stream: "mailings", maxBytes: 200_000 },
    { kind: "latency", ms: 15 },
    { kind: "http_error", target: "token", status: 500, after: 1, times: 1 },
    { kind: "connection_reset", target: "token", after: 3, times: 1 },
  );
  const config = configFor(r, { page_size: 40 });
  const t0 = Date.now();
  const run = await runCli(await readArgs(r, { config, catalog: catalogFor() }));
  const wallMs = Date.now() - t0;
  assert.equal(run.code, 0, JSON.stringify(errorsOf(run)).slice(0, 2000));
  assertClean(run, r);
  assert.equal(errorsOf(run).length, 0);
  for (const s of STREAMS) {
    assert.deepEqual(idsOf(run, s.name), r.control.listIds(s.name).ids, `${s.name}: every record exactly once`);
    const statuses = statusesOf(run, s.name);
    assert.equal(statuses[0], "STARTED");
    assert.equal(statuses.at(-1), "COMPLETE", s.name);
  }
  const fired = r.control.faults().map((f) => [f.spec.kind + ("status" in f.spec ? ` ${f.spec.status}` : "") + (f.spec.target === "token" ? " (token)" : ""), f.fired] as const);
  for (const [kind, n] of fired) assert.ok(n >= 1, `${kind} fired`);
  const api = r.requests.entries.filter((e) => e.path.startsWith("/api/"));
  const tokens = tokenRequests(r);
  assert.ok(STREAMS.some((s) => rateLimitedOf(run, s.name).length > 0), "rate-limited streams were reported");
  assert.ok(tokens.filter((e) => e.status === 200).length >= 3, "2-second tokens were refreshed during the read");
  const controls = run.messages.filter((m) => m.type === "CONTROL");
  assert.equal(controls.length, tokens.filter((e) => e.status === 200).length);
  assert.equal((controls.at(-1)!.control!.connectorConfig!.config as { refresh_token: string }).refresh_token, r.refreshToken);
  t.diagnostic(
    `${api.length} API requests (${api.filter((e) => e.status !== 200).length} refused or broken), ${tokens.length} token requests ` +
      `(${tokens.filter((e) => e.status !== 200).length} refused or broken), ${run.messages.filter((m) => m.type === "RECORD").length} records, ${Math.round(wallMs / 100) / 10} s; ` +
      `faults fired: ${fired.map(([k, n]) => `${k} ×${n}`).join(", ")}`,
  );
});
