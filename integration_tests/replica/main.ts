/**
 * Runs the Outreach API replica from the command line, for manual use:
 *
 *   node dist/integration_tests/replica/main.js [--port N] [--records N] [--latency-ms N] [--seed N]
 *                                               [--prospects N] [--min-mint-interval S] [--token-lifetime S] [--help]
 *
 * Prints the API base, the token URL, the client credentials and a refresh token to stderr, then
 * serves until interrupted.
 */
import { parseArgs } from "node:util";
import { startReplica, type ReplicaOptions } from "./server.js";

const USAGE = `Usage: node dist/integration_tests/replica/main.js [options]

The Outreach API replica: a local stand-in for api.outreach.io (API v2 and /oauth/token).

Options:
  --port N                 port on 127.0.0.1 (default 0: any free port)
  --records N              records per stream (default: 25–60 per stream)
  --prospects N            only prospects, N of them (not with --records)
  --latency-ms N           delay before each API answer (default 0)
  --seed N                 data generator seed (default 1)
  --min-mint-interval S    least seconds between two token mints (default 0)
  --token-lifetime S       access-token lifetime in seconds (default 7200)
  -h, --help               this text

It prints its URLs, client_id, client_secret and a refresh token on stderr. Its control API
(/__control/: settings, faults, record updates and deletions) is described in
integration_tests/replica/README.md.
`;

/** Parses the command line, starts the replica and prints how to reach it. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: "boolean", short: "h" },
      port: { type: "string", default: "0" },
      records: { type: "string" },
      prospects: { type: "string" },
      "latency-ms": { type: "string", default: "0" },
      seed: { type: "string", default: "1" },
      "min-mint-interval": { type: "string", default: "0" },
      "token-lifetime": { type: "string", default: "7200" },
    },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const num = (v: string | undefined, name: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: a non-negative number expected, got '${v}'`);
    return n;
  };
  let records: ReplicaOptions["records"];
  if (values.prospects !== undefined) {
    records = { prospects: num(values.prospects, "prospects") };
    if (values.records !== undefined) throw new Error("use either --records or --prospects");
  } else if (values.records !== undefined) records = num(values.records, "records");
  const replica = await startReplica({
    port: num(values.port, "port"),
    records,
    latencyMs: num(values["latency-ms"], "latency-ms"),
    seed: num(values.seed, "seed"),
    minMintIntervalSec: num(values["min-mint-interval"], "min-mint-interval"),
    tokenLifetimeSec: num(values["token-lifetime"], "token-lifetime"),
  });
  const lines = [
    `Outreach API replica listening`,
    `  api base:      ${replica.apiBase}`,
    `  token url:     ${replica.tokenUrl}`,
    `  control:       ${replica.controlUrl}`,
    `  client_id:     ${replica.clientId}`,
    `  client_secret: ${replica.clientSecret}`,
    `  refresh_token: ${replica.refreshToken}`,
    `(refresh tokens rotate: after a refresh, GET ${replica.controlUrl}credentials lists the valid ones)`,
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
  const stop = (): void => {
    void replica.close().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`replica: ${e instanceof Error ? e.message : String(e)} (see --help)\n`);
  process.exitCode = 1;
});
