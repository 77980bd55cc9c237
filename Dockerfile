# syntax=docker/dockerfile:1
#
# One image for every role of the chat suite:
#   docker build -t chat:local .
#   docker run --rm -p 8080:8080 -p 50051:50051 chat:local          # role "all"
#   docker run --rm chat:local gateway                               # one role per container
# See docs/DEPLOY.md.

ARG RUST_VERSION=1.95
ARG NODE_VERSION=22
ARG DEBIAN_RELEASE=bookworm

# ---- the binary -------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
COPY . .
# The registry, git and target caches survive between builds (BuildKit cache
# mounts); the binary is copied out of the cached target directory.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p chat \
    && install -D -m 0755 target/release/chat /out/chat

# ---- the frontend -----------------------------------------------------------
# With a package.json that has a "build" script, the build output (dist/) is
# served; otherwise frontend/ is plain static files and is copied as it is.
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS frontend
WORKDIR /frontend
COPY frontend/ ./
RUN --mount=type=cache,target=/root/.npm \
    if [ -f package.json ] && node -e 'process.exit(require("./package.json").scripts?.build ? 0 : 1)'; then \
      if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then npm ci --no-audit --no-fund; \
      else npm install --no-audit --no-fund; fi \
      && npm run build \
      && mkdir -p /out && cp -a dist/. /out/; \
    else \
      mkdir -p /out && cp -a . /out/ \
      && rm -rf /out/package.json /out/package-lock.json /out/.gitignore /out/scripts; \
    fi

# ---- the runtime image ------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: TLS to an OTLP collector or a managed database.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 chat \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin chat \
    && mkdir -p /app/data \
    && chown 10001:10001 /app/data
COPY --from=builder /out/chat /app/chat
COPY --from=frontend /out/ /app/frontend/
COPY --chmod=0755 deploy/docker/healthcheck.sh /usr/local/bin/chat-healthcheck

LABEL org.opencontainers.image.title="chat" \
      org.opencontainers.image.description="Real-time chat backend: gateway, auth, profile, room and messaging roles in one binary" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /app
# DATA_DIR holds SQLite files and generated keys when no database or key is
# configured; mount a volume there (compose) or an emptyDir (Kubernetes).
ENV HTTP_ADDR=0.0.0.0:8080 \
    GRPC_ADDR=0.0.0.0:50051 \
    DATA_DIR=/app/data \
    FRONTEND_DIR=/app/frontend
USER 10001:10001
EXPOSE 8080 50051
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/chat"]
CMD ["all"]
