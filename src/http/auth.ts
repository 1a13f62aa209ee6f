/**
 * OAuth2 refresh-token grant against Outreach's token endpoint (outreach-api.md §8).
 *
 * - One refresh in flight per process; every stream and retry waits on it (§8.3 rule 3).
 * - The access token is reused until shortly before `expires_in` (§8.2: 7200 s).
 * - An access token from an earlier run (the config's `access_token`, or the token store's) with
 *   more than 5 minutes left is used without minting (§8.3 rule 4): `check` then `read` mint once.
 * - Every refresh returns a new refresh token and the old one may die at once (§8.3): the new one
 *   is used for every later refresh and handed to `onTokens` (which emits a CONTROL message) and to
 *   the token store, if any. A mint runs under the store's lock after re-reading it, so two runs
 *   sharing a store never spend the same refresh token: the later one adopts the other's tokens.
 * - A throttled token endpoint (429, one mint per 60 s, §6 and §9 #10) is waited out, not hammered:
 *   as long as `Retry-After` says, else until 60 s after the last mint.
 * - `invalid_grant` / `invalid_client` are config errors: the user must re-authorize.
 * - An unreachable token_url (refused, unknown host, TLS failure) is tried three times in about
 *   3 s, then an UnreachableError names it (network.ts); other network errors and 5xx get 5 attempts.
 */
import fetch from "node-fetch";
import { AuthError, ConnectorError } from "../errors.js";
import { requestEvent, type RunEvents } from "../events.js";
import { backoffMs, withTimeout, type Clock } from "./clock.js";
import { UNREACHABLE_DELAYS_MS, UnreachableError, unreachable } from "./network.js";
import { retryAfterMs } from "./rate-limit.js";
import { afterMint, descendsFrom, type StoredTokens, type TokenSet, type TokenStore } from "./token-store.js";


/** Successful token endpoint response (§8.2). `expires_in` is in seconds. */
interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number | string;
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
  /** An access token of an earlier run (`expiresAtMs`: epoch ms UTC), used while it has over 5 minutes left. */
  accessToken?: { value: string; expiresAtMs: number };
  /** Keeps minted tokens between runs (`token_file`); read before the first token is needed. */
  store?: TokenStore;
  clock: Clock;
  /**
   * Called (and awaited) after each mint, and when the store held newer tokens than the config,
   * before the tokens are used.
   */
  onTokens: (tokens: TokenSet) => Promise<void>;
  /** Called with each new secret (access and refresh tokens) so output can mask it. */
  onSecret: (secret: string) => void;
  /** Diagnostics for people (LOG messages). */
  log: (message: string) => void;
  /** Longest wait for a throttled token endpoint, ms. */
  maxWaitMs: number;
  signal?: AbortSignal;
  /**
   * Outreach mints one token per user and app per this many ms (§6: 60 s). After a 429 without
   * `Retry-After` the source waits until that long after its own last mint (or that long, when it
   * has not minted yet). Default 60 000.
   */
  minMintIntervalMs?: number;
  /** Base of the full-jitter backoff for 5xx and network errors of the token endpoint, ms. Default 500. */
  backoffBaseMs?: number;
  /** Per-request timeout, ms. Default 60 000. */
  timeoutMs?: number;
  /** Where `request` events go (method POST, no stream). */
  events?: RunEvents;
}

/** Error codes of an OAuth2 token endpoint (RFC 6749 §5.2). */
const OAUTH_ERRORS = new Set(["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope"]);

/** Attempts per refresh for network errors and 5xx of the token endpoint. */
const MAX_ATTEMPTS = 5;
/** 429 answers one refresh waits out before giving up. */
const MAX_THROTTLED = 5;

/**
 * How long before expiry a token is replaced: a tenth of its lifetime, at least half of it up to
 * 30 s (so 2-second test tokens are replaced after one second), at most 5 minutes.
 */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(REUSE_MARGIN_MS, Math.max(lifetimeMs / 10, Math.min(lifetimeMs / 2, 30_000)));
}

/** An access token of an earlier run is reused only while it has more than this left (5 minutes). */
export const REUSE_MARGIN_MS = 300_000;

/** Supplies access tokens, refreshing them as needed. */
export class OAuthTokens {
  private token: { value: string; refreshAtMs: number; expiresAtMs: number } | undefined;
  private inFlight: Promise<string> | undefined;
  private refreshToken: string;
  /** Set once the store was read (the first time a token is needed). */
  private opened: Promise<void> | undefined;
  private lastMintMs: number | undefined;
  /** Set once the token endpoint refused the credentials: later calls fail at once, without a request. */
  private refused: AuthError | undefined;
  /** Scopes the last token response granted (space-separated in the response), if it said. */
  grantedScopes: string[] | undefined;
  /** Successful mints so far. */
  mints = 0;

  constructor(private readonly options: OAuthOptions) {
    this.refreshToken = options.refreshToken;
    if (options.accessToken) this.token = reused(options.accessToken.value, options.accessToken.expiresAtMs);
  }

