#!/usr/bin/env bash
# CycleGAN on MNIST <-> Fashion-MNIST and the token models (VQ-VAE tokenizer, raster AR, MaskGIT)
# on CIFAR-10: train each at an accelerator size, then measure them (experiments.bench_cyclegan,
# experiments.bench_ar), sized for about 3 minutes of wall time on one GPU, compilation included (an estimate).
#
#   bash experiments/gpu_ar_cyclegan.sh OUT_DIR
#
# Writes under OUT_DIR: cyclegan/ and ar/ (each bench's results.json, results.md and PNGs), runs/
# (the workdirs), logs/ (one log per command), timings.tsv (command, exit status, seconds) and
# summary.md (the timings and both results tables). The two parts run side by side (PARALLEL=1)
# and each command runs under `timeout`: a training command stopped by its limit saves a
# checkpoint on SIGTERM, so its benchmark still runs and reports the step it reached.
#
# Environment (defaults are the GPU sizes; a CPU smoke test sets tiny steps and TIMEOUT_SCALE):
#   DATA_DIR       the folder holding mnist/, fashion_mnist/, cifar10_jpeg/ (default ../shared/data)
#   PARTS          "cyclegan ar" (default), or one of them
#   PARALLEL       1: the two parts at the same time (default); 0: one after the other
#   PYTHON         the interpreter (default python3)
#   TIMEOUT_SCALE  multiplies every command's time limit (default 1)
#   CG_STEPS CG_BATCH CG_WIDTH CG_BLOCKS   CycleGAN: steps, batch, generator width and residual blocks
#   VQ_STEPS VQ_BATCH                      tokenizer steps and batch
#   TOKEN_STEPS TOKEN_BATCH                steps and batch of each token model (raster AR, MaskGIT)
#   NUM            test images per direction (CycleGAN) and samples per row (AR)
#   NUM_REAL       training images in the AR benchmark's reference statistics
#   CLF_STEPS      steps of the classifiers the CycleGAN benchmark trains (the A-vs-B domain classifier)
#   MASKGIT_STEPS  MaskGIT decoding step counts to measure (comma-separated; "all": one per token)
set -u

OUT=${1:?usage: bash experiments/gpu_ar_cyclegan.sh OUT_DIR}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA_DIR=${DATA_DIR:-$REPO/../shared/data}
PARTS=${PARTS:-cyclegan ar}
PARALLEL=${PARALLEL:-1}
PYTHON=${PYTHON:-python3}
TIMEOUT_SCALE=${TIMEOUT_SCALE:-1}
CG_STEPS=${CG_STEPS:-3000}; CG_BATCH=${CG_BATCH:-32}; CG_WIDTH=${CG_WIDTH:-32}; CG_BLOCKS=${CG_BLOCKS:-6}
VQ_STEPS=${VQ_STEPS:-2000}; VQ_BATCH=${VQ_BATCH:-128}
TOKEN_STEPS=${TOKEN_STEPS:-2000}; TOKEN_BATCH=${TOKEN_BATCH:-128}
NUM=${NUM:-1000}; NUM_REAL=${NUM_REAL:-10000}; CLF_STEPS=${CLF_STEPS:-500}
MASKGIT_STEPS=${MASKGIT_STEPS:-8,16,all}

mkdir -p "$OUT/logs" "$OUT/runs" || exit 1
OUT=$(cd "$OUT" && pwd)
cd "$REPO" || exit 1
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# several processes share the GPU: allocate as needed instead of 75% of it each
export XLA_PYTHON_CLIENT_PREALLOCATE=false
TIMINGS=$OUT/timings.tsv
printf 'command\texit\tseconds\n' > "$TIMINGS"

# step NAME LIMIT_S CMD...: CMD under timeout (SIGTERM, then SIGKILL 15 s later), its output in
# logs/NAME.log, a line in timings.tsv. Exit 124 = stopped by its limit.
step() {
  local name=$1 limit=$(( $2 * TIMEOUT_SCALE )); shift 2
  local t0 rc
  t0=$(date +%s.%N)
  timeout -k 15 "$limit" "$@" > "$OUT/logs/$name.log" 2>&1
  rc=$?
  local dt; dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\n' "$name" "$rc" "$dt" >> "$TIMINGS"
  echo "[$name] exit $rc after ${dt}s (limit ${limit}s; log: $OUT/logs/$name.log)"
  return $rc
}

