# Tensorify Server: multi-stage build; the runtime runs as a non-root user with its data in a volume.
#   docker build -t tensorify-server .
#   docker run -p 3000:3000 -v tensorify-data:/data -e TENSORIFY_BOOTSTRAP_API_KEY=tfy_... tensorify-server

FROM node:20-bookworm-slim AS build
WORKDIR /app
# sqlite3 compiles its native addon from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The plugins are npm workspaces: their package.json files must be there for npm ci.
COPY plugins/executor-sdk/package.json ./plugins/executor-sdk/
COPY plugins/local/package.json ./plugins/local/
COPY plugins/docker/package.json ./plugins/docker/
COPY plugins/ssh/package.json ./plugins/ssh/
# Only sqlite3's install script runs (package.json "allowScripts"): the npm 10 of node:20 ignores
# that field and would also run @scarf/scarf's telemetry postinstall and @parcel/watcher's.
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && npm rebuild sqlite3
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY plugins ./plugins
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
# python3 runs the generated programs of the local executor.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
WORKDIR /app
ENV NODE_ENV=production \
    TENSORIFY_HOST=0.0.0.0 \
    TENSORIFY_PORT=3000 \
    TENSORIFY_DATA_DIR=/data
# The code stays owned by root: the server user can read it but only write to /data.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY codegen-templates ./codegen-templates
COPY --from=build /app/plugins ./plugins
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.TENSORIFY_PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/tensorify-server.js", "start"]