  /**
   * A valid access token, refreshing first when it expires soon.
   * @throws InputError when the token store cannot be read or written; AuthError when the
   *   credentials are refused; ConnectorError (transient) when the token endpoint keeps failing
   */
  async accessToken(): Promise<string> {
    await (this.opened ??= this.openStore());
    if (this.token && this.options.clock.now() < this.token.refreshAtMs) return this.token.value;
    return this.refresh();
  }

  /** Adopts the store's tokens when they descend from the config's refresh token (are newer). */
  private async openStore(): Promise<void> {
    const stored = await this.options.store?.open();
    if (stored && this.adopt(stored)) await this.options.onTokens(stored);
  }

  /**
   * Takes over stored tokens that are newer than the ones in hand: a later link of the same refresh
   * token lineage, or the same refresh token with another, later access token (not `rejected`).
   * Returns whether it did.
   */
  private adopt(stored: StoredTokens, rejected?: string): boolean {
    const newer =
      stored.refreshToken === this.refreshToken
        ? stored.accessToken !== rejected && stored.expiresAtMs > (this.token?.expiresAtMs ?? -Infinity)
        : descendsFrom(stored, this.refreshToken);
    if (!newer) return false;
    this.options.onSecret(stored.accessToken);
    this.options.onSecret(stored.refreshToken);
    this.refreshToken = stored.refreshToken;
    this.token = reused(stored.accessToken, stored.expiresAtMs);
    return true;
  }

  /**
   * After a 401 for `rejected`: a fresh token. Callers that saw the same rejected token share one
   * refresh; a caller whose token was already replaced gets the new one without a refresh.
   */
  async renew(rejected: string): Promise<string> {
    if (this.inFlight) return this.inFlight;
    if (this.token && this.token.value !== rejected) return this.token.value;
    this.token = undefined;
    return this.refresh(rejected);
  }

  /**
   * Without a store: mints. With one: under its lock, first takes over what another run stored
   * meanwhile (its access token when still good and not `rejected`), else mints and stores.
   */
  private async mintOrAdopt(rejected?: string): Promise<string> {
    const store = this.options.store;
    if (!store) return this.mint();
    return store.transaction(async (stored) => {
      if (stored && this.adopt(stored, rejected)) {
        await this.options.onTokens(stored);
        if (this.token && this.token.value !== rejected && this.options.clock.now() < this.token.refreshAtMs) return { result: this.token.value };
        this.token = undefined;
      }
      const used = this.refreshToken;
      const value = await this.mint();
      return { result: value, save: afterMint(stored, used, { refreshToken: this.refreshToken, accessToken: value, expiresAtMs: this.token!.expiresAtMs }) };
    });
  }

