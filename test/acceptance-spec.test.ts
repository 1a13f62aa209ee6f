/**
 * Offline acceptance suite (issue 4): each rule of Airbyte's Connector Acceptance Tests (CAT 3.8.5,
 * the version `npm run test:cat` runs for real from ../shared/tools/airbyte-cat; airbyte-contract.md
 * §7 describes 3.9.8) re-implemented against the built CLI and the replica, because CAT itself
 * needs Docker and Dagger. Where a test here checks more than CAT does, its name or comment says so
 * ("beyond CAT"); inputs are written the way CAT writes them (test/helpers/cat.ts `catRun`). Inputs come from integration_tests/acceptance-test-config.yml the way CAT
 * reads them (config paths, spec_path, expect_records, configured_catalog_path, future_state);
 * `secrets/config.json` is stood in for by a replica config. CAT's machinery (catalog building,
 * schema walking, record validation, checkpoint sampling) is in test/helpers/cat.ts.
 *
 * This file: the `spec` suite (§7.1). Each rule is a function returning the problems it finds, and
 * each test also feeds its rule a small bad example, so a rule that finds nothing in our spec is
 * known to look.
 *
 * CAT test → where it is imitated (A = this suite's files, test/acceptance-<part>.test.ts)
 * spec
 *   spec fixture (exactly one SPEC), test_config_match_spec, test_match_expected, test_enum_usage,
 *   test_oneof_usage, test_secret_is_properly_marked, test_property_type_is_not_array,
 *   test_object_not_empty, test_array_type, test_forbidden_complex_types, test_duplicate_order,
 *   test_nested_group, test_display_type, test_defined_refs_exist_in_json_spec_file,
 *   test_oauth_flow_parameters, test_oauth_is_default_method,
 *   test_additional_properties_is_true                                → A-spec
 *   test_date_pattern, test_date_format (CAT only warns)               → A-spec, as diagnostics
 *   test_image_labels, test_image_environment_variables / test_docker_env
 *                                     → need an image; checked statically on the Dockerfile by
 *                                       test/packaging.test.ts ("labels io.airbyte.name /
 *                                       io.airbyte.version equal metadata.yaml", "ENTRYPOINT in exec
 *                                       form … AIRBYTE_ENTRYPOINT equal to it"); `npm run test:image`
 *                                       builds and runs it where Docker exists
 *   test_backward_compatibility       → NOT imitable offline: needs the previously published image
 *                                       (disabled for 0.1.0 in the yml anyway); a skipped test says so
 *   test_required, test_optional, test_has_secret, test_secret_never_in_the_output
 *                                     → assert nothing in CAT; secrets kept out of output are tested
 *                                       by test/e2e-read.test.ts (refresh-token rotation) and
 *                                       test/meltano.test.ts (stale refresh token, masked)
 * connection: test_check per yml entry (succeed, failed), the exception shape → A-discovery
 *   (test/packaging.test.ts also runs `check` with invalid_config.json)
 * discovery: test_discover, test_streams_have_valid_json_schemas, test_defined_cursors_exist_in_schema,
 *   test_defined_refs_exist_in_schema, test_defined_keyword_exist_in_schema[allOf|not],
 *   test_primary_keys_exist_in_schema, test_streams_has_sync_modes, test_additional_properties_is_true,
 *   test_primary_keys_data_type, test_catalog_has_supported_data_types (CAT skips it; enforced)
 *                                                                       → A-discovery
 *   test_backward_compatibility       → NOT imitable offline (previous image); skipped test
 * basic_read: test_read — records, empty_streams, validate_schema (incl. fail_on_extra_columns and
 *   the shared-field check), validate_primary_keys_data_type, expect_records,
 *   validate_stream_statuses, validate_state_messages (+ record counts, no identical consecutive
 *   states: contract §4.2); test_airbyte_trace_message_on_failure        → A-read
 *   (test/e2e-read.test.ts checks statuses, counts and states on an incremental catalog;
 *   test/packaging.test.ts compares expected_records.jsonl with a read of configured_catalog.json)
 *   validate_data_points              → off by default and not set in the yml: not imitated
 *   test_all_supported_file_types_present → file-based certified connectors only: not applicable
 * full_refresh: test_sequential_reads                                     → A-read
 * incremental: test_two_sequential_reads, test_read_sequential_slices (+ resuming from every
 *   checkpoint of every stream), test_state_with_abnormally_large_values → A-incremental
 *   (test/packaging.test.ts reads abnormal_state.json with the whole catalog;
 *   test/e2e-read.test.ts resumes prospects from every third checkpoint)
 * Input state shapes (issue 4): null, {}, [], empty file, missing file → A-incremental; list of
 *   STREAM states, legacy object, {"airbyte_state": […]}, no --state → test/meltano.test.ts; every
 *   shape incl. GLOBAL/LEGACY elements and CDK sentinels → test/unit-inputs.test.ts
 * acceptance-test-config.yml shape and high-strictness demands, configured_catalog.json,
 *   abnormal_state.json, expected_records.jsonl, metadata.yaml → test/packaging.test.ts
 * connector_attributes, connector_documentation → run only for certified connectors
 *   (ab_internal.ql >= 400), which metadata.yaml does not claim: not imitated
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Ajv } from "ajv";
import type { CliRun } from "./helpers/cli.js";
import { baseFile, catConfig, catRun, keywordUses, nodesNamed, pointer, schemaPaths, suiteTests, walk } from "./helpers/cat.js";
import { replica, type Replica } from "./helpers/replica.js";

type Schema = Record<string, any>;

let r: Replica;
let run: CliRun;
let spec: Schema;
let connectionSpec: Schema;
const [specTest] = suiteTests("spec");

before(async () => {
  r = await replica();
  run = await catRun("spec");
  spec = run.messages.find((m) => m.type === "SPEC")?.spec as Schema;
  connectionSpec = spec?.connectionSpecification as Schema;
});
after(() => r.close());

test("spec: the spec fixture — exactly one SPEC, exit 0", () => {
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.messages.map((m) => m.type), ["SPEC"]);
  assert.equal(connectionSpec.type, "object");
});

test("spec: test_config_match_spec — the test config (and the sample) validate against connectionSpecification", () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  assert.equal(ajv.validateSchema(connectionSpec), true, `Spec is invalid: ${ajv.errorsText(ajv.errors)}`);
  assert.equal(connectionSpec.$schema, "http://json-schema.org/draft-07/schema#");
  const validate = ajv.compile(connectionSpec);
  const configs: [string, Record<string, unknown>][] = [
    [specTest!.config_path, catConfig(r, specTest!.config_path)],
    ["integration_tests/sample_config.json", baseFile("integration_tests/sample_config.json")],
  ];
  for (const [name, config] of configs) {
    const withoutTechnical = Object.fromEntries(Object.entries(config).filter(([k]) => !k.startsWith("_")));
    assert.ok(validate(withoutTechnical), `${name}: ${ajv.errorsText(validate.errors)}`);
  }
  assert.equal(validate({ client_id: "x", client_secret: "y" }), false, "a config without refresh_token is rejected");
});

test("spec: test_match_expected — the printed spec equals the file at spec_path", () => {
  assert.equal(specTest!.spec_path, "spec.json");
  assert.deepEqual(spec, baseFile(specTest!.spec_path));
});

/** test_enum_usage: duplicate values in an enum. */
function duplicateEnums(schema: Schema): string[] {
  return keywordUses(schema, "enum")
    .filter((n) => Array.isArray(n.value) && new Set(n.value.map((v) => JSON.stringify(v))).size !== n.value.length)
    .map((n) => pointer(n.path));
}

