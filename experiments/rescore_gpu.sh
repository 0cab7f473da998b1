#!/usr/bin/env bash
# Re-score the docs' MNIST / Fashion-MNIST quality figures in the new and the old (v1) feature
# networks on the same samples (issue #22), with the settings of the docs' own commands (same
# training steps, batches, sample counts), most conclusion-carrying first:
#
#   vae_gan       docs/latent_diffusion.md "Beside the GANs": VAE 1500 x 64 and DCGAN 1500 x 64
#                 (docs/gans.md MNIST quality row), 10,000 samples each, all 60,000 training images
#   distill_ddpm  docs/distillation.md DDPM teacher: teacher 400 x 32, progressive and consistency
#                 students 120 x 32, 500 samples per row (the 1-step student / 50-step teacher ratio)
#   rf            docs/rectified_flow.md: 1-RF logit-normal and uniform 600 x 64, 2-RF +500 x 64 on
#                 3,000 Heun-10 pairs, 1,000 Euler samples per NFE in {1, 2, 4, 10, 50}
#   distill_rf    docs/distillation.md rectified-flow teacher (rf's 1-RF): progressive 120 and 300
#                 x 32, consistency 120 x 32, 500 samples per row
#   samplers      docs/diffusion.md DDPM table: ddpm_mnist 3,500 x 64, 300 samples per cell (DDIM,
#                 DDIM eta=1, DPM-Solver++ at 5-50 NFE, DDPM 1000), and the CFG sweep (w 0-8)
#   gans          docs/gans.md: MNIST targets (WGAN-GP 500, StyleGAN2-style 300; DCGAN from
#                 vae_gan), stability over seeds 0-2 (DCGAN, WGAN-GP, DDPM 400 on 500 samples),
#                 Fashion-MNIST targets; 10,000 samples per GAN. Its three steps run alone as the
#                 parts gan_targets, gan_stability and gan_fashion
#   vae_prior     docs/latent_diffusion.md 100-step VAEs (MNIST, Fashion-MNIST), N = 300 and 1,000
#
# usage: experiments/rescore_gpu.sh WORKDIR [PART ...]     (no PART: all, in the order above)
#
# Every command runs under `timeout`, logs to WORKDIR/logs/NAME.log and prints one line:
# "rescore: NAME rc=0 12.3 s -> JSON". Finished workdirs and bench cells are reused on a rerun
# (a cell scored in fewer networks is scored again, not retrained). A part stops at its first
# failing command; the next part runs.
#
# Environment:
#   DATA_DIR          folder holding mnist/ and fashion_mnist/ (default ../shared/data)
#   PYTHON            interpreter (default python)
#   RESCORE_TIMEOUT   seconds per command (default 600)
#   RESCORE_BUDGET    seconds for the whole script (default 0: none); a command gets at most what
#                     is left, and none starts once it is spent
#   RESCORE_COLLECT   a .tar.gz path: every results JSON / Markdown under WORKDIR goes into it
#   RESCORE_SMOKE=N   a local end-to-end check, numbers meaningless: every training step count
#                     (per round for progressive distillation) becomes N, every sample count is at
#                     most RESCORE_NUM (default 64) and every real reference at most
#                     RESCORE_NUM_REAL images (default 1000)
set -u -o pipefail

if [ $# -lt 1 ]; then
    sed -n '2,/^set -u/p' "$0" | sed '$d'
    exit 2
fi
mkdir -p "$1/logs"
W=$(cd "$1" && pwd)
COLLECT=${RESCORE_COLLECT:-}
[ -n "$COLLECT" ] && [ "${COLLECT#/}" = "$COLLECT" ] && COLLECT=$PWD/$COLLECT
shift
PARTS=${*:-vae_gan distill_ddpm rf distill_rf samplers gans vae_prior}
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$W/jax_cache}
D=$(cd "${DATA_DIR:-../shared/data}" && pwd) || { echo "rescore: no data directory ${DATA_DIR:-../shared/data}"; exit 2; }
PY=${PYTHON:-python}
TIMEOUT=${RESCORE_TIMEOUT:-600}
BUDGET=${RESCORE_BUDGET:-0}
NETS=mnist,mnist_v1
FNETS=fashion_mnist,fashion_mnist_v1
START=$(date +%s)

