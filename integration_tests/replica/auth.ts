/**
 * OAuth2 of the replica (outreach-api.md §8): the refresh-token grant at `POST /oauth/token`
 * (form-encoded or JSON body, client credentials in the body or HTTP Basic), rotating refresh
 * tokens, JWT-shaped access tokens checked on every API request, and the failure modes
 * (invalid_client, invalid_grant, throttled mints, expiry, revocation).
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { expiredJwt, invalidJwt, jsonReply, noAuthorization, type Reply } from "./errors.js";

/** Settings of the token server; all can be changed at run time. */
export interface AuthSettings {
  /** `expires_in` of new access tokens, seconds (default 7200). */
  tokenLifetimeSec: number;
  /** Whether a refresh token dies once used (default true; outreach-api.md §8.3 account A). */
  rotateRefreshTokens: boolean;
  /** Minimum seconds between two mints; a faster mint gets 429 "Retry later" (default 0; Outreach: 60). */
  minMintIntervalSec: number;
  /** Scopes granted to the app (default: every `.read` scope of the stream table). */
  scopes: string[];
}

/** The result of checking a request's bearer token. */
export type TokenCheck = { ok: true; jti: string } | { ok: false; reply: Reply };

interface AccessToken {
  exp: number;
  forced: boolean;
}

const b64url = (s: string | Buffer): string => Buffer.from(s).toString("base64url");

/** Token server state: client credentials, valid refresh tokens, issued access tokens. */
export class Auth {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly initialRefreshToken: string;
  settings: AuthSettings;
  private readonly key: Buffer;
  private refresh: string[] = [];
  private access = new Map<string, AccessToken>();
  private lastMintMs = -Infinity;
  private serial = 0;

  /**
   * @param seed makes the client credentials and the first refresh token deterministic
   * @param settings initial settings
   */
  constructor(seed: number, private readonly initial: AuthSettings) {
    const derive = (what: string): string => createHash("sha256").update(`outreach-replica:${seed}:${what}`).digest("base64url");
    this.clientId = `replica-${derive("client-id").slice(0, 20)}`;
    this.clientSecret = derive("client-secret");
    this.initialRefreshToken = derive("refresh-token-0");
    this.key = Buffer.from(derive("jwt-key"));
    this.settings = { ...initial, scopes: [...initial.scopes] };
    this.refresh = [this.initialRefreshToken];
  }

  /** The refresh tokens that are currently valid, oldest first. */
  validRefreshTokens(): string[] {
    return [...this.refresh];
  }

  /** Restores the initial settings and refresh token; access tokens issued so far stay valid. */
  reset(): void {
    this.settings = { ...this.initial, scopes: [...this.initial.scopes] };
    this.refresh = [this.initialRefreshToken];
    this.lastMintMs = -Infinity;
  }

  /** Revokes every refresh token: the next refresh gets 400 invalid_grant. */
  revokeRefreshTokens(): void {
    this.refresh = [];
  }

  /** Marks every access token issued so far as expired (the next request with one gets 401). */
  expireAccessTokens(): void {
    for (const t of this.access.values()) t.forced = true;
  }

  /** Mints an access token directly (no HTTP, no throttle, no refresh token spent or created). */
  issueAccessToken(): { access_token: string; expires_in: number } {
    const { access_token, expires_in } = this.mint(false);
    return { access_token, expires_in };
  }

