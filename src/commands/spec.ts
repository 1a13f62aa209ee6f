/** `spec`: prints the connector specification (spec.json) as one SPEC message. */
import { loadSpec } from "../config.js";
import type { ConnectorSpecification } from "../generated/protocol.js";
import { specMessage } from "../protocol/messages.js";
import type { MessageWriter } from "../protocol/writer.js";

/** Writes the SPEC message; returns the exit code (0). */
export async function spec(writer: MessageWriter): Promise<number> {
  await writer.write(specMessage(loadSpec<ConnectorSpecification>()));
  return 0;
}
