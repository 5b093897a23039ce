#!/usr/bin/env bash
# Builds the JSON webhook provider as a WebAssembly component and prints its path.
#
#   build.sh                    target/wasm32-wasip2/release/switchboard_provider_webhook_json.wasm
#   build.sh --as-version V     the same code released as version V (a copy of
#                               the crate with that version, built beside it):
#                               target/versions/V/switchboard_provider_webhook_json.wasm
#                               (the host's tests use it to install two versions)
#   build.sh --contract 0.1.0   built against the older contract (the SDK's
#                               `contract-0-1-0` feature), for hosts that predate
#                               0.2.0: target/contracts/0.1.0/switchboard_provider_webhook_json.wasm
#                               (the host's tests use it to show both contracts served side by side)
set -euo pipefail
cd "$(dirname "$0")"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "Installing the wasm32-wasip2 target..." >&2
  rustup target add wasm32-wasip2
fi

wasm=switchboard_provider_webhook_json.wasm

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
  cp "target/version-build/wasm32-wasip2/release/$wasm" "target/versions/$version/$wasm"
  echo "$PWD/target/versions/$version/$wasm"
  exit 0
fi

if [[ "${1:-}" == "--contract" ]]; then
  contract="${2:?--contract needs a contract version}"
  case "$contract" in
    0.1.0) features=(--features switchboard-plugin-sdk/contract-0-1-0) ;;
    0.2.0) features=() ;;
    *) echo "unknown contract version $contract (known: 0.1.0, 0.2.0)" >&2; exit 2 ;;
  esac
  # Its own build directory: the SDK is compiled with different features.
  CARGO_TARGET_DIR="$PWD/target/contract-build-$contract" \
    cargo build --release --target wasm32-wasip2 "${features[@]}" >&2
  mkdir -p "target/contracts/$contract"
  cp "target/contract-build-$contract/wasm32-wasip2/release/$wasm" "target/contracts/$contract/$wasm"
  echo "$PWD/target/contracts/$contract/$wasm"
  exit 0
fi

cargo build --release --target wasm32-wasip2 "$@" >&2
echo "$PWD/target/wasm32-wasip2/release/$wasm"
