#!/usr/bin/env bash
# Builds the JSON webhook provider, written in Python, as a WebAssembly
# component and prints its path:
#
#   build.sh          target/webhook_json_py.wasm
#   build.sh --test   the same, then the unit tests (natively, against the
#                     generated bindings): python3 -m unittest
#
# componentize-py (PyPI) bundles CPython, the standard library modules the
# app imports and the app itself into one component, after running the
# app's imports once and snapshotting the initialized interpreter.
#
# Needs python3 (3.11+) with venv; installs componentize-py into .venv
# beside this script the first time.
set -euo pipefail
cd "$(dirname "$0")"

COMPONENTIZE_PY_VERSION=0.25.1
CONTRACT_VERSION=0.2.0
WIT=../../wit/v$CONTRACT_VERSION
OUT=target/webhook_json_py.wasm

run_tests=false
case "${1:-}" in
  "") ;;
  --test) run_tests=true ;;
  *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

# componentize-py: the pinned version, in a virtualenv of our own, so the
# build does not depend on (or change) the machine's Python packages.
tool=.venv/bin/componentize-py
if ! [[ -x $tool ]] || [[ "$($tool --version 2>/dev/null)" != "componentize-py $COMPONENTIZE_PY_VERSION" ]]; then
  echo "Installing componentize-py $COMPONENTIZE_PY_VERSION into $PWD/.venv..." >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION" >&2
fi

mkdir -p target

# The bindings as plain Python (the WIT types as dataclasses, the host
# imports as stubs), for the unit tests and for editors. The component does
# not use this copy: componentize generates its own, wired to the host.
rm -rf target/bindings
"$tool" -d "$WIT" -w provider bindings target/bindings >&2

# -p src: app.py and the webhook_json package. Only what they import is
# bundled; a module imported lazily at call time would be missing, so every
# import is at the top of a module.
"$tool" -d "$WIT" -w provider componentize -p src app -o "$OUT.tmp" >&2

# The host refuses a component without a `switchboard:contract-version`
# custom section holding the contract version (the Rust SDK writes it with
# a link section; componentize-py cannot). A custom section is id 0, the
# LEB128 size of its payload, then the payload: the LEB128 length of the
# name, the name, the data. Appended at the end of a component it is a
# top-level section, which the host's loader reads.
python3 - "$OUT.tmp" "$CONTRACT_VERSION" <<'PY'
import sys

def leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)

path, version = sys.argv[1], sys.argv[2]
name = b"switchboard:contract-version"
payload = leb128(len(name)) + name + version.encode("utf-8")
with open(path, "r+b") as component:
    head = component.read(8)
    # `\0asm`, then version 0x0d and layer 1: a component, not a core module.
    if head != b"\0asm\x0d\x00\x01\x00":
        sys.exit(f"{path} is not a WebAssembly component (header {head.hex()})")
    if name in component.read():
        sys.exit(f"{path} already has a {name.decode()} section")
    component.write(b"\x00" + leb128(len(payload)) + payload)
PY
mv "$OUT.tmp" "$OUT"

if $run_tests; then
  python3 -m unittest discover -s tests -t . >&2
fi

echo "$PWD/$OUT"
