/**
 * `check`: SUCCEEDED when a token can be had and one small request to the API works; FAILED with a
 * message a user can act on otherwise (bad config, rejected credentials, unreachable host, missing
 * scope). Exit 0 either way (airbyte-contract.md §1.1, §5). The probe is the minimal request
 * `GET /users?page[size]=1&count=false&fields[user]=` (outreach-api.md §1).
 */
import { loadConfig } from "../config.js";
import { ConnectorError, messageOf } from "../errors.js";
import { connectionStatusMessage } from "../protocol/messages.js";
import type { MessageWriter } from "../protocol/writer.js";
import { openSession } from "../session.js";
import { STREAMS } from "../streams.js";

export async function check(writer: MessageWriter, args: { config: string }): Promise<number> {
  let message: string | undefined;
  try {
    const config = await loadConfig(args.config);
    const session = openSession(config, writer);
    await session.tokens.accessToken();
    const probe = new URL("users", config.baseUrl);
    probe.search = "page%5Bsize%5D=1&count=false&fields%5Buser%5D=";
    await session.client.getCollection(probe);
    const granted = session.tokens.grantedScopes;
    if (granted) {
      const missing = STREAMS.filter((s) => !granted.includes(s.scope) && !granted.includes(s.scope.replace(/\.read$/, ".all")));
      if (missing.length > 0) {
        message = `Connected. The token lacks ${missing.length} read scope(s), so these streams will fail: ${missing
          .map((s) => `${s.name} (${s.scope})`)
          .join(", ")}.`;
      }
    }
  } catch (error) {
    if (!(error instanceof ConnectorError)) throw error;
    await writer.write(connectionStatusMessage("FAILED", messageOf(error)));
    return 0;
  }
  await writer.write(connectionStatusMessage("SUCCEEDED", message));
  return 0;
}