test("spec: test_enum_usage — no duplicate enum values", () => {
  assert.deepEqual(duplicateEnums(connectionSpec), []);
  assert.deepEqual(duplicateEnums({ properties: { a: { type: "string", enum: ["x", "x"] } } }), ["/properties/a/enum"]);
});

/** test_oneof_usage (CAT 3.8.5 wording): object parents, options with properties, exactly one shared const. */
function oneOfProblems(schema: Schema): string[] {
  const problems: string[] = [];
  for (const n of [...keywordUses(schema, "oneOf"), ...keywordUses(schema, "anyOf")]) {
    const at = pointer(n.path);
    const parent = n.parent as Schema;
    const variants = n.value as Schema[];
    if (parent.type !== "object") problems.push(`${at}: parent is not type object`);
    if (!variants.every((v) => v.properties)) {
      problems.push(`${at}: an option has no properties`);
      continue;
    }
    const common = Object.keys(variants[0]!.properties).filter((k) => variants.every((v) => k in v.properties));
    if (common.length === 0) problems.push(`${at}: no common property`);
    const consts = common.filter((k) => variants.every((v) => "const" in v.properties[k]));
    if (consts.length !== 1) {
      problems.push(`${at}: ${consts.length} common const properties, not one`);
      continue;
    }
    variants.forEach((v, i) => {
      const p = v.properties[consts[0]!];
      if ("default" in p && p.default !== p.const) problems.push(`${at}/${i}: default on the const property`);
      if ("enum" in p && JSON.stringify(p.enum) !== JSON.stringify([p.const])) problems.push(`${at}/${i}: enum on the const property`);
    });
  }
  return problems;
}

