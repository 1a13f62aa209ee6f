/**
 * Errors that carry what the Airbyte protocol needs to report them: a message for users, the
 * `failure_type` of a TRACE ERROR, and optionally the stream that failed (airbyte-contract.md §5).
 */

/** TRACE ERROR `failure_type` values (protocol ≥ 0.8.0). */
export type FailureType = "config_error" | "system_error" | "transient_error";

/** An error the connector reports as one TRACE ERROR message with the given failure type. */
export class ConnectorError extends Error {
  /**
   * @param message what the user should read (secrets are masked by the writer)
   * @param failureType `config_error` (the user must change something), `transient_error` (a retry
   *   may succeed), `system_error` (a bug or an unknown cause)
   * @param internal technical detail for `internal_message`
   */
  constructor(
    message: string,
    readonly failureType: FailureType,
    readonly internal?: string,
  ) {
    super(message);
    this.name = "ConnectorError";
  }
}

/**
 * The credentials were refused (invalid_grant, invalid_client, a fresh token rejected): no stream
 * can succeed, so a read stops starting new streams.
 */
export class AuthError extends ConnectorError {
  constructor(message: string, internal?: string) {
    super(message, "config_error", internal);
    this.name = "AuthError";
  }
}

/** Bad user input (config, catalog or state file): always a `config_error`. */
export class InputError extends ConnectorError {
  /**
   * @param file the file the problem is in (as the user gave it on the command line)
   * @param field a JSON path in that file, e.g. `streams[2].sync_mode`, or "" for the whole file
   * @param problem what is wrong, e.g. `must be one of full_refresh, incremental`
   */
  constructor(file: string, field: string, problem: string) {
    super(`${file}${field ? `: ${field}` : ""}: ${problem}`, "config_error");
    this.name = "InputError";
  }
}

/** The `failure_type` of any thrown value: ConnectorErrors carry theirs, anything else is a `system_error`. */
export function failureTypeOf(error: unknown): FailureType {
  return error instanceof ConnectorError ? error.failureType : "system_error";
}

/** A message for any thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
