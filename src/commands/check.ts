/**
 * `check`: SUCCEEDED when a token can be had and one small request to the API works; FAILED with a
 * message a user can act on otherwise (bad config, rejected credentials, unreachable host, missing
 * scope). Exit 0 either way (airbyte-contract.md §1.1, §5). The probe is the minimal request
 * `GET /users?page[size]=1&count=false&fields[user]=` (outreach-api.md §1), or the same on another
 * collection when the token lacks `users.read`. The scopes the token response grants are compared
 * with the scope every stream needs; the ones it lacks are named, with their streams.
 */
import { loadConfig } from "../config.js";
import { ConnectorError, messageOf } from "../errors.js";
import { connectionStatusMessage, logMessage } from "../protocol/messages.js";
import type { MessageWriter } from "../protocol/writer.js";
import { logRequests } from "../report.js";
import { openSession } from "../session.js";
import { STREAMS, type StreamDefinition } from "../streams.js";
import { counted } from "../text.js";

/** `N read scopes … : scope (streams), …` for the streams whose scope is missing. */
function describeMissing(missing: readonly StreamDefinition[]): string {
  const byScope = new Map<string, string[]>();
  for (const s of missing) byScope.set(s.scope, [...(byScope.get(s.scope) ?? []), s.name]);
  return `The token lacks ${counted(byScope.size, "read scope")}, so these streams cannot be read: ${[...byScope]
    .map(([scope, streams]) => `${scope} (${streams.join(", ")})`)
    .join(", ")}. Add the scopes to the Outreach app and re-authorize the connection to read them.`;
}

/**
 * Runs `check`; returns the exit code (0, also after FAILED). Config warnings (unknown fields, a
 * future start_date) go out as WARN LOG messages; `args.debug` adds a DEBUG line per request.
 * @throws only unexpected errors (a TRACE system_error), or the abort reason after SIGTERM
 */
export async function check(writer: MessageWriter, args: { config: string; debug?: boolean }, signal?: AbortSignal): Promise<number> {
  let message: string | undefined;
  try {
    const config = await loadConfig(args.config);
    const session = openSession(config, writer, signal);
    for (const warning of config.warnings) await writer.write(logMessage("WARN", warning));
    if (args.debug) logRequests(session.events, writer);
    await session.tokens.accessToken();
    const granted = session.tokens.grantedScopes;
    const grants = (scope: string): boolean => !granted || granted.includes(scope) || granted.includes(scope.replace(/\.read$/, ".all"));
    const missing = STREAMS.filter((s) => !grants(s.scope));
    const lacking = missing.length > 0 ? describeMissing(missing) : undefined;
    const probeStream = STREAMS.find((s) => s.name === "users" && grants(s.scope)) ?? STREAMS.find((s) => grants(s.scope));
    if (!probeStream) {
      await writer.write(connectionStatusMessage("FAILED", `The token grants none of the scopes the streams need. ${lacking}`));
      return 0;
    }
    const probe = new URL(probeStream.path.slice(1), config.baseUrl);
    probe.search = `page%5Bsize%5D=1&count=false&fields%5B${probeStream.type}%5D=`;
    try {
      await session.client.getCollection(probe);
    } catch (error) {
      if (error instanceof ConnectorError && lacking && error.failureType === "config_error" && /OAuth scope/.test(error.message)) {
        throw new ConnectorError(`${error.message} ${lacking}`, "config_error");
      }
      throw error;
    }
    if (lacking) {
      message = `Connected. ${lacking}`;
      await writer.write(logMessage("WARN", lacking));
    }
  } catch (error) {
    if (!(error instanceof ConnectorError) || signal?.aborted) throw error;
    await writer.write(connectionStatusMessage("FAILED", messageOf(error)));
    return 0;
  }
  await writer.write(connectionStatusMessage("SUCCEEDED", message));
  return 0;
}