# the docs' settings, or the smoke ones
st() { echo "${RESCORE_SMOKE:-$1}"; }                       # training steps
n() { local m=$1; [ -n "${RESCORE_SMOKE:-}" ] && [ "$m" -gt "${RESCORE_NUM:-64}" ] && m=${RESCORE_NUM:-64}; echo "$m"; }
nr() { local m=$1; [ -n "${RESCORE_SMOKE:-}" ] && { [ "$m" -eq 0 ] || [ "$m" -gt "${RESCORE_NUM_REAL:-1000}" ]; } && m=${RESCORE_NUM_REAL:-1000}; echo "$m"; }

# run NAME JSON COMMAND...: COMMAND under timeout, one timing line (JSON: the results it writes);
# COMMAND "train ARGS..." is experiments.main ARGS on DATA_DIR, without its final samples.png (drawn
# after the last checkpoint, so the figures do not depend on it; one sampler compilation saved)
run() {
    local name=$1 json=$2 limit=$TIMEOUT t0 t1 rc
    shift 2
    if [ "$1" = train ]; then
        shift
        set -- "$PY" -m experiments.main "$@" --config.data.dir="$D" --config.train.num_final_samples=0
    fi
    if [ "$BUDGET" -gt 0 ]; then
        local left=$((BUDGET - ($(date +%s) - START)))
        if [ "$left" -le 0 ]; then
            echo "rescore: $name skipped (RESCORE_BUDGET=${BUDGET} s spent)"
            return 1
        fi
        [ "$left" -lt "$limit" ] && limit=$left
    fi
    t0=$(date +%s%N)
    timeout --kill-after=20 "$limit" "$@" >"$W/logs/$name.log" 2>&1
    rc=$?
    t1=$(date +%s%N)
    local ms=$(((t1 - t0) / 1000000))
    local note=""
    [ -n "$json" ] && { [ -f "$json" ] && note=" -> ${json#"$W"/}" || note=" (no $json)"; }
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && note="$note (timed out at ${limit} s)"
    printf 'rescore: %-24s rc=%-3s %7d.%d s%s\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000 / 100)) "$note"
    if [ "$rc" -ne 0 ]; then
        tail -n 5 "$W/logs/$name.log" | sed 's/^/    /'
    fi
    return "$rc"
}

part_vae_gan() {
    run vae1500_train "" train --config=experiments/configs/vae_mnist.py --workdir="$W/vae_mnist" \
        --config.train.steps="$(st 1500)" --config.train.batch_size=64 --config.train.sample_every=0 || return
    run vae1500_bench "$W/bench_vae/results.json" "$PY" -m experiments.bench_vae --workdirs="$W/vae_mnist" \
        --num="$(n 10000)" --num_real="$(nr 0)" --data_dir="$D" --out_dir="$W/bench_vae" --feature_nets=$NETS || return
    run gan_targets_dcgan "$W/bench_gan/targets.json" "$PY" -m experiments.bench_gan --mode=targets \
        --data_dir="$D" --out_dir="$W/bench_gan" --seeds=0 --models=dcgan --channels=16 \
        --model_steps=dcgan:"$(st 1500)",wgan_gp:"$(st 500)",ddpm:"$(st 1000)",stylegan2:"$(st 300)" \
        --num="$(n 10000)" --num_real="$(nr 0)" --feature_nets=$NETS
}

