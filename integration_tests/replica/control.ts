/**
 * The control surface: in-process methods (`Control`) and the same features over HTTP under
 * `/__control/` (no auth). Tests use it to add and update records, list ids, switch faults and
 * change auth or rate-limit settings.
 */
import type { Auth, AuthSettings } from "./auth.js";
import type { Dataset, StreamData } from "./data.js";
import { jsonReply, type Reply } from "./errors.js";
import type { Faults, FaultSpec } from "./faults.js";
import type { RateLimiter } from "./ratelimit.js";
import type { RequestLog } from "./requestlog.js";

/** A JSON:API resource object as returned by the control methods. */
export type Resource = { type: string; id: number; attributes?: Record<string, unknown>; relationships?: Record<string, unknown>; links?: { self: string } };

/** Settings that can be changed at run time (`Control.settings`, `POST /__control/settings`). */
export interface RuntimeSettings extends AuthSettings {
  /** Extra delay before every API and token response, ms. */
  latencyMs: number;
  /** Requests per rate window. */
  rateBudget: number;
  /** Rate window length in seconds (3600: clock hours). */
  rateWindowSec: number;
}

/** The replica's parts the control surface drives. */
export interface ReplicaParts {
  data: Dataset;
  auth: Auth;
  faults: Faults;
  rate: RateLimiter;
  log: RequestLog;
  latency: { ms: number };
  initial: { latencyMs: number; rateBudget: number; rateWindowSec: number };
}

const UPDATE_CANDIDATES = ["name", "title", "subject", "message", "note", "description", "body", "displayName", "role"];

/** In-process control API of a replica. */
export class Control {
  private updates = 0;

  constructor(private readonly parts: ReplicaParts) {}

  private stream(name: string): StreamData {
    const s = this.parts.data.streams.get(name);
    if (!s) throw new Error(`unknown stream '${name}'`);
    return s;
  }

  /** Adds `count` new records (default 1) to a stream, newer than every existing one; returns them. */
  addRecords(stream: string, options: { count?: number; attributes?: Record<string, unknown> } = {}): Resource[] {
    const sd = this.stream(stream);
    const indices = Array.from({ length: options.count ?? 1 }, (_, k) => sd.nextIndex(k));
    sd.apply(indices, toTexts(options.attributes), this.parts.data.bump());
    return indices.map((i) => JSON.parse(sd.render(i)) as Resource);
  }

  /**
   * Updates records: bumps their cursor (all to one new second, later than every existing value)
   * and changes `attributes` — by default a text attribute such as `name` gets "… (updated N)".
   */
  updateRecords(stream: string, ids: number[], attributes?: Record<string, unknown>): Resource[] {
    const sd = this.stream(stream);
    const indices = ids.map((id) => {
      const i = sd.indexOf(id);
      if (i < 0) throw new Error(`${stream}: no record with id ${id}`);
      return i;
    });
    this.updates++;
    let attrs = attributes;
    if (!attrs) {
      const name = UPDATE_CANDIDATES.find((n) => sd.gen.attrs.some((a) => a.name === n && a.kind === "string"));
      attrs = name ? { [name]: `Updated record (update ${this.updates})` } : {};
    }
    sd.apply(indices, toTexts(attrs), this.parts.data.bump());
    return indices.map((i) => JSON.parse(sd.render(i)) as Resource);
  }

  /**
   * Deletes records for good (as a user deleting them in Outreach: they stop appearing in every
   * collection, no trace is left, their ids are not reused). Returns the ids deleted.
   * @throws Error for an id the stream does not hold (or no longer holds)
   */
  deleteRecords(stream: string, ids: number[]): number[] {
    const sd = this.stream(stream);
    const indices = ids.map((id) => {
      const i = sd.indexOf(id);
      if (i < 0) throw new Error(`${stream}: no record with id ${id}`);
      return i;
    });
    sd.delete(indices);
    return ids;
  }

  /** Every id of a stream (ascending), or only the count when the stream holds more than 200,000 records. */
  listIds(stream: string): { count: number; ids?: number[] } {
    const sd = this.stream(stream);
    const count = sd.live();
    return count > 200_000 ? { count } : { count, ids: sd.ids() };
  }

  /** Restores the start state: data, faults, settings, refresh tokens, rate window, request log. */
  reset(): void {
    const p = this.parts;
    p.data.reset();
    p.faults.clear();
    p.auth.reset();
    p.rate.budget = p.initial.rateBudget;
    p.rate.windowSec = p.initial.rateWindowSec;
    p.rate.reset();
    p.latency.ms = p.initial.latencyMs;
    p.log.clear();
  }

