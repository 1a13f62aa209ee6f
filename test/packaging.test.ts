/**
 * Packaging rules, checked statically (no container engine needed) plus a few runs of the CLI
 * against the local replica: the Dockerfile and .dockerignore (airbyte-contract.md §8),
 * metadata.yaml (§8.1) and the files of integration_tests/ that Airbyte's acceptance tests read
 * (§7.8, §7.9). `npm run test:image` builds and runs the image itself.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { startReplica, type Replica } from "../integration_tests/replica/server.js";
import {
  abnormalState,
  configuredCatalog,
  discoverStreams,
  expectedRecords,
  FUTURE_CURSOR,
  RECORDS_PER_STREAM,
  replicaConfig,
  ROOT,
  runConnector,
  toJsonl,
  type DiscoveredStream,
  type ExpectedRecord,
  type Message,
} from "../scripts/expected-records.js";
import { parseCatalog, parseState } from "../src/catalog.js";
import { resolveConfig } from "../src/config.js";
import { PROTOCOL_YAML, protocolValidator, recordValidator } from "./helpers/protocol.js";

const text = (path: string): string => readFileSync(join(ROOT, path), "utf8");
const json = <T = any>(path: string): T => JSON.parse(text(path)) as T;
const pkg = json<{ version: string; license: string; bin: Record<string, string>; engines: { node: string } }>("package.json");
const spec = json<{ documentationUrl: string; connectionSpecification: { properties: Record<string, { default?: unknown }> } }>("spec.json");
const metadata = parseYaml(text("metadata.yaml")) as { metadataSpecVersion: string; data: Record<string, any> };

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions: comments dropped, continuation lines joined. */
function parseDockerfile(source: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of source.split("\n")) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, "");
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    if (full === "") continue;
    const m = /^(\S+)\s*(.*)$/.exec(full)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  return out;
}

/** The stages of a Dockerfile: each starts with its FROM. */
function stages(instructions: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const i of instructions) {
    if (i.keyword === "FROM") result.push([]);
    result.at(-1)?.push(i);
  }
  return result;
}

/** `KEY=value` pairs of ENV / LABEL arguments (values may be double-quoted). */
function keyValues(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const value = m[2]!;
    out[m[1]!] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return out;
}

const dockerfile = parseDockerfile(text("Dockerfile"));
const dockerStages = stages(dockerfile);
const finalStage = dockerStages.at(-1)!;
const collect = (stage: Instruction[], keyword: string): Record<string, string> =>
  Object.assign({}, ...stage.filter((i) => i.keyword === keyword).map((i) => keyValues(i.args))) as Record<string, string>;
const finalEnv = collect(finalStage, "ENV");
const finalLabels = collect(finalStage, "LABEL");
const entrypointInstruction = finalStage.filter((i) => i.keyword === "ENTRYPOINT").at(-1);

