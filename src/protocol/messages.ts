/**
 * Constructors of Airbyte protocol messages (types generated from airbyte_protocol.yaml, release
 * 0.18.0). Optional fields are left out rather than set to null (airbyte-contract.md §2.3).
 * All `emitted_at` values are epoch milliseconds (UTC).
 */
import type {
  AirbyteCatalog,
  AirbyteMessage,
  AirbyteStreamStatus,
  ConnectorSpecification,
} from "../generated/protocol.js";
import type { FailureType } from "../errors.js";

export type { AirbyteMessage };

/** LOG levels of the protocol. */
export type LogLevel = "FATAL" | "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE";

/** A LOG message for people reading the sync log. */
export function logMessage(level: LogLevel, message: string): AirbyteMessage {
  return { type: "LOG", log: { level, message } };
}

/** The SPEC message. */
export function specMessage(spec: ConnectorSpecification): AirbyteMessage {
  return { type: "SPEC", spec };
}

/** The CONNECTION_STATUS message of `check`. */
export function connectionStatusMessage(status: "SUCCEEDED" | "FAILED", message?: string): AirbyteMessage {
  return { type: "CONNECTION_STATUS", connectionStatus: message === undefined ? { status } : { status, message } };
}

/** The CATALOG message of `discover`. */
export function catalogMessage(catalog: AirbyteCatalog): AirbyteMessage {
  return { type: "CATALOG", catalog };
}

/**
 * A per-stream STATE message.
 * @param recordCount records of this stream emitted since its previous STATE (CAT checks it)
 */
export function streamStateMessage(stream: string, streamState: Record<string, unknown>, recordCount: number): AirbyteMessage {
  return {
    type: "STATE",
    state: {
      type: "STREAM",
      stream: { stream_descriptor: { name: stream }, stream_state: streamState },
      sourceStats: { recordCount },
    },
  };
}

/** A TRACE STREAM_STATUS message; `quotaResetMs` adds a RATE_LIMITED reason (epoch ms of the reset). */
export function streamStatusMessage(stream: string, status: AirbyteStreamStatus, quotaResetMs?: number): AirbyteMessage {
  return {
    type: "TRACE",
    trace: {
      type: "STREAM_STATUS",
      emitted_at: Date.now(),
      stream_status: {
        stream_descriptor: { name: stream },
        status,
        ...(quotaResetMs === undefined ? {} : { reasons: [{ type: "RATE_LIMITED", rate_limited: { quota_reset: quotaResetMs } }] }),
      },
    },
  };
}

/** A TRACE ERROR message, optionally naming the stream that failed. */
export function errorTraceMessage(
  message: string,
  failureType: FailureType,
  options: { stream?: string; internal?: string; stackTrace?: string } = {},
): AirbyteMessage {
  return {
    type: "TRACE",
    trace: {
      type: "ERROR",
      emitted_at: Date.now(),
      error: {
        message,
        failure_type: failureType,
        ...(options.internal ? { internal_message: options.internal } : {}),
        ...(options.stackTrace ? { stack_trace: options.stackTrace } : {}),
        ...(options.stream ? { stream_descriptor: { name: options.stream } } : {}),
      },
    },
  };
}

/** A CONTROL CONNECTOR_CONFIG message carrying the full config to persist (the only message that may carry secrets). */
export function controlConfigMessage(config: Record<string, unknown>): AirbyteMessage {
  return { type: "CONTROL", control: { type: "CONNECTOR_CONFIG", emitted_at: Date.now(), connectorConfig: { config } } };
}
