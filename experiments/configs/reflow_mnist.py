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
    c.data.name = "mnist"
    c.data.pairs = ""                   # .npz of (noise, sample) pairs (experiments.reflow); "" : the images
    c.model.channels = 16
    c.model.channel_mult = (1, 2)
    c.model.num_res_blocks = 1
    c.model.attention_resolutions = ()
    c.model.class_conditional = False
    c.objective.time_sampling = "logit_normal"
    c.sampler.name = "rf_euler"
    c.sampler.num_steps = 20
    c.optim.learning_rate = 1e-3
    c.optim.warmup_steps = 100
    c.train.steps = 1200
    c.train.batch_size = 64
    c.train.log_every = 100
    c.train.ckpt_every = 300
    c.train.sample_every = 0
    if variant == "reflow":
        c.objective.time_sampling = "uniform"  # reflow targets are straight: no need to weight the middle
    elif variant == "smoke":
        common.smoke(c)
        c.data.name = "digits"
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of reflow_mnist.py; expected '', 'reflow' or 'smoke'")
    return c