test("Dockerfile: multi-stage build on a pinned node slim base, compiled with dev dependencies, shipped with production ones", () => {
  assert.ok(dockerStages.length >= 2, "a build stage and a runtime stage");
  const engineMajor = Number(/(\d+)/.exec(pkg.engines.node)![1]);
  for (const stage of dockerStages) {
    const from = stage[0]!.args.split(/\s+/);
    const image = from[0]!;
    const m = /^node:(\d+)(?:\.\d+){0,2}-(?:bookworm-|bullseye-)?slim(?:@sha256:[0-9a-f]{64})?$/.exec(image);
    assert.ok(m, `FROM ${image}: a node slim image pinned to a major version (or a digest), never latest`);
    assert.ok(Number(m[1]) >= engineMajor, `FROM ${image}: Node ${m[1]} satisfies package.json engines ${pkg.engines.node}`);
  }
  const build = dockerStages[0]!;
  assert.match(build[0]!.args, /\sAS\s+build$/i, "the first stage is named build");
  const runs = (stage: Instruction[]): string[] => stage.filter((i) => i.keyword === "RUN").map((i) => i.args);
  assert.ok(runs(build).some((r) => /\bnpm ci\b/.test(r)), "the build stage installs from the lockfile (npm ci)");
  assert.ok(runs(build).some((r) => /\bnpm run build\b/.test(r)), "the build stage compiles");
  assert.ok(runs(build).some((r) => /\bnpm prune --omit=dev\b/.test(r)), "the build stage prunes dev dependencies");
  for (const stage of dockerStages) {
    const firstNpm = stage.findIndex((i) => i.keyword === "RUN" && /\bnpm\b/.test(i.args));
    if (firstNpm < 0) continue;
    const arg = stage.findIndex((i) => i.keyword === "ARG" && /^NPM_CONFIG_CAFILE(=|$)/.test(i.args));
    assert.ok(arg >= 0 && arg < firstNpm, `${stage[0]!.args}: ARG NPM_CONFIG_CAFILE is declared before the first npm command`);
  }
  assert.deepEqual(runs(finalStage).filter((r) => /\bnpm\b/.test(r)), [], "the runtime stage runs no npm (its node_modules come pruned from the build stage)");
  const copies = finalStage.filter((i) => i.keyword === "COPY").map((i) => i.args);
  const fromBuild = copies.filter((c) => /--from=build\b/.test(c));
  assert.ok(fromBuild.some((c) => /\/build\/node_modules\s+\.\/node_modules$/.test(c)), "node_modules come from the build stage");
  assert.ok(fromBuild.some((c) => /\/build\/dist\/src\s+\.\/dist\/src$/.test(c)), "only dist/src is copied (no dist/test, dist/scripts, dist/integration_tests)");
  for (const needed of ["package.json", "spec.json", "schemas"]) {
    assert.ok(copies.some((c) => c.split(/\s+/).slice(0, -1).includes(needed)), `${needed} is copied into the image`);
  }
  for (const c of copies) {
    const sources = c.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1);
    for (const s of sources) assert.doesNotMatch(s, /^(\.\/?|(\.\/)?(test|scripts|integration_tests|bench|secrets)(\/.*)?)$/, `COPY ${c}: nothing but the package`);
  }
});

test("Dockerfile: runs as airbyte (uid/gid 1000) owning /airbyte, TZ=UTC, production mode", () => {
  const users = finalStage.filter((i) => i.keyword === "USER").map((i) => i.args);
  assert.equal(users.at(-1), "airbyte", "the last USER is airbyte");
  const setup = finalStage.filter((i) => i.keyword === "RUN").map((i) => i.args).join(" && ");
  assert.match(setup, /groupmod --new-name airbyte node/, "the node image's group 1000 is renamed airbyte");
  assert.match(setup, /usermod --login airbyte --home \/airbyte node/, "the node image's user 1000 is renamed airbyte");
  assert.match(setup, /groupadd --gid 1000 airbyte/, "a base without the node user gets group airbyte with gid 1000");
  assert.match(setup, /useradd --uid 1000 --gid 1000 /, "a base without the node user gets user airbyte with uid 1000");
  assert.match(setup, /chown -R airbyte:airbyte \/airbyte/, "airbyte owns /airbyte");
  const workdirs = finalStage.filter((i) => i.keyword === "WORKDIR").map((i) => i.args);
  assert.equal(workdirs.at(-1), "/airbyte/integration_code");
  assert.equal(finalEnv.TZ, "UTC");
  assert.equal(finalEnv.NODE_ENV, "production");
});

test("Dockerfile: ENTRYPOINT in exec form with absolute paths, AIRBYTE_ENTRYPOINT equal to it, the package's bin", () => {
  assert.ok(entrypointInstruction, "an ENTRYPOINT");
  const entrypoint = JSON.parse(entrypointInstruction.args) as unknown;
  assert.ok(Array.isArray(entrypoint) && entrypoint.every((e) => typeof e === "string"), "exec form (a JSON array of strings)");
  const parts = entrypoint as string[];
  for (const p of parts) assert.ok(p.startsWith("/"), `${p}: absolute (the platform chooses the working directory)`);
  assert.equal(finalEnv.AIRBYTE_ENTRYPOINT, parts.join(" "), "AIRBYTE_ENTRYPOINT = ENTRYPOINT joined by spaces");
  assert.match(parts[0]!, /\/node$/);
  assert.equal(parts[1], `/airbyte/integration_code/${pkg.bin["source-outreach"]}`, "the entry script is package.json's bin under WORKDIR");
  assert.ok(existsSync(join(ROOT, pkg.bin["source-outreach"]!)), "the entry script is built");
});

