#!/usr/bin/env bash
# Issue 24's full protocol on a borrowed GPU machine: the controlled simulated-rater
# benchmark (arms random, active, coverage, no-answers) at checkpoints 100-2,000 answers,
# 10 seeds at rater noise 0.3, 5 at noise 0.1, and the three-rater panel, 5 seeds.
#
#   benchmarks/gpu_sim_controls.sh OUTDIR [ARCHIVE.tgz]          # on the GPU machine
#   SUITE_SCALE=tiny benchmarks/gpu_sim_controls.sh /tmp/x         # a CPU dry run
#
# As many seeds as fit in SIM_SECONDS run side by side (JOBS processes, THREADS CPU
# threads each), every seed's result
# kept in its own file beside the report (core/experiments/seed_runs.py): a run cut short
# by its time limit keeps every finished seed, and the next run, on this machine or on
# another with OUTDIR copied back, skips them. Each setting ends with a --merge that
# reports on all the seeds kept. Copy OUTDIR's *.json and *.seeds/ into docs/bench/.
set -u
out=${1:?usage: gpu_sim_controls.sh OUTDIR [ARCHIVE.tgz]}
archive=${2:-}
mkdir -p "$out"
python=${PYTHON:-python3}
# SIM_SECONDS: the whole script's budget (under the device's per-command limit); a seed
# cut off by it loses its own work, never another's
jobs=${JOBS:-4} threads=${THREADS:-4} limit=${SIM_SECONDS:-540} status=0
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=$threads
device=cuda checkpoints=100,250,500,1000,2000 judgments=2000
seeds_03=$(seq 0 9) seeds_01=$(seq 0 4) seeds_panel=$(seq 0 4) tiny=()
if [ "${SUITE_SCALE:-full}" = tiny ]; then
  device=cpu checkpoints=10,20 judgments=20 jobs=2 threads=1 limit=600 OMP_NUM_THREADS=1
  seeds_03="0 1" seeds_01=0 seeds_panel=0
  tiny=(--patients 12 --epochs 0.05 --pairs 16 --image-size 16 --resamples 5)
fi
common=(--checkpoints "$checkpoints" --judgments "$judgments" --threads "$threads"
  --device "$device" "${tiny[@]}")
started=$SECONDS

run_setting() { # name seeds extra-args...: every seed in its own process, JOBS at a time
  local name=$1 seeds=$2
  shift 2
  local report="$out/$name.json"
  for seed in $seeds; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    local left=$((limit - (SECONDS - started)))
    [ "$left" -lt 60 ] && break
    timeout --signal=INT "$left" "$python" -m core sim-bench "${common[@]}" "$@" \
      --seeds "$seed-$seed" --out "$report" >"$out/$name.seed$seed.log" 2>&1 &
  done
  wait
  # the seeds' own processes each wrote the report as they ended; the merge rewrites it
  "$python" -m core sim-bench --merge --out "$report" >"$out/$name.merge.log" 2>&1 || status=1
  echo "=== $name: $(ls "$out/$name.seeds" 2>/dev/null | wc -l) seeds kept after $((SECONDS - started)) s"
  tail -n 20 "$out/$name.merge.log"
  if [ -n "$archive" ]; then tar -czf "$archive" -C "$out" .; fi
}

run_setting sim_controls_noise0.3 "$seeds_03" --rater-noise 0.3
run_setting sim_controls_noise0.1 "$seeds_01" --rater-noise 0.1
run_setting sim_controls_panel "$seeds_panel" --panel 0.05,0.1,0.3
echo "=== done $(date +%T)"
exit "$status"
