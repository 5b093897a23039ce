"""Unit tests, run natively: `python3 -m unittest` in examples/webhook-json-py
(or `./build.sh --test`).

They import the provider's package from `src/` and the WIT types from the
bindings componentize-py generates (`target/bindings`, written by
build.sh), so they check the very dataclasses the component returns. When
the bindings are missing they are generated here, with the componentize-py
build.sh installs."""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINDINGS = os.path.join(ROOT, "target", "bindings")


def _generate_bindings() -> None:
    tool = os.path.join(ROOT, ".venv", "bin", "componentize-py")
    if not os.access(tool, os.X_OK):
        tool = shutil.which("componentize-py")
    if tool is None:
        raise RuntimeError(
            f"{BINDINGS} is missing and componentize-py is not installed: run ./build.sh first"
        )
    subprocess.run(
        [tool, "-d", os.path.join(ROOT, "..", "..", "wit", "v0.2.0"), "-w", "provider",
         "bindings", BINDINGS],
        check=True,
        stdout=subprocess.DEVNULL,
    )


if not os.path.isdir(os.path.join(BINDINGS, "wit_world")):
    _generate_bindings()
for path in (os.path.join(ROOT, "src"), BINDINGS):
    if path not in sys.path:
        sys.path.insert(0, path)
