#!/usr/bin/env bash
# Every GPU check of the project in one run, in order of value, each step under
# its own timeout (<= 9 minutes in all), JSON results into one folder.
#
#   bash benchmarks/gpu/run.sh [OUT]            # on the GPU machine (default OUT:
#                                               #   benchmarks/results/gpu)
#   SMOKE=1 bash benchmarks/gpu/run.sh /tmp/gs  # the same steps on CPU at tiny
#                                               #   sizes (the script's own test)
#   STEPS="env peers_64" bash benchmarks/gpu/run.sh   # a subset of the steps
#
# On a machine without network (../shared/design/GPU.md): bring `.whl/` (made by
# `bash ../shared/tools/gpu_wheels.sh` where the registry is reachable); the
# script installs it into /tmp/site when a needed package is missing.
#
# Steps (name: what, time cap in seconds):
#   env: devices and versions -> env.json                                  30
#   tests: the suite's fast part (explainers, targets, metrics) -> tests.xml 90
#   peers_64: ours vs Captum / pytorch-grad-cam on CUDA, batch 8 x 64 px   100
#   peers_256: the same at batch 16 x 256 px                               100
#   quickstart: the main job (train + evaluate + explain) -> quickstart.json 120
#   nas_64 / nas_256: CAM-NAS population of 64 / 256 in one call            50 each
#   replay: replay compression throughput                                    30
# Each step appends to OUT/log.txt; OUT/steps.json says how each ended.
set -u
cd "$(dirname "$0")/../.."
OUT=${1:-benchmarks/results/gpu}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/log.txt"
: >"$LOG"
: >"$OUT/steps.jsonl"
SMOKE=${SMOKE:-0}
STEPS=${STEPS:-"env tests peers_64 peers_256 quickstart nas_64 nas_256 replay"}
PY=${PYTHON:-python3}
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # torch and jax share the card
export TFDS_DATA_DIR=${TFDS_DATA_DIR:-/tmp/tfds}
export TQDM_DISABLE=1

if ! "$PY" -c "import ml_collections, captum, pytorch_grad_cam" 2>/dev/null; then
  if [ -d .whl ]; then
    echo "installing .whl/ into /tmp/site" >>"$LOG"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
      --upgrade --target /tmp/site .whl/*.whl >>"$LOG" 2>&1
    export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
  else
    echo "missing packages and no .whl/ folder (see ../shared/design/GPU.md)" >>"$LOG"
  fi
fi

if [ "$SMOKE" = 1 ]; then
  DEVICE=cpu; QUICK=(--quick); QS_CONFIG=experiments/quickstart/config.py:quick
  NAS_ARGS=(--loop-candidates 2 --images 2 --repeats 1); POP_SMALL=4; POP_LARGE=8
  REPLAY_ARGS=(--size 32 --batch 8 --repeats 2)
  TESTS=(tests/explainers/test_gradients.py)
  SCALE=4  # the caps are 4x longer on a 2-core CPU
else
  DEVICE=cuda; QUICK=(); QS_CONFIG=experiments/quickstart/config.py
  NAS_ARGS=(--loop-candidates 6 --images 8 --repeats 3); POP_SMALL=64; POP_LARGE=256
  REPLAY_ARGS=(--size 64 --batch 256 --repeats 5)
  TESTS=(tests/explainers tests/test_targets.py tests/metrics)
  SCALE=1
fi

step() {  # step NAME CAP_SECONDS COMMAND...  (CAP_SECONDS=N forces every cap to N)
  local name=$1 cap=${CAP_SECONDS:-$(($2 * SCALE))} start rc
  shift 2
  case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
  echo "=== $name (cap ${cap} s): $*" >>"$LOG"
  start=$(date +%s%N)
  timeout --kill-after=10 "$cap" "$@" >>"$LOG" 2>&1
  rc=$?
  local ms=$((($(date +%s%N) - start) / 1000000))
  printf '{"step": "%s", "rc": %d, "timed_out": %s, "seconds": %d.%03d, "cap_s": %d}\n' \
    "$name" "$rc" "$([ $rc = 124 ] || [ $rc = 137 ] && echo true || echo false)" \
    $((ms / 1000)) $((ms % 1000)) "$cap" >>"$OUT/steps.jsonl"
  echo "=== $name rc=$rc" >>"$LOG"
}

step env 30 "$PY" - "$OUT/env.json" <<'PYEOF'
import json, platform, sys
import jax
record = {"python": platform.python_version(), "jax": jax.__version__,
          "backend": jax.default_backend(),
          "devices": [f"{d.platform}: {d.device_kind}" for d in jax.devices()]}
try:
    import torch
    record["torch"] = torch.__version__
    record["torch_cuda"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        record["torch_device"] = torch.cuda.get_device_name(0)
except ImportError:
    record["torch"] = None
sys.path.insert(0, ".")
from experiments.shared.results import environment
record["environment"] = environment()
json.dump(record, open(sys.argv[1], "w"), indent=2)
print(json.dumps(record))
PYEOF
step tests 90 "$PY" -m pytest -q -p no:cacheprovider "${TESTS[@]}" \
  --junitxml="$OUT/tests.xml"
step peers_64 100 "$PY" benchmarks/peers/timing.py --device "$DEVICE" "${QUICK[@]}" \
  --cases 8x64 --out "$OUT/peers_8x64.json"
step peers_256 100 "$PY" benchmarks/peers/timing.py --device "$DEVICE" "${QUICK[@]}" \
  --cases 16x256 --out "$OUT/peers_16x256.json"
QS_DIR=$(mktemp -d)
step quickstart 120 bash -c "$PY -m experiments.main --config $QS_CONFIG \
  --workdir $QS_DIR && cp $QS_DIR/results.json $OUT/quickstart.json && \
  cp $QS_DIR/report.md $OUT/quickstart_report.md"
rm -rf "$QS_DIR"
step nas_64 50 "$PY" benchmarks/nas_population.py --population "$POP_SMALL" \
  "${NAS_ARGS[@]}" --out "$OUT/nas_population_${POP_SMALL}.json"
step nas_256 50 "$PY" benchmarks/nas_population.py --population "$POP_LARGE" \
  "${NAS_ARGS[@]}" --out "$OUT/nas_population_${POP_LARGE}.json"
step replay 30 "$PY" benchmarks/replay_compression.py "${REPLAY_ARGS[@]}" \
  --out "$OUT/replay_compression.json"

"$PY" - "$OUT" "$SMOKE" <<'PYEOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
summary = {"smoke_run_on_cpu": sys.argv[2] == "1", "steps": steps,
           "total_seconds": round(sum(s["seconds"] for s in steps), 1),
           "files": sorted(p.name for p in out.iterdir())}
(out / "steps.json").write_text(json.dumps(summary, indent=2) + "\n")
(out / "steps.jsonl").unlink()
for s in steps:
    print(f"{s['step']:12s} rc={s['rc']:<4d} {s['seconds']:7.1f} s (cap {s['cap_s']} s)")
print(f"total {summary['total_seconds']} s; results in {out}")
PYEOF
