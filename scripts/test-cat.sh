#!/usr/bin/env bash
# npm run test:cat — Airbyte's own Connector Acceptance Tests (CAT 3.8.5, unmodified) against this
# repository, for real: ../shared/tools/airbyte-cat/run.sh (beside the repository) builds the
# image, starts the replica with refresh-token rotation off, writes the secrets, runs every CAT
# test group except backward compatibility and prints `N passed, M failed, K skipped` last.
# Fails (non-zero) when run.sh does: a failed test, nothing passed, a timeout, or a setup step.
# Where ../shared/tools/airbyte-cat is absent (a user's clone) it says so and exits 0.
# CAT_DIR overrides the tool's location; extra arguments go to run.sh (e.g. -- -k TestSpec).
set -euo pipefail
cd "$(dirname "$0")/.."
cat_dir=${CAT_DIR:-../shared/tools/airbyte-cat}
if [ ! -f "$cat_dir/run.sh" ]; then
  echo "test-cat: SKIPPED: $cat_dir/run.sh is absent (Airbyte's CAT harness lives in ../shared beside the repository)"
  exit 0
fi
exec bash "$cat_dir/run.sh" "$PWD" "$@" </dev/null
