# Tensorify Server: multi-stage build; the runtime runs as a non-root user with its data in a volume.
#   docker build -t tensorify-server .
#   docker run -p 3000:3000 -v tensorify-data:/data -e TENSORIFY_BOOTSTRAP_API_KEY=tfy_... tensorify-server
#
# The image holds exactly what `npm install -g` of the npm package holds (the package's `files`,
# the bundled SDK and the production dependencies), so the container runs the same layout as an
# npm install. NODE_IMAGE may name another Node 20 image with the official image's layout (node
# and its headers under /usr/local, a user `node`), e.g. a mirror of it in a private registry.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# sqlite3 compiles its native addon from source: it needs python3, make and g++, and Node's
# headers, taken from the image (/usr/local/include/node) rather than downloaded.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local \
    SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
# The plugins and the client are npm workspaces: their package.json files must be there for npm ci.
COPY plugins/executor-sdk/package.json ./plugins/executor-sdk/
COPY plugins/local/package.json ./plugins/local/
COPY plugins/docker/package.json ./plugins/docker/
COPY plugins/ssh/package.json ./plugins/ssh/
COPY client/package.json ./client/
# Only sqlite3's install script runs (package.json "allowScripts"): the npm 10 of node:20 ignores
# that field and would also run @scarf/scarf's telemetry postinstall and @parcel/watcher's.
# build_from_source skips sqlite3's attempt to download a prebuilt binary from GitHub.
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && npm_config_build_from_source=true npm rebuild sqlite3
COPY tsconfig.json tsconfig.build.json nest-cli.json README.md ./
COPY assets ./assets
COPY bin ./bin
COPY src ./src
COPY codegen-templates ./codegen-templates
COPY client ./client
COPY scripts/generate-client.js scripts/precompile-node-schemas.js ./scripts/
COPY plugins ./plugins
# Build, keep the production dependencies, and pack: /package is the npm package as published,
# then the production dependencies go beside it (the workspace links are left out: the package
# bundles the SDK and finds its first-party plugins in its own plugins/ folder).
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts \
 && npm pack --pack-destination /tmp \
 && mkdir /package \
 && tar -xzf /tmp/*.tgz -C /package --strip-components=1 --no-same-owner \
 && rm -rf node_modules/@tensorify \
 && cp -a node_modules/. /package/node_modules/ \
 && node /package/bin/tensorify-server.js --version

FROM ${NODE_IMAGE} AS runtime
# python3 and venv run the generated programs (local executor); tini reaps them and forwards signals.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
ENV NODE_ENV=production \
    TENSORIFY_HOST=0.0.0.0 \
    TENSORIFY_PORT=3000 \
    TENSORIFY_DATA_DIR=/data
# The code stays owned by root: the server's user can read it but writes only to /data.
COPY --from=build /package /app
WORKDIR /app
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.TENSORIFY_PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
# --max-semi-space-size=4: see "Memory" in the README (as npm start runs the server).
CMD ["node", "--max-semi-space-size=4", "/app/bin/tensorify-server.js", "start"]
