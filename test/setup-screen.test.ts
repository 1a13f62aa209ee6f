/**
 * Airbyte's set-up screen for this custom image (issue 10), checked against the rules of Airbyte's
 * own code and docs, since no Airbyte instance runs here:
 *
 * - Which fields the web app hides: airbyte-webapp `ConnectorForm/useAuthentication.tsx` and
 *   `ConnectorForm/utils.ts` (`shouldShowButtonForAdvancedAuth`, `serverProvidedOauthPaths`). The
 *   OAuth button shows when advanced_auth has no predicate_key, or when the form value at
 *   predicate_key (defaults applied; a oneOf defaults to its first option) equals predicate_value.
 *   While it shows, the fields named by complete_oauth_output_specification are hidden, and so are
 *   those of complete_oauth_server_output_specification unless the instance has no OAuth
 *   credentials of its own for the connector (`advancedAuthGlobalCredentialsAvailable === false`, the
 *   case of a custom image), when the user types client_id and client_secret.
 * - The declarative OAuth block: docs.airbyte.com "OAuth Authentication Methods" (declarative
 *   OAuth: `oauth_connector_input_specification` with consent_url, access_token_url, scope,
 *   access_token_params; template variables such as `{{client_id_param}}`, `{{state_param}}`), filled
 *   with Outreach's endpoints and code-exchange parameters (outreach-api.md §8.1).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { Ajv } from "ajv";
import { STREAMS } from "../src/streams.js";
import { ROOT } from "./helpers/cli.js";

type Schema = Record<string, any>;
const spec = JSON.parse(readFileSync(path.join(ROOT, "spec.json"), "utf8")) as Schema;
const props = spec.connectionSpecification.properties as Record<string, Schema>;

/**
 * The top-level fields the web app shows for `values`, as useAuthentication.tsx decides. The
 * selector's default is its first option (the form's oneOf default).
 */
function visibleFields(s: Schema, values: Record<string, unknown>, globalCredentials: boolean): string[] {
  const auth = s.advanced_auth as Schema | undefined;
  const key = (auth?.predicate_key ?? []) as string[];
  const firstOption = (k: string): unknown => s.connectionSpecification.properties[k]?.oneOf?.[0]?.properties;
  const valueAt = (): unknown => {
    if (key.length === 0) return undefined;
    const [head, ...rest] = key;
    const given = values[head!] ?? Object.fromEntries(Object.entries((firstOption(head!) ?? {}) as Record<string, Schema>).map(([k, v]) => [k, v.const]));
    return rest.reduce((v: any, k) => v?.[k], given);
  };
  const buttonVisible = auth !== undefined && (key.length === 0 || valueAt() === auth.predicate_value);
  const o = (auth?.oauth_config_specification ?? {}) as Schema;
  const named = (part: string): string[] => Object.values((o[part]?.properties ?? {}) as Record<string, Schema>).map((v) => (v.path_in_connector_config as string[]).join("."));
  const hidden = buttonVisible ? [...named("complete_oauth_output_specification"), ...(globalCredentials ? named("complete_oauth_server_output_specification") : [])] : [];
  return Object.entries(s.connectionSpecification.properties as Record<string, Schema>)
    .filter(([k, v]) => !v.airbyte_hidden && !hidden.includes(k))
    .map(([k]) => k);
}

const required = spec.connectionSpecification.required as string[];

test("manual path: choosing 'Enter the credentials by hand' shows the three credentials on every platform", () => {
  for (const global of [false, true]) {
    const shown = visibleFields(spec, { authentication: { auth_type: "manual" } }, global);
    for (const field of required) assert.ok(shown.includes(field), `${field} can be typed (global OAuth credentials: ${global})`);
  }
  assert.deepEqual(required, ["client_id", "client_secret", "refresh_token"]);
  assert.equal(props.authentication!.oneOf[1].properties.auth_type.const, "manual");
  // The spec before issue 10 (advanced_auth without predicate_key): refresh_token could never be typed.
  const before = structuredClone(spec);
  delete before.advanced_auth.predicate_key;
  delete before.advanced_auth.predicate_value;
  assert.ok(!visibleFields(before, { authentication: { auth_type: "manual" } }, false).includes("refresh_token"));
});

