#!/usr/bin/env bash
# Starts what the distributed test suite needs, reusing what is already there:
#   - tansu, an Apache Kafka compatible broker, on 127.0.0.1:9092 with its
#     SQLite storage engine (durable across broker restarts; its memory
#     engine cannot resume a consumer inside a record batch);
#   - this machine's PostgreSQL on 127.0.0.1:5432.
# Prints the environment the suite reads; idempotent.
#
# Env: SWITCHBOARD_SERVICES_DIR (default target/services) holds tansu's data and log.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${SWITCHBOARD_SERVICES_DIR:-$PWD/target/services}"
mkdir -p "$dir"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! command -v tansu >/dev/null 2>&1; then
  echo "Installing tansu (a Kafka-compatible broker; takes several minutes once)..." >&2
  cargo install tansu --locked --features libsql >&2
fi

if ! port_open 9092; then
  echo "Starting tansu on 127.0.0.1:9092 (log: $dir/tansu.log)" >&2
  (cd "$dir" && exec setsid nohup tansu broker \
      --storage-engine sqlite://tansu.db \
      --listener-url tcp://127.0.0.1:9092 \
      --advertised-listener-url tcp://127.0.0.1:9092 \
      >> tansu.log 2>&1 &)
  for _ in $(seq 1 100); do port_open 9092 && break; sleep 0.2; done
  port_open 9092 || { echo "tansu did not start; see $dir/tansu.log" >&2; tail -20 "$dir/tansu.log" >&2; exit 1; }
fi

if ! port_open 5432; then
  echo "Starting PostgreSQL..." >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2
  for _ in $(seq 1 50); do port_open 5432 && break; sleep 0.2; done
fi
# Databases earlier runs of the suite left behind (none in use right now).
psql -h 127.0.0.1 -U postgres -d postgres -tA -c "
  SELECT 'DROP DATABASE IF EXISTS ' || quote_ident(d.datname) || ';' FROM pg_database d
  WHERE d.datname LIKE 'sbtest\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)" \
  | psql -h 127.0.0.1 -U postgres -d postgres -q >/dev/null 2>&1 || true

echo "SWITCHBOARD_TEST_KAFKA=127.0.0.1:9092"
echo "SWITCHBOARD_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres"
