#!/bin/sh
# A base backup of the cabinet's PostgreSQL server with PostgreSQL's own pg_basebackup (docs/operations.md,
# "Backups and point-in-time restore"). Run it daily (or more) on a host that can reach the server, as a role
# with REPLICATION (or the superuser). Together with the WAL archive it lets you restore to any moment after
# the backup finished.
#
#   PGHOST=db PGPORT=5432 PGUSER=replicator base-backup.sh /backups/cabinet
#
# Writes /backups/cabinet/base-<UTC time>/ (a plain copy of the data directory, with the WAL it needs to be
# consistent) and prints its path. PG_BIN names the directory of the PostgreSQL tools when they are not on PATH.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BACKUP_DIR" >&2; exit 2; }
tool() { if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN/$1"; else echo "$1"; fi; }
dest="$1/base-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$1"
"$(tool pg_basebackup)" --pgdata="$dest" --wal-method=stream --checkpoint=fast --no-password \
    --label="cabinet base backup" --progress >&2
# The backup is not a backup until it has been verified.
"$(tool pg_verifybackup)" --no-parse-wal "$dest" >&2
echo "$dest"
