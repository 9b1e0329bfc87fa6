#!/bin/sh
# One of three roles (see the Dockerfile): monitor, node or endpoint. Passwords come from the environment:
#   AUTOCTL_NODE_PASSWORD   the keepers' and the endpoint's login on the monitor (autoctl_node)
#   REPLICATION_PASSWORD    the standby's login on the primary (pgautofailover_replicator)
#   POSTGRES_USER/PASSWORD/DB   the owner's login and database, made once on the first primary
# MONITOR_HOST (default postgres-monitor) names the monitor; NODES (endpoint) the nodes, by host name.
# Every login from the network uses scram-sha-256, except the monitor's health check (pgautofailover_monitor,
# which may only connect, and only to the database postgres), as pg_auto_failover sets it up itself.
set -eu
MONITOR_HOST=${MONITOR_HOST:-postgres-monitor}
MONITOR_URL="postgres://autoctl_node@$MONITOR_HOST:5432/pg_auto_failover?sslmode=require"
HOST=$(hostname)
# Written once this start has set the node up (as primary or standby; the monitor: its login); the healthcheck
# waits for it, so a failed set-up shows as an unhealthy container.
READY=/tmp/node-ready
rm -f "$READY"
# The logins this container makes (to the monitor; a standby's base backup and streaming, pg_rewind) read their
# passwords from ~/.pgpass, so that none is on a command line.
umask 077
printf '%s\n' "$MONITOR_HOST:5432:pg_auto_failover:autoctl_node:${AUTOCTL_NODE_PASSWORD:?}" \
  "*:5432:*:pgautofailover_replicator:${REPLICATION_PASSWORD:-}" > "$HOME/.pgpass"
umask 022

# Runs SQL given on standard input (never on the command line: some of it sets passwords).
sql() { psql -v ON_ERROR_STOP=1 -qAt "$@"; }

# Runs the keeper, does `$1` once PostgreSQL answers, and passes a stop on to the keeper.
run_keeper() {
  pg_autoctl run --pgdata "$PGDATA" &
  keeper=$!
  trap 'kill -TERM $keeper 2>/dev/null' TERM INT
  "$1" &
  wait $keeper || true
  wait $keeper 2>/dev/null || true
}

monitor_ready() {
  until psql -qAt -d pg_auto_failover -c "SELECT 1" >/dev/null 2>&1; do sleep 1; done
  printf "ALTER USER autoctl_node PASSWORD '%s';\n" "$AUTOCTL_NODE_PASSWORD" | sql -d pg_auto_failover
  echo "monitor: ready"
  touch "$READY"
}

# On whichever node is primary: the replication login's password, the owner and database, the init scripts
# (once: their mark is in the database, so a promoted standby does not run them again).
node_ready() {
  until [ "$(psql -qAt -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
    # A standby has nothing to set up; it is set up by its primary's changes.
    [ "$(psql -qAt -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ] && { echo "node $HOST: standby"; touch "$READY"; return 0; }
    sleep 1
  done
  sql -d postgres <<SQL
ALTER USER pgautofailover_replicator PASSWORD '${REPLICATION_PASSWORD:?}';
SELECT 'CREATE ROLE "${POSTGRES_USER:-postgres}" SUPERUSER LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${POSTGRES_USER:-postgres}')\gexec
ALTER ROLE "${POSTGRES_USER:-postgres}" PASSWORD '${POSTGRES_PASSWORD:?}';
SQL
  db=${POSTGRES_DB:-huhang}
  if [ "$(psql -qAt -d "$db" -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()")" != initialised ]; then
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) echo "running $f"; PGUSER=postgres . "$f" ;;
        *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 -d "$db" -qf "$f" ;;
      esac
    done
    psql -qAt -d "$db" -c "COMMENT ON DATABASE \"$db\" IS 'initialised'"
  fi
  echo "node $HOST: primary"
  touch "$READY"
}

