#!/usr/bin/env bash
# Make sure what the tests talk to is there: PostgreSQL on 127.0.0.1:5432 (started if
# installed but stopped; installed from Debian's packages when missing and we are root,
# as on a fresh CI machine), Redis on 127.0.0.1:6379 (Airflow's Celery broker in the
# tests; started the same way), and Debian's Chromium for the web UI's browser tests.
set -euo pipefail

apt_install() {
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
  else
    return 1
  fi
}

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Chromium (Debian's package) for the web UI's browser tests"
  apt_install chromium || echo "warning: cannot install Chromium (not root, or no apt-get): the browser tests will say so" >&2
fi

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }

if ! redis_up; then
  echo "Redis is not answering on 127.0.0.1:6379; starting it"
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server \
    || echo "warning: cannot install Redis (not root, or no apt-get): the Celery test will say so" >&2
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
    for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  fi
fi

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if pg_up; then
  exit 0
fi
echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  apt_install postgresql || {
    echo "error: PostgreSQL is not installed; install it (apt-get install postgresql) and start it" >&2
    exit 1
  }
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
