#!/usr/bin/env bash
# Side-by-side benchmark: lazyrich's solvers and scipy's solve_ivp on the same problems, same
# machine, one run. Makes its own Python venv (target/peers-venv) and installs numpy and scipy
# from PyPI. Optional: never required by tests or CI.
#
# Usage: bash benches/peers/run.sh [--quick] [OUT_DIR]   (default OUT_DIR: report/bench-peers)
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=""
if [ "${1:-}" = "--quick" ]; then quick="--quick"; shift; fi
out="${1:-report/bench-peers}"
venv=target/peers-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy scipy
fi
"$venv/bin/python" -c "import scipy; print('scipy', scipy.__version__)" >&2
cargo build --release --quiet
work=$(mktemp -d)
./target/release/lazyrich bench --export-problems "$work/problems"
"$venv/bin/python" benches/peers/peers.py "$work/problems" . "$work/peers.json" $quick
./target/release/lazyrich bench $quick --peers "$work/peers.json" --out "$out"
echo "side-by-side table: $out/workprec.md, diagram: $out/workprec.svg" >&2