test("Dockerfile: NODE_OPTIONS carries the V8 heap flags of the bin's shebang", () => {
  const shebang = /^#!\/usr\/bin\/env -S node (.+)$/m.exec(text(pkg.bin["source-outreach"]!).split("\n")[0]!);
  assert.ok(shebang, "the bin starts node with heap flags");
  assert.match(shebang[1]!, /--max-old-space-size=\d+/);
  assert.equal(finalEnv.NODE_OPTIONS, shebang[1]);
});

test("Dockerfile: labels io.airbyte.name / io.airbyte.version equal metadata.yaml", () => {
  assert.equal(finalLabels["io.airbyte.name"], metadata.data.dockerRepository);
  assert.equal(finalLabels["io.airbyte.version"], metadata.data.dockerImageTag);
});

test("one image name everywhere: README, Dockerfile, meltano.yml, acceptance-test-config.yml and test-image.sh use metadata.yaml's repository:tag", () => {
  const image = `${metadata.data.dockerRepository}:${metadata.data.dockerImageTag}`;
  const repo = metadata.data.dockerRepository as string;
  const files = ["README.md", "Dockerfile", "meltano.yml", "integration_tests/acceptance-test-config.yml", "scripts/test-image.sh"];
  let named = 0;
  for (const f of files) {
    for (const m of text(f).matchAll(new RegExp(`${repo.replace("/", "\\/")}(:[\\w.-]*[\\w-])?`, "g"))) {
      named++;
      if (m[1] !== undefined) assert.equal(m[0], image, `${f} names ${m[0]}`);
    }
  }
  assert.ok(named >= 8, `${named} mentions`);
  assert.match(text("README.md"), new RegExp(`docker build -t ${image.replace(/[/.]/g, "\\$&")} \\.`), "the README builds it");
  const tap = (parseYaml(text("meltano.yml")) as { plugins: { extractors: { config: { airbyte_spec: { image: string; tag: string } } }[] } }).plugins.extractors[0]!;
  assert.equal(`${tap.config.airbyte_spec.image}:${tap.config.airbyte_spec.tag}`, image);
});

test(".dockerignore keeps local artefacts out and lets the build inputs in", () => {
  const patterns = text(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  for (const p of ["node_modules", "dist", ".git", "secrets", "*.log", "test", "integration_tests"]) assert.ok(patterns.includes(p), `.dockerignore lists ${p}`);
  const toRegex = (p: string): RegExp =>
    new RegExp(`^${p.replace(/^\//, "").replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\//g, "(.*/)?").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}(/.*)?$`);
  const ignored = (path: string): boolean => {
    let result = false;
    for (const p of patterns) {
      const negated = p.startsWith("!");
      if (toRegex(negated ? p.slice(1) : p).test(path)) result = !negated;
    }
    return result;
  };
  const inputs = dockerfile
    .filter((i) => i.keyword === "COPY" && !/--from=/.test(i.args))
    .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1));
  assert.ok(inputs.length >= 5);
  for (const input of inputs) {
    assert.ok(existsSync(join(ROOT, input)), `${input} exists`);
    assert.equal(ignored(input), false, `${input} (copied by the Dockerfile) is not ignored`);
  }
  for (const local of ["node_modules/yaml/package.json", "dist/test/packaging.test.js", ".git/HEAD", "secrets/config.json", "integration_tests/replica/server.ts"]) {
    assert.equal(ignored(local), true, `${local} stays out of the build context`);
  }
});

// ---------------------------------------------------------------------------------------------
// metadata.yaml

