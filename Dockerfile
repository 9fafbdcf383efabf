# Production image: the service compiled ahead of time (npm run build -> dist/), started with plain node, so a
# restarted container serves again within a couple of seconds instead of compiling TypeScript first.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# patches/: fixes to unmaintained dependencies (kafkajs), applied by patch-package at install, bundled by the build.
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only: the bundle leaves a few packages (PGlite, Swagger UI) to node_modules. kafkajs, the
# only patched package, is inside the bundle, so the runtime install skips scripts (patch-package is a dev tool).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Set NODE_OPTIONS=--enable-source-maps for TypeScript line numbers in stack traces (slower start).
CMD ["node", "dist/app/main.js"]
