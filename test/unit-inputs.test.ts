import assert from "node:assert/strict";
import { test } from "node:test";
import { cursorFromState, pageSizeFromState, parseCatalog, parseState } from "../src/catalog.js";
import { resolveConfig } from "../src/config.js";
import { InputError } from "../src/errors.js";

const base = { client_id: "id", client_secret: "secret", refresh_token: "refresh" };

test("an Airbyte-style Outreach config is accepted unchanged, with defaults", () => {
  const c = resolveConfig({ ...base, redirect_uri: "https://example.com/cb", start_date: "2020-11-16T00:00:00Z" }, "config.json");
  assert.equal(c.baseUrl.href, "https://api.outreach.io/api/v2/");
  assert.equal(c.tokenUrl.href, "https://api.outreach.io/oauth/token");
  assert.equal(c.pageSize, 1000);
  assert.equal(c.startDateMs, Date.UTC(2020, 10, 16));
  assert.equal(c.redirectUri, "https://example.com/cb");
  assert.equal(c.recordFormat, "ids");
  assert.equal(resolveConfig({ ...base, record_format: "airbyte_v1" }, "c").recordFormat, "airbyte_v1");
  for (const d of ["2020-11-16", "2020-11-16T00:00:00.000Z"]) assert.equal(resolveConfig({ ...base, start_date: d }, "c").startDateMs, Date.UTC(2020, 10, 16));
});

test("config violations name the file and the field", () => {
  const cases: [unknown, RegExp][] = [
    [{ client_id: "id", client_secret: "s" }, /^c\.json: refresh_token: is required$/],
    [{ ...base, page_size: 5000 }, /^c\.json: page_size: must be <= 1000$/],
    [{ ...base, start_date: "16/11/2020" }, /^c\.json: start_date: must be YYYY-MM-DD or/],
    [{ ...base, base_url: "http://api.example.com/api/v2" }, /^c\.json: base_url: must be an https:\/\/ URL/],
    [{ ...base, base_url: "http://u:hunter2@127.0.0.1:8080/api/v2" }, /^c\.json: base_url: must not hold a user name or password \(user:password@host\); the connector signs in with OAuth2 only$/],
    [{ ...base, token_url: "https://u:hunter2@api.outreach.io/oauth/token" }, /^c\.json: token_url: must not hold a user name or password/],
    [{ ...base, token_url: "https://u:hunter2@ not a url" }, /^c\.json: token_url: is not a URL$/],
    [[], /^c\.json: the config must be a JSON object$/],
    [{ ...base, record_format: "owner_ids" }, /^c\.json: record_format: must be one of "ids", "airbyte_v1"$/],
    [{ ...base, authentication: { auth_type: "bogus" } }, /^c\.json: authentication\.auth_type: must be one of "oauth2\.0", "manual"$/],
  ];
  for (const [value, message] of cases) assert.throws(() => resolveConfig(value, "c.json"), (e: unknown) => e instanceof InputError && message.test(e.message));
  assert.equal(resolveConfig({ ...base, base_url: "http://127.0.0.1:8080/api/v2" }, "c").baseUrl.href, "http://127.0.0.1:8080/api/v2/");
});

const entry = (name: string, sync_mode: string): object => ({ stream: { name, json_schema: {}, supported_sync_modes: ["full_refresh"] }, sync_mode, destination_sync_mode: "append" });

test("catalog: known streams and sync modes pass; anything else names the field", () => {
  const streams = parseCatalog({ streams: [entry("prospects", "incremental"), entry("duties", "full_refresh")] }, "cat.json");
  assert.deepEqual(streams.map((s) => [s.definition.path, s.syncMode]), [["/prospects", "incremental"], ["/duties", "full_refresh"]]);
  const bad: [unknown, RegExp][] = [
    [{ streams: [entry("prospects", "INVALID")] }, /cat\.json: streams\[0\]\.sync_mode: must be one of/],
    [{ streams: [entry("__AIRBYTE__stream_that_does_not_exist", "full_refresh")] }, /streams\[0\]\.stream\.name: unknown stream/],
    [{ streams: [entry("duties", "incremental")] }, /streams\[0\]\.sync_mode: stream duties supports only full_refresh/],
    [{}, /cat\.json: streams: must be an array/],
  ];
  for (const [value, message] of bad) assert.throws(() => parseCatalog(value, "cat.json"), message);
});

test("state: every accepted shape (airbyte-contract.md §3)", () => {
  const blob = { updatedAt: "2024-01-01T00:00:00.000Z" };
  const streamMsg = { type: "STREAM", stream: { stream_descriptor: { name: "prospects" }, stream_state: blob }, sourceStats: { recordCount: 3 } };
  const expect = new Map([["prospects", blob]]);
  assert.deepEqual(parseState([streamMsg], "s"), expect);
  assert.deepEqual(parseState({ prospects: blob }, "s"), expect);
  assert.deepEqual(parseState({ airbyte_state: [streamMsg] }, "s"), expect);
  assert.deepEqual(parseState([{ type: "LEGACY", data: { prospects: blob } }], "s"), expect);
  assert.deepEqual(parseState([{ data: { prospects: blob } }], "s"), expect);
  assert.deepEqual(
    parseState([{ type: "GLOBAL", global: { shared_state: {}, stream_states: [{ stream_descriptor: { name: "prospects" }, stream_state: blob }] } }], "s"),
    expect,
  );
  for (const empty of [null, {}, []]) assert.equal(parseState(empty, "s").size, 0);
  const sentinel = [{ type: "STREAM", stream: { stream_descriptor: { name: "duties" }, stream_state: { __ab_full_refresh_sync_complete: true } } }];
  assert.equal(parseState(sentinel, "s").size, 0);
});

test("state: wrong shapes name the element and field", () => {
  assert.throws(() => parseState([{ type: "STREAM", stream: {} }], "st.json"), /st\.json: \[0\]\.stream\.stream_descriptor\.name: is required/);
  assert.throws(() => parseState([{ type: "BOGUS" }], "st.json"), /\[0\]\.type: must be STREAM, GLOBAL or LEGACY/);
  assert.throws(() => parseState("x", "st.json"), /state must be a list/);
  assert.throws(() => cursorFromState({ updatedAt: 5 }, "updatedAt", "st.json", "prospects"), /st\.json: prospects\.updatedAt: must be an ISO-8601 timestamp/);
  assert.equal(cursorFromState({ updatedAt: "2040-11-16T00:00:00Z" }, "updatedAt", "s", "prospects"), "2040-11-16T00:00:00Z");
});

test("a remembered page size in the state is an integer 1..1000; anything else names file and field", () => {
  assert.equal(pageSizeFromState({ updatedAt: "2024-01-01T00:00:00Z", pageSize: 250 }, "st.json", "mailings"), 250);
  assert.equal(pageSizeFromState({ updatedAt: "2024-01-01T00:00:00Z" }, "st.json", "mailings"), undefined);
  assert.equal(pageSizeFromState(undefined, "st.json", "mailings"), undefined);
  for (const bad of [0, 1001, 2.5, "500"]) {
    assert.throws(() => pageSizeFromState({ pageSize: bad }, "st.json", "mailings"), /st\.json: mailings\.pageSize: must be an integer from 1 to 1000/);
  }
});
