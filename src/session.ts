/**
 * The parts every API-using command shares, wired once from the config: the OAuth token source
 * (rotated refresh tokens become CONTROL messages), the shared rate budget and the client.
 */
import type { ResolvedConfig } from "./config.js";
import { RunEvents } from "./events.js";
import { OAuthTokens } from "./http/auth.js";
import { OutreachClient } from "./http/client.js";
import { systemClock, type Clock } from "./http/clock.js";
import { RateLimiter } from "./http/rate-limit.js";
import { FileTokenStore } from "./http/token-store.js";
import { controlConfigMessage, logMessage } from "./protocol/messages.js";
import type { MessageWriter } from "./protocol/writer.js";
import { formatInstant } from "./time.js";

/** A connected session. */
export interface Session {
  config: ResolvedConfig;
  tokens: OAuthTokens;
  client: OutreachClient;
  limiter: RateLimiter;
  /** Requests, retries and waits of the client, limiter and token source (report.ts renders them). */
  events: RunEvents;
  /** Writes an INFO LOG message. */
  log: (message: string) => void;
}

/**
 * Wires the client for a config. Secrets of the config are registered with the writer's masker;
 * each new token set (after a mint, or taken from a newer `token_file`) replaces
 * `config.raw.refresh_token`, `access_token` and `token_expiry_date` (ISO 8601 UTC, as Airbyte's CDK
 * names them) and is emitted as a CONTROL message carrying the full config (airbyte-contract.md §4.3).
 * No token set, no CONTROL message.
 */
export function openSession(config: ResolvedConfig, writer: MessageWriter, signal?: AbortSignal, clock: Clock = systemClock): Session {
  writer.masker.add(config.clientSecret);
  writer.masker.add(config.refreshToken);
  if (config.accessToken) writer.masker.add(config.accessToken.value);
  const log = (message: string): void => void writer.write(logMessage("INFO", message));
  const events = new RunEvents();
  const tokens = new OAuthTokens({
    tokenUrl: config.tokenUrl,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    refreshToken: config.refreshToken,
    ...(config.accessToken ? { accessToken: config.accessToken } : {}),
    ...(config.tokenFile ? { store: new FileTokenStore(config.tokenFile) } : {}),
    ...(config.redirectUri ? { redirectUri: config.redirectUri } : {}),
    clock,
    maxWaitMs: config.maxRateLimitWaitMs,
    log,
    events,
    onSecret: (secret) => writer.masker.add(secret),
    onTokens: async ({ refreshToken, accessToken, expiresAtMs }) => {
      config.raw = { ...config.raw, refresh_token: refreshToken, access_token: accessToken, token_expiry_date: formatInstant(expiresAtMs) };
      await writer.write(controlConfigMessage(config.raw as unknown as Record<string, unknown>));
    },
    ...(signal ? { signal } : {}),
  });
  const limiter = new RateLimiter({
    clock,
    maxWaitMs: config.maxRateLimitWaitMs,
    log,
    events,
    ...(config.maxRequestsPerHour ? { maxRequestsPerHour: config.maxRequestsPerHour } : {}),
  });
  const client = new OutreachClient({
    baseUrl: config.baseUrl,
    tokens,
    limiter,
    clock,
    log,
    events,
    maxWaitMs: config.maxRateLimitWaitMs,
    ...(signal ? { signal } : {}),
  });
  return { config, tokens, client, limiter, events, log };
}
