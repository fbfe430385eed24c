# syntax=docker/dockerfile:1
# Build: one self-contained binary, with the same permission flags as `deno task compile`.
FROM denoland/deno:2.9.6 AS build
WORKDIR /app
# deno.json and deno.lock hold only what serving needs (tests, scripts and RAG
# are in deno.dev.json): ~120 packages, no build scripts. vendor/postgres is
# deno.json's "links" (the patched postgres.js).
COPY deno.json deno.lock ./
COPY vendor ./vendor
COPY main.ts ./
COPY src ./src
RUN deno install --frozen && deno task compile

# Run: only the binary, as a non-root user, on a minimal glibc base. It reads
# files only under /etc/mcp-tool-server/, /run/secrets/ and /run/credentials/
# and writes only under /var/log/mcp-tool-server/ (the compile flags): mount a
# tools file at /etc/mcp-tool-server/tools.yaml and set TOOLS_FILE to it.
# ENVIRONMENT=production: without DB_URL (or a tools file with a postgres
# source) it refuses to start unless DB_EMBEDDED=true asks for the demo data.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /app/dist/mcp-tool-server /usr/local/bin/mcp-tool-server
USER nonroot:nonroot
# A container is reached from outside itself: listen on all interfaces, and
# refuse to start without API_KEY_PRIMARY (production).
ENV HOST=0.0.0.0 PORT=8000 ENVIRONMENT=production
EXPOSE 8000
# No curl in the image: the binary checks itself.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/mcp-tool-server", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/mcp-tool-server"]
CMD ["serve"]