test("OAuth path (the default): the custom image's user types client_id and client_secret; the flow fills the tokens", () => {
  const shown = visibleFields(spec, {}, false);
  assert.ok(shown.includes("client_id") && shown.includes("client_secret"), "no instance-wide OAuth app for a custom image: typed by the user");
  for (const filled of ["refresh_token", "access_token", "token_expiry_date"]) assert.ok(!shown.includes(filled), `${filled} is filled by the OAuth flow`);
  const withGlobal = visibleFields(spec, {}, true);
  assert.ok(!withGlobal.includes("client_id") && !withGlobal.includes("client_secret"), "an instance OAuth app fills them");
});

test("declarative OAuth block: Outreach's consent and token endpoints, every stream's read scope, the code exchange of §8.1", () => {
  const auth = spec.advanced_auth as Schema;
  assert.equal(auth.auth_flow_type, "oauth2.0");
  const input = auth.oauth_config_specification.oauth_connector_input_specification as Schema;
  const consent = new URL(input.consent_url.replace(/\{\{\s*(\w+)_param\s*\}\}/g, "$1=x"));
  assert.equal(consent.origin + consent.pathname, "https://api.outreach.io/oauth/authorize");
  assert.deepEqual([...consent.searchParams.keys()].sort(), ["client_id", "redirect_uri", "response_type", "scope", "state"]);
  assert.equal(consent.searchParams.get("response_type"), "code");
  assert.equal(input.access_token_url, props.token_url!.default, "the token endpoint");
  assert.deepEqual(input.scope.split(" "), [...new Set(STREAMS.map((s) => s.scope))].sort(), "every stream's read scope, space-separated");
  assert.deepEqual(input.access_token_params, {
    client_id: "{{client_id_value}}",
    client_secret: "{{client_secret_value}}",
    redirect_uri: "{{redirect_uri_value}}",
    grant_type: "authorization_code",
    code: "{{auth_code_value}}",
  });
  const templates = JSON.stringify(input).match(/\{\{\s*\w+\s*\}\}/g) ?? [];
  const documented = ["client_id", "client_secret", "redirect_uri", "scope", "state", "auth_code"].flatMap((v) => [`${v}_param`, `${v}_value`]);
  for (const t of templates) assert.ok(documented.includes(t.replace(/[{}\s]/g, "")), `${t} is a documented template variable`);
  const out = auth.oauth_config_specification.complete_oauth_output_specification.properties as Record<string, Schema>;
  assert.deepEqual(
    Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [v.path_in_connector_config.join("."), v.path_in_oauth_response.join(".")]])),
    { refresh_token: ["refresh_token", "refresh_token"], access_token: ["access_token", "access_token"], token_expiry_date: ["token_expiry_date", "expires_in"] },
  );
});

test("connector-written fields are hidden; tokens are secrets; a config written for Airbyte's own connector validates unchanged", () => {
  assert.equal(props.access_token!.airbyte_secret, true);
  assert.equal(props.access_token!.airbyte_hidden, true);
  assert.equal(props.token_expiry_date!.airbyte_hidden, true);
  assert.equal(props.refresh_token!.airbyte_secret, true);
  const validate = new Ajv({ strict: false }).compile(spec.connectionSpecification);
  const airbytes = { client_id: "id", client_secret: "secret", refresh_token: "token", redirect_uri: "https://example.com/cb", start_date: "2020-11-16T00:00:00Z" };
  assert.ok(validate(airbytes), JSON.stringify(validate.errors));
  assert.ok(validate({ ...airbytes, authentication: { auth_type: "manual" }, token_file: "/tokens/outreach.json" }));
  assert.ok(validate({ ...airbytes, authentication: { auth_type: "oauth2.0" }, access_token: "a", token_expiry_date: "2026-12-01T22:00:00.000Z" }));
  assert.equal(validate({ ...airbytes, authentication: { auth_type: "api_key" } }), false, "only the two methods");
});
