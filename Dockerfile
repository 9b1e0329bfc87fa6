# One image with one executable, `huhang`, linked under the names of the five services, the console and
# huhang-admin; the compose file picks the program per container with `command:` (`intake`, …). The
# contracts' JSON Schemas, assessment's risk model and each service's API document (openapi.yaml, served at
# /openapi.yaml) travel beside it in their resource bundles (huhang_Contracts.resources, …).
#
# Why one executable: each program statically links the Swift runtime, Foundation (with its ICU data) and the
# packages; seven executables carried seven copies (734 MB of image). One carries them once, and a process
# still pages in only the code it runs, so idle memory per service stays as it was (README, "The image, measured").
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
# nothing and compiles only what changed. Symbols are stripped. The static Swift runtime links programs with
# --export-dynamic, which would put ~55,000 of the program's own symbols in its dynamic symbol table: 2.5 MB of
# every service's idle memory, touched by the dynamic loader at start, for nothing (nothing looks them up).
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --static-swift-stdlib --product huhang -Xlinker --no-export-dynamic \
 && mkdir /out \
 && bin="$(swift build -c release --show-bin-path)" \
 && cp "$bin/huhang" /out/ \
 && strip /out/huhang \
 && for p in intake assessment intervention inspection notification console huhang-admin; do ln -s huhang "/out/$p"; done \
 && cp -R "$bin"/*.resources /out/

# ---- run ---------------------------------------------------------------
FROM debian:bookworm-slim
# apt's package lists and caches go in the same layer (~80 MB otherwise).
RUN apt-get update \
 && apt-get install -y --no-install-recommends librabbitmq4 ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin huhang
COPY --from=build /out/ /usr/local/bin/
USER huhang
ENV HTTP_HOST=0.0.0.0 LOG_FORMAT=json
# The service to run is the command, e.g. `intake`.
CMD ["intake"]
