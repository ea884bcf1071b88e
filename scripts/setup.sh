#!/usr/bin/env bash
# Create .venv and install everything pezo needs; safe to rerun. Called by `make` targets.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PY --version)"
    "$PY" -m venv .venv
fi
# torch first, pinned: the pin takes this machine's local CPU wheel; an unpinned torch would
# pull a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    echo "setup: installing torch 2.13.0 (CPU)"
    .venv/bin/pip install -q torch==2.13.0
fi
echo "setup: installing pezo and its pinned tools into .venv"
mkdir -p out
if ! .venv/bin/pip install -q -e '.[test,hf]' > out/setup-pip.log 2>&1; then
    grep -v "^WARNING: Location" out/setup-pip.log | tail -20 >&2
    echo "setup: pip install failed; full log in out/setup-pip.log" >&2
    exit 1
fi
.venv/bin/python -c "import pezo.app.cli, pezo.sw.golden.stats, torch, amaranth, cocotb, scipy, matplotlib, sklearn, transformers" \
    || { echo "setup: .venv is incomplete after installation (see out/setup-pip.log)" >&2; exit 1; }

if ! command -v iverilog >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing Icarus Verilog with apt-get"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog >/dev/null
    elif sudo -n true 2>/dev/null; then
        echo "setup: installing Icarus Verilog with sudo apt-get"
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog >/dev/null
    else
        echo "setup: Icarus Verilog is missing and this user cannot install it; run: sudo apt-get install -y iverilog" >&2
        exit 1
    fi
fi
touch .venv/.pezo-setup
echo "setup: done ($(iverilog -V 2>/dev/null | head -1))"
