#!/bin/sh
# Renders the broker definitions with the passwords from the environment,
# enables the management API (how huhang-admin adds agencies' users), then runs
# the image's own entrypoint. The passwords go into a file readable only by the
# broker; RabbitMQ stores them hashed.
set -eu
umask 077
sed -e "s|\${AMQP_ADMIN_PASSWORD}|${AMQP_ADMIN_PASSWORD:?}|" \
    -e "s|\${INTAKE_AMQP_PASSWORD}|${INTAKE_AMQP_PASSWORD:?}|" \
    -e "s|\${ASSESSMENT_AMQP_PASSWORD}|${ASSESSMENT_AMQP_PASSWORD:?}|" \
    -e "s|\${INTERVENTION_AMQP_PASSWORD}|${INTERVENTION_AMQP_PASSWORD:?}|" \
    -e "s|\${INSPECTION_AMQP_PASSWORD}|${INSPECTION_AMQP_PASSWORD:?}|" \
    -e "s|\${NOTIFICATION_AMQP_PASSWORD}|${NOTIFICATION_AMQP_PASSWORD:?}|" \
    /etc/huhang/definitions.json > /tmp/huhang-definitions.json
# The nodes of a cluster share one Erlang cookie (docker-compose.cluster.yml sets ERLANG_COOKIE).
if [ -n "${ERLANG_COOKIE:-}" ]; then
  cookie=${HOME:-/var/lib/rabbitmq}/.erlang.cookie
  rm -f "$cookie"
  printf '%s' "$ERLANG_COOKIE" > "$cookie"
  chmod 400 "$cookie"
  [ "$(id -u)" = 0 ] && chown rabbitmq:rabbitmq "$cookie" 2>/dev/null || true
fi
echo "[rabbitmq_management]." > /tmp/huhang-enabled-plugins
export RABBITMQ_ENABLED_PLUGINS_FILE=/tmp/huhang-enabled-plugins
exec docker-entrypoint.sh "$@"