distill_ddpm_teacher() {  # stopped at step 400 in the docs (constant learning rate: the same)
    run distill_teacher "" train --config=experiments/configs/ddpm_mnist.py --workdir="$W/distill/teacher" \
        --config.model.class_conditional=False --config.objective.cond_drop_prob=0.0 \
        --config.objective.prediction=v --config.model.channels=16 --config.model.channel_mult="(1, 2)" \
        --config.model.attention_resolutions="()" --config.train.batch_size=32 \
        --config.train.steps="$(st 400)" --config.optim.learning_rate=2e-3 --config.optim.warmup_steps=100 \
        --config.optim.ema_decay=0.995 --config.train.ckpt_every="$(st 400)" --config.train.sample_every=0
}

pd() {  # pd NAME TEACHER WORKDIR STEPS_PER_ROUND
    local r
    r=$(st "$4")
    run "$1" "" train --config=experiments/configs/progressive_distill_mnist.py --workdir="$3" \
        --config.objective.teacher_workdir="$2" --config.train.steps=$((3 * r)) \
        --config.train.ckpt_every="$r" --config.train.batch_size=32 --config.optim.learning_rate=5e-4 \
        --config.optim.ema_decay=0.9
}

cd_() {  # cd_ NAME TEACHER WORKDIR
    run "$1" "" train --config=experiments/configs/consistency_distill_mnist.py --workdir="$3" \
        --config.objective.teacher_workdir="$2" --config.train.steps="$(st 120)" \
        --config.train.ckpt_every="$(st 40)" --config.train.batch_size=32 --config.optim.learning_rate=4e-4 \
        --config.optim.ema_decay=0.9
}

part_distill_ddpm() {
    local R=$W/distill
    distill_ddpm_teacher || return
    pd distill_pd "$R/teacher" "$R/pd" 40 || return
    cd_ distill_cd "$R/teacher" "$R/cd" || return
    run distill_bench "$R/bench/results.json" "$PY" -m experiments.bench_distill --teacher_workdir="$R/teacher" \
        --pd_workdir="$R/pd" --cd_workdir="$R/cd" --num="$(n 500)" --num_real="$(nr 5000)" \
        --teacher_steps=1,2,4,50 --data_dir="$D" --out_dir="$R/bench" --feature_nets=$NETS
}

part_rf() {
    run rf_bench "$W/bench_rf/results.json" "$PY" -m experiments.bench_rf --data_dir="$D" \
        --out_dir="$W/bench_rf" --steps="$(st 600)" --reflow_steps="$(st 500)" --num_pairs="$(n 3000)" \
        --nocontrol --num_fid="$(n 1000)" --num_real="$(nr 10000)" --num_straight="$(n 500)" \
        --feature_nets=$NETS
}

part_distill_rf() {
    local T=$W/bench_rf/rf1_logit_normal
    [ -d "$T/checkpoints" ] || { echo "rescore: distill_rf needs the rf part's $T"; return 1; }
    pd distill_rf_pd40 "$T" "$W/pd_rf" 40 || return
    pd distill_rf_pd100 "$T" "$W/pd_rf300" 100 || return
    cd_ distill_rf_cd "$T" "$W/cd_rf" || return
    run distill_rf_bench "$W/bench_rf_teacher/results.json" "$PY" -m experiments.bench_distill \
        --teacher_workdir="$T" --pd_workdir="$W/pd_rf,$W/pd_rf300" --cd_workdir="$W/cd_rf" \
        --num="$(n 500)" --num_real="$(nr 5000)" --teacher_steps=1,2,4,50 --data_dir="$D" \
        --out_dir="$W/bench_rf_teacher" --feature_nets=$NETS
}

part_samplers() {
    run samplers_train "" train --config=experiments/configs/ddpm_mnist.py --workdir="$W/mnist" \
        --config.train.steps="$(st 3500)" --config.train.sample_every=0 || return
    run samplers_bench "$W/mnist/bench_samplers/results.json" "$PY" -m experiments.bench_samplers \
        --workdir="$W/mnist" --samplers=ddim,ddim:eta=1,dpm_solver_pp_2m,ddpm --nfe=5,10,20,50 \
        --ddpm_nfe=1000 --num="$(n 300)" --batch_size="$(n 300)" --num_real="$(nr 0)" --data_dir="$D" \
        --feature_nets=$NETS || return
    run samplers_cfg "$W/mnist/bench_cfg/results.json" "$PY" -m experiments.bench_samplers \
        --workdir="$W/mnist" --samplers=ddim:eta=1 --nfe=10 --guidance=0,1,2,4,8 --num="$(n 300)" \
        --batch_size="$(n 300)" --num_real="$(nr 0)" --data_dir="$D" --out_dir="$W/mnist/bench_cfg" \
        --feature_nets=$NETS
}

