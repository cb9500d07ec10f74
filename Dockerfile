# syntax=docker/dockerfile:1
# Build stage: a release build of the switchboard binary.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cargo.toml declares the bench target, so its file must be present for the manifest to load.
COPY benches ./benches
RUN cargo build --release --locked --bin switchboard

# Runtime stage: slim Debian, non-root user, the binary, the browser client and a config.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin switchboard
WORKDIR /app
COPY --from=build /src/target/release/switchboard /usr/local/bin/switchboard
COPY static ./static
COPY config ./config
# Chat history (config: [storage] path = "../data/switchboard.db"); compose mounts a volume here.
RUN mkdir -p /app/data && chown switchboard /app/data
VOLUME /app/data
USER switchboard
# Logs at info, the WebRTC stack's internals kept quiet; RUST_LOG replaces that filter.
ENV SWITCHBOARD_CONFIG=/app/config/switchboard.toml
# 8080: HTTP + WebSocket signaling. 50000/udp: the relay's one WebRTC (ICE) socket.
EXPOSE 8080 50000/udp
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["switchboard"]
CMD ["serve"]