  private refresh(rejected?: string): Promise<string> {
    if (this.refused) return Promise.reject(this.refused);
    this.inFlight ??= this.mintOrAdopt(rejected).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async mint(): Promise<string> {
    const { clock, tokenUrl, signal } = this.options;
    const interval = this.options.minMintIntervalMs ?? 60_000;
    let failures = 0;
    let throttled = 0;
    let unanswered = 0;
    for (;;) {
      signal?.throwIfAborted();
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
      const startedMs = performance.now();
      const request = { method: "POST", path: tokenUrl.pathname } as const;
      try {
        [status, text, retryAfter] = await withTimeout(this.options.timeoutMs ?? 60_000, signal, async (timeoutSignal) => {
          const response = await fetch(tokenUrl.href, {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
            body: body.toString(),
            signal: timeoutSignal,
            redirect: "manual",
          });
          return [response.status, await response.text(), response.headers.get("retry-after")] as const;
        });
        this.options.events?.emit("request", requestEvent(request, startedMs, status, text));
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error;
        this.options.events?.emit("request", requestEvent(request, startedMs));
        const cause = unreachable(error);
        if (cause) {
          // Refused, unknown host, TLS failure: a few seconds of retries, not minutes (network.ts).
          if (unanswered >= UNREACHABLE_DELAYS_MS.length) throw new UnreachableError("token_url", tokenUrl, cause, unanswered + 1);
          const delayMs = UNREACHABLE_DELAYS_MS[unanswered++]!;
          this.options.log(`Retrying the token request in ${(delayMs / 1000).toFixed(1)} s (attempt ${unanswered + 1} of ${UNREACHABLE_DELAYS_MS.length + 1}): cannot reach token_url: ${cause.what}`);
          await clock.sleep(delayMs, signal);
          continue;
        }
        if (++failures >= MAX_ATTEMPTS) {
          throw new ConnectorError(
            `Cannot reach the Outreach token endpoint ${tokenUrl.origin}: ${(error as Error).message}. Check token_url and the network.`,
            "transient_error",
          );
        }
        await clock.sleep(backoffMs(failures - 1, this.options.backoffBaseMs ?? 500), signal);
        continue;
      }
      if (status === 200) {
        const parsed = parseJson(text);
        if (parsed !== undefined) return this.accept(parsed);
        // A cut or garbled body: the new refresh token in it is lost. Under Outreach's 14-day
        // validity the token just spent still works; if it died, the retry gets invalid_grant.
        if (++failures >= MAX_ATTEMPTS) throw new ConnectorError("The Outreach token endpoint keeps answering 200 with a body that is not JSON.", "transient_error");
        await clock.sleep(backoffMs(failures - 1, this.options.backoffBaseMs ?? 500), signal);
        continue;
      }
      if (status === 429) {
        // One mint per user and app per 60 s (§6, §8.2): wait it out instead of asking again at once.
        // Without Retry-After: the rest of the interval after our own last mint; if that was not
        // the mint that counts (another app of the user minted), a whole interval from then on.
        const now = clock.now();
        const told = retryAfterMs(retryAfter, now);
        const sinceOwn = this.lastMintMs === undefined ? Infinity : now - this.lastMintMs;
        const waitMs = told ?? (throttled === 0 && sinceOwn < interval ? Math.max(1000, interval - sinceOwn) : interval);
        if (++throttled > MAX_THROTTLED) {
          throw new ConnectorError(`The Outreach token endpoint refused ${MAX_THROTTLED} times in a row to mint a token (429 Retry later). Run the sync later.`, "transient_error", text.slice(0, 300));
        }
        if (waitMs > this.options.maxWaitMs) {
          throw new ConnectorError(
            `The Outreach token endpoint is throttled (429) for ${Math.ceil(waitMs / 1000)} s, longer than max_rate_limit_wait_seconds. Run the sync later.`,
            "transient_error",
            text.slice(0, 300),
          );
        }
        this.options.log(
          `Token endpoint throttled (429${told !== undefined ? `, Retry-After: ${retryAfter}` : ""}); waiting ${(waitMs / 1000).toFixed(1)} s before minting again (Outreach mints one token per user and app per ${Math.round(interval / 1000)} s).`,
        );
        await clock.sleep(waitMs, signal);
        continue;
      }
      const error = oauthError(text);
      if (!OAUTH_ERRORS.has(error ?? "") && [400, 401, 403, 404, 405].includes(status)) {
        // Not an OAuth error answer: most likely token_url points somewhere else.
        this.refused = new AuthError(
          `The token endpoint ${tokenUrl.href} answered HTTP ${status} without an OAuth error${error ? ` (${error})` : ""}. Check token_url.`,
          `token endpoint answered ${status}: ${text.slice(0, 300)}`,
        );
        throw this.refused;
      }
      if (OAUTH_ERRORS.has(error ?? "")) {
        const what =
          error === "invalid_client"
            ? "the client_id / client_secret pair (invalid_client). Check client_id and client_secret, then re-authorize the connection"
            : `the refresh token (${error ?? `HTTP ${status}`}): it expired, was used already or was revoked. Re-authorize the connection (run the OAuth consent flow again) to get a new refresh_token`;
        this.refused = new AuthError(`Outreach rejected ${what}.`, `token endpoint answered ${status}: ${text.slice(0, 300)}`);
        throw this.refused;
      }
      if (++failures >= MAX_ATTEMPTS) {
        throw new ConnectorError(`The Outreach token endpoint failed with HTTP ${status}.`, "transient_error", text.slice(0, 300));
      }
      await clock.sleep(backoffMs(failures - 1, this.options.backoffBaseMs ?? 500), signal);
    }
  }

  private async accept(parsed: TokenResponse): Promise<string> {
    if (parsed === null || typeof parsed !== "object" || typeof parsed.access_token !== "string" || parsed.access_token === "") {
      throw new ConnectorError("The Outreach token endpoint answered without an access_token.", "system_error");
    }
    const now = this.options.clock.now();
    this.lastMintMs = now;
    this.mints++;
    this.options.onSecret(parsed.access_token);
    if (typeof parsed.refresh_token === "string" && parsed.refresh_token !== "" && parsed.refresh_token !== this.refreshToken) {
      this.options.onSecret(parsed.refresh_token);
      this.refreshToken = parsed.refresh_token;
    }
    if (typeof parsed.scope === "string") this.grantedScopes = parsed.scope.split(/[\s,]+/).filter(Boolean);
    const expiresIn = Number(parsed.expires_in);
    const lifetimeMs = (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 7200) * 1000;
    this.token = { value: parsed.access_token, refreshAtMs: now + lifetimeMs - refreshMarginMs(lifetimeMs), expiresAtMs: now + lifetimeMs };
    await this.options.onTokens({ refreshToken: this.refreshToken, accessToken: parsed.access_token, expiresAtMs: now + lifetimeMs });
    return parsed.access_token;
  }
}

/** A token of an earlier run: replaced 5 minutes before it expires (§8.3 rule 4). */
function reused(value: string, expiresAtMs: number): { value: string; refreshAtMs: number; expiresAtMs: number } {
  return { value, refreshAtMs: expiresAtMs - REUSE_MARGIN_MS, expiresAtMs };
}

function parseJson(text: string): TokenResponse | undefined {
  try {
    return JSON.parse(text) as TokenResponse;
  } catch {
    return undefined;
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
