#!/usr/bin/env bash
# Builds the JSON webhook provider as a WebAssembly component and prints its path.
set -euo pipefail
cd "$(dirname "$0")"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "Installing the wasm32-wasip2 target..." >&2
  rustup target add wasm32-wasip2
fi

cargo build --release --target wasm32-wasip2 "$@" >&2
echo "$PWD/target/wasm32-wasip2/release/switchboard_provider_webhook_json.wasm"