test("metadata.yaml: every required field, our own repository, consistent with package.json and spec.json", () => {
  const d = metadata.data;
  assert.equal(metadata.metadataSpecVersion, "1.0");
  for (const key of ["name", "definitionId", "connectorType", "dockerRepository", "dockerImageTag", "license", "documentationUrl", "githubIssueLabel", "connectorSubtype", "releaseStage"]) {
    assert.ok(typeof d[key] === "string" && d[key] !== "", `data.${key} is set`);
  }
  assert.match(d.definitionId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "definitionId is a UUID v4");
  assert.equal(d.connectorType, "source");
  assert.ok(["api", "database", "file", "custom", "message_queue", "unknown"].includes(d.connectorSubtype));
  assert.equal(d.connectorSubtype, "api");
  assert.equal(d.releaseStage, "alpha");
  assert.equal(d.supportLevel, "community");
  assert.equal(d.license, "MIT");
  assert.equal(d.license, pkg.license);
  assert.equal(d.dockerImageTag, "dev", "the tag the README's docker build gives: one image name everywhere");
  assert.match(d.dockerRepository, /^[a-z0-9]+(?:[._-][a-z0-9]+)*\/source-outreach$/, "<namespace>/source-outreach");
  assert.notEqual(d.dockerRepository, "airbyte/source-outreach", "Meltano's wrapper would swap airbyte/source-outreach for Airbyte's own connector");
  assert.doesNotMatch(d.dockerRepository.split("/")[0], /[.:]/, "the repository names no registry host");
  assert.equal(d.documentationUrl, spec.documentationUrl);
  assert.equal(d.githubIssueLabel, "source-outreach");
  assert.deepEqual(d.tags, ["language:typescript"]);
  const defaults = ["base_url", "token_url"].map((f) => new URL(spec.connectionSpecification.properties[f]!.default as string).hostname);
  assert.deepEqual([...new Set(defaults)], ["api.outreach.io"]);
  assert.deepEqual(d.allowedHosts, { hosts: ["api.outreach.io"] }, "the only host the default config talks to");
});

// ---------------------------------------------------------------------------------------------
// integration_tests/: static checks (discover needs no API call)

let discovered: DiscoveredStream[] = [];
let names: string[] = [];
const incremental = (): DiscoveredStream[] => discovered.filter((s) => s.supported_sync_modes.includes("incremental"));

before(async () => {
  discovered = await discoverStreams(join(ROOT, "integration_tests/sample_config.json"));
  names = discovered.map((s) => s.name);
});

/** Asserts a value against a protocol definition; notes the skip when the shared folder is absent. */
function assertProtocol(t: { diagnostic(msg: string): void }, definition: string, value: unknown, what: string): void {
  const validate = protocolValidator(definition);
  if (!validate) {
    t.diagnostic(`${PROTOCOL_YAML} not found: ${what} not validated against ${definition}`);
    return;
  }
  assert.ok(validate(value), `${what} is a valid ${definition}: ${JSON.stringify(validate.errors)}`);
}

test("the discovered catalog has the 47 streams the integration files are built from", () => {
  assert.equal(names.length, 47);
  assert.equal(new Set(names).size, names.length);
  assert.ok(incremental().length > 0 && incremental().length < names.length);
});