  /** Adds fault rules (see faults.ts). */
  addFaults(...specs: FaultSpec[]): void {
    this.parts.faults.add(specs);
  }

  /** Removes every fault rule. */
  clearFaults(): void {
    this.parts.faults.clear();
  }

  /** The fault rules with their counters. */
  faults(): ReturnType<Faults["list"]> {
    return this.parts.faults.list();
  }

  /** Current run-time settings. */
  settings(): RuntimeSettings {
    const p = this.parts;
    return { ...p.auth.settings, latencyMs: p.latency.ms, rateBudget: p.rate.budget, rateWindowSec: p.rate.windowSec };
  }

  /** Changes run-time settings (token lifetime, mint interval, rotation, scopes, latency, rate budget/window). */
  set(changes: Partial<RuntimeSettings>): RuntimeSettings {
    const p = this.parts;
    const { latencyMs, rateBudget, rateWindowSec, ...auth } = changes;
    p.auth.settings = { ...p.auth.settings, ...auth };
    if (latencyMs !== undefined) p.latency.ms = latencyMs;
    if (rateBudget !== undefined) p.rate.budget = rateBudget;
    if (rateWindowSec !== undefined) p.rate.windowSec = rateWindowSec;
    return this.settings();
  }

  /** Revokes every refresh token (the next refresh gets 400 invalid_grant). */
  revokeRefreshTokens(): void {
    this.parts.auth.revokeRefreshTokens();
  }

  /** Expires every access token issued so far (the next API request with one gets 401). */
  expireAccessTokens(): void {
    this.parts.auth.expireAccessTokens();
  }

  /** Mints an access token without the token endpoint (no throttle; refresh tokens untouched). */
  issueAccessToken(): { access_token: string; expires_in: number } {
    return this.parts.auth.issueAccessToken();
  }

  /** Client credentials and the refresh tokens valid now. */
  credentials(): { clientId: string; clientSecret: string; refreshTokens: string[] } {
    const a = this.parts.auth;
    return { clientId: a.clientId, clientSecret: a.clientSecret, refreshTokens: a.validRefreshTokens() };
  }

  /**
   * Serves `/__control/…`.
   *
   * @param method HTTP method
   * @param path path below `/__control`
   * @param body parsed JSON body (or undefined)
   */
  http(method: string, path: string, body: unknown): Reply {
    const b = (body ?? {}) as Record<string, unknown>;
    const ok = (v: unknown): Reply => jsonReply(200, v ?? { ok: true });
    try {
      const m = /^\/streams\/([a-z_]+)\/(records|updates|ids|deletions)$/.exec(path);
      if (m) {
        const [, stream, what] = m as unknown as [string, string, string];
        if (what === "ids" && method === "GET") return ok(this.listIds(stream));
        if (what === "records" && method === "POST") return ok({ data: this.addRecords(stream, b as { count?: number; attributes?: Record<string, unknown> }) });
        if (what === "deletions" && method === "POST") return ok({ deleted: this.deleteRecords(stream, (b.ids ?? []) as number[]) });
        if (what === "updates" && method === "POST") return ok({ data: this.updateRecords(stream, (b.ids ?? []) as number[], b.attributes as Record<string, unknown> | undefined) });
      }
      const route = `${method} ${path}`;
      switch (route) {
        case "GET /credentials": return ok(this.credentials());
        case "POST /reset": this.reset(); return ok(null);
        case "GET /faults": return ok(this.faults());
        case "POST /faults": this.addFaults(...((Array.isArray(body) ? body : Array.isArray(b.faults) ? b.faults : [b]) as FaultSpec[])); return ok(this.faults());
        case "DELETE /faults": this.clearFaults(); return ok(null);
        case "GET /settings": return ok(this.settings());
        case "POST /settings": return ok(this.set(b as Partial<RuntimeSettings>));
        case "POST /refresh-tokens/revoke": this.revokeRefreshTokens(); return ok(null);
        case "POST /access-tokens/expire": this.expireAccessTokens(); return ok(null);
        case "POST /access-tokens": return ok(this.issueAccessToken());
        case "GET /requests": return ok(this.parts.log.snapshot());
        case "DELETE /requests": this.parts.log.clear(); return ok(null);
      }
      return jsonReply(404, { error: `no control route ${route}` });
    } catch (e) {
      return jsonReply(400, { error: e instanceof Error ? e.message : String(e) });
    }
  }
}

function toTexts(attrs: Record<string, unknown> | undefined): Map<string, string> {
  return new Map(Object.entries(attrs ?? {}).map(([k, v]) => [k, JSON.stringify(v ?? null)]));
}
