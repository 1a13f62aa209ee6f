/** Starting the replica and writing the connector's input files for it. */
import { after, before, beforeEach } from "node:test";
import { ReplicaClient } from "../../integration_tests/replica/client.js";
import { startReplica, type Replica, type ReplicaOptions } from "../../integration_tests/replica/server.js";
import { STREAMS } from "../../src/streams.js";
import { tempDir, writeJsonFiles } from "./cli.js";

export type { Replica };

/** Starts a replica for a test file. */
export function replica(options: ReplicaOptions = {}): Promise<Replica> {
  return startReplica(options);
}

/** A config for the replica with its newest valid refresh token. */
export function configFor(r: Replica, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: r.clientId, client_secret: r.clientSecret, refresh_token: r.refreshToken, base_url: r.apiBase, token_url: r.tokenUrl, ...extra };
}

/** A configured catalog: the named streams (default all), incremental where supported unless `mode` says otherwise. */
export function catalogFor(names: readonly string[] = STREAMS.map((s) => s.name), mode?: "full_refresh" | "incremental"): Record<string, unknown> {
  return {
    streams: names.map((name) => {
      const s = STREAMS.find((d) => d.name === name)!;
      const syncMode = mode === "full_refresh" || s.cursorField === null ? "full_refresh" : "incremental";
      return {
        stream: { name, json_schema: {}, supported_sync_modes: s.syncModes },
        sync_mode: syncMode,
        destination_sync_mode: "append",
      };
    }),
  };
}

/** Writes config (and catalog/state when given) into a new temp dir; returns the CLI arguments for `read`. */
export async function readArgs(r: Replica, files: { config?: Record<string, unknown>; catalog?: unknown; state?: unknown } = {}): Promise<string[]> {
  const dir = await tempDir();
  const paths = await writeJsonFiles(dir, {
    config: files.config ?? configFor(r),
    catalog: files.catalog ?? catalogFor(),
    ...(files.state !== undefined ? { state: files.state } : {}),
  });
  return ["read", "--config", paths.config!, "--catalog", paths.catalog!, ...(paths.state ? ["--state", paths.state] : [])];
}

/**
 * One replica for a test file, reset before each test, with a ReplicaClient for raw API calls
 * (its `renew()` fetches a fresh access token). The fields are set once the `before` hook ran.
 */
export function replicaFixture(options: { renewClient?: boolean } = {}): { replica: Replica; client: ReplicaClient } {
  const fixture = {} as { replica: Replica; client: ReplicaClient };
  before(async () => {
    fixture.replica = await startReplica();
    fixture.client = new ReplicaClient(fixture.replica);
  });
  after(() => fixture.replica.close());
  beforeEach(() => {
    fixture.replica.control.reset();
    if (options.renewClient) fixture.client.renew();
  });
  return fixture;
}
