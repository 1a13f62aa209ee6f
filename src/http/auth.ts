/**
 * OAuth2 refresh-token grant against Outreach's token endpoint (outreach-api.md §8).
 *
 * - One refresh in flight per process; every stream and retry waits on it (§8.3 rule 3).
 * - The access token is reused until shortly before `expires_in` (§8.2: 7200 s).
 * - Every refresh returns a new refresh token and the old one may die at once (§8.3): the new one
 *   is used for every later refresh and handed to `onRefreshToken` (which emits a CONTROL message).
 * - A throttled token endpoint (429, one mint per 60 s, §6 and §9 #10) is waited out, not hammered.
 * - `invalid_grant` / `invalid_client` are config errors: the user must re-authorize.
 */
import fetch from "node-fetch";
import { AuthError, ConnectorError } from "../errors.js";
import { backoffMs, type Clock } from "./clock.js";

/** Successful token endpoint response (§8.2). `expires_in` is in seconds. */
interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  created_at?: number;
}

/** What the token source needs. */
export interface OAuthOptions {
  tokenUrl: URL;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  redirectUri?: string;
  clock: Clock;
  /** Called (and awaited) with each new refresh token, before it is used. */
  onRefreshToken: (refreshToken: string) => Promise<void>;
  /** Called with each new secret (access and refresh tokens) so output can mask it. */
  onSecret: (secret: string) => void;
  /** Diagnostics for people (LOG messages). */
  log: (message: string) => void;
  /** Longest wait for a throttled token endpoint, ms. */
  maxWaitMs: number;
  signal?: AbortSignal;
  /** Wait after a token-endpoint 429 without Retry-After, ms (Outreach mints once per 60 s). Default 60 000. */
  throttleWaitMs?: number;
}

const MAX_ATTEMPTS = 5;

/** Supplies access tokens, refreshing them as needed. */
export class OAuthTokens {
  private token: { value: string; refreshAtMs: number } | undefined;
  private inFlight: Promise<string> | undefined;
  private refreshToken: string;
  /** Set once the token endpoint refused the credentials: later calls fail at once, without a request. */
  private refused: AuthError | undefined;
  /** Scopes the last token response granted (space-separated in the response), if it said. */
  grantedScopes: string[] | undefined;

  constructor(private readonly options: OAuthOptions) {
    this.refreshToken = options.refreshToken;
  }

  /** A valid access token, refreshing first when it expires soon. */
  async accessToken(): Promise<string> {
    if (this.token && this.options.clock.now() < this.token.refreshAtMs) return this.token.value;
    return this.refresh();
  }

  /**
   * After a 401 for `rejected`: a fresh token (refreshing once, shared by every caller that saw the
   * same rejected token).
   */
  async renew(rejected: string): Promise<string> {
    if (this.token && this.token.value !== rejected) return this.token.value;
    this.token = undefined;
    return this.refresh();
  }

  private refresh(): Promise<string> {
    if (this.refused) return Promise.reject(this.refused);
    this.inFlight ??= this.mint().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async mint(): Promise<string> {
    const { clock, tokenUrl } = this.options;
    for (let attempt = 0; ; attempt++) {
      const body = new URLSearchParams({
        grant_type: "refresh_token",
        client_id: this.options.clientId,
        client_secret: this.options.clientSecret,
        refresh_token: this.refreshToken,
        ...(this.options.redirectUri ? { redirect_uri: this.options.redirectUri } : {}),
      });
      let status: number;
      let text: string;
      let retryAfter: string | null = null;
      try {
        const response = await fetch(tokenUrl.href, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
          body: body.toString(),
          signal: AbortSignal.timeout(60_000),
        });
        status = response.status;
        text = await response.text();
        retryAfter = response.headers.get("retry-after");
      } catch (error) {
        if (attempt + 1 >= MAX_ATTEMPTS) {
          throw new ConnectorError(
            `Cannot reach the Outreach token endpoint ${tokenUrl.origin}: ${(error as Error).message}. Check token_url and the network.`,
            "transient_error",
          );
        }
        await clock.sleep(backoffMs(attempt), this.options.signal);
        continue;
      }
      if (status === 200) return this.accept(text);
      if (status === 429) {
        const waitMs = retryAfterMs(retryAfter, clock.now()) ?? this.options.throttleWaitMs ?? 60_000;
        if (waitMs > this.options.maxWaitMs || attempt + 1 >= MAX_ATTEMPTS) {
          throw new ConnectorError("The Outreach token endpoint keeps refusing new tokens (429 Retry later).", "transient_error");
        }
        this.options.log(`Token endpoint throttled (429); waiting ${Math.round(waitMs / 1000)} s before minting again.`);
        await clock.sleep(waitMs, this.options.signal);
        continue;
      }
      const error = oauthError(text);
      if (status === 400 || status === 401 || error === "invalid_grant" || error === "invalid_client") {
        const what =
          error === "invalid_client"
            ? "the client_id / client_secret pair (invalid_client)"
            : `the refresh token (${error ?? `HTTP ${status}`})`;
        this.refused = new AuthError(
          `Outreach rejected ${what}. Re-authorize the connection to get a new refresh token, and check client_id and client_secret.`,
          `token endpoint answered ${status}: ${text.slice(0, 300)}`,
        );
        throw this.refused;
      }
      if (attempt + 1 >= MAX_ATTEMPTS) {
        throw new ConnectorError(`The Outreach token endpoint failed with HTTP ${status}.`, "transient_error", text.slice(0, 300));
      }
      await clock.sleep(backoffMs(attempt), this.options.signal);
    }
  }

  private async accept(text: string): Promise<string> {
    let parsed: TokenResponse;
    try {
      parsed = JSON.parse(text) as TokenResponse;
    } catch {
      throw new ConnectorError("The Outreach token endpoint answered 200 with a body that is not JSON.", "transient_error");
    }
    if (typeof parsed.access_token !== "string" || parsed.access_token === "") {
      throw new ConnectorError("The Outreach token endpoint answered without an access_token.", "system_error");
    }
    this.options.onSecret(parsed.access_token);
    if (typeof parsed.refresh_token === "string" && parsed.refresh_token !== "" && parsed.refresh_token !== this.refreshToken) {
      this.options.onSecret(parsed.refresh_token);
      this.refreshToken = parsed.refresh_token;
      await this.options.onRefreshToken(parsed.refresh_token);
    }
    if (typeof parsed.scope === "string") this.grantedScopes = parsed.scope.split(/[\s,]+/).filter(Boolean);
    const lifetimeMs = (typeof parsed.expires_in === "number" && parsed.expires_in > 0 ? parsed.expires_in : 7200) * 1000;
    // Refresh a little early: 10 % of the lifetime, at most 5 minutes.
    const marginMs = Math.min(300_000, lifetimeMs / 10);
    this.token = { value: parsed.access_token, refreshAtMs: this.options.clock.now() + lifetimeMs - marginMs };
    return parsed.access_token;
  }
}

function oauthError(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    return typeof body.error === "string" ? body.error : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds to wait from a `Retry-After` value: delta seconds, an HTTP date or an ISO timestamp
 * (Outreach's 503 maintenance uses ISO; outreach-api.md §7). Undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(/\d{2}:\d{2}(:\d{2})?(\.\d+)?$/.test(v) && /^\d{4}-/.test(v) ? `${v}Z` : v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