test("spec: test_oneof_usage — oneOf/anyOf under objects, one shared const discriminator", () => {
  assert.deepEqual(oneOfProblems(connectionSpec), []);
  const bad = { type: "object", properties: { auth: { type: "object", oneOf: [{ properties: { m: { const: "a" } } }, { properties: { n: { const: "b" } } }] } } };
  assert.deepEqual(oneOfProblems(bad), ["/properties/auth/oneOf: no common property", "/properties/auth/oneOf: 0 common const properties, not one"]);
});

const SECRET_NAMES = [
  "client_token", "access_token", "api_token", "token", "secret", "client_secret", "password", "key", "service_account_info",
  "service_account", "tenant_id", "certificate", "jwt", "credentials", "app_id", "appid", "refresh_token",
];
const RESERVED = ["anyOf", "oneOf", "allOf", "not", "properties", "items", "type", "prefixItems"];

/** test_secret_is_properly_marked: secret-named fields that can hold a secret are marked, and only those. */
function secretProblems(connection: Schema): string[] {
  const problems: string[] = [];
  for (const n of nodesNamed(connection.properties, "type")) {
    const name = [...n.path.slice(0, -1)].reverse().find((p) => !/^\d+$/.test(String(p)) && !RESERVED.includes(String(p)));
    if (name === undefined || !SECRET_NAMES.includes(String(name).toLowerCase())) continue;
    const prop = n.parent as Schema;
    const types = ([] as unknown[]).concat(prop.type);
    const canHold = types.some((t) => ["string", "integer", "number"].includes(t as string)) && !prop.const;
    const marked = prop.airbyte_secret === true;
    if (marked && !canHold) problems.push(`${pointer(n.path.slice(0, -1))}: marked secret but cannot hold one`);
    if (!marked && canHold) problems.push(`${pointer(n.path.slice(0, -1))}: should be airbyte_secret`);
  }
  return problems;
}

test("spec: test_secret_is_properly_marked — client_secret and refresh_token are airbyte_secret", () => {
  assert.deepEqual(secretProblems(connectionSpec), []);
  for (const name of ["client_secret", "refresh_token"]) assert.equal(connectionSpec.properties[name].airbyte_secret, true, name);
  assert.deepEqual(secretProblems({ properties: { api_token: { type: "string" }, password: { type: "boolean", airbyte_secret: true } } }), [
    "/api_token: should be airbyte_secret",
    "/password: marked secret but cannot hold one",
  ]);
});

/** test_property_type_is_not_array: `properties/<x>/type` is one type or [type, "null"]. */
function arrayTypeProblems(schema: Schema): string[] {
  return nodesNamed(schema, "type")
    .filter((n) => n.path.at(-3) === "properties" && Array.isArray(n.value))
    .filter((n) => {
      const t = n.value as unknown[];
      return (t.length !== 1 && t.length !== 2) || (t.length === 2 && t[1] !== "null");
    })
    .map((n) => pointer(n.path));
}

test("spec: test_property_type_is_not_array", () => {
  assert.deepEqual(arrayTypeProblems(connectionSpec), []);
  assert.deepEqual(arrayTypeProblems({ properties: { a: { type: ["null", "string"] }, b: { type: ["string", "null"] } } }), ["/properties/a/type"]);
});

/** test_object_not_empty: a nested `type: object` has properties or a oneOf. */
function emptyObjects(schema: Schema): string[] {
  return nodesNamed(schema, "type")
    .filter((n) => n.path.length > 1 && n.value === "object")
    .filter((n) => {
      const p = n.parent as Schema;
      return !("oneOf" in p) && (!p.properties || Object.keys(p.properties).length === 0);
    })
    .map((n) => pointer(n.path));
}

test("spec: test_object_not_empty", () => {
  assert.deepEqual(emptyObjects(connectionSpec), []);
  assert.deepEqual(emptyObjects({ type: "object", properties: { o: { type: "object" } } }), ["/properties/o/type"]);
});

/** test_array_type: `items` is one schema of type object/string/number/integer, or an enum. */
function arrayItemProblems(schema: Schema): string[] {
  return nodesNamed(schema, "type")
    .filter((n) => n.value === "array" && (n.parent as Schema).items !== undefined)
    .filter((n) => {
      const items = (n.parent as Schema).items;
      return Array.isArray(items) || (!["object", "string", "number", "integer"].includes(items.type) && !("enum" in items));
    })
    .map((n) => pointer(n.path));
}