test("acceptance-test-config.yml: high strictness, every suite, our dev image, files that exist (§7.8)", () => {
  const config = parseYaml(text("integration_tests/acceptance-test-config.yml")) as Record<string, any>;
  const allowedTop = ["connector_image", "test_strictness_level", "base_path", "custom_environment_variables", "acceptance_tests", "cache_discovered_catalog"];
  for (const k of Object.keys(config)) assert.ok(allowedTop.includes(k), `top-level key ${k} is known to CAT (extras fail)`);
  assert.equal(config.connector_image, `${metadata.data.dockerRepository}:${metadata.data.dockerImageTag}`);
  assert.equal(config.test_strictness_level, "high");
  const suiteKeys: Record<string, string[]> = {
    spec: ["spec_path", "config_path", "timeout_seconds", "deployment_mode", "backward_compatibility_tests_config", "auth_default_method"],
    connection: ["config_path", "status", "timeout_seconds", "deployment_mode"],
    discovery: ["config_path", "timeout_seconds", "deployment_mode", "backward_compatibility_tests_config", "validate_primary_keys_data_type"],
    basic_read: [
      "config_path", "deployment_mode", "configured_catalog_path", "empty_streams", "expect_records", "validate_schema", "validate_stream_statuses",
      "validate_state_messages", "validate_data_points", "fail_on_extra_columns", "expect_trace_message_on_failure", "ignored_fields", "timeout_seconds",
    ],
    full_refresh: ["config_path", "configured_catalog_path", "timeout_seconds", "deployment_mode", "ignored_fields"],
    incremental: ["config_path", "configured_catalog_path", "timeout_seconds", "deployment_mode", "future_state", "skip_comprehensive_incremental_tests"],
  };
  const suites = config.acceptance_tests as Record<string, { tests?: Record<string, any>[]; bypass_reason?: string }>;
  assert.deepEqual(Object.keys(suites).sort(), Object.keys(suiteKeys).sort(), "every suite is present (high strictness)");
  const fileOf = (path: string): string => {
    // secrets/ is git-ignored and holds the real config; everything else must be in the repository.
    if (!path.startsWith("secrets/")) assert.ok(existsSync(join(ROOT, path)), `${path} exists`);
    return path;
  };
  for (const [suite, body] of Object.entries(suites)) {
    if (body.bypass_reason !== undefined) {
      assert.ok(body.bypass_reason.length > 10, `${suite}: bypass_reason explains`);
      continue;
    }
    assert.ok(Array.isArray(body.tests) && body.tests.length > 0, `${suite} has tests`);
    for (const t of body.tests) {
      for (const k of Object.keys(t)) assert.ok(suiteKeys[suite]!.includes(k), `${suite}: key ${k} is known to CAT`);
      fileOf(t.config_path);
      if (t.configured_catalog_path) fileOf(t.configured_catalog_path);
    }
  }
  const [specTest] = suites.spec!.tests!;
  assert.deepEqual(json(fileOf(specTest!.spec_path)), spec, "spec_path is the spec the connector prints");
  assert.deepEqual(
    suites.connection!.tests!.map((t) => [t.config_path, t.status]).sort(),
    [["integration_tests/invalid_config.json", "failed"], ["secrets/config.json", "succeed"]],
  );
  for (const t of suites.basic_read!.tests!) {
    assert.equal(t.configured_catalog_path, undefined, "high strictness: basic_read builds its catalog from discover");
    assert.ok(t.expect_records?.path, "high strictness: expect_records is set");
    fileOf(t.expect_records.path);
    for (const e of t.empty_streams ?? []) {
      assert.ok(names.includes(e.name), `empty stream ${e.name} exists`);
      assert.ok(typeof e.bypass_reason === "string" && e.bypass_reason !== "", `empty stream ${e.name} has a bypass_reason`);
    }
    for (const [stream, fields] of Object.entries(t.ignored_fields ?? {})) {
      for (const f of fields as { bypass_reason?: string }[]) assert.ok(f.bypass_reason, `ignored field of ${stream} has a bypass_reason`);
    }
  }
  for (const t of suites.incremental!.tests!) {
    assert.ok(t.future_state?.future_state_path, "high strictness: future_state is set");
    const state = json<{ stream: { stream_descriptor: { name: string } } }[]>(fileOf(t.future_state.future_state_path));
    const covered = new Set([...state.map((s) => s.stream.stream_descriptor.name), ...(t.future_state.missing_streams ?? []).map((m: { name: string }) => m.name)]);
    for (const m of t.future_state.missing_streams ?? []) assert.ok(m.bypass_reason, `missing stream ${m.name} has a bypass_reason`);
    const catalog = json<{ streams: { stream: { name: string }; sync_mode: string }[] }>(t.configured_catalog_path);
    for (const s of catalog.streams.filter((c) => c.sync_mode === "incremental")) assert.ok(covered.has(s.stream.name), `future state covers ${s.stream.name}`);
  }
});