  /** Mints a token pair as the token endpoint does; `withRefresh` registers a new refresh token. */
  private mint(withRefresh = true): { access_token: string; token_type: "bearer"; expires_in: number; refresh_token: string; scope: string; created_at: number } {
    const now = Math.floor(Date.now() / 1000);
    const jti = `${now.toString(36)}.${(++this.serial).toString(36)}`;
    const exp = Math.ceil(now + this.settings.tokenLifetimeSec);
    const head = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify({ iss: "outreach-replica", sub: "1", aud: "api", iat: now, exp, jti }))}`;
    this.access.set(jti, { exp: Date.now() + this.settings.tokenLifetimeSec * 1000, forced: false });
    const refresh = randomBytes(32).toString("base64url");
    if (withRefresh) this.refresh.push(refresh);
    if (this.refresh.length > 100) this.refresh.shift();
    return {
      access_token: `${head}.${createHmac("sha256", this.key).update(head).digest("base64url")}`,
      token_type: "bearer",
      expires_in: this.settings.tokenLifetimeSec,
      refresh_token: refresh,
      scope: this.settings.scopes.join(" "),
      created_at: now,
    };
  }

  /**
   * Answers `POST /oauth/token`.
   *
   * @param contentType the request's Content-Type
   * @param body the raw body
   * @param authorization the Authorization header (HTTP Basic client credentials are accepted)
   * @returns the reply and the parsed form (for the request log)
   */
  token(contentType: string | undefined, body: string, authorization: string | undefined): { reply: Reply; form: Record<string, string> } {
    let form: Record<string, string> = {};
    try {
      if ((contentType ?? "").includes("json")) {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        for (const [k, v] of Object.entries(parsed)) form[k] = String(v);
      } else form = Object.fromEntries(new URLSearchParams(body));
    } catch {
      return { reply: jsonReply(400, { error: "invalid_request", error_description: "The request body could not be parsed." }), form };
    }
    const basic = /^Basic\s+(.+)$/i.exec(authorization ?? "");
    if (basic) {
      const [id, ...secret] = Buffer.from(basic[1] as string, "base64").toString("utf8").split(":");
      form.client_id ??= decodeURIComponent(id ?? "");
      form.client_secret ??= decodeURIComponent(secret.join(":"));
    }
    if (form.grant_type !== "refresh_token") {
      return { reply: jsonReply(400, { error: "unsupported_grant_type", error_description: "The authorization grant type is not supported by the authorization server." }), form };
    }
    if (form.client_id !== this.clientId || form.client_secret !== this.clientSecret) {
      return { reply: jsonReply(401, { error: "invalid_client", error_description: "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method." }), form };
    }
    const used = form.refresh_token ?? "";
    if (!this.refresh.includes(used)) {
      return { reply: jsonReply(400, { error: "invalid_grant", error_description: "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client." }), form };
    }
    if (Date.now() - this.lastMintMs < this.settings.minMintIntervalSec * 1000) {
      // GUESS: the observed body is plain "Retry later" (JELLY); whether Outreach sends Retry-After
      // here is unknown. The replica says how many seconds remain of the mint interval.
      const retryAfter = String(Math.max(1, Math.ceil((this.lastMintMs + this.settings.minMintIntervalSec * 1000 - Date.now()) / 1000)));
      return { reply: { status: 429, headers: { "content-type": "text/plain", "retry-after": retryAfter }, body: "Retry later" }, form };
    }
    this.lastMintMs = Date.now();
    if (this.settings.rotateRefreshTokens) this.refresh = this.refresh.filter((t) => t !== used);
    return { reply: jsonReply(200, this.mint()), form };
  }

  /** Checks the bearer token of an API request (before anything else about the request). */
  check(authorization: string | undefined): TokenCheck {
    if (!authorization) return { ok: false, reply: noAuthorization() };
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    const parts = m ? (m[1] as string).split(".") : [];
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return { ok: false, reply: invalidJwt() };
    const head = `${parts[0]}.${parts[1]}`;
    if (createHmac("sha256", this.key).update(head).digest("base64url") !== parts[2]) return { ok: false, reply: invalidJwt() };
    let jti: string;
    try {
      jti = String((JSON.parse(Buffer.from(parts[1] as string, "base64url").toString("utf8")) as { jti?: unknown }).jti);
    } catch {
      return { ok: false, reply: invalidJwt() };
    }
    const t = this.access.get(jti);
    if (!t) return { ok: false, reply: invalidJwt() };
    if (t.forced || Date.now() >= t.exp) return { ok: false, reply: expiredJwt() };
    return { ok: true, jti };
  }
}
