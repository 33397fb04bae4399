#!/usr/bin/env bash
# Seconds from the command to the start of a study's first unit, in a fresh
# clone of this repository with an empty TFDS data folder and an empty
# compilation cache (no teacher training: the teacher is committed).
#
#   bash benchmarks/first_unit.sh > benchmarks/results/first_unit.txt
#
# Each study gets one unit it has not run yet (attack_explanations: a fourth
# seed, as its nine units are committed); the process is killed once the unit
# has started.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

first_unit() {
  local name=$1 config=$2; shift 2
  rm -rf "$scratch/clone" "$scratch/tfds" "$scratch/cache" "$scratch/run"
  git clone -q "$repo" "$scratch/clone"
  local log="$scratch/$name.log" start end pid
  start=$(date +%s.%N)
  (cd "$scratch/clone" && TFDS_DATA_DIR="$scratch/tfds" \
    JAX_COMPILATION_CACHE_DIR="$scratch/cache" \
    "$python" -m experiments.main --config "$config" --workdir "$scratch/run" \
    --minutes 25 "$@" >"$log" 2>&1) &
  pid=$!
  until grep -q "running " "$log" 2>/dev/null; do
    sleep 0.2
    kill -0 "$pid" 2>/dev/null || { echo "$name: exited before a unit ran"; tail -3 "$log"; return 1; }
  done
  end=$(date +%s.%N)
  pkill -9 -P "$pid" 2>/dev/null || true
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  printf '%s: first unit started %.1f s after the command\n' "$name" "$(echo "$end - $start" | bc)"
}

echo "# $(date -u +%F) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(grep -q avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2), $(nproc) cores," \
  "jax $("$python" -c 'import jax; print(jax.__version__)')"
first_unit cam_nas experiments/cam_nas/config.py --config.data.data_dir="$scratch/tfds"
first_unit continual_replay experiments/continual_replay/config.py
first_unit attack_explanations experiments/attack_explanations/config.py \
  --config.data.data_dir="$scratch/tfds" "--config.seeds=(0,1,2,3)"
first_unit rank_methods experiments/rank_methods/config.py \
  --config.data.data_dir="$scratch/tfds"
first_unit ablation_regions experiments/ablation_regions/config.py \
  --config.data.data_dir="$scratch/tfds"
