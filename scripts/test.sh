#!/usr/bin/env bash
# Runs the whole test suite:
#   1. unit tests of every crate and the end-to-end suite on the embedded
#      default (SQLite + embedded bus);
#   2. the same end-to-end suite on the distributed deployment (Kafka through
#      tansu + PostgreSQL), started by scripts/services.sh;
#   3. the Kafka bus's own tests and the fault tests of the distributed
#      deployment (their own brokers and databases; the fault tests one at a
#      time: they kill and stop processes).
# Set SWITCHBOARD_TEST_EMBEDDED_ONLY=1 to run only the first part.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-plugins.sh
scripts/browser-deps.sh   # Debian's chromium and chromedriver, for tests/browser.rs
# The fifth provider is built outside the workspace, as a plugin author would.
examples/webhook-json/build.sh >/dev/null
examples/webhook-json/build.sh --as-version 0.2.0 >/dev/null  # a second version, for the upgrade tests
examples/webhook-json/build.sh --contract 0.1.0 >/dev/null   # the same provider on the older contract
# The same fifth provider written in Python (componentize-py), for the same conformance vectors.
examples/webhook-json-py/build.sh --test >/dev/null
cargo test --workspace "$@" -- --skip distributed_fault_ --skip distributed_bus_

if [[ "${SWITCHBOARD_TEST_EMBEDDED_ONLY:-}" != 1 ]]; then
  echo "=== the end-to-end suite on the distributed deployment (Kafka + PostgreSQL) ==="
  while IFS= read -r line; do export "$line"; done < <(scripts/services.sh)
  cargo test -p switchboard --test e2e_telegram --test e2e_sandbox --test e2e_durability \
    --test conformance --test e2e_providers --test e2e_plugin_platform --test e2e_replay --test e2e_inbox --test e2e_roles --test e2e_widget "$@"
  echo "=== the Kafka bus on its own broker ==="
  cargo test -p switchboard --test kafka_bus "$@"
  echo "=== fault tests of the distributed deployment ==="
  cargo test -p switchboard --test e2e_faults "$@" -- --test-threads=1
fi
