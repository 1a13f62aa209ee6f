#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=192
/**
 * source-outreach: `spec | check --config F | discover --config F | read --config F --catalog F [--state F]`.
 * stdout carries only Airbyte messages, one per line; anything meant for people goes out as LOG
 * messages. Unknown flags are ignored (the platform passes extras) and paths resolve against the
 * current directory. `--help`/`-h` and `--version` are for people: their text goes to stdout, exit 0.
 * `--debug` adds a DEBUG LOG line per request. Exit codes: 0 success, 1 failure (after a TRACE
 * ERROR), 143 after SIGTERM, 130 after SIGINT (Ctrl-C). The first SIGTERM/SIGINT stops the read
 * after the current request with INCOMPLETE statuses and final states; a second one exits at once.
 *
 * V8 heap limits (the shebang above, for the `source-outreach` bin and `npx`; the image sets the
 * same flags in NODE_OPTIONS; `node dist/src/main.js` needs them by hand): a 4 MB semi-space and a
 * 192 MB old generation keep peak RSS under 200 MB on 7.6 MB pages, where V8's defaults let the heap
 * grow to ~300 MB of garbage before collecting (README, Benchmark). 192 MB is a hard limit, far
 * above the ~40 MB a read keeps live.
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { check } from "./commands/check.js";
import { discover } from "./commands/discover.js";
import { read } from "./commands/read.js";
import { spec } from "./commands/spec.js";
import { ConnectorError, failureTypeOf, messageOf } from "./errors.js";
import { errorTraceMessage, logMessage } from "./protocol/messages.js";
import { MessageWriter, SecretMasker } from "./protocol/writer.js";
import { readResource } from "./resources.js";

const writer = new MessageWriter(process.stdout, new SecretMasker());

// Nothing but Airbyte messages on stdout, except the `--help`/`--version` text a person asked for;
// anything a dependency prints becomes a LOG message.
const forPeople = process.argv.some((a) => ["--help", "-h", "--version"].includes(a));
for (const [method, level] of [["log", "INFO"], ["info", "INFO"], ["debug", "DEBUG"], ["warn", "WARN"], ["error", "ERROR"]] as const) {
  console[method] = forPeople
    ? (...parts: unknown[]) => void process.stdout.write(parts.map(String).join(" ") + "\n")
    : (...parts: unknown[]) => void writer.write(logMessage(level, parts.map(String).join(" ")));
}

/** Exit codes after a signal (128 + its number, as shells report them). */
const SIGNAL_EXIT_CODES = { SIGTERM: 143, SIGINT: 130 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT_CODES;
let stoppedBy: StopSignal | undefined;

/** Runs a command; any error becomes one TRACE ERROR and a non-zero exit code (143/130 after a signal). */
async function run(command: () => Promise<number>): Promise<void> {
  let code: number;
  try {
    code = await command();
  } catch (error) {
    if (stoppedBy) {
      await writer.flush();
      process.exitCode = SIGNAL_EXIT_CODES[stoppedBy];
      return;
    }
    const internal = error instanceof ConnectorError ? error.internal : undefined;
    await writer.write(
      errorTraceMessage(messageOf(error), failureTypeOf(error), {
        ...(internal ? { internal } : {}),
        ...(error instanceof ConnectorError ? {} : { stackTrace: (error as Error)?.stack ?? String(error) }),
      }),
    );
    code = 1;
  }
  await writer.flush();
  // Nothing more can be said on stdout; a person who piped it into `head` learns why the exit code is 1.
  if (writer.isClosed) process.stderr.write("source-outreach: stdout was closed before the output ended (e.g. by `| head`); stopped with exit code 1.\n");
  process.exitCode = stoppedBy ? SIGNAL_EXIT_CODES[stoppedBy] : writer.isClosed ? Math.max(code, 1) : code;
}

const abort = new AbortController();
for (const signal of Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]) {
  process.on(signal, () => {
    // A second signal ends the process at once by that signal's default action (the shell sees
    // 128 + n, as with the exit code of a first one); lines written so far are with the OS already
    // (stdout to a pipe or file is synchronous).
    if (stoppedBy) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    stoppedBy = signal;
    void writer.write(logMessage("WARN", `${signal} received: stopping now and flushing the last state (send it again to exit at once).`));
    abort.abort(new ConnectorError(`cancelled by ${signal}`, "transient_error"));
  });
}

/** A file path option; given twice, the last one counts. */
const fileOption = { type: "string", demandOption: true, coerce: (v: unknown) => (Array.isArray(v) ? v.at(-1) : v) as string } as const;

const cli = yargs(hideBin(process.argv))
  .scriptName("source-outreach")
  .usage("$0 <command> [options]\n\nAirbyte source for the Outreach API v2: prints Airbyte protocol messages on stdout.")
  .option("debug", { type: "boolean", describe: "Log every API request (method, path and query, status, bytes, ms) as a DEBUG LOG message." })
  .command("spec", "Print the connector specification.", {}, () => run(() => spec(writer)))
  .command(
    "check",
    "Check that the config can authenticate and reach the API.",
    (y) => y.option("config", { ...fileOption, describe: "Config JSON file" }),
    (argv) => run(() => check(writer, { config: argv.config, debug: argv.debug === true }, abort.signal)),
  )
  .command(
    "discover",
    "Print the catalog of streams.",
    (y) => y.option("config", { ...fileOption, describe: "Config JSON file" }),
    (argv) => run(() => discover(writer, { config: argv.config })),
  )
  .command(
    "read",
    "Read the streams of a configured catalog.",
    (y) =>
      y
        .option("config", { ...fileOption, describe: "Config JSON file" })
        .option("catalog", { ...fileOption, describe: "Configured catalog JSON file" })
        .option("state", { ...fileOption, demandOption: false, describe: "State JSON file (optional)" }),
    (argv) =>
      run(() =>
        read(writer, { config: argv.config, catalog: argv.catalog, debug: argv.debug === true, ...(argv.state ? { state: argv.state } : {}) }, abort.signal),
      ),
  )
  .demandCommand(1, "Name a command: spec, check, discover or read.")
  .strict(false)
  .strictCommands()
  .help()
  .alias("help", "h")
  .version(readResource<{ version: string }>("package.json").version)
  .exitProcess(false)
  .fail((message, error) => {
    throw new ConnectorError(`${message ?? messageOf(error)} (see --help)`, "config_error");
  });

try {
  await cli.parseAsync();
} catch (error) {
  await run(() => Promise.reject(error));
}
