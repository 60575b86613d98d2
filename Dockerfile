# syntax=docker/dockerfile:1
# Build: full toolchain, compile TypeScript to dist/.
FROM node:24-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts=false
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY controllers ./controllers
COPY cmd ./cmd
RUN npm run build && npm ci --omit=dev && npm cache clean --force

# Run: production dependencies and compiled JavaScript only, as a non-root numeric user.
FROM node:24-bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="volume-controller-manager" \
      org.opencontainers.image.description="Kubernetes volume controllers (PV binder, attach-detach, CSI provisioner and attacher) in one leader-elected process" \
      org.opencontainers.image.source="https://github.com/volume-controller-manager/volume-controller-manager" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN ln -s /app/dist/cmd/volume-controller-manager.js /usr/local/bin/volume-controller-manager && chmod +x /app/dist/cmd/volume-controller-manager.js
USER 65532:65532
ENTRYPOINT ["volume-controller-manager"]
