#!/bin/sh
# Run once by the postgres image on an empty data folder: one login role per
# service, each owning its own schema and able to use nothing else — "each
# service owns a schema" enforced by grants. The passwords come from .env.
set -eu
db=${POSTGRES_DB:-huhang}
psql -v ON_ERROR_STOP=1 -d "$db" -q \
  -v intake="${INTAKE_DB_PASSWORD:?}" -v assessment="${ASSESSMENT_DB_PASSWORD:?}" -v intervention="${INTERVENTION_DB_PASSWORD:?}" \
  -v inspection="${INSPECTION_DB_PASSWORD:?}" -v notification="${NOTIFICATION_DB_PASSWORD:?}" -v console="${CONSOLE_DB_PASSWORD:?}" \
  -v db="$db" <<'SQL'
-- Nobody but the owner and the services' roles connects; nobody creates in public.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE ROLE intake LOGIN PASSWORD :'intake';
CREATE ROLE assessment LOGIN PASSWORD :'assessment';
CREATE ROLE intervention LOGIN PASSWORD :'intervention';
CREATE ROLE inspection LOGIN PASSWORD :'inspection';
CREATE ROLE notification LOGIN PASSWORD :'notification';
CREATE ROLE console LOGIN PASSWORD :'console';
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO intake, assessment, intervention, inspection, notification, console;
CREATE SCHEMA intake AUTHORIZATION intake;
CREATE SCHEMA assessment AUTHORIZATION assessment;
CREATE SCHEMA intervention AUTHORIZATION intervention;
CREATE SCHEMA inspection AUTHORIZATION inspection;
CREATE SCHEMA notification AUTHORIZATION notification;
CREATE SCHEMA console AUTHORIZATION console;
SQL
