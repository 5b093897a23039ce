#!/usr/bin/env bash
# Builds the provider plugins as WebAssembly components:
#   target/plugins/<id>.wasm       the providers `switchboard serve` loads by default
#   target/test-plugins/<id>.wasm  components only the tests load (the misbehaving one)
set -euo pipefail
cd "$(dirname "$0")/.."

PROVIDERS=(telegram instagram vk whatsapp website)
TEST_PLUGINS=(chaos)

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "Installing the wasm32-wasip2 target..."
  rustup target add wasm32-wasip2
fi

packages=()
for name in "${PROVIDERS[@]}" "${TEST_PLUGINS[@]}"; do
  packages+=(-p "switchboard-plugin-$name")
done
cargo build --release --target wasm32-wasip2 "${packages[@]}"

out=target/wasm32-wasip2/release
mkdir -p target/plugins target/test-plugins
for name in "${PROVIDERS[@]}"; do
  cp "$out/switchboard_plugin_${name}.wasm" "target/plugins/$name.wasm"
done
for name in "${TEST_PLUGINS[@]}"; do
  cp "$out/switchboard_plugin_${name}.wasm" "target/test-plugins/$name.wasm"
done
echo "Plugins: $(ls target/plugins | tr '\n' ' ')  test plugins: $(ls target/test-plugins | tr '\n' ' ')"