test("spec: test_array_type", () => {
  assert.deepEqual(arrayItemProblems(connectionSpec), []);
  assert.deepEqual(arrayItemProblems({ properties: { a: { type: "array", items: { type: "boolean" } }, b: { type: "array", items: { enum: [1] } } } }), ["/properties/a/type"]);
});

const FORBIDDEN = ["not", "anyOf", "patternProperties", "prefixItems", "allOf", "if", "then", "else", "dependentSchemas", "dependentRequired"];
const forbiddenUses = (schema: Schema): string[] => FORBIDDEN.flatMap((k) => keywordUses(schema, k).map((n) => pointer(n.path)));

test("spec: test_forbidden_complex_types — no not/anyOf/allOf/if/then/else/patternProperties/prefixItems/dependent*", () => {
  assert.deepEqual(forbiddenUses(connectionSpec), []);
  assert.deepEqual(forbiddenUses({ properties: { if: { type: "string" }, a: { anyOf: [{ type: "string" }] } } }), ["/properties/a/anyOf"]);
});

test("spec: test_date_pattern, test_date_format — warnings in CAT, reported as diagnostics", (t) => {
  const DATE = "^[0-9]{2}-[0-9]{2}-[0-9]{4}$";
  const DATETIME = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2})?$";
  const warnings: string[] = [];
  for (const n of nodesNamed(connectionSpec, "format").filter((x) => typeof x.value === "string")) {
    const p = n.parent as Schema;
    if (n.value === "date" && p.pattern !== DATE) warnings.push(`${pointer(n.path)}: date without the date pattern`);
    if (n.value === "date-time" && p.pattern !== DATETIME) warnings.push(`${pointer(n.path)}: date-time without the date-time pattern`);
  }
  for (const n of nodesNamed(connectionSpec, "pattern").filter((x) => x.value === DATE || x.value === DATETIME)) {
    const format = (n.parent as Schema).format;
    if (format !== (n.value === DATE ? "date" : "date-time")) warnings.push(`${pointer(n.path)}: a date pattern without its format`);
  }
  for (const w of warnings) t.diagnostic(`CAT warning: ${w}`);
  // start_date takes a date or a date-time (UTC), so it carries neither CAT pattern nor a format.
  assert.equal(connectionSpec.properties.start_date.format, undefined);
  assert.match("2020-11-16", new RegExp(connectionSpec.properties.start_date.pattern));
  assert.match("2020-11-16T00:00:00Z", new RegExp(connectionSpec.properties.start_date.pattern));
});

/** test_duplicate_order: no two properties of one object share an `order` within a group. */
function duplicateOrders(schema: Schema): string[] {
  const problems: string[] = [];
  for (const n of nodesNamed(schema, "properties")) {
    if ((n.parent as Schema).type !== "object" || n.value === null || typeof n.value !== "object") continue;
    const used = new Map<string, Set<unknown>>();
    for (const p of Object.values(n.value as Record<string, Schema>)) {
      if (p === null || typeof p !== "object" || !("order" in p)) continue;
      const group = String(p.group ?? "");
      if (!used.has(group)) used.set(group, new Set());
      if (used.get(group)!.has(p.order)) problems.push(`${pointer(n.path)}: duplicate order ${p.order}`);
      used.get(group)!.add(p.order);
    }
  }
  return problems;
}

test("spec: test_duplicate_order", () => {
  assert.deepEqual(duplicateOrders(connectionSpec), []);
  const orders = Object.values(connectionSpec.properties as Record<string, Schema>).map((p) => p.order);
  assert.deepEqual(orders, orders.map((_, i) => i), "every property has its own order, 0…n-1");
  assert.deepEqual(duplicateOrders({ type: "object", properties: { a: { order: 1 }, b: { order: 1 }, c: { order: 1, group: "x" } } }), ["/properties: duplicate order 1"]);
});

/** test_nested_group: `group` only on top-level properties. */
function nestedGroups(schema: Schema): string[] {
  return [...walk(schema.properties, ["properties"])]
    .filter((n) => n.key === "group" && n.path.at(-2) !== "properties")
    .filter((n) => pointer(n.path.slice(0, -2)) !== "/properties")
    .map((n) => pointer(n.path));
}

test("spec: test_nested_group", () => {
  assert.deepEqual(nestedGroups(connectionSpec), []);
  assert.deepEqual(nestedGroups({ properties: { a: { group: "x" }, o: { oneOf: [{ properties: { b: { group: "x" } } }] } } }), ["/properties/o/oneOf/0/properties/b/group"]);
});

