# One image with the five service executables and huhang-admin; the compose
# file picks the executable per container with `command:`. The contracts'
# JSON Schemas, assessment's risk model and each service's API document
# (openapi.yaml, served at /openapi.yaml) travel beside the executables in
# their resource bundles (huhang_Contracts.resources, huhang_Intake.resources, …).
#
#   docker build -t huhang:latest .

# ---- build -------------------------------------------------------------
FROM swift:6.3.1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends librabbitmq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Shared ./Shared
COPY Services ./Services
COPY Tools ./Tools
COPY Tests ./Tests
# The build folder (packages and objects) is a BuildKit cache: a rebuild after a source change fetches
# nothing and compiles only what changed. Symbols are stripped: the static standard library and
# Foundation make each executable large enough without them.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --static-swift-stdlib \
 && mkdir /out \
 && bin="$(swift build -c release --show-bin-path)" \
 && for p in intake assessment intervention inspection notification console huhang-admin; do cp "$bin/$p" /out/; done \
 && strip /out/* \
 && cp -R "$bin"/*.resources /out/

# ---- run ---------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends librabbitmq4 ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin huhang
COPY --from=build /out/ /usr/local/bin/
USER huhang
ENV HTTP_HOST=0.0.0.0 LOG_FORMAT=json
# The service to run is the command, e.g. `intake`.
CMD ["intake"]
