#!/usr/bin/env bash
# Builds the JSON webhook provider as a WebAssembly component and prints its path.
#
#   build.sh                    target/wasm32-wasip2/release/switchboard_provider_webhook_json.wasm
#   build.sh --as-version V     the same code released as version V (a copy of
#                               the crate with that version, built beside it):
#                               target/versions/V/switchboard_provider_webhook_json.wasm
#                               (the host's tests use it to install two versions)
set -euo pipefail
cd "$(dirname "$0")"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "Installing the wasm32-wasip2 target..." >&2
  rustup target add wasm32-wasip2
fi

if [[ "${1:-}" == "--as-version" ]]; then
  version="${2:?--as-version needs a version}"
  copy="target/versions/$version/crate"
  rm -rf "$copy" && mkdir -p "$copy"
  cp -r Cargo.toml Cargo.lock src "$copy/"
  # The copy lives elsewhere: point it at the SDK by absolute path.
  sed -i "s|^version = \".*\"|version = \"$version\"|; s|path = \"../../plugins/sdk\"|path = \"$(cd ../../plugins/sdk && pwd)\"|" "$copy/Cargo.toml"
  # Shares this crate's build directory: only the crate itself recompiles.
  (cd "$copy" && CARGO_TARGET_DIR="$PWD/../../../../target/version-build" \
    cargo build --release --target wasm32-wasip2 >&2)
  cp "target/version-build/wasm32-wasip2/release/switchboard_provider_webhook_json.wasm" \
     "target/versions/$version/switchboard_provider_webhook_json.wasm"
  echo "$PWD/target/versions/$version/switchboard_provider_webhook_json.wasm"
  exit 0
fi

cargo build --release --target wasm32-wasip2 "$@" >&2
echo "$PWD/target/wasm32-wasip2/release/switchboard_provider_webhook_json.wasm"
