# One image for the Node parts of JasaWeb: the one-shot migration job
# (node dist/db/cli/deploy.js), the API edge in front of PostgREST
# (node dist/stack/edge.js) and the worker (the default command).
# PostgreSQL and PostgREST use their official images (docker-compose.yml).
#
# There is no Docker engine on the development machines: tests/deploy/image.test.ts
# replays this file step by step in temporary directories and runs both
# commands of the result against a real PostgreSQL (and the edge against a
# real PostgREST). It understands FROM … AS,
# WORKDIR, ENV, COPY [--from=stage] src… dest, RUN, USER and CMD; anything
# else makes it fail, so extend it together with this file.

# Build: every dependency (TypeScript among them), then tsc emits dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# tsc needs neither install scripts nor optional packages: both only serve
# the development tools' platform binaries (embedded PostgreSQL, PostgREST,
# swc, esbuild), which this stage never runs.
RUN npm ci --ignore-scripts --omit=optional --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY config ./config
COPY services ./services
COPY db ./db
COPY worker ./worker
COPY realtime ./realtime
COPY edge ./edge
COPY stack ./stack
RUN npm run build

# Runtime: the production dependencies (no tsx, TypeScript, jest, embedded
# PostgreSQL or PostgREST binaries), the compiled code, and the migrations:
# committed/ for db:deploy (and reload-postgrest.sql, the action .gmrc runs
# after migrating), down/ so that an operator can undo a deployment
# from the image (node dist/db/cli/rollback.js). current.sql is development
# only. dist/config/paths.js finds /app (package.json) by walking up.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --omit=optional as well: cosmiconfig (under graphile-worker) names TypeScript
# an optional peer, which npm would otherwise install here ("devOptional").
# The only other optional packages are fsevents (macOS) and pg-cloudflare
# (Cloudflare Workers), which Node on Linux never loads.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund
COPY .gmrc ./
COPY migrations/reload-postgrest.sql ./migrations/
COPY migrations/committed ./migrations/committed
COPY migrations/down ./migrations/down
COPY --from=build /app/dist ./dist
USER node
CMD ["node", "dist/stack/worker.js"]