# Set once creation has finished: an interrupted `pg_autoctl create` is run again (it resumes).
CREATED=/var/lib/postgresql/data/autoctl/created
mkdir -p "$(dirname "$CREATED")"

monitor() {
  if [ ! -f "$CREATED" ]; then
    pg_autoctl create monitor --pgdata "$PGDATA" --pgport 5432 --hostname "$HOST" --ssl-self-signed --skip-pg-hba
    grep -q "^local all postgres peer" "$PGDATA/pg_hba.conf" || sed -i '1i local all postgres peer' "$PGDATA/pg_hba.conf"
    printf 'hostssl pg_auto_failover autoctl_node samenet scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    touch "$CREATED"
  fi
  run_keeper monitor_ready
}

node() {
  if [ ! -f "$CREATED" ]; then
    # The monitor may still be starting; its password may not be set yet.
    until psql "$MONITOR_URL" -qAt -c "SELECT 1" >/dev/null 2>&1; do echo "waiting for the monitor"; sleep 2; done
    # A standby's base backup needs the primary to have set the replication login's password: until then
    # pg_autoctl retries.
    pg_autoctl create postgres --pgdata "$PGDATA" --pgport 5432 --hostname "$HOST" --name "$HOST" \
      --dbname "${POSTGRES_DB:-huhang}" --monitor "$MONITOR_URL" --ssl-self-signed --skip-pg-hba
    # As the main file's PostgreSQL: each service replica keeps its pool open.
    grep -q "^max_connections" "$PGDATA/postgresql.conf" || echo "max_connections = ${MAX_CONNECTIONS:-300}" >> "$PGDATA/postgresql.conf"
    # An index probe priced near a sequential read (SSDs, the working set in memory), as the main file's PostgreSQL.
    grep -q "^random_page_cost" "$PGDATA/postgresql.conf" || echo "random_page_cost = 1.1" >> "$PGDATA/postgresql.conf"
    touch "$CREATED"
  fi
  # The rules, kept in the data folder (a standby's copy of its primary's is replaced by the same). The
  # entrypoint's own local login comes first.
  if ! grep -q "huhang rules" "$PGDATA/pg_hba.conf"; then
    sed -i '1i local all postgres peer' "$PGDATA/pg_hba.conf"
    cat >> "$PGDATA/pg_hba.conf" <<'RULES'
# huhang rules
hostssl postgres pgautofailover_monitor samenet trust
host postgres pgautofailover_monitor samenet trust
hostssl replication pgautofailover_replicator samenet scram-sha-256
hostssl all pgautofailover_replicator samenet scram-sha-256
host all all samenet scram-sha-256
RULES
  fi
  run_keeper node_ready
}

endpoint() {
  {
    printf 'global\n  external-check\n  insecure-fork-wanted\n'
    printf 'defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 1h\n  timeout server 1h\n  timeout check 3s\n'
    printf 'listen postgres\n  bind :5432\n  option external-check\n  external-check path "/usr/bin:/bin:/usr/lib/postgresql/15/bin"\n'
    printf '  external-check command /usr/local/bin/check-primary\n'
    printf '  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions resolvers docker init-addr last,libc,none\n'
    for n in ${NODES:-postgres postgres-2}; do printf '  server %s %s:5432 check\n' "$n" "$n"; done
    printf 'resolvers docker\n  nameserver dns 127.0.0.11:53\n  hold valid 1s\n'
  } > /tmp/haproxy.cfg
  umask 077
  printf 'MONITOR_HOST=%s\nAUTOCTL_NODE_PASSWORD=%s\n' "$MONITOR_HOST" "$AUTOCTL_NODE_PASSWORD" > /tmp/endpoint.env
  exec haproxy -W -db -f /tmp/haproxy.cfg
}

case "${1:-node}" in
  monitor) monitor ;;
  node) node ;;
  endpoint) endpoint ;;
  *) exec "$@" ;;
esac