if ! "$PYTHON" -c "import jax, flax, optax, orbax.checkpoint, ml_collections, absl, PIL, scipy, sklearn" \
     > "$OUT/logs/imports.log" 2>&1; then
  echo "missing Python packages (see $OUT/logs/imports.log):"; cat "$OUT/logs/imports.log"; exit 2
fi
for d in mnist fashion_mnist cifar10_jpeg; do
  [ -d "$DATA_DIR/$d" ] || echo "warning: $DATA_DIR/$d not found (DATA_DIR=$DATA_DIR)"
done
"$PYTHON" -c "import jax; print('jax', jax.__version__, jax.devices())" 2>&1 | tail -1

part_cyclegan() {
  local wd=$OUT/runs/cyclegan_fashion
  step cyclegan_train 75 "$PYTHON" -m experiments.main --config=experiments/configs/cyclegan_mnist.py:fashion --workdir="$wd" \
    --config.data.dir="$DATA_DIR" --config.train.steps="$CG_STEPS" --config.train.batch_size="$CG_BATCH" \
    --config.model.channels="$CG_WIDTH" --config.model.num_blocks="$CG_BLOCKS" \
    --config.model.d_channels="$CG_WIDTH" --config.train.log_every=100 \
    --config.train.ckpt_every=$(( CG_STEPS / 2 > 0 ? CG_STEPS / 2 : 1 ))
  step cyclegan_bench 80 "$PYTHON" -m experiments.bench_cyclegan --workdir="$wd" --data_dir="$DATA_DIR" \
    --num="$NUM" --clf_steps="$CLF_STEPS" --out_dir="$OUT/cyclegan"
}

part_ar() {
  local runs=$OUT/runs
  step vqvae_train 50 "$PYTHON" -m experiments.main --config=experiments/configs/vqvae_mnist.py:cifar10 --workdir="$runs/vqvae_cifar10" \
    --config.data.dir="$DATA_DIR" --config.train.steps="$VQ_STEPS" --config.train.batch_size="$VQ_BATCH" \
    --config.train.log_every=100 --config.train.ckpt_every="$VQ_STEPS"
  # the two token models train side by side on the same tokenizer
  local m pids=()
  for m in ar maskgit; do
    step "${m}_train" 55 "$PYTHON" -m experiments.main --config=experiments/configs/${m}_mnist.py:cifar10 --workdir="$runs/${m}_cifar10" \
      --config.data.dir="$DATA_DIR" --config.objective.tokenizer_workdir="$runs/vqvae_cifar10" \
      --config.train.steps="$TOKEN_STEPS" --config.train.batch_size="$TOKEN_BATCH" \
      --config.train.log_every=100 --config.train.ckpt_every="$TOKEN_STEPS" \
      --config.train.num_final_samples=0 &
    pids+=($!)
  done
  wait "${pids[@]}"
  step ar_bench 70 "$PYTHON" -m experiments.bench_ar --tokenizer="$runs/vqvae_cifar10" --ar="$runs/ar_cifar10" \
    --maskgit="$runs/maskgit_cifar10" --maskgit_steps="$MASKGIT_STEPS" --data_dir="$DATA_DIR" \
    --num="$NUM" --num_real="$NUM_REAL" --out_dir="$OUT/ar"
}

T0=$(date +%s)
pids=()
for part in $PARTS; do
  case $part in
    cyclegan|ar) ;;
    *) echo "PARTS: expected 'cyclegan' and/or 'ar', found '$part'"; exit 2 ;;
  esac
  if [ "$PARALLEL" = 1 ]; then "part_$part" & pids+=($!); else "part_$part"; fi
done
[ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"

{
  echo "# gpu_ar_cyclegan.sh: $(( $(date +%s) - T0 )) s in all"
  echo
  echo '```'; column -t -s $'\t' "$TIMINGS" 2>/dev/null || cat "$TIMINGS"; echo '```'
  for f in "$OUT/cyclegan/results.md" "$OUT/ar/results.md"; do
    [ -f "$f" ] && { echo; echo "## ${f#$OUT/}"; echo; cat "$f"; }
  done
} > "$OUT/summary.md"
cat "$OUT/summary.md"
# exit status: 0 when every command exited 0
awk -F'\t' 'NR > 1 && $2 != 0 { bad = 1 } END { exit bad }' "$TIMINGS"
