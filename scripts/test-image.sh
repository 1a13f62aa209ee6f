#!/usr/bin/env bash
# npm run test:image — builds the connector image and runs it for real, the way its users' hosts do:
#
#   1. what the image is: user airbyte uid/gid 1000 owning /airbyte, AIRBYTE_ENTRYPOINT = ENTRYPOINT,
#      labels = metadata.yaml, production dependencies only, no tests or TypeScript sources, size;
#   2. `spec` (no mount);
#   3. the Airbyte platform's way: the job folder mounted as the working directory, relative names
#      source_config.json / source_catalog.json / input_state.json: check, discover, read, and a
#      second read from the saved state; the config is updated from CONTROL messages as the platform does;
#   4. Meltano's tap-airbyte way: a private (0700) host temp folder mounted over /tmp, absolute
#      /tmp/config.json, /tmp/catalog.json, /tmp/state.json, catalog without cursor_field/primary_key,
#      state written as the wrapper stores it; read, then read again from the saved state.
# Every stdout line must be a JSON Airbyte message with its payload member (and valid against the
# protocol schema when ../shared is present); a full read returns exactly the replica's records.
# The replica (integration_tests/replica) runs on the host at 127.0.0.1; containers use the host network.
#
# Engine: $DOCKER (default `docker`). When it cannot build (no daemon), ../shared/tools/container-engine.sh
# (beside the repository) sets up podman and prints a docker-compatible wrapper, used instead.
# SKIP_IMAGE_TEST=1 turns "no engine at all" into a skip (exit 0) instead of a failure.
# IMAGE overrides the tag built (default <metadata.yaml dockerRepository>:<dockerImageTag>, i.e. sourceoutreach/source-outreach:dev).
#
# Permissions under Meltano (airbyte-contract.md §10.2): the wrapper's temp folder is mode 0700 and
# owned by the user running Meltano, while the image runs as uid 1000. Only a Meltano user with uid
# 1000 (the usual first user of a Linux host) can be read by the connector. When this script runs
# as another uid it first shows that failure (a TRACE ERROR naming /tmp/config.json), then does what
# such a user must do to succeed: run as uid 1000 — here, as root, by handing the folder to 1000:1000.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'test-image: FAILED: %s\n' "$*" >&2; exit 1; }