gan_steps() { echo dcgan:"$(st 1500)",wgan_gp:"$(st 500)",ddpm:"$(st "${1:-1000}")",stylegan2:"$(st 300)"; }

part_gan_targets() {
    run gan_targets_mnist "$W/bench_gan/targets.json" "$PY" -m experiments.bench_gan --mode=targets \
        --data_dir="$D" --out_dir="$W/bench_gan" --seeds=0 --models=dcgan,wgan_gp,stylegan2 --channels=16 \
        --model_steps="$(gan_steps)" --num="$(n 10000)" --num_real="$(nr 0)" --feature_nets=$NETS
}

part_gan_stability() {
    run gan_stability "$W/bench_gan/stability.json" "$PY" -m experiments.bench_gan --mode=stability \
        --data_dir="$D" --out_dir="$W/bench_gan" --seeds=0,1,2 --channels=16 --model_steps="$(gan_steps 400)" \
        --num="$(n 10000)" --ddpm_num="$(n 500)" --num_real="$(nr 0)" --feature_nets=$NETS
}

part_gan_fashion() {
    run gan_targets_fashion "$W/bench_gan/fashion_mnist/targets.json" "$PY" -m experiments.bench_gan \
        --mode=targets --dataset=fashion_mnist --data_dir="$D" --out_dir="$W/bench_gan" --seeds=0 \
        --models=dcgan,wgan_gp,stylegan2 --channels=16 --model_steps="$(gan_steps)" --num="$(n 10000)" \
        --num_real="$(nr 0)" --feature_nets=$FNETS
}

part_gans() {  # each of the three runs even when one before it failed
    local rc=0
    part_gan_targets || rc=1
    part_gan_stability || rc=1
    part_gan_fashion || rc=1
    return $rc
}

part_vae_prior() {
    run vae100_train_mnist "" train --config=experiments/configs/vae_mnist.py --workdir="$W/vae100_mnist" \
        --config.train.steps="$(st 100)" --config.train.batch_size=64 --config.train.sample_every=0 || return
    run vae100_train_fashion "" train --config=experiments/configs/vae_mnist.py \
        --workdir="$W/vae100_fashion_mnist" --config.data.name=fashion_mnist --config.train.steps="$(st 100)" \
        --config.train.batch_size=64 --config.train.sample_every=0 || return
    run vae100_bench "$W/bench_vae100/results.json" "$PY" -m experiments.bench_vae \
        --workdirs="$W/vae100_mnist,$W/vae100_fashion_mnist" --num="$(n 300)","$(n 1000)" \
        --num_real="$(nr 5000)" --data_dir="$D" --out_dir="$W/bench_vae100" --feature_nets=$NETS,$FNETS
}

echo "rescore: workdir $W, data $D, parts: $PARTS${RESCORE_SMOKE:+ (SMOKE: $RESCORE_SMOKE steps)}"
status=0
for part in $PARTS; do
    if ! declare -F "part_$part" >/dev/null; then
        echo "rescore: unknown part $part"
        status=2
        continue
    fi
    "part_$part" || status=1
done
echo "rescore: done in $(($(date +%s) - START)) s"
if [ -n "$COLLECT" ]; then
    (cd "$W" && find . -path ./jax_cache -prune -o \( -name 'results.json' -o -name 'results.md' \
        -o -name 'targets.*' -o -name 'stability.*' -o -path './logs/*' \) -type f -print \
        | tar -czf "$COLLECT" -T -)
    echo "rescore: results and logs in $COLLECT"
fi
exit "$status"
