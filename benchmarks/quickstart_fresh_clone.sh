#!/usr/bin/env bash
# The quickstart as a new user pays it: a fresh clone, `make .venv/.installed`
# (install) and `make quickstart` (run) timed separately, with an empty
# compilation cache; then the same run with XLA limited to AVX2 (an EMULATION
# of the AVX2 CPU kind on this CPU: code generation only, not its cores or
# memory). Writes one JSON with both wall times, the test mIoU of each run, the
# CPU model, ISA level and versions.
#
#   bash benchmarks/quickstart_fresh_clone.sh [OUT_JSON]   # ~12 min on 2 cores
#
# Default OUT_JSON: benchmarks/results/quickstart_fresh_clone.json. The clone
# is of this repository's HEAD (committed files only).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/benchmarks/results/quickstart_fresh_clone.json}"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

git clone --quiet "$ROOT" "$WORK/clone"
cd "$WORK/clone"
commit="$(git rev-parse --short HEAD)"

seconds() { # seconds() CMD...: runs CMD, prints its wall time in seconds
  local start end
  start=$(date +%s.%N)
  "$@" >>"$WORK/log.txt" 2>&1
  end=$(date +%s.%N)
  "$PYTHON" -c "print(round($end - $start, 1))"
}

install_s=$(seconds make .venv/.installed PYTHON="$PYTHON")
run_s=$(SEGXAI_JAX_CACHE_DIR="$WORK/cache" seconds make quickstart WORKDIR=runs/native)
avx2_s=$(SEGXAI_JAX_CACHE_DIR="$WORK/cache_avx2" \
  XLA_FLAGS="--xla_cpu_max_isa=AVX2" seconds make quickstart WORKDIR=runs/avx2)

.venv/bin/python - "$OUT" "$commit" "$install_s" "$run_s" "$avx2_s" <<'EOF'
import json
import sys
from pathlib import Path

from experiments.shared.results import environment

out, commit, install_s, run_s, avx2_s = sys.argv[1:]


def run(workdir, wall_s, label):
    results = json.loads(Path(workdir, "results.json").read_text())
    return {
        "label": label,
        "wall_seconds": float(wall_s),
        "test_miou": results["scores"]["test"]["miou"],
        "validation_miou": results["scores"]["validation"]["miou"],
        "phase_seconds": results["seconds"],
    }


record = {
    "command": "bash benchmarks/quickstart_fresh_clone.sh",
    "commit": commit,
    "install_seconds": float(install_s),
    "runs": [
        run("runs/native", run_s, "this CPU, native ISA"),
        run("runs/avx2", avx2_s, "XLA_FLAGS=--xla_cpu_max_isa=AVX2 (emulation)"),
    ],
    "environment": environment(),
    "note": "install and each run timed separately; empty compilation cache per run",
}
Path(out).write_text(json.dumps(record, indent=1) + "\n")
print(json.dumps(record, indent=1))
EOF