# ---- the checks, in Node (run with the repository as working directory so packages resolve) ----
read -r -d '' CHECKS <<'JS' || true
import { readFileSync, writeFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { messageProblems } from "./dist/test/helpers/protocol.js";

const [mode, ...args] = process.argv.slice(1);
const json = (file) => JSON.parse(readFileSync(file, "utf8"));
const write = (file, value) => writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
const metadata = parseYaml(readFileSync("metadata.yaml", "utf8")).data;
const problems = [];
const expect = (ok, what) => { if (!ok) problems.push(what); };

/** Parses a stdout capture: every line one JSON Airbyte message with its payload member. */
function messages(file) {
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  const parsed = [];
  lines.forEach((line, i) => {
    try { parsed.push(JSON.parse(line)); } catch { problems.push(`${file}:${i + 1}: not JSON: ${line.slice(0, 120)}`); }
  });
  problems.push(...messageProblems(parsed).map((p) => `${file}: ${p}`));
  return parsed;
}
const ofType = (ms, type) => ms.filter((m) => m.type === type);
const errors = (ms) => ms.filter((m) => m.type === "TRACE" && m.trace.type === "ERROR").map((m) => m.trace.error.message);

/** Total records the replica serves for these streams (its control API). */
async function replicaCount(control, streams) {
  let total = 0;
  for (const s of streams) total += (await (await fetch(`${control}streams/${s}/ids`)).json()).count;
  return total;
}

/** The last STREAM state per stream, as a list (what the platform passes back; what tap-airbyte keeps). */
const lastStates = (ms) => [...new Map(ofType(ms, "STATE").map((m) => [m.state.stream.stream_descriptor.name, m.state])).values()];

switch (mode) {
  case "image": { // image-config.json from `inspect`
    const c = json(args[0]);
    expect(c.User === "airbyte", `USER is ${c.User}, not airbyte`);
    const env = Object.fromEntries((c.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    expect(Array.isArray(c.Entrypoint) && c.Entrypoint.every((p) => p.startsWith("/")), `ENTRYPOINT ${JSON.stringify(c.Entrypoint)} is not absolute exec form`);
    expect(env.AIRBYTE_ENTRYPOINT === (c.Entrypoint ?? []).join(" "), `AIRBYTE_ENTRYPOINT "${env.AIRBYTE_ENTRYPOINT}" != ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`);
    expect(env.TZ === "UTC" && env.NODE_ENV === "production", "TZ=UTC and NODE_ENV=production");
    expect(c.Labels?.["io.airbyte.name"] === metadata.dockerRepository, `io.airbyte.name ${c.Labels?.["io.airbyte.name"]} != ${metadata.dockerRepository}`);
    expect(c.Labels?.["io.airbyte.version"] === metadata.dockerImageTag, `io.airbyte.version ${c.Labels?.["io.airbyte.version"]} != ${metadata.dockerImageTag}`);
    console.log(`entrypoint: ${env.AIRBYTE_ENTRYPOINT}; labels: ${c.Labels["io.airbyte.name"]} ${c.Labels["io.airbyte.version"]}`);
    break;
  }
  case "packages": { // prints the dev and production dependency names for the in-container check
    const pkg = json("package.json");
    console.log(`${Object.keys(pkg.devDependencies ?? {}).join(" ")}\t${Object.keys(pkg.dependencies ?? {}).join(" ")}`);
    break;
  }
  case "config": { // config <control url> <api base> <token url> <out>: the replica's credentials, newest refresh token
    const [control, apiBase, tokenUrl, out] = args;
    const c = await (await fetch(`${control}credentials`)).json();
    write(out, { client_id: c.clientId, client_secret: c.clientSecret, refresh_token: c.refreshTokens.at(-1), base_url: apiBase, token_url: tokenUrl, start_date: "2020-01-01T00:00:00Z" });
    break;
  }
  case "spec": {
    const ms = messages(args[0]);
    expect(ms.length === 1 && ms[0].type === "SPEC", `spec printed ${ms.map((m) => m.type)}`);
    expect(JSON.stringify(ms[0]?.spec) === JSON.stringify(json("spec.json")), "the image's spec equals spec.json");
    console.log(`spec: 1 SPEC, ${Object.keys(ms[0]?.spec?.connectionSpecification?.properties ?? {}).length} properties`);
    break;
  }
  case "check": { // check <stdout> <config to update from CONTROL>
    const ms = messages(args[0]);
    const status = ofType(ms, "CONNECTION_STATUS");
    expect(status.length === 1 && status[0].connectionStatus.status === "SUCCEEDED", `check: ${JSON.stringify(status)}`);
    persistControl(ms, args[1]);
    console.log(`check: ${status[0]?.connectionStatus.status}`);
    break;
  }
  case "discover": { // discover <stdout> <airbyte catalog out> <meltano catalog out>
    const ms = messages(args[0]);
    const catalogs = ofType(ms, "CATALOG");
    expect(catalogs.length === 1, `discover printed ${catalogs.length} CATALOG messages`);
    const streams = catalogs[0]?.catalog.streams ?? [];
    expect(streams.length === 47, `discover listed ${streams.length} streams, expected 47`);
    const incremental = (s) => s.supported_sync_modes.includes("incremental");
    // The platform: sync mode chosen per stream, the source-defined cursor and key echoed back.
    write(args[1], { streams: streams.map((s) => ({
      stream: s, sync_mode: incremental(s) ? "incremental" : "full_refresh", destination_sync_mode: "append",
      ...(incremental(s) ? { cursor_field: s.default_cursor_field } : {}), primary_key: s.source_defined_primary_key,
    })) });
    // tap-airbyte: the stream as discovered, lower-case sync mode, append, no cursor_field, no primary_key.
    write(args[2], { streams: streams.map((s) => ({
      stream: s, sync_mode: s.source_defined_cursor && incremental(s) ? "incremental" : s.supported_sync_modes[0], destination_sync_mode: "append",
    })) });
    console.log(`discover: ${streams.length} streams, ${streams.filter(incremental).length} incremental`);
    break;
  }
  case "read": { // read <stdout> <exit code> <catalog> <control url> <state out> <first|again> [config to update]
    const [file, code, catalogFile, control, stateOut, which, configFile] = args;
    const ms = messages(file);
    const streams = json(catalogFile).streams.map((s) => s.stream.name);
    expect(code === "0", `read exited ${code}`);
    expect(errors(ms).length === 0, `read reported errors: ${errors(ms).join(" | ")}`);
    const records = ofType(ms, "RECORD");
    const states = ofType(ms, "STATE");
    for (const s of streams) {
      const statuses = ms.filter((m) => m.type === "TRACE" && m.trace.type === "STREAM_STATUS" && m.trace.stream_status.stream_descriptor.name === s)
        .map((m) => m.trace.stream_status.status);
      expect(statuses[0] === "STARTED" && statuses.at(-1) === "COMPLETE", `${s}: statuses ${statuses}`);
      expect(states.some((m) => m.state.type === "STREAM" && m.state.stream.stream_descriptor.name === s), `${s}: no STREAM state`);
    }
    expect(states.every((m) => m.state.type === "STREAM" && m.state.sourceStats), "every STATE is a STREAM state with sourceStats");
    const served = await replicaCount(control, streams);
    if (which === "first") expect(records.length === served, `read returned ${records.length} records, the replica serves ${served}`);
    else expect(records.length > 0 && records.length < served, `the read from state returned ${records.length} of ${served} records (expected fewer, but some: full-refresh streams and boundary records)`);
    write(stateOut, lastStates(ms));
    if (configFile) persistControl(ms, configFile);
    console.log(`read (${which}): ${records.length} records (replica serves ${served}), ${states.length} states, ${ms.length} messages, exit ${code}`);
    break;
  }
  case "denied": { // denied <stdout> <exit code>: the unreadable-config failure is clear
    const ms = messages(args[0]);
    expect(args[1] !== "0", "a connector that cannot read /tmp/config.json must not exit 0");
    expect(errors(ms).some((e) => e.includes("/tmp/config.json")), `the error names /tmp/config.json: ${errors(ms).join(" | ")}`);
    console.log(`as expected, uid 1000 cannot enter the 0700 folder: "${errors(ms)[0]}" (exit ${args[1]})`);
    break;
  }
  case "meltano-state": { // meltano-state <states list> <out>: the wrapper writes its airbyte_state list
    write(args[1], json(args[0]));
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}

/** Like the platform: a CONTROL message's config replaces the stored config (rotated refresh token). */
function persistControl(ms, configFile) {
  const control = ofType(ms, "CONTROL").at(-1);
  if (control) write(configFile, control.control.connectorConfig.config);
}

if (problems.length > 0) {
  console.error(problems.slice(0, 20).join("\n"));
  process.exit(1);
}
JS
check() { node --input-type=module -e "$CHECKS" "$@"; }

# ---- 0. a container engine ----
DOCKER=${DOCKER:-docker}
RUN_NET=(--network=host)
if ! "$DOCKER" info >/dev/null 2>&1; then
  why="'$DOCKER info' failed (no container engine or no daemon)"
  setup=../shared/tools/container-engine.sh
  if [ -f "$setup" ] && wrapper=$(bash "$setup") && "$wrapper" info >/dev/null 2>&1; then
    echo "test-image: $why; using $wrapper from $setup"
    DOCKER=$wrapper
  else
    [ -f "$setup" ] && why="$why, and $setup failed" || why="$why, and $setup is absent"
    if [ "${SKIP_IMAGE_TEST:-}" = 1 ]; then echo "test-image: SKIPPED: $why (SKIP_IMAGE_TEST=1)"; exit 0; fi
    fail "$why. Install Docker or podman, set DOCKER=<engine>, or set SKIP_IMAGE_TEST=1 to skip."
  fi
fi
# The container-engine wrapper already adds --network=host to `run` (podman refuses it twice).
if [ -f "$DOCKER" ] && grep -q -- 'run --network=host' "$DOCKER" 2>/dev/null; then RUN_NET=(); fi

work=$(mktemp -d "${TMPDIR:-/tmp}/test-image.XXXXXX")
replica_pid=
cleanup() {
  [ -n "$replica_pid" ] && kill "$replica_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# ---- 1. build ----
say "build"
npm run build --silent
IMAGE=${IMAGE:-$(node --input-type=module -e 'import { parse } from "yaml"; import { readFileSync } from "node:fs"; const d = parse(readFileSync("metadata.yaml", "utf8")).data; console.log(`${d.dockerRepository}:${d.dockerImageTag}`)')}
start=$(date +%s.%N)
if ! "$DOCKER" build -t "$IMAGE" . >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  fail "image build failed"
fi
build_seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
size_bytes=$("$DOCKER" image inspect "$IMAGE" --format '{{.Size}}')
size_mb=$(awk -v b="$size_bytes" 'BEGIN { printf "%.0f", b / 1000000 }')
echo "built $IMAGE in ${build_seconds}s; image size ${size_mb} MB ($size_bytes bytes)"

# ---- 2. what the image is ----
say "image"
"$DOCKER" image inspect "$IMAGE" --format '{{json .Config}}' >"$work/image-config.json"
check image "$work/image-config.json"
IFS=$'\t' read -r dev_deps prod_deps < <(check packages)
# Runs as the image's user; prints nothing but failures.
"$DOCKER" run --rm --entrypoint /bin/sh "$IMAGE" -c '
  set -u; bad=0
  no() { echo "image: $*" >&2; bad=1; }
  [ "$(id -u)" = 1000 ] || no "uid is $(id -u), not 1000"
  [ "$(id -g)" = 1000 ] || no "gid is $(id -g), not 1000"
  [ "$(id -un)" = airbyte ] || no "user is $(id -un), not airbyte"
  [ "$(id -gn)" = airbyte ] || no "group is $(id -gn), not airbyte"
  [ "$(stat -c %U:%G /airbyte)" = airbyte:airbyte ] || no "/airbyte is owned by $(stat -c %U:%G /airbyte)"
  [ "$(pwd)" = /airbyte/integration_code ] || no "WORKDIR is $(pwd)"
  touch /airbyte/.write-test 2>/dev/null && rm /airbyte/.write-test || no "/airbyte is not writable by airbyte"
  for d in $1; do [ ! -e "node_modules/$d" ] || no "dev dependency $d is installed"; done
  for d in $2; do [ -f "node_modules/$d/package.json" ] || no "dependency $d is missing"; done
  for p in dist/test dist/scripts dist/integration_tests dist/bench test scripts src integration_tests bench secrets tsconfig.json; do
    [ ! -e "$p" ] || no "$p is in the image"
  done
  [ -z "$(find . -name "*.test.js" -o -name "*.ts" ! -name "*.d.ts" | grep -v ^./node_modules/ | head -1)" ] || no "test or TypeScript files: $(find . -name "*.test.js" -o -name "*.ts" ! -name "*.d.ts" | grep -v ^./node_modules/ | head -3)"
  for f in package.json spec.json dist/src/main.js schemas/prospects.json; do [ -f "$f" ] || no "$f is missing"; done
  exit $bad
' sh "$dev_deps" "$prod_deps" || fail "image contents"
echo "user airbyte 1000:1000 owns /airbyte; no dev dependencies ($dev_deps), no tests or sources inside"

# ---- the replica on the host ----
node dist/integration_tests/replica/main.js --port 0 2>"$work/replica.log" &
replica_pid=$!
for _ in $(seq 1 100); do grep -q '^  control:' "$work/replica.log" && break; sleep 0.1; done
api=$(awk '/^  api base:/ { print $3 }' "$work/replica.log")
token=$(awk '/^  token url:/ { print $3 }' "$work/replica.log")
control=$(awk '/^  control:/ { print $2 }' "$work/replica.log")
[ -n "$control" ] || { cat "$work/replica.log" >&2; fail "the replica did not start"; }
echo "replica at $api"

# Runs the image; stdout to $1, stderr to $1.err; returns the connector's exit code in $code.
run_image() {
  local out=$1; shift
  set +e
  "$DOCKER" run --rm "${RUN_NET[@]}" "$@" </dev/null >"$out" 2>"$out.err"
  code=$?
  set -e
}
# Shows stderr when a check fails.
verify() { check "$@" || { tail -20 "$2.err" 2>/dev/null >&2; fail "$1"; }; }

# ---- 3. spec ----
say "spec"
run_image "$work/spec.out" "$IMAGE" spec
[ "$code" = 0 ] || fail "spec exited $code"
verify spec "$work/spec.out"

# ---- 4. the Airbyte platform's way ----
say "Airbyte platform: job folder as working directory, relative file names"
job=$work/job
mkdir -p "$job"
check config "$control" "$api" "$token" "$job/source_config.json"
chmod 755 "$job" && chmod 644 "$job"/*.json  # the platform's job files are readable by the connector's user
airbyte() { run_image "$1" -v "$job:/source" -w /source "$IMAGE" "${@:2}"; }
airbyte "$work/check.out" check --config source_config.json
[ "$code" = 0 ] || fail "check exited $code"
verify check "$work/check.out" "$job/source_config.json"
airbyte "$work/discover.out" discover --config source_config.json
[ "$code" = 0 ] || fail "discover exited $code"
verify discover "$work/discover.out" "$job/source_catalog.json" "$work/meltano-catalog.json"
chmod 644 "$job"/*.json
airbyte "$work/read1.out" read --config source_config.json --catalog source_catalog.json
verify read "$work/read1.out" "$code" "$job/source_catalog.json" "$control" "$job/input_state.json" first "$job/source_config.json"
chmod 644 "$job"/*.json
airbyte "$work/read2.out" read --config source_config.json --catalog source_catalog.json --state input_state.json
verify read "$work/read2.out" "$code" "$job/source_catalog.json" "$control" "$work/airbyte-state-after.json" again "$job/source_config.json"

# ---- 5. Meltano's tap-airbyte way ----
say "Meltano tap-airbyte: private temp folder mounted at /tmp, absolute paths"
mtmp=$(mktemp -d "${TMPDIR:-/tmp}/tap-airbyte.XXXXXX")  # mode 0700, like Python's TemporaryDirectory
trap 'cleanup; rm -rf "$mtmp"' EXIT
check config "$control" "$api" "$token" "$mtmp/config.json"
cp "$work/meltano-catalog.json" "$mtmp/catalog.json"
meltano() { run_image "$1" -i -v "$mtmp:/tmp" "$IMAGE" "${@:2}"; }
uid=$(id -u)
if [ "$uid" != 1000 ]; then
  # What a Meltano user with another uid gets: the connector (uid 1000) cannot enter the folder.
  meltano "$work/denied.out" read --config /tmp/config.json --catalog /tmp/catalog.json
  verify denied "$work/denied.out" "$code"
  if [ "$uid" = 0 ]; then
    chown -R 1000:1000 "$mtmp"  # as Meltano running as uid 1000 would own it
    echo "temp folder handed to uid 1000 (Meltano must run as uid 1000 for this image)"
  else
    chmod 755 "$mtmp" && chmod 644 "$mtmp"/*.json
    echo "temp folder opened to all (uid $uid cannot chown; under Meltano, run it as uid 1000)"
  fi
fi
# The wrapper ignores CONTROL, so the stored refresh token goes stale; the replica rotates tokens
# like Outreach, so the test writes the current one before each run (what the user would have to do).
meltano "$work/meltano1.out" read --config /tmp/config.json --catalog /tmp/catalog.json
verify read "$work/meltano1.out" "$code" "$mtmp/catalog.json" "$control" "$work/meltano-states.json" first
check meltano-state "$work/meltano-states.json" "$mtmp/state.json"
check config "$control" "$api" "$token" "$mtmp/config.json"
[ "$uid" = 0 ] && chown 1000:1000 "$mtmp"/*.json
[ "$uid" != 0 ] && [ "$uid" != 1000 ] && chmod 644 "$mtmp"/*.json
meltano "$work/meltano2.out" read --config /tmp/config.json --catalog /tmp/catalog.json --state /tmp/state.json
verify read "$work/meltano2.out" "$code" "$mtmp/catalog.json" "$control" "$work/meltano-states-after.json" again

say "image test passed: $IMAGE, ${size_mb} MB, built in ${build_seconds}s with $(basename "$DOCKER")"