/** test_display_type: only beside a oneOf, value dropdown or radio. */
function displayTypeProblems(schema: Schema): string[] {
  return [...walk(schema.properties, ["properties"])]
    .filter((n) => n.key === "display_type" && n.path.at(-2) !== "properties")
    .filter((n) => !("oneOf" in (n.parent as Schema)) || !["dropdown", "radio"].includes(n.value as string))
    .map((n) => pointer(n.path));
}

test("spec: test_display_type", () => {
  assert.deepEqual(displayTypeProblems(connectionSpec), []);
  assert.deepEqual(displayTypeProblems({ properties: { a: { type: "string", display_type: "radio" }, b: { oneOf: [], display_type: "tabs" } } }), [
    "/properties/a/display_type",
    "/properties/b/display_type",
  ]);
});

test("spec: test_defined_refs_exist_in_json_spec_file — no $ref anywhere in the spec", () => {
  assert.deepEqual(nodesNamed(spec, "$ref").map((n) => pointer(n.path)), []);
  assert.equal(nodesNamed({ a: { b: [{ $ref: "#/x" }] } }, "$ref").length, 1);
});

/** test_oauth_flow_parameters: every advanced_auth path exists among the spec's property paths. */
function missingOauthPaths(s: Schema): string[] {
  const auth = s.advanced_auth as Schema | undefined;
  if (!auth) return [];
  const wanted = new Set<string>();
  if (auth.predicate_key) wanted.add(pointer(auth.predicate_key));
  const o = auth.oauth_config_specification ?? {};
  for (const part of ["oauth_user_input_from_connector_config_specification", "complete_oauth_output_specification", "complete_oauth_server_output_specification"]) {
    for (const v of Object.values((o[part]?.properties ?? {}) as Record<string, Schema>)) wanted.add(pointer(v.path_in_connector_config));
  }
  const have = new Set(schemaPaths(s.connectionSpecification));
  return [...wanted].filter((p) => !have.has(p));
}

test("spec: test_oauth_flow_parameters — advanced_auth names fields the spec has", () => {
  assert.equal(spec.advanced_auth?.auth_flow_type, "oauth2.0", "the spec offers Airbyte's OAuth consent flow");
  assert.deepEqual(missingOauthPaths(spec), []);
  const o = spec.advanced_auth.oauth_config_specification;
  assert.deepEqual(o.complete_oauth_output_specification.properties.refresh_token.path_in_connector_config, ["refresh_token"]);
  const broken = structuredClone(spec);
  broken.advanced_auth.oauth_config_specification.complete_oauth_output_specification.properties.refresh_token.path_in_connector_config = ["credentials", "refresh_token"];
  assert.deepEqual(missingOauthPaths(broken), ["/credentials/refresh_token"]);
});

/**
 * test_oauth_is_default_method: with a predicate_key, the `const` at that path in the first option
 * of the selector's oneOf is the predicate_value (OAuth is the default). Returns the problem, if any.
 */
function oauthNotDefault(s: Schema): string | undefined {
  const auth = s.advanced_auth as Schema | undefined;
  if (!auth?.predicate_key) return undefined; // CAT skips: OAuth is the only method
  const [selector, ...rest] = auth.predicate_key as string[];
  const first = s.connectionSpecification.properties[selector!]?.oneOf?.[0];
  if (!first) return undefined; // CAT skips: no oneOf
  const value = rest.reduce((v: Schema | undefined, k) => v?.properties?.[k], first)?.const;
  return value === auth.predicate_value ? undefined : `the default method is ${String(value)}, not ${String(auth.predicate_value)}`;
}

test("spec: test_oauth_is_default_method — OAuth is the first option of the authentication selector", () => {
  assert.deepEqual(spec.advanced_auth.predicate_key, ["authentication", "auth_type"]);
  assert.equal(oauthNotDefault(spec), undefined);
  const swapped = structuredClone(spec);
  swapped.connectionSpecification.properties.authentication.oneOf.reverse();
  assert.equal(oauthNotDefault(swapped), "the default method is manual, not oauth2.0");
});

test("spec: test_additional_properties_is_true", () => {
  const values = nodesNamed(connectionSpec, "additionalProperties").map((n) => n.value);
  assert.ok(values.length > 0);
  assert.ok(values.every((v) => v === true), JSON.stringify(values));
});

test("spec: test_backward_compatibility", { skip: "not imitable offline: compares with the previously published image (<image>:latest); disabled for 0.1.0 in acceptance-test-config.yml" }, () => {});
