# tamma-api and tamma-engine: two targets of one multi-stage file, as in Tamma, which builds its
# TypeScript services this way. The `deps` and `build` stages are shared: a builder that builds
# both targets builds them once. The example's services are Python (standard library only) on
# tamma-offline/python, made by scripts/make-images: building needs no registry and no network.

# What every service depends on (upstream: node_modules from the lockfile).
FROM tamma-offline/python:3.11 AS deps
WORKDIR /src
COPY packages/shared/ packages/shared/

# Compile once for both services (upstream: `pnpm build`), then lay out one dist per service.
FROM deps AS build
COPY packages/api/ packages/api/
COPY packages/engine/ packages/engine/
# unchecked-hash: the byte code stays valid whatever timestamps COPY gives the sources.
RUN python3 -m compileall -q --invalidation-mode unchecked-hash packages \
    && mkdir -p /dist/api /dist/engine \
    && cp -r packages/shared/tamma_shared packages/api/tamma_api /dist/api/ \
    && cp -r packages/shared/tamma_shared packages/engine/tamma_engine /dist/engine/

FROM tamma-offline/python:3.11 AS runtime
RUN groupadd --gid 1001 tamma \
    && useradd --uid 1001 --gid tamma --no-create-home --home-dir /app --shell /usr/sbin/nologin tamma
WORKDIR /app
ENV PYTHONPATH=/app

FROM runtime AS tamma-api
COPY --from=build /dist/api/ /app/
USER tamma
EXPOSE 3100
# 127.0.0.1, never localhost: the server listens on IPv4 only (Tamma's upstream bug).
HEALTHCHECK --interval=2s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python3", "-m", "tamma_shared.healthcheck", "http://127.0.0.1:3100/health"]
CMD ["python3", "-m", "tamma_api"]

FROM runtime AS tamma-engine
COPY --from=build /dist/engine/ /app/
USER tamma
HEALTHCHECK --interval=2s --timeout=3s --start-period=15s --retries=3 \
    CMD ["test", "-f", "/tmp/tamma-engine-healthy"]
CMD ["python3", "-m", "tamma_engine"]
