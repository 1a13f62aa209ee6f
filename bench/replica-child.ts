/**
 * Runs the replica in its own process for the benchmark: options as JSON in argv[2]; prints one
 * JSON line with how to reach it, then serves until SIGTERM.
 */
import { startReplica, type ReplicaOptions } from "../integration_tests/replica/server.js";

const options = JSON.parse(process.argv[2] ?? "{}") as ReplicaOptions;
const replica = await startReplica(options);
process.stdout.write(
  JSON.stringify({
    apiBase: replica.apiBase,
    tokenUrl: replica.tokenUrl,
    controlUrl: replica.controlUrl,
    clientId: replica.clientId,
    clientSecret: replica.clientSecret,
    refreshToken: replica.refreshToken,
  }) + "\n",
);
process.on("SIGTERM", () => void replica.close().then(() => (process.exitCode = 0)));
