#!/usr/bin/env bash
# Builds Switchboard and its provider plugins, creates the first workspace and
# owner on first start, and runs every role in one process on the embedded
# default (SQLite file + embedded bus in ./switchboard-data).
#
# Environment: everything `switchboard serve` reads (see README), plus
#   SWITCHBOARD_ADMIN_EMAIL  owner's email on first start (default admin@switchboard.local)
set -euo pipefail
cd "$(dirname "$0")/.."

export SWITCHBOARD_DATA_DIR="${SWITCHBOARD_DATA_DIR:-./switchboard-data}"
export SWITCHBOARD_PLUGINS_DIR="${SWITCHBOARD_PLUGINS_DIR:-./target/plugins}"
export SWITCHBOARD_LISTEN="${SWITCHBOARD_LISTEN:-127.0.0.1:8080}"
email="${SWITCHBOARD_ADMIN_EMAIL:-admin@switchboard.local}"

scripts/build-plugins.sh
cargo build --release -p switchboard
bin=target/release/switchboard

mkdir -p "$SWITCHBOARD_DATA_DIR"
password_file="$SWITCHBOARD_DATA_DIR/owner-password.txt"
if [[ ! -s "$password_file" ]]; then
  # A random first password, kept only in the data dir (mode 600).
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$password_file")
fi
password="$(cat "$password_file")"
"$bin" admin bootstrap --email "$email" --password "$password" --workspace Default > "$SWITCHBOARD_DATA_DIR/bootstrap.json"
workspace_id="$(sed -E 's/.*"workspace_id":"([^"]+)".*/\1/' "$SWITCHBOARD_DATA_DIR/bootstrap.json")"

base="http://$SWITCHBOARD_LISTEN"
cat <<MSG

  Open $base/ in a browser and sign in as $email
  with the password in $password_file.
  API: $base/api/v1   (health: $base/healthz, metrics: $base/metrics); from a shell:
    curl -s -X POST $base/api/v1/auth/login -H 'content-type: application/json' \\
      -d '{"email":"$email","password":"$password"}'
  Workspace id: $workspace_id

MSG
exec "$bin" serve
