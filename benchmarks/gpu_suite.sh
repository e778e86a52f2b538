#!/usr/bin/env bash
# The GPU measurements of docs/benchmarks.md, as one script for one borrowed GPU machine
# (about 9 minutes on one H100). Each section has its own time limit, so a slow one
# cannot take the others with it, and writes its JSON as soon as it ends.
#
#   benchmarks/gpu_suite.sh OUTDIR [ARCHIVE.tgz]      # on the GPU machine
#   SUITE_SCALE=tiny benchmarks/gpu_suite.sh /tmp/x   # a CPU dry run of every section
# With ARCHIVE, OUTDIR is packed into it after every stage (one file to bring back).
#
# 1. throughput: the real training loop against synthetic tensors (ResNet-50, 224 px),
#    alone on the machine;
# 2. at once, since 32 px models leave the GPU mostly idle (4 CPU threads each): the
#    fair benchmark on RetinaMNIST (every method, 5 seeds), the hypothesis rows (ConPro
#    variants, 5 seeds, in two halves), the synthetic cohort (severity known);
# 3. ConPro at the paper's budget (ResNet-50, 224 px, 1e5 pairs a phase), one seed
#    after another until its time is up.
set -u
out=${1:?usage: gpu_suite.sh OUTDIR [ARCHIVE.tgz]}
archive=${2:-}
mkdir -p "$out"
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4
device=cuda seeds=5 epochs=8 resamples=1000 pro_long=20000
r50=(--backbone resnet50 --image-size 224 --pairs 100000) throughput=(--backbone resnet50 --image-size 224 --steps 30)
limit_throughput=60 limit_parallel=270 limit_paper=${PAPER_SECONDS:-200}
if [ "${SUITE_SCALE:-full}" = tiny ]; then
  device=cpu seeds=2 epochs=0.05 resamples=5 pro_long=64 OMP_NUM_THREADS=1
  r50=(--backbone resnet18 --image-size 16 --pairs 16) throughput=(--backbone resnet18 --image-size 16 --steps 2)
  limit_throughput=120 limit_parallel=600 limit_paper=120
fi
common=(--device "$device" --resamples "$resamples" --image-size 32 --epochs "$epochs")
retina=(--train assets/retinamnist_trainval.npz)

section() { # name limit command...: run it, keep its log, say how it ended
  local name=$1 limit=$2
  shift 2
  local started=$SECONDS
  timeout --signal=INT "$limit" "$@" >"$out/$name.log" 2>&1
  echo "=== $name: exit $? after $((SECONDS - started)) s"
  tail -n 25 "$out/$name.log"
}
pack() { if [ -n "$archive" ]; then tar -czf "$archive" -C "$out" .; fi; }

echo "=== 1. throughput $(date +%T)"
section throughput "$limit_throughput" "$python" -m benchmarks.throughput "${throughput[@]}" \
  --batch-size 64 --warmup 2 --device "$device" --out "$out/throughput_cuda.json"
pack

echo "=== 2. 32 px benchmarks, in parallel $(date +%T)"
combined=preference_scale=5,pro_batchnorm=frozen,scoring_anchor=all,normal_pull=1
section fair "$limit_parallel" "$python" -m core bench "${retina[@]}" "${common[@]}" \
  --seeds "$seeds" --methods conpro,semise,supconn,simclr,learner,supervised,random \
  --out "$out/bench_retinamnist32_cuda.json" &
section variants_a "$limit_parallel" "$python" -m core bench "${retina[@]}" "${common[@]}" \
  --seeds "$seeds" --methods conpro \
  --variant scale5:preference_scale=5 \
  --variant bn_frozen:pro_batchnorm=frozen \
  --variant anchor_all:scoring_anchor=all \
  --variant anchor1:anchor_n=1 \
  --variant anchor20:anchor_n=20 \
  --out "$out/bench_variants32a_cuda.json" &
section variants_b "$limit_parallel" "$python" -m core bench "${retina[@]}" "${common[@]}" \
  --seeds "$seeds" --methods conpro \
  --variant augment:augment_pairs=true \
  --variant normal_pull:normal_pull=1 \
  --variant paper_lr:encoder_lr=0.001 \
  --variant pro_long:pro_pairs=$pro_long \
  --variant bn_scale5:pro_batchnorm=frozen,preference_scale=5 \
  --variant combined:$combined \
  --out "$out/bench_variants32b_cuda.json" &
section cohort "$limit_parallel" "$python" -m core bench --cohort 240 "${common[@]}" \
  --seeds "$seeds" --methods conpro,learner,supervised,random \
  --variant bn_frozen:pro_batchnorm=frozen --variant combined:$combined \
  --out "$out/bench_cohort32_cuda.json" &
wait
pack

echo "=== 3. the paper's budget $(date +%T)"
paper_started=$SECONDS
for seed in 0 1 2 3 4; do
  left=$((limit_paper - (SECONDS - paper_started)))
  [ "$left" -lt 20 ] && break
  section "paper_seed$seed" "$left" "$python" -m core bench "${retina[@]}" "${r50[@]}" \
    --batch-size 128 --seeds 1 --first-seed "$seed" --methods conpro --device "$device" \
    --resamples "$resamples" --out "$out/paper_budget_seed${seed}_cuda.json"
  pack
done
echo "=== done $(date +%T)"
