/**
 * The connector config: read from the file the platform names, validated against spec.json with
 * ajv (a violation names the field), defaults applied, URL rules enforced.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Ajv } from "ajv";
import type { Config } from "./generated/types.js";
import { InputError } from "./errors.js";
import type { RecordFormat } from "./record-format.js";
import { readResource } from "./resources.js";
import { closest } from "./suggest.js";
import { formatInstant, parseInstant } from "./time.js";

export type { Config };

/** The config with every default applied and values parsed. */
export interface ResolvedConfig {
  /** The config exactly as given (plus rotated refresh tokens later): what CONTROL messages persist. */
  raw: Config;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  redirectUri?: string;
  /** Lower bound for cursors, epoch ms UTC; undefined = all history. */
  startDateMs?: number;
  /** API base URL, always ending in `/` (e.g. `https://api.outreach.io/api/v2/`). */
  baseUrl: URL;
  tokenUrl: URL;
  /** Records per page, 1..1000. */
  pageSize: number;
  /** Streams read in parallel. */
  concurrency: number;
  /** User cap on requests in any rolling hour; undefined = only the API's own limit. */
  maxRequestsPerHour?: number;
  /** A rate-limit wait longer than this (ms) fails the stream with a transient error. */
  maxRateLimitWaitMs: number;
  /**
   * The access token a previous run minted (`access_token`, with `token_expiry_date` as epoch ms
   * UTC), as Airbyte's CDK keeps it in the config; absent when either field is missing or the
   * expiry is not an ISO 8601 date-time.
   */
  accessToken?: { value: string; expiresAtMs: number };
  /** `token_file`, resolved against the working directory: the connector's own token store. */
  tokenFile?: string;
  /** Shape of relationship fields in records and discovered schemas (record-format.ts); default `ids`. */
  recordFormat: RecordFormat;
  /**
   * `detect_deletes_every_hours` in ms: how old an incremental stream's last delete check may be
   * before the next sync lists its ids again (0 = every sync; src/delete-check.ts); undefined = never.
   */
  detectDeletesEveryMs?: number;
  /**
   * Things that are allowed but most likely a mistake, each a message naming the file and field,
   * for the command to emit as WARN LOG messages: unknown top-level keys (with the closest field
   * of spec.json), a `start_date` later than now.
   */
  warnings: string[];
}

interface Spec {
  connectionSpecification: { properties: Record<string, { default?: unknown }> } & Record<string, unknown>;
}

/** The spec printed by `spec` (spec.json at the package root). */
export function loadSpec<T = Spec>(): T {
  return readResource<T>("spec.json");
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

function checkUrl(file: string, field: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not echoed when it may hold a user:password@ part.
    throw new InputError(file, field, `is not a URL${value.includes("@") ? "" : `: ${JSON.stringify(value)}`}`);
  }
  // fetch refuses such URLs (and each request would be retried); they would also print the password.
  if (url.username || url.password) throw new InputError(file, field, "must not hold a user name or password (user:password@host); the connector signs in with OAuth2 only");
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && LOOPBACK.test(url.hostname)) return url;
  throw new InputError(file, field, "must be an https:// URL (plain http is allowed only for loopback hosts)");
}

/** Reads a text file, or throws an InputError naming it. `what` is used in messages (e.g. "config"). */
export async function readTextFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // In a container running as uid 1000, a 0700 host folder of another user cannot be entered
    // (Meltano's wrapper mounts one at /tmp; airbyte-contract.md §10.2).
    const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
    const hint =
      code === "EACCES" || code === "EPERM"
        ? `: this process runs as uid ${uid ?? "?"}; make the file and its folder readable by that user (under Meltano, run it as uid 1000)`
        : "";
    throw new InputError(file, "", `cannot read the ${what} file (${code ?? String(error)})${hint}`);
  }
}

/** Reads and parses a JSON file, or throws an InputError naming it. */
export async function readJsonFile(file: string, what: string): Promise<unknown> {
  return parseJson(await readTextFile(file, what), file, what);
}

/**
 * Parses JSON text (a UTF-8 byte-order mark is ignored). The error names the problem but never
 * quotes the text around it, which may hold a secret.
 * @throws InputError naming the file
 */
export function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    const reason = (error as Error).message.replace(/,?\s*(\.\.\.)?".*$/s, "").trim();
    throw new InputError(file, "", `the ${what} file is not valid JSON (${reason})`);
  }
}

/**
 * A parsed input file with every object member whose value is `null` removed, at every depth: in
 * the config, the configured catalog and the state an explicit `null` means the member is absent.
 * Airbyte's Python hosts write unset optional fields that way (pydantic's `.json()`, used by CAT's
 * ConnectorRunner for the catalog, airbyte-contract.md §7), and so does a Meltano `airbyte_config`
 * entry left empty in YAML (§10.1). Array elements are kept (a `null` element is a value, not an
 * absent member). `special` maps a member name to the function that normalises its value instead
 * (the catalog's `json_schema`, where `"default": null` is a value).
 * @returns a new value; the input is not changed
 */
