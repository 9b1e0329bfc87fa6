# A private Docker engine for the project's container proofs (scripts/compose-test, bench/image): Debian's
# docker.io and docker-compose installed if missing, a dockerd of our own (its data root, socket and PID under
# .dev/compose), and local stand-ins for the images no registry here can give (a debootstrapped
# debian:bookworm-slim; swift:6.3.1-bookworm from it plus the local toolchain and package mirror; postgres:15
# and rabbitmq:3.10 from Debian's packages). Sourced by those scripts, which set ROOT and TOOL (their name).
# shellcheck shell=bash
WORK=${HUHANG_COMPOSE_DIR:-$ROOT/.dev/compose}
SOCK=$WORK/docker.sock
export DOCKER_HOST=unix://$SOCK DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
# Debian's client has BuildKit; a newer one elsewhere on PATH may lack it.
export PATH=/usr/bin:/usr/sbin:$PATH
START=$(date +%s)

log() { printf '[%s %4ss] %s\n' "$TOOL" "$(( $(date +%s) - START ))" "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

apt_install() {
  local missing=() p attempt
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  for attempt in 1 2 3 4; do
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 && return 0
    apt-get update -qq >/dev/null 2>&1 || true
    sleep 2
  done
  cat "$WORK/apt.log" >&2
  return 1
}

# ---------------------------------------------------------------- engine

DOCKERD_PID=
start_engine() {
  mkdir -p "$WORK/data" "$WORK/exec"
  if [ -S "$SOCK" ] && docker info >/dev/null 2>&1; then fail "a dockerd already answers on $SOCK; stop it first"; fi
  log "starting a private dockerd"
  dockerd --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
    --host "unix://$SOCK" --storage-driver overlay2 >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  tail -20 "$WORK/dockerd.log" >&2
  fail "dockerd did not start"
}

# Stops the private dockerd by its PID (and its data unless KEEP_IMAGES is set).
stop_engine() {
  [ -n "$DOCKERD_PID" ] || return 0
  log "stopping the private dockerd (PID $DOCKERD_PID)"
  kill "$DOCKERD_PID" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
  kill -9 "$DOCKERD_PID" 2>/dev/null || true
  # containerd-shims outlive a stopped dockerd only if it was killed; none should be left.
  pkill -f "containerd-shim.*$WORK/exec" 2>/dev/null || true
  [ -n "${KEEP_IMAGES:-}" ] || rm -rf "$WORK/data" "$WORK/exec"
  DOCKERD_PID=
}

# ---------------------------------------------------------------- stand-ins

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

standins() {
  if ! have_image debian:bookworm-slim; then
    log "debian:bookworm-slim: debootstrap (minbase)"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
      || { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
    printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Keep-Downloaded-Packages "false";\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' \
      > "$WORK/rootfs/etc/apt/apt.conf.d/docker-clean"
    rm -rf "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/var/cache/apt/"*.bin
    tar -C "$WORK/rootfs" -c . | docker import - debian:bookworm-slim >/dev/null
    rm -rf "$WORK/rootfs"
  fi
  if ! have_image swift:6.3.1-bookworm; then
    log "swift:6.3.1-bookworm: the base, the toolchain's libraries, /opt/swift and the package mirror"
    docker build -q -t huhang-standin/swift-base - >/dev/null <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends binutils git gnupg2 libc6-dev libcurl4-openssl-dev libedit2 \
    libgcc-12-dev libpython3-dev libsqlite3-0 libstdc++-12-dev libxml2-dev libz3-dev pkg-config tzdata zlib1g-dev ca-certificates \
    libncurses6 libicu72 libbsd0 libffi8 libuuid1 libzstd1 \
 && rm -rf /var/lib/apt/lists/*
DOCKERFILE
    docker rm -f huhang-swift-standin >/dev/null 2>&1 || true
    docker run --name huhang-swift-standin -v /opt/swift:/mnt/swift:ro -v /opt/swift-packages:/mnt/packages:ro huhang-standin/swift-base \
      sh -c 'cp -a /mnt/swift /opt/swift && cp -a /mnt/packages /opt/swift-packages \
             && git config --system url./opt/swift-packages/.insteadOf https://github.com/' >/dev/null
    docker commit --change 'ENV PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      huhang-swift-standin swift:6.3.1-bookworm >/dev/null
    docker rm huhang-swift-standin >/dev/null
  fi
  have_image postgres:15 || { log "postgres:15 from Debian's packages"; docker build -q -t postgres:15 "$ROOT/deploy/standins/postgres" >/dev/null; }
  have_image rabbitmq:3.10 || { log "rabbitmq:3.10 from Debian's packages"; docker build -q -t rabbitmq:3.10 "$ROOT/deploy/standins/rabbitmq" >/dev/null; }
}

