#!/usr/bin/env bash
# Alias of scripts/test-image.sh (`npm run test:image`), kept under the name issue 4 uses: builds the
# image and runs spec, check, discover and read in it against the local replica.
exec bash "$(dirname "$0")/test-image.sh" "$@"