test("configured_catalog.json: exactly the discovered streams, incremental where supported, append", (t) => {
  const catalog = json<{ streams: Record<string, any>[] }>("integration_tests/configured_catalog.json");
  assert.deepEqual(catalog.streams.map((s) => s.stream.name), names, "every discovered stream, once, in discover order");
  for (const entry of catalog.streams) {
    const d = discovered.find((s) => s.name === entry.stream.name)!;
    assert.deepEqual(entry.stream.supported_sync_modes, d.supported_sync_modes);
    assert.equal(entry.sync_mode, d.supported_sync_modes.includes("incremental") ? "incremental" : "full_refresh", `${d.name}: sync mode`);
    assert.equal(entry.destination_sync_mode, "append");
    if (entry.sync_mode === "incremental") assert.deepEqual(entry.cursor_field, d.default_cursor_field, `${d.name}: the source-defined cursor`);
    else assert.equal(entry.cursor_field, undefined);
  }
  assert.deepEqual(catalog, configuredCatalog(discovered), "equals what `npm run expected-records` writes");
  assert.equal(parseCatalog(catalog, "configured_catalog.json").length, 47, "the connector accepts it");
  assertProtocol(t, "ConfiguredAirbyteCatalog", catalog, "configured_catalog.json");
});

test("abnormal_state.json: a STREAM state with a far-future cursor for every incremental stream", (t) => {
  const state = json<{ type: string; stream: { stream_descriptor: { name: string }; stream_state: Record<string, string> } }[]>("integration_tests/abnormal_state.json");
  assert.ok(Array.isArray(state));
  assert.deepEqual(state.map((s) => s.stream.stream_descriptor.name), incremental().map((s) => s.name));
  const inFiftyYears = Date.now() + 50 * 365 * 86_400_000;
  for (const s of state) {
    const d = discovered.find((x) => x.name === s.stream.stream_descriptor.name)!;
    assert.equal(s.type, "STREAM");
    assert.deepEqual(Object.keys(s.stream.stream_state), d.default_cursor_field, `${d.name}: keyed by its cursor field`);
    assert.ok(Date.parse(Object.values(s.stream.stream_state)[0]!) > inFiftyYears, `${d.name}: the cursor is far in the future`);
    assertProtocol(t, "AirbyteStateMessage", s, `abnormal state of ${d.name}`);
  }
  assert.deepEqual(state, abnormalState(discovered), "equals what `npm run expected-records` writes");
  assert.equal(parseState(state, "abnormal_state.json").size, incremental().length, "the connector accepts it");
});

test("sample_state.json and sample_config.json are accepted by the connector and name real streams and cursors", (t) => {
  const state = json<{ type: string; stream: { stream_descriptor: { name: string }; stream_state: Record<string, string> } }[]>("integration_tests/sample_state.json");
  assert.ok(state.length > 0);
  for (const s of state) {
    const d = incremental().find((x) => x.name === s.stream.stream_descriptor.name);
    assert.ok(d, `${s.stream.stream_descriptor.name} is an incremental stream`);
    assert.deepEqual(Object.keys(s.stream.stream_state), d.default_cursor_field);
    assertProtocol(t, "AirbyteStateMessage", s, `sample state of ${d.name}`);
  }
  assert.equal(parseState(state, "sample_state.json").size, state.length);
  const config = resolveConfig(json("integration_tests/sample_config.json"), "sample_config.json");
  assert.equal(config.baseUrl.href, "https://api.outreach.io/api/v2/", "the sample talks to Outreach itself");
});

test("expected_records.jsonl: {stream, data, emitted_at} lines of real streams, a few per stream, valid against the schemas", () => {
  const lines = text("integration_tests/expected_records.jsonl").trimEnd().split("\n");
  const records = lines.map((l) => JSON.parse(l) as ExpectedRecord);
  const perStream = new Map<string, number>();
  for (const r of records) {
    assert.deepEqual(Object.keys(r).sort(), ["data", "emitted_at", "stream"]);
    assert.ok(names.includes(r.stream), `${r.stream} is a discovered stream`);
    assert.ok(Number.isInteger(r.emitted_at));
    assert.ok(Number.isInteger(r.data.id) && r.data.id > 0, `${r.stream}: data.id is the primary key`);
    perStream.set(r.stream, (perStream.get(r.stream) ?? 0) + 1);
    const validate = recordValidator(r.stream);
    assert.ok(validate(r.data), `${r.stream} #${r.data.id} matches its schema: ${JSON.stringify(validate.errors)}`);
  }
  assert.deepEqual([...perStream.keys()], [...names].sort(), "every stream has expected records, streams in name order");
  for (const [stream, n] of perStream) assert.equal(n, RECORDS_PER_STREAM, `${stream}: ${RECORDS_PER_STREAM} records`);
});