export function withoutNulls(value: unknown, special: Record<string, (v: unknown) => unknown> = {}): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutNulls(v, special));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue;
    out[key] = Object.hasOwn(special, key) ? special[key]!(v) : withoutNulls(v, special);
  }
  return out;
}

/**
 * Validates a parsed config against spec.json and resolves it. Members that are `null` count as
 * absent (withoutNulls): an optional one takes its default, a required one is "is required".
 * @param file the config file's name, for error messages
 * @throws InputError naming the file and the first offending field
 */
export function resolveConfig(parsed: unknown, file: string): ResolvedConfig {
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new InputError(file, "", "the config must be a JSON object");
  const value = withoutNulls(parsed);
  const spec = loadSpec();
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(spec.connectionSpecification);
  if (!validate(value)) {
    const e = validate.errors![0]!;
    const field =
      e.keyword === "required"
        ? String((e.params as { missingProperty: string }).missingProperty)
        : e.instancePath.replace(/^\//, "").replace(/\//g, ".");
    const descriptor = (spec.connectionSpecification.properties[field] as { pattern_descriptor?: string } | undefined)?.pattern_descriptor;
    // enum and const (also the oneOf branches of `authentication`): every value allowed at that place.
    const allowed = validate.errors!.filter((x) => x.instancePath === e.instancePath).flatMap((x) => {
      const p = x.params as { allowedValues?: unknown[]; allowedValue?: unknown };
      return x.keyword === "enum" ? (p.allowedValues ?? []) : x.keyword === "const" ? [p.allowedValue] : [];
    });
    const problem =
      e.keyword === "required"
        ? "is required"
        : e.keyword === "pattern" && descriptor
          ? `must be ${descriptor}`
          : allowed.length > 0 && (e.keyword === "enum" || e.keyword === "const")
            ? `must be one of ${[...new Set(allowed)].map((v) => JSON.stringify(v)).join(", ")}`
            : (e.message ?? "is invalid");
    throw new InputError(file, field, problem);
  }
  const raw = value as Config;
  const defaults = spec.connectionSpecification.properties;
  const pick = <T>(key: keyof Config): T => (raw[key] ?? defaults[key as string]?.default) as T;
  let startDateMs: number | undefined;
  if (raw.start_date) {
    startDateMs = parseInstant(raw.start_date);
    if (Number.isNaN(startDateMs)) throw new InputError(file, "start_date", `is not a valid date: ${raw.start_date}`);
  }
  const warnings = Object.keys(raw)
    .filter((key) => !(key in defaults))
    .map((key) => {
      const near = closest(key, Object.keys(defaults));
      const listed = Object.keys(defaults).filter((k) => !(defaults[k] as { airbyte_hidden?: boolean }).airbyte_hidden);
      return `${file}: unknown field ${JSON.stringify(key)} is ignored. ${near ? `Did you mean ${JSON.stringify(near)}?` : `Known fields: ${listed.join(", ")}.`}`;
    });
  if (startDateMs !== undefined && startDateMs > Date.now()) {
    warnings.push(`${file}: start_date ${raw.start_date} is later than now (${formatInstant(Date.now())}); streams with a cursor read no records before then.`);
  }
  const base = checkUrl(file, "base_url", pick<string>("base_url"));
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  return {
    raw,
    clientId: raw.client_id,
    clientSecret: raw.client_secret,
    refreshToken: raw.refresh_token,
    ...(raw.redirect_uri ? { redirectUri: raw.redirect_uri } : {}),
    ...(startDateMs === undefined ? {} : { startDateMs }),
    baseUrl: base,
    tokenUrl: checkUrl(file, "token_url", pick<string>("token_url")),
    pageSize: pick<number>("page_size"),
    concurrency: pick<number>("concurrency"),
    ...(raw.max_requests_per_hour ? { maxRequestsPerHour: raw.max_requests_per_hour } : {}),
    maxRateLimitWaitMs: pick<number>("max_rate_limit_wait_seconds") * 1000,
    ...accessTokenOf(raw),
    ...(raw.token_file ? { tokenFile: path.resolve(raw.token_file) } : {}),
    recordFormat: pick<RecordFormat>("record_format"),
    ...(raw.detect_deletes_every_hours === undefined ? {} : { detectDeletesEveryMs: raw.detect_deletes_every_hours * 3_600_000 }),
    warnings,
  };
}

/**
 * `access_token` with its `token_expiry_date` (ISO 8601, as the CDK writes it, e.g.
 * `2026-12-01T22:00:00.000Z` or `…+00:00`). A bare number (an `expires_in` an OAuth flow may have
 * stored there) or anything else unparseable drops the token: the connector then mints a new one.
 */
function accessTokenOf(raw: Config): Pick<ResolvedConfig, "accessToken"> {
  if (!raw.access_token || !raw.token_expiry_date || !raw.token_expiry_date.includes("T")) return {};
  const expiresAtMs = parseInstant(raw.token_expiry_date);
  return Number.isNaN(expiresAtMs) ? {} : { accessToken: { value: raw.access_token, expiresAtMs } };
}

/** Loads and resolves the config file. @throws InputError */
export async function loadConfig(file: string): Promise<ResolvedConfig> {
  return resolveConfig(await readJsonFile(file, "config"), file);
}
