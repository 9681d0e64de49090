#!/usr/bin/env bash
# Make sure the services the tests talk to are up: PostgreSQL on 127.0.0.1:5432.
# Starts the local cluster if it is installed but stopped; installs it from Debian's
# packages when it is missing and we are root (a fresh CI machine).
set -euo pipefail

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if pg_up; then
  exit 0
fi
echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "error: PostgreSQL is not installed; install it (apt-get install postgresql) and start it" >&2
    exit 1
  fi
fi
version="$(ls /etc/postgresql | sort -V | tail -1)"
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
conf="/etc/postgresql/$version/main/pg_hba.conf"
for _ in $(seq 1 30); do
  if pg_up; then
    # Tests connect as postgres over TCP without a password (trust), as on the
    # developer machines; make a freshly installed cluster match.
    if ! psql -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1 && [ -f "$conf" ]; then
      sed -i 's/^\(host.*127.0.0.1\/32\s*\)\S*$/\1trust/' "$conf"
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
    psql -h 127.0.0.1 -U postgres -d postgres -tc "select 1 from pg_database where datname = 'test'" | grep -q 1 \
      || psql -h 127.0.0.1 -U postgres -d postgres -c 'create database test' >/dev/null
    exit 0
  fi
  sleep 1
done
echo "error: PostgreSQL did not start on 127.0.0.1:5432" >&2
exit 1
