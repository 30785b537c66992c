#!/bin/sh
# The runtime role the cabinet serves as (its privileges are given by `cabinet migrate --grant-runtime`).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$APP_PASSWORD" <<'SQL'
CREATE ROLE cabinet_app LOGIN PASSWORD :'app_password';
SQL
