# source-outreach: Airbyte source for the Outreach API v2, as an Airbyte/Meltano connector image.
#
#   docker build -t sourceoutreach/source-outreach:dev .
#   docker run --rm sourceoutreach/source-outreach:dev spec
#   docker run --rm -v "$PWD/job:/job" -w /job sourceoutreach/source-outreach:dev check --config source_config.json
#
# `npm run test:image` (scripts/test-image.sh) builds this file and runs the image the way the
# Airbyte platform and Meltano's tap-airbyte wrapper do.
#
# Base image: pinned to the tag `node:22-slim` (Node 22 LTS on Debian slim), not to a digest. The
# machines this project is built and tested on have no registry access for images: their container
# engine builds a local `node:22-slim` (Debian + the official Node binary) and builds with
# --pull=never, where a digest pin could never match. Where a registry is reachable, pin the digest
# at release time (`FROM node:22-slim@sha256:...`) for byte-for-byte reproducible images.

# ---- build: compile TypeScript with the dev dependencies, then drop them ----
FROM node:22-slim AS build
# Lets builds behind a TLS-intercepting proxy hand npm the proxy's CA bundle
# (--build-arg NPM_CONFIG_CAFILE=/path/in/build/context-or-mount); a no-op when unset.
ARG NPM_CONFIG_CAFILE
WORKDIR /build
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
# Only the connector's own sources: tests, scripts, the replica and the benchmark stay out of the image.
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find node_modules -depth -type d -empty -delete \
 && test -f dist/src/main.js && test ! -e dist/test && test ! -e node_modules/typescript

# ---- runtime: production dependencies, compiled code, spec and schemas; non-root ----
FROM node:22-slim
# V8 heap limits: the same flags as the shebang of src/main.ts (peak RSS under 200 MB; README, Benchmark).
ENV TZ=UTC \
    NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=192"
# Airbyte images run as `airbyte`, uid/gid 1000, owning /airbyte. The official node image already has
# uid/gid 1000 as `node`: rename it. A base without that user (e.g. a locally built node:22-slim) gets
# a fresh `airbyte` with the same ids.
RUN if id -u node >/dev/null 2>&1; then \
      groupmod --new-name airbyte node \
      && usermod --login airbyte --home /airbyte node; \
    else \
      groupadd --gid 1000 airbyte \
      && useradd --uid 1000 --gid 1000 --home-dir /airbyte --shell /usr/sbin/nologin --no-create-home airbyte; \
    fi \
 && mkdir -p /airbyte/integration_code \
 && chown -R airbyte:airbyte /airbyte
WORKDIR /airbyte/integration_code
# package.json carries "type": "module"; spec.json and schemas/ are read at run time from the package
# root (two levels above dist/src/main.js).
COPY --chown=airbyte:airbyte package.json spec.json ./
COPY --chown=airbyte:airbyte schemas ./schemas
COPY --from=build --chown=airbyte:airbyte /build/node_modules ./node_modules
COPY --from=build --chown=airbyte:airbyte /build/dist/src ./dist/src
USER airbyte
# The platform chooses the working directory itself, so the entrypoint uses absolute paths only;
# AIRBYTE_ENTRYPOINT must equal it joined by single spaces (checked by the acceptance tests).
ENV AIRBYTE_ENTRYPOINT="/usr/local/bin/node /airbyte/integration_code/dist/src/main.js"
ENTRYPOINT ["/usr/local/bin/node", "/airbyte/integration_code/dist/src/main.js"]
LABEL io.airbyte.name=sourceoutreach/source-outreach \
      io.airbyte.version=dev
