#!/usr/bin/env bash
# Runs every study's quick config with the code of commit BEFORE and with the
# working tree, on this machine, and compares the two results.json leaf by
# leaf (experiments/shared/compare_runs.py: timings, paths and bookkeeping
# aside). A run already present under OUT is reused.
#
#   bash benchmarks/conversion_check.sh <BEFORE commit> [OUT=/tmp/conversion_check]
#
# Prints per study the number of leaves compared and how many differ, leaves
# of the settings record ("options" in old results, "config" in new ones)
# counted apart; the full differences are in OUT/<study>.diff.
set -uo pipefail
cd "$(dirname "$0")/.."
BEFORE=${1:?usage: conversion_check.sh <BEFORE commit> [OUT]}
OUT=${2:-/tmp/conversion_check}
PY=${PY:-.venv/bin/python}
STUDIES=${STUDIES:-"ablation_regions occlusion_study rank_methods context_bias attack_explanations continual_replay cam_nas nas_proxies benchmark"}
mkdir -p "$OUT"
if [ ! -d "$OUT/code" ]; then
  git worktree add -f "$OUT/code" "$BEFORE" >/dev/null
fi
ROOT=$(pwd)
echo "before: $(git rev-parse --short "$BEFORE"); after: $(git rev-parse --short HEAD) + working tree"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for study in $STUDIES; do
  for side in before after; do
    dir="$OUT/$side/$study"
    [ -f "$dir/results.json" ] && continue
    code="$ROOT"; [ "$side" = before ] && code="$OUT/code"
    (cd "$code" && "$ROOT/$PY" -m experiments.main \
      --config "experiments/$study/config.py:quick" --workdir "$dir" \
      >"$OUT/$side-$study.log" 2>&1) || { echo "$study: $side run failed"; continue 2; }
  done
  "$PY" -m experiments.shared.compare_runs "$OUT/before/$study/results.json" \
    "$OUT/after/$study/results.json" >"$OUT/$study.diff"
  settings=$(grep -c -E '^(options|config)[.[]' "$OUT/$study.diff")
  other=$(grep -v -E '^(options|config)[.[]' "$OUT/$study.diff" | grep -c -v 'leaves compared')
  echo "$study: $(tail -1 "$OUT/$study.diff"); settings record: $settings; other: $other"
done
