/**
 * Error responses of the replica, shaped like Outreach's (outreach-api.md §7): JSON:API envelopes
 * `{"errors":[{"id","title","detail"}]}` for the API, gateway-style `application/json` bodies for
 * authentication failures, and the bodies recorded in the AMP samples where they exist.
 */

/** A response the replica sends instead of data: status, headers and body text. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** JSON:API media type of Outreach responses. */
export const JSONAPI = "application/vnd.api+json";

/** Thrown by request handling to answer with a JSON:API error document. */
export class ApiError extends Error {
  /**
   * @param status HTTP status
   * @param code the error `id` (a stable camelCase code)
   * @param title the error title
   * @param detail human-readable detail
   * @param source optional JSON:API `source` (e.g. `{parameter: "sort"}`)
   */
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly source?: Record<string, string>,
  ) {
    super(`${status} ${code}: ${detail}`);
  }

  /** The JSON:API error document for this error. */
  reply(): Reply {
    const err: Record<string, unknown> = { id: this.code, title: this.title, detail: this.detail };
    if (this.source) err.source = this.source;
    return jsonReply(this.status, { errors: [err] }, JSONAPI);
  }
}

/** A JSON reply with the given media type. */
export function jsonReply(status: number, body: unknown, type = "application/json"): Reply {
  return { status, headers: { "content-type": type }, body: JSON.stringify(body) };
}

/** 404 for an unknown path (error_404_routeNotFound.json). */
export function routeNotFound(): ApiError {
  return new ApiError(404, "routeNotFound", "Route Not Found", "The request path does not match any known resource endpoints.");
}

/** 404 for an unknown id (resourceNotFound, AE-ERR). */
export function resourceNotFound(type: string, id: string): ApiError {
  return new ApiError(404, "resourceNotFound", "Resource Not Found", `Could not find '${type}' with ID '${id}'.`);
}

/** 403 for a missing scope (error_403_unauthorizedOauthScope.json). */
export function missingScope(scope: string): ApiError {
  return new ApiError(403, "unauthorizedOauthScope", "Unauthorized OAuth Scope", `Your authorization does not include the required scope '${scope}'.`);
}

/**
 * 415 for a missing or wrong Content-Type. Outreach documents the text field as `details`
 * (not `detail`), so this body is built by hand.
 */
export function unsupportedMediaType(sent: string | undefined): Reply {
  const details = `All requests must use the '${JSONAPI}' Content-Type. This request specified '${sent ?? ""}'.`;
  return jsonReply(415, { errors: [{ id: "unsupportedMediaType", title: "Unsupported Media Type", details }] }, JSONAPI);
}

/** 401 from the gateway when no Authorization header is sent (PROBE). */
export function noAuthorization(): Reply {
  return jsonReply(401, { error: "No Authorization header.", description: "Requests must carry 'Authorization: Bearer <access token>'." });
}

/** 401 from the gateway for a token that is not a JWT we issued (PROBE). */
export function invalidJwt(): Reply {
  return jsonReply(401, { error: "Invalid JWT token.", description: "The JWT token could not be decoded." });
}

/**
 * 401 for an expired (or force-expired) token. GUESS: Outreach does not publish this body; the
 * replica answers in the gateway's style, and adds the `expiredAccessToken` code one old tap
 * looked for (outreach-api.md §7).
 */
export function expiredJwt(): Reply {
  return jsonReply(401, { error: "Expired JWT token.", description: "The JWT token has expired.", code: "expiredAccessToken" });
}

/** 429 when the hourly budget is spent (AE-ERR): the detail names the limit and a zone-less ISO retry time. */
export function rateLimitExceeded(limit: number, resetSec: number): Reply {
  const at = new Date(resetSec * 1000).toISOString().slice(0, 19);
  const detail = `You have exceeded your permitted rate limit of ${limit.toLocaleString("en-US")}; please try again at ${at}.`;
  return jsonReply(429, { errors: [{ id: "rateLimitExceeded", title: "Rate Limit Exceeded", detail }] }, JSONAPI);
}

/** 503 during planned maintenance (AE-ERR), with `Retry-After` as an ISO timestamp. */
export function maintenance(untilSec: number): Reply {
  const reply = jsonReply(503, {
    errors: [{ id: "scheduledServerMaintenance", title: "Scheduled Server Maintenance", detail: "The API is down for scheduled maintenance; please try again later." }],
  }, JSONAPI);
  reply.headers["retry-after"] = new Date(untilSec * 1000).toISOString();
  return reply;
}

/** A gateway-style HTML error page (502 Bad Gateway, 504 Gateway Timeout); GUESS at the body. */
export function gatewayPage(status: 502 | 504): Reply {
  const text = status === 502 ? "502 Bad Gateway" : "504 Gateway Time-out";
  return { status, headers: { "content-type": "text/html" }, body: `<html><head><title>${text}</title></head><body><center><h1>${text}</h1></center></body></html>\n` };
}

/** A 500 with a JSON:API body; GUESS at the body. */
export function serverError(): Reply {
  return new ApiError(500, "internalServerError", "Internal Server Error", "An unexpected error occurred.").reply();
}
