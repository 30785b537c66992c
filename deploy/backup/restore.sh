#!/bin/sh
# Prepares a point-in-time restore (docs/operations.md, "Backups and point-in-time restore"): a new data
# directory from a base backup, set to replay the WAL archive up to TARGET_TIME and then open for writes.
#
#   restore.sh /backups/cabinet/base-20261205T030000Z /backups/cabinet/wal '2026-12-05 14:03:00+03' /var/lib/postgresql/restored
#
# Then start PostgreSQL on NEW_PGDATA (pg_ctl -D NEW_PGDATA start, or point the service at it): it replays the
# archive up to the last transaction committed before TARGET_TIME, and promotes. Run it as the user PostgreSQL
# runs as. The restored server does not archive into the old archive (archive_mode is off until you point it
# at a new one). Nothing is written anywhere but NEW_PGDATA.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 BASE_BACKUP WAL_ARCHIVE TARGET_TIME NEW_PGDATA" >&2; exit 2; }
base=$1 archive=$2 target=$3 pgdata=$4
[ -f "$base/PG_VERSION" ] || { echo "$base is not a base backup (no PG_VERSION)" >&2; exit 2; }
[ -d "$archive" ] || { echo "$archive: no such WAL archive" >&2; exit 2; }
if [ -d "$pgdata" ] && [ -n "$(ls -A "$pgdata")" ]; then
    echo "$pgdata is not empty: refusing to restore over it" >&2; exit 2
fi
mkdir -p "$pgdata"
chmod 700 "$pgdata"
cp -a "$base"/. "$pgdata"/
rm -f "$pgdata/postmaster.pid" "$pgdata/backup_manifest"
cat >> "$pgdata/postgresql.auto.conf" <<CONF
# point-in-time restore prepared by restore.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)
restore_command = 'cp "$archive/%f" "%p"'
recovery_target_time = '$target'
recovery_target_inclusive = off
recovery_target_action = 'promote'
archive_mode = 'off'
CONF
touch "$pgdata/recovery.signal"
echo "$pgdata is ready: start PostgreSQL on it; it replays the WAL up to $target and promotes"
