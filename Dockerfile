# restlink-sidecar container image.
#
# Build stage: exactly `make build` (static, -trimpath, version stamped), so
# that the project's CI, which has no container engine, checks this build.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN make build VERSION=${VERSION}

# Run stage: distroless static, non-root, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/restlink-sidecar /usr/bin/restlink-sidecar
# The shipped Caddyfile: admin API off, listeners on loopback only
# (8080 for apps, 9090 for /metrics and /status).
COPY caddyfile/Caddyfile /etc/caddy/Caddyfile
# Config and keys are mounted: /etc/restlink/config.yaml and
# /run/secrets/restlink/*.key. Caddy keeps its autosave and data under /tmp
# (mount an emptyDir there with a read-only root file system).
ENV RESTLINK_CONFIG=/etc/restlink/config.yaml \
    XDG_CONFIG_HOME=/tmp/caddy/config \
    XDG_DATA_HOME=/tmp/caddy/data
USER nonroot:nonroot
# Readiness: run `restlink-sidecar ready` (asks 127.0.0.1:9090/status).
ENTRYPOINT ["/usr/bin/restlink-sidecar"]
CMD ["run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
