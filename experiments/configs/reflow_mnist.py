"""Rectified flow and reflow on MNIST at CPU scale (the settings of experiments.bench_rf): a small
unconditional U-Net velocity net. The "" variant trains 1-RF on the images; "reflow" trains on
(noise, sample) pairs of a trained flow (data.pairs, written by experiments.reflow), usually
resumed from the parent's checkpoint (bench_rf copies it in) so 2-RF fine-tunes 1-RF.

python -m experiments.main --config=experiments/configs/reflow_mnist.py --workdir=runs/rf1 \
    --config.data.dir=../shared/data
python -m experiments.reflow --workdir=runs/rf1 --num=5000 --steps=20
python -m experiments.main --config=experiments/configs/reflow_mnist.py:reflow --workdir=runs/rf2 \
    --config.data.dir=../shared/data --config.data.pairs=runs/rf1/reflow_pairs.npz
"""

from experiments.configs import common
from experiments.configs.rf_default import rectified_flow


def get_config(variant: str = ""):
    c = rectified_flow(common.base_config())
    c.data.update(name="mnist", pairs="")  # pairs: .npz of (noise, sample) pairs (experiments.reflow); "" : the images
    common.update(c, model=dict(channels=16, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(),
                                class_conditional=False),
                  objective=dict(time_sampling="logit_normal"), sampler=dict(name="rf_euler", num_steps=20),
                  optim=dict(learning_rate=1e-3, warmup_steps=100),
                  train=dict(steps=1200, batch_size=64, log_every=100, ckpt_every=300, sample_every=0))
    # reflow targets are straight: no need to weight the middle of the path
    return common.with_variant(c, variant, "reflow_mnist.py",
                               reflow=common.preset(objective=dict(time_sampling="uniform")),
                               smoke=common.preset(common.smoke, data=dict(name="digits")))
