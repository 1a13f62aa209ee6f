/**
 * Fault switches. Each rule matches API requests (optionally of one stream), lets `after` of them
 * pass, then fires on every `every`-th one until it has fired `times` times — so a test knows
 * exactly which request fails. Rules are evaluated after authentication, the rate budget, the
 * media type and routing succeeded (except where a kind says otherwise), in the order added.
 */
import { gatewayPage, JSONAPI, jsonReply, maintenance, serverError, type Reply } from "./errors.js";

interface Common {
  /** `api` (default): `/api/v2` requests; `token`: `POST /oauth/token` (http_error, rate_limit, connection_reset, truncated_body, latency). */
  target?: "api" | "token";
  /** Stream name (e.g. `mailings`); absent = every API request (root and single resources too). */
  stream?: string;
  /** Matching requests to let through before the rule starts firing (default 0). */
  after?: number;
  /** Fire on every k-th matching request once started (default 1 = each one). */
  every?: number;
  /** How many times to fire; default 1 for one-shot kinds, "always" for body_limit/next_loop/foreign_next/latency/ignore_upper_bound/unknown_field. */
  times?: number | "always";
}

/** One fault switch. */
export type FaultSpec = Common &
  (
    | { kind: "http_error"; status: 400 | 403 | 404 | 422 | 500 | 502 | 503 | 504; seconds?: number }
    | { kind: "rate_limit"; retryAfter?: "seconds" | "http_date" | "reset_only"; seconds?: number }
    | { kind: "connection_reset" }
    | { kind: "truncated_body" }
    | { kind: "unauthorized" }
    | { kind: "body_limit"; maxBytes: number }
    | { kind: "next_loop" }
    | { kind: "foreign_next"; origin?: string }
    | { kind: "latency"; ms: number }
    | { kind: "ignore_upper_bound" }
    | { kind: "unknown_field"; field: string }
  );

/** The fault kinds. */
export type FaultKind = FaultSpec["kind"];

/** What the faults that fired ask of the current request. */
export interface FaultDecision {
  latencyMs: number;
  /** Destroy the socket without answering. */
  reset: boolean;
  /** Answer with this instead of the data (an HTTP error or a 429). */
  reply: Reply | null;
  /** Expire every access token and answer 401 (a valid token is refused). */
  unauthorized: boolean;
  /** Send a 200 whose JSON body is cut in half. */
  truncate: boolean;
  /** Answer 502 if the page body exceeds this many bytes. */
  maxBytes: number | null;
  /** Make `links.next` the request's own URL. */
  loop: boolean;
  /** Move `links.next` onto this origin. */
  foreignOrigin: string | null;
  /** Answer as if no upper bound (`[lte]`, `a..b`) were given (outreach-api.md §5.2: it is sometimes ignored). */
  ignoreUpperBound: boolean;
  /** Names a sparse fieldset may not list: 400 `fieldsParameter.unknownResourceField` (outreach-api.md §4.4), as for an attribute the API does not know. */
  unknownFields: string[];
}

interface Rule {
  spec: FaultSpec;
  seen: number;
  fired: number;
}

const PERSISTENT: readonly FaultKind[] = ["body_limit", "next_loop", "foreign_next", "latency", "ignore_upper_bound", "unknown_field"];

/** A 429 from a fault: `Retry-After` in seconds, as an HTTP date, or absent with only `X-RateLimit-Reset`. */
function rateLimitReply(mode: "seconds" | "http_date" | "reset_only", seconds: number): Reply {
  const now = Date.now();
  const reply = jsonReply(429, { errors: [{ id: "rateLimitExceeded", title: "Rate Limit Exceeded", detail: "You have exceeded your permitted rate limit of 10,000; please try again later." }] }, JSONAPI);
  reply.headers["x-ratelimit-remaining"] = "0";
  reply.headers["x-ratelimit-reset"] = String(Math.ceil(now / 1000 + seconds));
  if (mode === "seconds") reply.headers["retry-after"] = String(seconds);
  if (mode === "http_date") reply.headers["retry-after"] = new Date(Math.ceil(now / 1000 + seconds) * 1000).toUTCString();
  return reply;
}

/** A 4xx with the JSON:API body Outreach documents for that status (outreach-api.md §7). */
function clientErrorReply(status: 400 | 403 | 404 | 422): Reply {
  const [id, title, detail] =
    status === 400 ? ["filterParameter.invalidDatetimeFormat", "Invalid Filter Datetime Format", "The filter value is not a valid datetime."]
    : status === 403 ? ["unauthorizedRequest", "Unauthorized Request", "You are not authorized to perform that request."]
    : status === 404 ? ["routeNotFound", "Route Not Found", "The request path does not match any known resource endpoints."]
    : ["validationError", "Validation Error", "The request parameters are invalid."];
  return jsonReply(status, { errors: [{ id, title, detail }] }, JSONAPI);
}

/** The active fault rules. */
export class Faults {
  private rules: Rule[] = [];

  /**
   * @param defaultForeignOrigin origin used by `foreign_next` when the rule names none
   */
  constructor(private readonly defaultForeignOrigin: string) {}

  /** Adds rules (validated); they start counting now. */
  add(specs: FaultSpec[]): void {
    for (const spec of specs) {
      if (typeof spec !== "object" || spec === null || typeof spec.kind !== "string") throw new Error("fault: object with a kind expected");
      this.rules.push({ spec, seen: 0, fired: 0 });
    }
  }

  /** Removes every rule. */
  clear(): void {
    this.rules = [];
  }

  /** The rules with how many matching requests each has seen and how often it fired. */
  list(): { spec: FaultSpec; seen: number; fired: number }[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** Counts one request (of `target`, for `stream`) against the rules and returns what the firing rules ask for. */
  evaluate(stream: string | null, target: "api" | "token" = "api"): FaultDecision {
    const d: FaultDecision = { latencyMs: 0, reset: false, reply: null, unauthorized: false, truncate: false, maxBytes: null, loop: false, foreignOrigin: null, ignoreUpperBound: false, unknownFields: [] };
    for (const r of this.rules) {
      const s = r.spec;
      if ((s.target ?? "api") !== target || (s.stream !== undefined && s.stream !== stream)) continue;
      r.seen++;
      const k = r.seen - (s.after ?? 0);
      const times = s.times ?? (PERSISTENT.includes(s.kind) ? "always" : 1);
      if (k < 1 || (k - 1) % Math.max(1, s.every ?? 1) !== 0 || (times !== "always" && r.fired >= times)) continue;
      r.fired++;
      switch (s.kind) {
        case "latency": d.latencyMs += s.ms; break;
        case "ignore_upper_bound": d.ignoreUpperBound = true; break;
        case "unknown_field": d.unknownFields.push(s.field); break;
        case "connection_reset": d.reset = true; break;
        case "unauthorized": d.unauthorized = true; break;
        case "truncated_body": d.truncate = true; break;
        case "body_limit": d.maxBytes = s.maxBytes; break;
        case "next_loop": d.loop = true; break;
        case "foreign_next": d.foreignOrigin = s.origin ?? this.defaultForeignOrigin; break;
        case "rate_limit": d.reply ??= rateLimitReply(s.retryAfter ?? "seconds", s.seconds ?? 1); break;
        case "http_error":
          d.reply ??= s.status === 503 ? maintenance(Math.ceil(Date.now() / 1000 + (s.seconds ?? 1)))
            : s.status === 500 ? serverError() : s.status === 502 || s.status === 504 ? gatewayPage(s.status) : clientErrorReply(s.status);
          break;
      }
    }
    return d;
  }
}
