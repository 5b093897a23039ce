#!/usr/bin/env bash
# Runs the whole test suite: unit tests of every crate, the plugin
# components' sandbox tests and the end-to-end tests against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-plugins.sh
cargo test --workspace "$@"