// ---------------------------------------------------------------------------------------------
// integration_tests/ against the replica

let replica: Replica;
let dir: string;

before(async () => {
  replica = await startReplica();
  dir = await mkdtemp(join(tmpdir(), "packaging-test-"));
});
after(async () => {
  await replica?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Writes a config file for the replica and returns its path. */
async function configFile(name: string, value: Record<string, unknown>): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(value));
  return path;
}

const recordsOf = (messages: Message[]): Message[] => messages.filter((m) => m.type === "RECORD");

test("invalid_config.json is a valid config whose credentials `check` reports FAILED (exit 0)", async (t) => {
  const invalid = json<Record<string, unknown>>("integration_tests/invalid_config.json");
  resolveConfig(invalid, "invalid_config.json"); // the shape is right: the failure comes from the credentials
  assert.equal(invalid.base_url, undefined, "as committed it targets Outreach itself");
  const file = await configFile("invalid.json", { ...invalid, base_url: replica.apiBase, token_url: replica.tokenUrl });
  const run = await runConnector(["check", "--config", file]);
  assert.equal(run.code, 0);
  assert.deepEqual(run.messages.map((m) => m.type), ["CONNECTION_STATUS"]);
  const status = run.messages[0]!;
  assert.equal(status.connectionStatus.status, "FAILED");
  assert.match(status.connectionStatus.message, /client_id|client_secret|refresh token/i, "the message says what to fix");
  assertProtocol(t, "AirbyteMessage", status, "the CONNECTION_STATUS");
  const good = await runConnector(["check", "--config", await configFile("good.json", replicaConfig(replica))]);
  assert.equal(good.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus.status, "SUCCEEDED", "the replica's own credentials pass");
});

test("expected_records.jsonl is what the replica serves: each expected record is read unchanged, and the file is up to date", async () => {
  const catalog = await configFile("catalog.json", configuredCatalog(discovered));
  const run = await runConnector(["read", "--config", await configFile("read.json", replicaConfig(replica)), "--catalog", catalog]);
  assert.equal(run.code, 0, run.stderr);
  const read = recordsOf(run.messages);
  const expected = text("integration_tests/expected_records.jsonl")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as ExpectedRecord);
  for (const e of expected) {
    const got = read.find((m) => m.record.stream === e.stream && m.record.data.id === e.data.id);
    assert.ok(got, `${e.stream} #${e.data.id} is served by the replica`);
    assert.deepEqual(got.record.data, e.data, `${e.stream} #${e.data.id}: same data`);
  }
  assert.equal(text("integration_tests/expected_records.jsonl"), toJsonl(expectedRecords(run.messages)), "regenerate with `npm run expected-records`");
});

test("reading with abnormal_state.json returns no record of an incremental stream and a state for each", async () => {
  const catalog = await configFile("catalog.json", configuredCatalog(discovered));
  const run = await runConnector([
    "read", "--config", await configFile("future.json", replicaConfig(replica)), "--catalog", catalog,
    "--state", join(ROOT, "integration_tests/abnormal_state.json"),
  ]);
  assert.equal(run.code, 0, run.stderr);
  const inc = new Set(incremental().map((s) => s.name));
  assert.deepEqual(recordsOf(run.messages).filter((m) => inc.has(m.record.stream)), [], "no records past a far-future cursor");
  for (const s of incremental()) {
    const states = run.messages.filter((m) => m.type === "STATE" && m.state.stream.stream_descriptor.name === s.name);
    assert.ok(states.length >= 1, `${s.name}: at least one STATE`);
    assert.deepEqual(states.at(-1)!.state.stream.stream_state, { [s.default_cursor_field![0]!]: FUTURE_CURSOR }, `${s.name}: the state is kept`);
  }
});
